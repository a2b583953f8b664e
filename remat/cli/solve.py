"""``remat solve``: find, verify and write a schedule."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from remat.backends import backend_names
from remat.budget import parse_budget
from remat.cli import EXIT_INFEASIBLE, EXIT_INTERRUPTED, EXIT_NO_SOLUTION, EXIT_OK
from remat.cli.common import add_graph_argument, echo, graph_from_args, int_in_range, positive_float, positive_int
from remat.cli.progress import LiveLine
from remat.errors import OutputError
from remat.graph import no_remat_peak
from remat.stages import ORDERS
from remat.solve import solve
from remat.status import Status


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("solve", help="find a minimum-cost schedule within a memory budget",
                       description="Find a minimum-cost schedule within a memory budget; the schedule is verified.")
    add_graph_argument(p)
    p.add_argument("--budget", "-b", required=True,
                   help="bytes (41687), a fraction (0.9) or a percent (90%%) of the no-remat peak")
    p.add_argument("--backend", default="cpsat", help=f"solver backend (registered: {', '.join(backend_names())})")
    p.add_argument("--formulation", default="moccasin",
                   help="model or baseline heuristic (default: moccasin; see `remat info GRAPH --formulations`)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds")
    p.add_argument("--threads", type=positive_int, default=2, metavar="N", help="solver threads (default 2)")
    p.add_argument("--max-copies", type=positive_int, default=2, metavar="C",
                   help="retention intervals per node (Moccasin's C, default 2)")
    p.add_argument("--seed", type=seed_int, default=0, help="solver random seed (0 to 2**31 - 1)")
    p.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                   help="do not hand the best fitting baseline schedule to the solver as a hint")
    p.add_argument("--lower-bound", action=argparse.BooleanOptionalAction, default=None,
                   help="first bound the optimum with the formulation's relaxation (up to half the time), so "
                        "that the solver can stop when its incumbent meets the bound; --no-lower-bound: never. "
                        "Default: with a time limit, before a search that has the whole limit (fixed-order graphs, "
                        "--order given) when the relaxation's size fits a fifth of the time")
    p.add_argument("--order", choices=ORDERS, default="auto",
                   help="order of first computations: 'given' = the graph's own (the paper's model); 'memory' = "
                        "a search for one with less memory above the budget (a heuristic lever; nothing proven "
                        "then but a schedule at the total cost); 'auto' (default) = given, and with a time limit, "
                        "when the given order is not settled in 60%% of it (or stalls), memory for the rest, the "
                        "cheaper schedule winning")
    p.add_argument("-o", "--output", metavar="OUT.json", help="write the schedule (remat-schedule/1)")
    p.add_argument("--quiet", "-q", action="store_true", help="no live progress line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    graph = graph_from_args(args)
    peak = no_remat_peak(graph)
    budget = parse_budget(args.budget, peak=peak)
    if args.output:
        check_writable(args.output)  # before a long solve, not after
    # the limit counts from the command's start: loading the graph is part of it
    limit = None if args.time_limit is None else max(0.0, args.time_limit - (time.perf_counter() - started))
    with LiveLine(graph.total_cost, enabled=not args.quiet) as live:
        result = solve(graph, budget, backend=args.backend, formulation=args.formulation,
                       time_limit=limit, threads=args.threads, max_copies=args.max_copies,
                       seed=args.seed, on_progress=live.update, warm_start=args.warm_start,
                       lower_bound=args.lower_bound, order=args.order)
    if result.schedule is not None and args.output:
        try:
            result.schedule.save(args.output)  # atomic: a temporary file, then a rename
        except OSError as exc:
            raise OutputError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
    echo(summary(result, peak))
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.status == Status.INFEASIBLE:
        return EXIT_INFEASIBLE
    if result.schedule is None:
        return EXIT_NO_SOLUTION
    return EXIT_OK


seed_int = int_in_range(0, 2**31 - 1, "an integer from 0 to 2**31 - 1")


def check_writable(path: str) -> None:
    """Raise OutputError unless ``path`` can be created or replaced (checked before solving)."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"cannot write {path!r}: it is a folder")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path!r}: folder {str(folder)!r} is not writable")


def summary(result, peak: int) -> str:
    share = f"{100 * result.budget / peak:.1f}% of " if peak else ""
    head = f"{result.graph}: budget {result.budget:,} bytes ({share}no-remat peak {peak:,})"
    before = result.started_at - result.order_time  # the given order's share under --order auto
    if result.order != "given":
        head += f"; first computations in the {result.order} order ({result.order_time:.2f}s to find"
        head += f", after {before:.2f}s in the given order)" if before > 0.005 else ")"
    elif result.order_time:
        head += f"; the given order kept after {result.order_time:.2f}s of order search"
    if result.interrupted:
        head += "\ninterrupted (Ctrl-C): " + ("best verified incumbent so far below" if result.schedule is not None
                                             else "no schedule yet")
    if result.status == Status.INFEASIBLE:
        return f"{head}\nstatus infeasible: no schedule fits this budget (proven)"
    if result.schedule is None and result.backend == "none":  # a baseline heuristic that did not fit
        return f"{head}\nstatus unknown: {result.message}"
    if result.schedule is None:
        closest = "" if result.lowest_peak is None else (
            f"; the lowest peak reached is {result.lowest_peak:,} bytes"
            f" ({100 * result.lowest_peak / peak:.1f}% of the no-remat peak)" if peak else "")
        return f"{head}\nstatus unknown: limit reached with no schedule{closest}"
    gap = "" if result.gap is None else f", gap {100 * result.gap:.2f}%"
    limit = f" ({result.unproven_reason})" if result.unproven_reason and not result.interrupted else ""
    model = ""
    if result.model_objective is not None and result.model_objective != result.objective:
        model = (f"\nthe paper's model (first computations in the graph's order): {result.model_status.value}, "
                 f"TDI {result.model_tdi:.3f}%")
    return (f"{head}\nstatus {result.status.value}{limit}: cost {result.objective:,} (TDI {result.tdi:.3f}%{gap}), "
            f"peak {result.peak_memory:,} bytes, {len(result.schedule.computes)} computations, "
            f"verified, {result.wall_time:.2f}s{model}")
