"""Lower bounds on the default model's optimum: the implied stage cuts alone, and the gap relaxation.

The stage-cut bound builds only the cut rows of ``remat.formulations.moccasin`` (one Boolean
"recomputed" per node) and minimises the cost of the recomputations they force, with CP-SAT. The
gap bound is :func:`remat.bounds.gap_lower_bound` (HiGHS, ``--time-limit`` seconds, constraint
stages above ``--share`` of the budget without recomputation). Every schedule within the budget
satisfies both, so each bounds the paper model's optimum (C = 2) from below. Prints TDI% bounds.

    python benchmarks/micro/stage_bound.py                     # RL1, RL2 and generated n = 500 at 90%
    python benchmarks/micro/stage_bound.py GRAPH_OR_SPEC --budget 80% --time-limit 240
    python benchmarks/micro/stage_bound.py GRAPH_OR_SPEC --rounds 4 --time-limit 900   # rows at recomputations
    python benchmarks/micro/stage_bound.py GRAPH_OR_SPEC --rounds 8 --start-stages 10 --time-limit 900

The gap relaxation is solved by the ``highs-direct`` backend (HiGHS without Pyomo, whose model
building took 12 s of 17 s on the generated n = 500 seed 0 graph at 90%, outside the time limit).
``--rounds R`` solves the relaxation up to R times, adding after each the rows at the
recomputations of its solution, and, with ``--start-stages K``, starting from rows at the K stages
most over the budget and adding up to ``--add-stages`` stages over the budget in the replay of each
solution (:func:`remat.bounds.gap_lower_bound`; large graphs need only a few dozen stages).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from remat.backends import SolveOptions, get_backend
from remat.bench import data_dir
from remat.bounds import gap_lower_bound
from remat.budget import parse_budget
from remat.ir import Model
from remat.formulations.moccasin import _add_stage_cuts, copies_allowed
from remat.generators import from_spec
from remat.graph import load_graph, no_remat_peak

PAPER = data_dir() or Path("../shared/graphs/paper")  # the paper graphs (remat bench --data-dir rules)
DEFAULT = [str(PAPER / "rl1_random_layered_n100.json"), str(PAPER / "rl2_random_layered_n250.json")] + [
    f"random_layered:n=500,width=0.36,seed={seed}" for seed in (0, 1, 2)]


def cut_bound(graph, budget: int) -> tuple[float, str]:
    """(TDI% lower bound, status) from the cut rows alone."""
    m = Model("stage cuts")
    present = [[None] + ([m.bool_var(f"recomputed[{v}]")] if copies_allowed(graph, v, 2) > 1 else [])
               for v in range(graph.n)]
    _add_stage_cuts(m, graph, graph.mem, budget, present)
    m.minimize([(p[1], graph.cost[v]) for v, p in enumerate(present) if len(p) > 1])
    raw = get_backend("cpsat").solve(m, SolveOptions(time_limit=60, threads=1, extra={"lns": False}))
    bound = raw.objective if raw.status.value == "optimal" else raw.bound
    return 100 * (bound or 0) / graph.total_cost, raw.status.value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graphs", nargs="*", default=DEFAULT)
    ap.add_argument("--budget", default="90%")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds for the gap relaxation (default 60)")
    ap.add_argument("--share", type=float, default=1.0,
                    help="gap relaxation rows at stages above this share of the budget (default 1.0)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="solves of the whole relaxation, each adding rows at its recomputations (default 1)")
    ap.add_argument("--start-stages", type=int, default=None,
                    help="first solve with rows at only this many stages, the most over the budget (default: all)")
    ap.add_argument("--add-stages", type=int, default=10,
                    help="stages over the budget in a solution's replay added per round (default 10)")
    args = ap.parse_args()
    print("| graph | budget | stage cuts: bound TDI % (status) | gap relaxation: bound TDI % (status, rows at stages, s) |")
    print("|---|---|---|---|")
    for spec in args.graphs:
        g = load_graph(spec) if spec.endswith(".json") else from_spec(spec)
        budget = parse_budget(args.budget, peak=no_remat_peak(g))
        tdi, status = cut_bound(g, budget)
        gap = gap_lower_bound(g, budget, time_limit=args.time_limit, share=args.share, rounds=args.rounds,
                              start_stages=args.start_stages, add_stages=args.add_stages)
        print(f"| {g.name} | {budget:,} ({args.budget}) | {tdi:.3f} ({status}) | {gap.tdi:.3f} ({gap.status.value}, "
              f"{gap.stages}, {gap.wall_time:.1f}) |", flush=True)


if __name__ == "__main__":
    main()
