"""``remat plot``: draw a schedule (memory over computations, or retention intervals) to an image file."""

from __future__ import annotations

import argparse

from remat.budget import parse_budget
from remat.cli import EXIT_OK
from remat.cli.common import echo, positive_int
from remat.errors import ScheduleFormatError
from remat.generators import EXAMPLES
from remat.graph import load_graph, no_remat_peak
from remat.plot import KINDS, check_output, plot_gantt, plot_memory, save
from remat.schedule import load_schedule


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw a schedule: memory over computations, or a Gantt chart of retention",
                       description="Draw SCHEDULE (a remat-schedule/1 file) on its graph. 'memory': resident "
                                   "memory during each computation with the budget line and recomputations "
                                   "marked; 'gantt': one bar per tensor over the computations it is kept for.")
    p.add_argument("schedule", metavar="SCHEDULE", help="schedule file (remat-schedule/1)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--graph", "-g", metavar="GRAPH", help="the graph JSON file the schedule is for")
    src.add_argument("--example", choices=sorted(EXAMPLES), help="the bundled example graph the schedule is for")
    p.add_argument("-o", "--output", required=True, metavar="FIG.png", help="image file: .png, .svg or .pdf")
    p.add_argument("--kind", choices=KINDS, default="memory", help="picture to draw (default: memory)")
    p.add_argument("--budget", "-b", help="budget line of the memory picture (bytes, fraction or percent); "
                                          "default: the schedule's own")
    p.add_argument("--dpi", type=positive_int, default=120, help="resolution of .png output (default 120)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output(args.output)
    graph = EXAMPLES[args.example]() if args.example else load_graph(args.graph)
    schedule = load_schedule(args.schedule)
    if schedule.graph != graph.name:
        raise ScheduleFormatError(f"schedule {args.schedule!r} is for graph {schedule.graph!r}, not {graph.name!r}")
    if args.kind == "gantt":
        fig = plot_gantt(graph, schedule)
    else:
        budget = parse_budget(args.budget, peak=no_remat_peak(graph)) if args.budget is not None else None
        fig = plot_memory(graph, schedule, budget)
    echo(f"wrote {save(fig, args.output, dpi=args.dpi)}")
    return EXIT_OK
