"""``remat backends``: each backend, whether it is installed, and what it supports."""

from __future__ import annotations

import argparse

from remat.backends import PYOMO_SOLVERS, backend_features, backend_names, is_available
from remat.cli.common import echo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backends", help="list solver backends: installed or missing, and what each supports",
                       description="List solver backends (for --backend NAME): installed or missing, and what "
                                   "each supports. Any Pyomo MILP solver is reachable as pyomo:NAME.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for line in lines():
        echo(line)
    return 0


def lines() -> list[str]:
    """The table ``remat backends`` prints (availability is checked without importing any solver).

    >>> rows = lines()
    >>> rows[0].split()
    ['backend', 'status', 'supports']
    >>> any(r.startswith("cpsat ") for r in rows)
    True
    """
    names = backend_names() + [f"pyomo:{s}" for s in sorted(PYOMO_SOLVERS)]
    width = max(len(n) for n in names) + 2
    out = [f"{'backend':<{width}}{'status':<11}supports"]
    for name in backend_names():
        out.append(_row(name, width))
    out.append("")
    out.append("pyomo:NAME: any Pyomo MILP solver, through the same linearization as highs; known names:")
    for solver in sorted(PYOMO_SOLVERS):
        out.append(_row(f"pyomo:{solver}", width))
    return out


def _row(name: str, width: int) -> str:
    status = "installed" if is_available(name) else "missing"
    return f"{name:<{width}}{status:<11}{', '.join(sorted(backend_features(name)))}"
