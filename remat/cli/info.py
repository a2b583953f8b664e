"""``remat info``: what a graph is, in numbers."""

from __future__ import annotations

import argparse

from remat.cli.common import add_graph_argument, echo, graph_from_args, positive_int
from remat.graph import min_budget, no_remat_peak


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="nodes, edges, total cost, no-remat peak and min_budget of a graph")
    add_graph_argument(p)
    p.add_argument("--formulations", action="store_true",
                   help="also print each formulation's model size (at 90%% of the no-remat peak)")
    p.add_argument("--max-copies", type=positive_int, default=2, metavar="C",
                   help="Moccasin's C for --formulations (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    g = graph_from_args(args)
    peak = no_remat_peak(g)
    echo(f"graph       {g.name}")
    echo(f"nodes       {g.n}")
    echo(f"edges       {g.num_edges}")
    echo(f"total cost  {g.total_cost:,}")
    echo(f"no-remat peak  {peak:,} bytes")
    share = f" ({100 * min_budget(g) / peak:.1f}% of peak)" if peak else ""  # a graph of zero-byte tensors
    echo(f"min_budget     {min_budget(g):,} bytes{share}")
    if args.formulations:
        print_formulation_sizes(g, peak * 9 // 10, args.max_copies)
    return 0


def print_formulation_sizes(g, budget: int, max_copies: int) -> None:
    from remat.formulations import formulation_names, get_formulation
    from remat.heuristics import heuristic_names

    echo(f"\nmodel sizes at budget {budget:,} bytes (90% of peak), max_copies {max_copies}:")
    echo(f"{'formulation':<18}{'int vars':>10}{'Booleans':>10}{'intervals':>11}{'constraints':>13}")
    for name in formulation_names():
        size = get_formulation(name).build(g, budget, max_copies=max_copies).model.size()
        echo(f"{name:<18}{size['int_vars']:>10,}{size['bool_vars']:>10,}{size['intervals']:>11,}"
             f"{size['constraints']:>13,}")
    for name in heuristic_names():
        echo(f"{name:<18}{'heuristic: no model':>44}")
