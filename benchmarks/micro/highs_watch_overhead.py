"""What listening to HiGHS's callbacks costs: the same solve with the watch attached and without.

A 40-node random layered graph at 85% of its peak, solved to optimality by
HiGHS on one thread, ``--repeats`` times each way, alternating; prints each
run and the ratio of the median wall times (watch / none).

    python benchmarks/micro/highs_watch_overhead.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from remat.backends import highs_watch
from remat.generators import random_layered
from remat.graph import no_remat_peak
from remat.solve import solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    g = random_layered(40, seed=2)
    budget = int(0.85 * no_remat_peak(g))
    attach = highs_watch.HighsWatch.attach
    walls: dict[str, list[float]] = {"watch": [], "none": []}
    for _ in range(args.repeats):
        for mode in walls:
            highs_watch.HighsWatch.attach = attach if mode == "watch" else (lambda self, highs: False)
            t0 = time.perf_counter()
            r = solve(g, budget, backend="highs", time_limit=300, threads=1, order="given")
            walls[mode].append(time.perf_counter() - t0)
            print(f"{mode}: {r.status.value}, cost {r.objective}, {walls[mode][-1]:.2f} s", flush=True)
    highs_watch.HighsWatch.attach = attach
    watch, none = statistics.median(walls["watch"]), statistics.median(walls["none"])
    print(f"median wall: watch {watch:.2f} s, none {none:.2f} s, ratio {watch / none:.3f}")


if __name__ == "__main__":
    main()
