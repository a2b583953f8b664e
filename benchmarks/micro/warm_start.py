"""The Moccasin warm start's parts, one after the other: first greedy variant, greedy portfolio,
annealing on the excess (only where the portfolio is stuck over the budget), ruin and repair (alone, and
with stage shifts).

Prints, per instance, TDI% of the plan and seconds taken so far: the first
greedy variant alone; the whole portfolio; then the annealing, given up to
``--anneal`` seconds when the portfolio's plan is over the budget; then, from
that plan, ``--improve`` seconds of ruin and repair alone, and as many of the
default improvement (ruin and repair interleaved with stage shifts), each
timed as if it came right after the annealing. "over" marks a plan over the
budget.

    python benchmarks/micro/warm_start.py --improve 5 --anneal 20
    python benchmarks/micro/warm_start.py --improve 10 --match "90%" --seed 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from remat.bench import data_dir
from remat.budget import parse_budget
from remat.heuristics.staged import (PORTFOLIO, _Evaluator, _repair, anneal_excess, greedy_plan,
                                                   improve_plan, plan_cost)
from remat.generators import from_spec
from remat.graph import load_graph, no_remat_peak

INSTANCES = [("rl1_random_layered_n100", "90%"), ("rl1_random_layered_n100", "80%"),
             ("rl2_random_layered_n250", "132156"), ("rl2_random_layered_n250", "117472"),
             ("random_layered:n=500,width=0.36,seed=1", "90%"), ("random_layered:n=500,width=0.36,seed=1", "80%"),
             ("random_layered:n=500,width=0.36,seed=2", "90%"),
             ("random_layered:n=1000,width=0.31,seed=0", "90%"), ("random_layered:n=1000,width=0.31,seed=0", "80%"),
             ("random_layered:n=1000,width=0.31,seed=1", "90%"), ("random_layered:n=1000,width=0.31,seed=1", "80%"),
             ("random_layered:n=1000,width=0.31,seed=2", "80%")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper-dir", default=str(data_dir() or "../shared/graphs/paper"))
    ap.add_argument("--improve", type=float, default=2.5, help="seconds of ruin and repair")
    ap.add_argument("--anneal", type=float, default=20.0, help="at most this many seconds of annealing")
    ap.add_argument("--seed", type=int, default=0, help="seed of ruin and repair (and of the stage shifts)")
    ap.add_argument("--match", default="", help="only the rows whose 'instance budget' contains this text")
    args = ap.parse_args()
    print("| instance | budget | first variant | portfolio | + annealing | + ruin and repair alone | "
          "+ ruin and repair with stage shifts (default) |")
    print("|---|---|---|---|---|---|---|")
    for name, spec in INSTANCES:
        if args.match not in f"{name} {spec}":
            continue
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
        annealed, ok_annealed = (plan, ok) if ok else anneal_excess(g, budget, plan, deadline=t2 + args.anneal)
        t3 = time.perf_counter()
        alone = (improve_plan(g, budget, annealed, time_limit=args.improve, seed=args.seed, shift_share=0.0)
                 if ok_annealed else annealed)
        t4 = time.perf_counter()
        better = (improve_plan(g, budget, annealed, time_limit=args.improve, seed=args.seed) if ok_annealed
                  else annealed)
        t5 = time.perf_counter()
        print(f"| {name} | {spec} | {fmt(first, ok1, t1 - t0)} | {fmt(plan, ok, t2 - t1)} | "
              f"{'-' if ok else fmt(annealed, ok_annealed, t3 - t1)} | {fmt(alone, ok_annealed, t4 - t1)} | "
              f"{fmt(better, ok_annealed, t5 - t4 + t3 - t1)} |", flush=True)


if __name__ == "__main__":
    main()
