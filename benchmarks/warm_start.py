"""The Moccasin warm start's parts, each alone: first greedy variant, greedy portfolio, randomised restarts.

Prints, per instance, TDI% of the plan and seconds taken: the first greedy
variant alone; the whole portfolio; the portfolio followed by randomised
greedy restarts for ``--improve`` seconds. "over" marks a plan over the budget.

    python benchmarks/warm_start.py --improve 5
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from remat.budget import parse_budget
from remat.formulations.moccasin_warmstart import PORTFOLIO, _Evaluator, _repair, greedy_plan, improve_plan, plan_cost
from remat.generators import from_spec
from remat.graph import load_graph, no_remat_peak

INSTANCES = [("rl1_random_layered_n100", "90%"), ("rl1_random_layered_n100", "80%"),
             ("rl2_random_layered_n250", "132156"), ("rl2_random_layered_n250", "117472"),
             ("random_layered:n=500,width=0.36,seed=1", "90%"), ("random_layered:n=500,width=0.36,seed=1", "80%"),
             ("random_layered:n=1000,width=0.31,seed=0", "90%"), ("random_layered:n=1000,width=0.31,seed=0", "80%")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "graphs" / "paper"))
    ap.add_argument("--improve", type=float, default=2.5, help="seconds of randomised restarts")
    args = ap.parse_args()
    print("| instance | budget | first variant | portfolio | + randomised restarts |")
    print("|---|---|---|---|---|")
    for name, spec in INSTANCES:
        g = from_spec(name) if ":" in name else load_graph(Path(args.paper_dir) / f"{name}.json")
        budget = parse_budget(spec, peak=no_remat_peak(g))

        def fmt(plan, fits, secs):
            return f"{100 * plan_cost(g, plan) / g.total_cost:.3f}{'' if fits else ' (over)'} in {secs:.2f} s"

        t0 = time.perf_counter()
        first, ok1 = _repair(g, _Evaluator(g, budget), {}, None, None, candidates=PORTFOLIO[0][0],
                             alpha=PORTFOLIO[0][1])
        t1 = time.perf_counter()
        plan, ok = greedy_plan(g, budget)
        t2 = time.perf_counter()
        better = improve_plan(g, budget, plan, time_limit=args.improve) if ok else plan
        t3 = time.perf_counter()
        print(f"| {name} | {spec} | {fmt(first, ok1, t1 - t0)} | {fmt(plan, ok, t2 - t1)} | "
              f"{fmt(better, ok, t3 - t1)} |", flush=True)


if __name__ == "__main__":
    main()
