"""``remat backends``: each backend, whether it is installed, what it translates natively, what else it offers."""

from __future__ import annotations

import argparse

from remat.backends import CONSTRUCTS, PYOMO_SOLVERS, aliases, backend_features, backend_names, is_available
from remat.cli.common import echo


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backends", help="list solver backends: installed or missing, and what each supports",
                       description="List solver backends (for --backend NAME): installed or missing, the IR "
                                   "constructs each translates natively (the others are linearized on the way) "
                                   "and what else it offers. Any Pyomo MILP solver is reachable as pyomo:NAME.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for line in lines():
        echo(line)
    return 0


def lines() -> list[str]:
    """The table ``remat backends`` prints (availability is checked without importing any solver).

    >>> rows = lines()
    >>> rows[0].split()
    ['backend', 'status', 'native', 'constructs', '|', 'also']
    >>> any(r.startswith("cpsat ") for r in rows)
    True
    """
    names = backend_names() + [f"pyomo:{s}" for s in sorted(PYOMO_SOLVERS)]
    width = max(len(n) for n in names) + 2
    native_width = len(", ".join(sorted(CONSTRUCTS))) + 2
    out = [f"{'backend':<{width}}{'status':<11}{'native constructs':<{native_width}}| also"]
    for name in backend_names():
        out.append(_row(name, width, native_width))
    out.append("")
    for alias, name in sorted(aliases().items()):
        out.append(f"{alias}: an alias of {name}")
    out.append("pyomo:NAME: any Pyomo MILP solver, on the linearized model; known names:")
    for solver in sorted(PYOMO_SOLVERS):
        out.append(_row(f"pyomo:{solver}", width, native_width))
    return out


def _row(name: str, width: int, native_width: int) -> str:
    status = "installed" if is_available(name) else "missing"
    features = backend_features(name)
    native = ", ".join(sorted(features & CONSTRUCTS)) or "none (linearized)"
    return f"{name:<{width}}{status:<11}{native:<{native_width}}| {', '.join(sorted(features - CONSTRUCTS))}"
