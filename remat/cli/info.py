"""``remat info``: what a graph is, in numbers."""

from __future__ import annotations

import argparse

from remat.cli.common import add_graph_argument, echo, graph_from_args
from remat.graph import min_budget, no_remat_peak


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="nodes, edges, total cost, no-remat peak and min_budget of a graph")
    add_graph_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    g = graph_from_args(args)
    peak = no_remat_peak(g)
    echo(f"graph       {g.name}")
    echo(f"nodes       {g.n}")
    echo(f"edges       {g.num_edges}")
    echo(f"total cost  {g.total_cost:,}")
    echo(f"no-remat peak  {peak:,} bytes")
    echo(f"min_budget     {min_budget(g):,} bytes ({100 * min_budget(g) / peak:.1f}% of peak)")
    return 0
