"""Lower bounds on the default model's optimum: the implied stage cuts alone, and the gap relaxation.

The stage-cut bound builds only the cut rows of ``remat.formulations.moccasin`` (one Boolean
"recomputed" per node) and minimises the cost of the recomputations they force, with CP-SAT. The
gap bound is :func:`remat.bounds.gap_lower_bound` (HiGHS, ``--time-limit`` seconds, constraint
stages above ``--share`` of the budget without recomputation). Every schedule within the budget
satisfies both, so each bounds the paper model's optimum (C = 2) from below. Prints TDI% bounds.

    python benchmarks/stage_bound.py                     # RL1, RL2 and generated n = 500 at 90%
    python benchmarks/stage_bound.py GRAPH_OR_SPEC --budget 80% --time-limit 240
    python benchmarks/stage_bound.py GRAPH_OR_SPEC --direct   # HiGHS without Pyomo (large relaxations)

``--direct`` hands the relaxation (binary variables and plain linear rows only) to highspy
itself: through the ``highs`` backend, Pyomo's model building takes most of the time on
relaxations of 10,000 variables and more (12 s of 17 s on the generated n = 500 seed 0 graph at
90%, measured with cProfile), and the time limit does not cover it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import math
import time

import numpy as np

from remat.backends import SolveOptions, get_backend
from remat.bounds import gap_lower_bound
from remat.formulations.ir import BoolVar, Linear
from remat.formulations.moccasin_bound import gap_relaxation
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


def direct_gap_bound(graph, budget: int, time_limit: float, share: float) -> tuple[float, str, int, float]:
    """(TDI% lower bound, status, constraint stages, seconds) of the gap relaxation, solved by highspy."""
    import highspy

    t0 = time.perf_counter()
    relaxed = gap_relaxation(graph, budget, share=share)
    model = relaxed.model
    column = {v: k for k, v in enumerate(model.bool_vars)}
    assert not model.int_vars and all(isinstance(c, Linear) and not c.enforce for c in model.constraints)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("threads", 2)
    h.setOptionValue("mip_rel_gap", 0.0)
    cols = len(column)
    cost = np.zeros(cols)
    for var, coef in model.objective.terms:
        cost[column[var]] += coef
    h.addVars(cols, np.zeros(cols), np.ones(cols))
    h.changeColsCost(cols, np.arange(cols, dtype=np.int32), cost)
    h.changeColsIntegrality(cols, np.arange(cols, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * cols))
    lower, upper, starts, index, value = [], [], [], [], []
    for row in model.constraints:
        lower.append(-highspy.kHighsInf if row.lb is None else row.lb)
        upper.append(highspy.kHighsInf if row.ub is None else row.ub)
        starts.append(len(index))
        for var, coef in row.terms:
            index.append(column[var])
            value.append(coef)
    h.addRows(len(lower), np.array(lower, float), np.array(upper, float), len(index), np.array(starts, np.int32),
              np.array(index, np.int32), np.array(value, float))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return math.inf, status, len(relaxed.stages), time.perf_counter() - t0
    bound = math.ceil(h.getInfo().mip_dual_bound - 1e-6) + model.objective.offset
    tdi = 100 * max(0.0, bound * relaxed.cost_unit / graph.total_cost - 1)
    return tdi, status, len(relaxed.stages), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graphs", nargs="*", default=DEFAULT)
    ap.add_argument("--budget", default="90%")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds for the gap relaxation (default 60)")
    ap.add_argument("--share", type=float, default=1.0,
                    help="gap relaxation rows at stages above this share of the budget (default 1.0)")
    ap.add_argument("--direct", action="store_true", help="solve the gap relaxation with highspy itself")
    args = ap.parse_args()
    print("| graph | budget | stage cuts: bound TDI % (status) | gap relaxation: bound TDI % (status, rows at stages, s) |")
    print("|---|---|---|---|")
    for spec in args.graphs:
        g = load_graph(spec) if spec.endswith(".json") else from_spec(spec)
        budget = parse_budget(args.budget, peak=no_remat_peak(g))
        tdi, status = cut_bound(g, budget)
        if args.direct:
            gap_tdi, gap_status, stages, wall = direct_gap_bound(g, budget, args.time_limit, args.share)
        else:
            gap = gap_lower_bound(g, budget, time_limit=args.time_limit, share=args.share)
            gap_tdi, gap_status, stages, wall = gap.tdi, gap.status.value, gap.stages, gap.wall_time
        print(f"| {g.name} | {budget:,} ({args.budget}) | {tdi:.3f} ({status}) | {gap_tdi:.3f} ({gap_status}, "
              f"{stages}, {wall:.1f}) |", flush=True)


if __name__ == "__main__":
    main()
