"""``remat verify``: replay a schedule file against a graph."""

from __future__ import annotations

import argparse

from remat.budget import parse_budget
from remat.cli import EXIT_INVALID, EXIT_OK
from remat.cli.common import echo
from remat.errors import ScheduleFormatError
from remat.graph import load_graph, no_remat_peak
from remat.schedule import load_schedule
from remat.verify import verify


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a schedule file against a graph",
                       description="Replay SCHEDULE on GRAPH; exit 0 if valid, 1 if not.")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("schedule", metavar="SCHEDULE")
    p.add_argument("--budget", "-b", help="check against this budget instead of the file's own")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    graph = load_graph(args.graph)
    schedule = load_schedule(args.schedule)
    if schedule.graph != graph.name:
        raise ScheduleFormatError(f"schedule {args.schedule!r} is for graph {schedule.graph!r}, not {graph.name!r}")
    budget = parse_budget(args.budget, peak=no_remat_peak(graph)) if args.budget is not None else None
    report = verify(graph, schedule, budget)
    if report.valid:
        echo(f"valid: {report.computes} computations, cost {report.total_cost:,}, peak {report.peak_memory:,} bytes"
             + (f" within budget {report.budget:,}" if report.budget is not None else ""))
        return EXIT_OK
    echo(f"invalid: {len(report.violations)} violation(s)")
    for v in report.violations[:20]:
        echo(f"  {v}")
    return EXIT_INVALID
