"""Lower bounds from the Moccasin model's implied stage cuts alone (a small covering problem).

Builds only the cut rows of ``remat.formulations.moccasin`` (one Boolean "recomputed" per node)
and minimises the cost of the recomputations they force, with CP-SAT. Every schedule within the
budget satisfies the rows, so the optimum of this problem bounds the paper model's optimum from
below. Prints TDI% bounds.

    python benchmarks/stage_bound.py                     # RL1, RL2 and generated n = 500 at 90%
    python benchmarks/stage_bound.py GRAPH_OR_SPEC --budget 80%
"""

from __future__ import annotations

import argparse
from pathlib import Path

from remat.backends import SolveOptions, get_backend
from remat.budget import parse_budget
from remat.formulations.ir import Model
from remat.formulations.moccasin import _add_stage_cuts, copies_allowed
from remat.generators import from_spec
from remat.graph import load_graph, no_remat_peak

PAPER = Path(__file__).resolve().parents[2] / "shared" / "graphs" / "paper"
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
    args = ap.parse_args()
    print("| graph | budget | lower bound, TDI % | status |")
    print("|---|---|---|---|")
    for spec in args.graphs:
        g = load_graph(spec) if spec.endswith(".json") else from_spec(spec)
        budget = parse_budget(args.budget, peak=no_remat_peak(g))
        tdi, status = cut_bound(g, budget)
        print(f"| {g.name} | {budget:,} ({args.budget}) | {tdi:.3f} | {status} |", flush=True)


if __name__ == "__main__":
    main()
