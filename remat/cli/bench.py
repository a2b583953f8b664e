"""``remat bench``: run a grid of solves and write CSV, a markdown table and a Pareto PNG."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from remat.bench import EXECUTORS, BenchSpecError, Grid, expand, load_grid, markdown_table, plot_pareto, run_grid
from remat.bench import write_csv
from remat.cli import EXIT_INVALID, EXIT_OK
from remat.cli.common import echo, positive_float, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a grid of solves; write CSV, a markdown table and a Pareto PNG",
                       description="Run graphs x budgets x formulations x backends x time limits; every schedule "
                                   "is verified. Flags or a TOML grid file (flags given override its keys). "
                                   "Exit 0 when every case ran (whatever its status), 1 when a case failed.")
    p.add_argument("graphs", nargs="*", metavar="GRAPH",
                   help="graph files, example:NAME, or generator specs such as random_layered:n=500,seed=1")
    p.add_argument("--grid", metavar="GRID.toml", help="read the grid from a TOML file")
    p.add_argument("--budgets", help="comma-separated budgets (default 90%%,80%%)")
    p.add_argument("--formulations", help="comma-separated (default moccasin)")
    p.add_argument("--backends", help="comma-separated (default cpsat)")
    p.add_argument("--time-limits", help="comma-separated seconds (default 60)")
    p.add_argument("--seeds", help="comma-separated solver seeds (default 0)")
    p.add_argument("--threads", type=positive_int, help="solver threads per solve (default 2)")
    p.add_argument("--max-copies", type=positive_int, help="Moccasin's C (default 2)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="formulation option, repeatable")
    p.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="backend parameter (e.g. a CP-SAT parameter), repeatable")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local process pool (default), serial, or a Dask cluster")
    p.add_argument("--address", help="Dask scheduler address, e.g. tcp://host:8786 (with --executor dask)")
    p.add_argument("--workers", type=positive_int, help="concurrent solves (default: CPUs // threads)")
    p.add_argument("-o", "--out", default="bench-out", metavar="DIR",
                   help="output folder for results.csv, results.md, pareto.png (default bench-out)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _split(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _pairs(items: list[str], flag: str) -> dict[str, Any]:
    out = {}
    for item in items:
        key, eq, val = item.partition("=")
        if not eq or not key:
            raise BenchSpecError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = _value(val.strip())
    return out


def grid_from_args(args: argparse.Namespace) -> Grid:
    data: dict[str, Any] = {}
    if args.grid:
        base = load_grid(args.grid)
        data = {k: getattr(base, k) for k in Grid.__dataclass_fields__}
    if args.graphs:
        data["graphs"] = tuple(args.graphs)
    for flag, key, kind in (("budgets", "budgets", str), ("formulations", "formulations", str),
                            ("backends", "backends", str), ("time_limits", "time_limits", positive_float),
                            ("seeds", "seeds", int)):
        text = getattr(args, flag)
        if text is not None:
            try:
                data[key] = tuple(kind(x) for x in _split(text))
            except (ValueError, argparse.ArgumentTypeError) as exc:
                raise BenchSpecError(f"--{flag.replace('_', '-')}: {exc}") from None
    for key in ("threads", "max_copies"):
        if getattr(args, key) is not None:
            data[key] = getattr(args, key)
    if args.option:
        data["options"] = {**data.get("options", {}), **_pairs(args.option, "--option")}
    if args.backend_option:
        data["backend_options"] = {**data.get("backend_options", {}), **_pairs(args.backend_option, "--backend-option")}
    if not data.get("graphs"):
        raise BenchSpecError("give at least one GRAPH or a --grid file that lists graphs")
    return Grid(**data)


def run(args: argparse.Namespace) -> int:
    grid = grid_from_args(args)
    cases = expand(grid)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchSpecError(f"cannot create output folder {str(out)!r}: {exc.strerror or exc}") from None
    rows = _run_with_progress(cases, args)
    write_csv(rows, out / "results.csv")
    table = markdown_table(rows)
    (out / "results.md").write_text(table + "\n")
    if not args.no_plot:
        plot_pareto(rows, out / "pareto.png")
    echo(table)
    echo(f"\nwrote {out / 'results.csv'}, {out / 'results.md'}" + ("" if args.no_plot else f", {out / 'pareto.png'}"))
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        echo(f"{len(errors)} case(s) failed; first: {errors[0]['error']}")
        return EXIT_INVALID
    return EXIT_OK


def _run_with_progress(cases, args: argparse.Namespace):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    kwargs = dict(executor=args.executor, workers=args.workers, address=args.address)
    if args.quiet:
        return run_grid(cases, **kwargs)
    with Progress(TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as bar:
        task = bar.add_task("", total=len(cases))

        def done(row) -> None:
            bar.update(task, advance=1, description=f"{row['graph']} {row['budget_spec']}: {row['status']}")

        return run_grid(cases, on_done=done, **kwargs)
