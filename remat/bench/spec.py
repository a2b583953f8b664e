"""A benchmark grid: graphs x budgets x formulations x backends x time limits x variants (x seeds).

A grid comes from command-line flags or a small TOML file with the same
keys; :func:`expand` turns it into :class:`Case` values, one solve each, in
a fixed order (graph, budget, formulation, backend, time limit, variant,
seed).

Graphs are named by a JSON file path, a bundled example (``example:unet``),
a generator spec (``random_layered:n=500,seed=1``, ``unet:depth=4``; see
:func:`remat.generators.from_spec`), or a bare name looked up as
``NAME.json`` in the data folder (:func:`data_dir`: ``--data-dir``, else
``$REMAT_DATA_DIR``, else ``../shared/graphs/paper`` beside a source
checkout), so that grids name the paper's graphs (``rl1_random_layered_n100``)
without paths. Budgets are bytes or a fraction or percent of each graph's
no-remat peak, as everywhere else.

A *variant* is a named set of formulation and backend options, merged over
the grid's own ``options`` and ``backend_options``; in TOML::

    [variants.default]
    [variants.nolns]
    backend_options = {lns = false}

>>> grid = Grid(graphs=("linear:depth=3",), budgets=("100%", "0.9"))
>>> [(c.graph, c.budget) for c in expand(grid)]
[('linear:depth=3', 4097), ('linear:depth=3', 3687)]
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
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
    #: name -> {"options": {...}, "backend_options": {...}}; empty: one unnamed variant, the grid's options
    variants: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    #: seconds a case may run past its time limit before its process is killed
    kill_margin: float = 30.0
    #: modules or ``.py`` files imported before each solve (third-party formulations and backends)
    imports: tuple[str, ...] = ()


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
    variant: str = ""
    imports: tuple[str, ...] = ()
    kill_margin: float = 30.0  # seconds past time_limit before the case's process is killed


_VARIANT_KEYS = ("options", "backend_options")


def data_dir(given: str | Path | None = None) -> Path | None:
    """The folder where bare graph names are looked up, or None.

    ``given`` (the ``--data-dir`` flag) wins; then the ``REMAT_DATA_DIR``
    environment variable; then ``../shared/graphs/paper`` beside a source
    checkout of remat (the repository's parent folder), where the Moccasin
    paper's graphs live, if that folder exists.

    Parameters
    ----------
    given : str or Path, optional
        An explicit folder; it must exist.

    Returns
    -------
    Path or None

    Raises
    ------
    BenchSpecError
        If ``given`` or ``REMAT_DATA_DIR`` is not a folder.

    Examples
    --------
    >>> data_dir(".") == Path(".")
    True
    """
    for source, value in (("--data-dir", given), ("REMAT_DATA_DIR", os.environ.get("REMAT_DATA_DIR"))):
        if value:
            if not Path(value).is_dir():
                raise BenchSpecError(f"{source}: {str(value)!r} is not a folder")
            return Path(value)
    repo = Path(__file__).resolve().parents[2]
    beside = repo.parent / "shared" / "graphs" / "paper"
    return beside if (repo / "pyproject.toml").is_file() and beside.is_dir() else None


def locate_graph(spec: str, folder: Path | None = None) -> str:
    """Where ``spec`` comes from: itself (example, generator spec, existing file) or ``folder/NAME.json``."""
    if _is_named(spec) or Path(spec).is_file():
        return spec
    if folder is not None:
        for candidate in (folder / spec, folder / f"{spec}.json"):
            if candidate.is_file():
                return str(candidate.resolve())
    where = f"nor {spec}.json in the data folder {str(folder)!r}" if folder else \
        "and no data folder is set (--data-dir or REMAT_DATA_DIR)"
    raise BenchSpecError(f"graph {spec!r} not found: not a file, example or generator spec, {where}")


def resolve_graph(spec: str, folder: Path | None = None) -> Graph:
    """Load ``spec``: ``example:NAME``, a generator spec, a graph file, or a name in ``folder``."""
    name, sep, rest = spec.partition(":")
    if name == "example" and sep:
        if rest not in EXAMPLES:
            raise BenchSpecError(f"unknown example {rest!r}; known: {', '.join(sorted(EXAMPLES))}")
        return EXAMPLES[rest]()
    if name in GENERATORS and not Path(spec).exists():
        return from_spec(spec)
    return load_graph(locate_graph(spec, folder))


def expand(grid: Grid, folder: Path | None = None) -> list[Case]:
    """All cases of ``grid``, budgets resolved to bytes against each graph's no-remat peak.

    Bare graph names are looked up in ``folder`` (see :func:`data_dir`); the
    cases carry the file's full path.
    """
    if not grid.graphs:
        raise BenchSpecError("the grid names no graphs")
    for axis in ("budgets", "formulations", "backends", "time_limits", "seeds"):
        if not getattr(grid, axis):
            raise BenchSpecError(f"the grid's {axis} list is empty")
    for t in grid.time_limits:
        if not t > 0:
            raise BenchSpecError(f"time limits must be positive seconds, got {t!r}")
    variants = [(name, tuple(sorted({**grid.options, **v.get("options", {})}.items())),
                 tuple(sorted({**grid.backend_options, **v.get("backend_options", {})}.items())))
                for name, v in grid.variants.items()] or \
        [("", tuple(sorted(grid.options.items())), tuple(sorted(grid.backend_options.items())))]
    cases = []
    for gspec in grid.graphs:
        source = locate_graph(gspec, folder)
        peak = no_remat_peak(resolve_graph(source))
        for bspec in grid.budgets:
            budget = parse_budget(bspec, peak=peak)
            for form in grid.formulations:
                for backend in grid.backends:
                    for tl in grid.time_limits:
                        for name, opts, bopts in variants:
                            for seed in grid.seeds:
                                cases.append(Case(source, budget, str(bspec), peak, form, backend, float(tl),
                                                  int(seed), grid.threads, grid.max_copies, opts, bopts, name,
                                                  tuple(grid.imports), grid.kill_margin))
    return cases


def select_variants(grid: Grid, names: list[str]) -> Grid:
    """``grid`` with only the named variants, in the order given."""
    unknown = [n for n in names if n not in grid.variants]
    if unknown:
        known = ", ".join(grid.variants) or "none"
        raise BenchSpecError(f"unknown variant {unknown[0]!r}; the grid's variants: {known}")
    return replace(grid, variants={n: grid.variants[n] for n in names})


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
    if "variants" in data:
        kwargs["variants"] = _variants(data["variants"], source)
    if "kill_margin" in data:
        val = data["kill_margin"]
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not val > 0:
            raise BenchSpecError(f"{source}: 'kill_margin' must be positive seconds, got {val!r}")
        kwargs["kill_margin"] = float(val)
    if "imports" in data:
        raw = data["imports"]
        items = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(x, str) and x for x in items):
            raise BenchSpecError(f"{source}: 'imports' must be a list of module names or .py files, got {raw!r}")
        kwargs["imports"] = tuple(items)
    if "graphs" not in kwargs:
        raise BenchSpecError(f"{source}: missing 'graphs'")
    # Relative paths in a file are relative to that file; a bare name no file answers is looked up later.
    if source != "<grid>":
        base = Path(source).parent
        kwargs["graphs"] = tuple(str(base / g) if not _is_named(g) and (base / g).is_file() else g
                                 for g in kwargs["graphs"])
        kwargs["imports"] = tuple(str(base / m) if m.endswith(".py") and not Path(m).is_absolute() else m
                                  for m in kwargs.get("imports", ()))
    return Grid(**kwargs)


def _variants(raw: Any, source: str) -> dict[str, dict[str, dict[str, Any]]]:
    if not isinstance(raw, Mapping) or not raw:
        raise BenchSpecError(f"{source}: 'variants' must be a table of named tables, e.g. [variants.nolns]")
    out = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            raise BenchSpecError(f"{source}: variant {name!r} must be a table")
        bad = set(table) - set(_VARIANT_KEYS)
        if bad:
            raise BenchSpecError(f"{source}: variant {name!r}: unknown key {sorted(bad)[0]!r}; "
                                 f"known: {', '.join(_VARIANT_KEYS)}")
        for key in _VARIANT_KEYS:
            if not isinstance(table.get(key, {}), Mapping):
                raise BenchSpecError(f"{source}: variant {name!r}: {key!r} must be a table")
        out[str(name)] = {key: dict(table.get(key, {})) for key in _VARIANT_KEYS}
    return out


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
