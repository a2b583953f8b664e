"""A benchmark grid: graphs x budgets x formulations x backends x time limits (x seeds).

A grid comes from command-line flags or a small TOML file with the same
keys; :func:`expand` turns it into :class:`Case` values, one solve each, in
a fixed order (graph, budget, formulation, backend, time limit, seed).

Graphs are named by a JSON file path, a bundled example (``example:unet``)
or a generator spec (``random_layered:n=500,seed=1``, ``unet:depth=4``;
see :func:`remat.generators.from_spec`). Budgets are bytes or a fraction or
percent of each graph's no-remat peak, as everywhere else.

>>> grid = Grid(graphs=("linear:depth=3",), budgets=("100%", "0.9"))
>>> [(c.graph, c.budget) for c in expand(grid)]
[('linear:depth=3', 4097), ('linear:depth=3', 3687)]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from remat.budget import parse_budget
from remat.errors import RematError
from remat.generators import EXAMPLES, GENERATORS, from_spec
from remat.graph import Graph, load_graph, no_remat_peak


class BenchSpecError(RematError):
    """A benchmark grid (flags or TOML file) is malformed."""


@dataclass(frozen=True)
class Grid:
    """What to run. Each tuple is one axis of the grid."""

    graphs: tuple[str, ...]
    budgets: tuple[str, ...] = ("90%", "80%")
    formulations: tuple[str, ...] = ("moccasin",)
    backends: tuple[str, ...] = ("cpsat",)
    time_limits: tuple[float, ...] = (60.0,)
    seeds: tuple[int, ...] = (0,)
    threads: int = 2
    max_copies: int = 2
    options: Mapping[str, Any] = field(default_factory=dict)  # formulation options
    backend_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. CP-SAT parameters


@dataclass(frozen=True)
class Case:
    """One solve of the grid, plain data (it travels to worker processes)."""

    graph: str
    budget: int
    budget_spec: str
    peak: int
    formulation: str
    backend: str
    time_limit: float
    seed: int
    threads: int
    max_copies: int
    options: tuple[tuple[str, Any], ...] = ()
    backend_options: tuple[tuple[str, Any], ...] = ()


def resolve_graph(spec: str) -> Graph:
    """Load ``spec``: ``example:NAME``, a generator spec, or a graph file."""
    name, sep, rest = spec.partition(":")
    if name == "example" and sep:
        if rest not in EXAMPLES:
            raise BenchSpecError(f"unknown example {rest!r}; known: {', '.join(sorted(EXAMPLES))}")
        return EXAMPLES[rest]()
    if name in GENERATORS and not Path(spec).exists():
        return from_spec(spec)
    return load_graph(spec)


def expand(grid: Grid) -> list[Case]:
    """All cases of ``grid``, budgets resolved to bytes against each graph's no-remat peak."""
    if not grid.graphs:
        raise BenchSpecError("the grid names no graphs")
    for axis in ("budgets", "formulations", "backends", "time_limits", "seeds"):
        if not getattr(grid, axis):
            raise BenchSpecError(f"the grid's {axis} list is empty")
    for t in grid.time_limits:
        if not t > 0:
            raise BenchSpecError(f"time limits must be positive seconds, got {t!r}")
    cases = []
    opts = tuple(sorted(grid.options.items()))
    bopts = tuple(sorted(grid.backend_options.items()))
    for gspec in grid.graphs:
        peak = no_remat_peak(resolve_graph(gspec))
        for bspec in grid.budgets:
            budget = parse_budget(bspec, peak=peak)
            for form in grid.formulations:
                for backend in grid.backends:
                    for tl in grid.time_limits:
                        for seed in grid.seeds:
                            cases.append(Case(gspec, budget, str(bspec), peak, form, backend, float(tl), int(seed),
                                              grid.threads, grid.max_copies, opts, bopts))
    return cases


_LISTS = {"graphs": str, "budgets": str, "formulations": str, "backends": str, "time_limits": float, "seeds": int}


def grid_from_mapping(data: Mapping[str, Any], *, source: str = "<grid>") -> Grid:
    """Build a Grid from parsed TOML (keys as the Grid fields; scalars stand for one-item lists)."""
    known = {f.name for f in fields(Grid)}
    unknown = set(data) - known
    if unknown:
        raise BenchSpecError(f"{source}: unknown key {sorted(unknown)[0]!r}; known: {', '.join(sorted(known))}")
    kwargs: dict[str, Any] = {}
    for key, kind in _LISTS.items():
        if key not in data:
            continue
        raw = data[key]
        items = raw if isinstance(raw, list) else [raw]
        try:
            kwargs[key] = tuple(kind(x) for x in items)
        except (TypeError, ValueError):
            raise BenchSpecError(f"{source}: {key!r} must be a list of {kind.__name__}s, got {raw!r}") from None
    for key in ("threads", "max_copies"):
        if key in data:
            val = data[key]
            if isinstance(val, bool) or not isinstance(val, int) or val < 1:
                raise BenchSpecError(f"{source}: {key!r} must be a positive integer, got {val!r}")
            kwargs[key] = val
    for key in ("options", "backend_options"):
        if key in data:
            if not isinstance(data[key], Mapping):
                raise BenchSpecError(f"{source}: {key!r} must be a table")
            kwargs[key] = dict(data[key])
    if "graphs" not in kwargs:
        raise BenchSpecError(f"{source}: missing 'graphs'")
    # Relative graph paths in a file are relative to that file.
    if source != "<grid>":
        base = Path(source).parent
        kwargs["graphs"] = tuple(g if _is_named(g) or Path(g).is_absolute() else str(base / g)
                                 for g in kwargs["graphs"])
    return Grid(**kwargs)


def load_grid(path: str | Path) -> Grid:
    """Read a grid from a TOML file; errors are one line naming the problem."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise BenchSpecError(f"cannot read grid file {str(p)!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchSpecError(f"{p}: not valid TOML ({exc})") from None
    return grid_from_mapping(data, source=str(p))


def _is_named(spec: str) -> bool:
    name, sep, _ = spec.partition(":")
    return bool(sep) and (name == "example" or name in GENERATORS)
