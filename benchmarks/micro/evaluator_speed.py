"""The warm start's memory evaluator: numpy against plain Python, in the same run.

Times the first greedy variant (the evaluator is most of its time) and the
evaluator alone on sequences of random plans, on the generated 500- and
1000-node graphs at 90%, with the vectorised evaluator and with its plain
Python fallback (the same plans come out: checked). Prints median seconds of
``--repeats`` runs and the ratio python / numpy.

    python benchmarks/micro/evaluator_speed.py --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from remat.budget import parse_budget
from remat.heuristics.staged import PORTFOLIO, _Evaluator, _repair, plan_sequence
from remat.generators import from_spec
from remat.graph import no_remat_peak

GRAPHS = ("random_layered:n=500,width=0.36,seed=1", "random_layered:n=1000,width=0.31,seed=1")


def _median_seconds(work, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| graph | work | numpy s | python s | python / numpy |")
    print("|---|---|---|---|---|")
    for spec in GRAPHS:
        g = from_spec(spec)
        budget = parse_budget("90%", peak=no_remat_peak(g))
        rng = random.Random(0)
        seqs = [plan_sequence(g.n, {v: rng.randint(v + 1, g.n - 1) for v in rng.sample(range(g.n - 1), 40)})
                for _ in range(200)]
        rows = {}
        for vectorised in (True, False):
            ev = _Evaluator(g, budget)
            ev.vectorised = vectorised
            greedy = _median_seconds(lambda: _repair(g, ev, {}, None, None, candidates=PORTFOLIO[0][0],
                                                     alpha=PORTFOLIO[0][1]), args.repeats)
            profiles = _median_seconds(lambda: [ev.profile(s) for s in seqs], args.repeats)
            rows[vectorised] = (greedy, profiles)
        assert rows[True][0][1] == rows[False][0][1] and rows[True][1][1] == rows[False][1][1]
        for k, work in enumerate(("first greedy variant", "200 profiles")):
            fast, slow = rows[True][k][0], rows[False][k][0]
            print(f"| {spec} | {work} | {fast:.3f} | {slow:.3f} | {slow / fast:.2f} |", flush=True)


if __name__ == "__main__":
    main()
