"""``remat bench``: run a grid of solves and write CSV, a markdown table and a Pareto PNG;
``remat bench report DIR...``: print (or write) the tables of earlier runs from their CSVs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from remat.bench import EXECUTORS, BenchSpecError, Grid, data_dir, expand, load_grid, markdown_table, plot_pareto
from remat.bench import read_csv, read_reference, rows_table, run_grid, select_variants, write_csv
from remat.bench.report import backends_table, gap_table, machine, write_meta
from remat.cli import EXIT_INVALID, EXIT_OK
from remat.cli.common import echo, positive_float, positive_int


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a grid of solves; write CSV, a markdown table and a Pareto PNG",
                       description="Run graphs x budgets x formulations x backends x time limits x variants; "
                                   "every schedule is verified, every case runs in its own process, killed when it "
                                   "runs --kill-margin seconds past its limit. Flags or a TOML grid file (flags "
                                   "given override its keys). Exit 0 when every case ran (whatever its status), 1 "
                                   "when a case failed or was killed. 'remat bench report DIR...' prints the tables "
                                   "of earlier runs from their results.csv (-o FILE writes them too).")
    p.add_argument("graphs", nargs="*", metavar="GRAPH",
                   help="graph files, example:NAME, generator specs such as random_layered:n=500,seed=1, or names "
                        "of graphs in the data folder; after 'report': result folders or CSV files")
    p.add_argument("--grid", metavar="GRID.toml", action="append",
                   help="read the grid from a TOML file; repeatable: the grids run one after the other, into one "
                        "output folder")
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
    p.add_argument("--variants", metavar="NAMES", help="comma-separated: run only these variants of the grid file")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder where graph names are looked up as NAME.json (default: $REMAT_DATA_DIR, else "
                        "../shared/graphs/paper beside a source checkout)")
    p.add_argument("--kill-margin", type=positive_float, metavar="S",
                   help="seconds a case may run past its time limit before it is killed (default 30)")
    p.add_argument("--in-process", action="store_true",
                   help="run the cases in this process (serial) or a reused pool: no hard timeout, no peak RSS")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local process pool (default), serial, or a Dask cluster")
    p.add_argument("--address", help="Dask scheduler address, e.g. tcp://host:8786 (with --executor dask)")
    p.add_argument("--workers", type=positive_int, help="concurrent solves (default: CPUs // threads)")
    p.add_argument("-o", "--out", metavar="DIR",
                   help="output folder for results.csv, results.md, pareto.png (default bench-out); "
                        "with 'report': a markdown file to write")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    rep = p.add_argument_group("report", "options of 'remat bench report DIR...'")
    rep.add_argument("--layout", choices=("paper", "rows", "backends", "gap"),
                     help="paper: a row per graph and budget, a column per configuration (the default, as in "
                          "results.md); rows: a row per case with times, overrun and peak RSS (the default with "
                          "--reference or --baseline); backends: a row per graph and budget, a column per backend; "
                          "gap: a row per graph and budget, the heuristics' TDI beside the model's, its proven "
                          "bound and gap")
    rep.add_argument("--reference", metavar="CSV",
                     help="figures and targets to show beside ours, by graph and budget_spec (rows layout)")
    rep.add_argument("--baseline", metavar="VARIANT", help="ratios of wall time and TDI to this variant (rows layout)")
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


def grids_from_args(args: argparse.Namespace) -> list[Grid]:
    """One grid per ``--grid`` file (or one from the flags alone), the flags given overriding each."""
    return [grid_from_args(args, path) for path in (args.grid or [None])]


def grid_from_args(args: argparse.Namespace, path: str | None = None) -> Grid:
    data: dict[str, Any] = {}
    if path:
        base = load_grid(path)
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
    if args.kill_margin is not None:
        data["kill_margin"] = args.kill_margin
    if not data.get("graphs"):
        raise BenchSpecError("give at least one GRAPH or a --grid file that lists graphs")
    grid = Grid(**data)
    if args.variants is not None:
        grid = select_variants(grid, _split(args.variants))
    return grid


def run(args: argparse.Namespace) -> int:
    if args.graphs[:1] == ["report"]:
        return report(args)
    if args.reference or args.baseline or args.layout:
        raise BenchSpecError("--layout, --reference and --baseline belong to 'remat bench report DIR...'")
    grids = grids_from_args(args)
    folder = data_dir(args.data_dir)
    cases = [case for grid in grids for case in expand(grid, folder)]
    out = Path(args.out or "bench-out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchSpecError(f"cannot create output folder {str(out)!r}: {exc.strerror or exc}") from None
    started, t0 = machine(), time.perf_counter()
    rows = _run_with_progress(cases, args)
    write_csv(rows, out / "results.csv")
    write_meta(out / "meta.json", started=started, grids=grids, seconds=time.perf_counter() - t0)
    table = markdown_table(rows)
    (out / "results.md").write_text(table + "\n")
    if not args.no_plot:
        plot_pareto(rows, out / "pareto.png")
    echo(table)
    echo(f"\nwrote {out / 'results.csv'}, {out / 'results.md'}, {out / 'meta.json'}"
         + ("" if args.no_plot else f", {out / 'pareto.png'}"))
    errors = [r for r in rows if r["status"] in ("error", "killed")]
    if errors:
        echo(f"{len(errors)} case(s) failed or were killed; first: {errors[0]['error']}")
        return EXIT_INVALID
    return EXIT_OK


def report(args: argparse.Namespace) -> int:
    """``remat bench report DIR...``: the tables of earlier runs, from their results.csv."""
    sources = args.graphs[1:]
    if not sources:
        raise BenchSpecError("remat bench report needs at least one result folder or CSV file")
    rows = [row for src in sources for row in read_csv(src)]
    layout = args.layout or ("rows" if args.reference or args.baseline else "paper")
    if layout in ("paper", "backends", "gap"):
        if args.reference or args.baseline:
            raise BenchSpecError("--reference and --baseline need --layout rows")
        table = {"paper": markdown_table, "backends": backends_table, "gap": gap_table}[layout](rows)
    else:
        table = rows_table(rows, reference=read_reference(args.reference) if args.reference else None,
                           baseline=args.baseline)
    echo(table)
    if args.out:
        try:
            Path(args.out).write_text(table + "\n")
        except OSError as exc:
            raise BenchSpecError(f"cannot write {args.out!r}: {exc.strerror or exc}") from None
    return EXIT_OK


def _run_with_progress(cases, args: argparse.Namespace):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    kwargs = dict(executor=args.executor, workers=args.workers, address=args.address, isolate=not args.in_process)
    if args.quiet:
        return run_grid(cases, **kwargs)
    with Progress(TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=False) as bar:
        task = bar.add_task("", total=len(cases))

        def done(row) -> None:
            bar.update(task, advance=1, description=f"{row['graph']} {row['budget_spec']}: {row['status']}")

        return run_grid(cases, on_done=done, **kwargs)
