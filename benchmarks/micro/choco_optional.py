"""Choco's two ways to take an absent interval out of the cumulative, ratioed in one run.

``duration``: the task's duration is forced to 0 when absent; ``height``: its height is the demand
times the presence literal. Same model (Moccasin, the given order), same warm start, one thread;
prints status, cost and wall time of each, alternating, and each option's wall time over
``duration``'s.

    python benchmarks/micro/choco_optional.py --time-limit 20
"""

from __future__ import annotations

import argparse
import time

from remat.generators import random_layered
from remat.graph import load_graph, no_remat_peak
from remat.solve import solve

PAPER = "/work/shared/graphs/paper"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--paper-dir", default=PAPER)
    args = ap.parse_args()
    cases = [("vgg16 90%", load_graph(f"{args.paper_dir}/vgg16_train.json"), 0.9),
             ("vgg19 80%", load_graph(f"{args.paper_dir}/vgg19_train.json"), 0.8),
             ("rl1 90%", load_graph(f"{args.paper_dir}/rl1_random_layered_n100.json"), 0.9),
             ("random_layered n=40 85%", random_layered(40, seed=2), 0.85)]
    for name, g, frac in cases:
        walls = {}
        for optional in ("duration", "height"):
            t0 = time.perf_counter()
            r = solve(g, int(frac * no_remat_peak(g)), backend="choco", time_limit=args.time_limit, threads=1,
                      order="given", backend_options={"optional": optional})
            walls[optional] = time.perf_counter() - t0
            print(f"{name}, optional={optional}: {r.status.value} cost {r.objective}, {walls[optional]:.2f} s",
                  flush=True)
        print(f"{name}: height/duration wall {walls['height'] / walls['duration']:.2f}", flush=True)


if __name__ == "__main__":
    main()
