"""HiGHS through Pyomo (``highs``) against HiGHS handed the same MILP as arrays (``highs-direct``).

Two workloads, each run by both backends ``--repeats`` times, alternating, one thread:

* the Moccasin model of a random layered graph at 85% of its peak, solved to optimality
  (the linearized full model: pair binaries of the cumulative);
* the gap relaxation (:mod:`remat.formulations.moccasin_bound`) of a larger layered graph at 90%,
  solved to optimality (binaries and plain rows, the bound of ``remat.bounds``).

Prints each run and, per workload, the ratio of the median wall times (direct / Pyomo); both
must reach the same objective.

    python benchmarks/micro/highs_routes.py --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from remat.backends import SolveOptions, get_backend
from remat.formulations.moccasin_bound import gap_relaxation
from remat.generators import random_layered
from remat.graph import no_remat_peak
from remat.solve import solve

ROUTES = ("highs", "highs-direct")


def full_model(backend: str, n: int) -> tuple[float | None, float]:
    g = random_layered(n, seed=2)
    t0 = time.perf_counter()
    r = solve(g, int(0.85 * no_remat_peak(g)), backend=backend, time_limit=600, threads=1, order="given")
    assert r.status.value == "optimal", r.status
    return r.objective, time.perf_counter() - t0


def relaxation(backend: str, n: int) -> tuple[float | None, float]:
    g = random_layered(n, seed=1)
    model = gap_relaxation(g, int(0.9 * no_remat_peak(g))).model
    t0 = time.perf_counter()
    raw = get_backend(backend).solve(model, SolveOptions(time_limit=600, threads=1))
    assert raw.status.value == "optimal", raw.status
    return raw.objective, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model-nodes", type=int, default=40, help="nodes of the full-model graph (default 40)")
    ap.add_argument("--relaxation-nodes", type=int, default=250,
                    help="nodes of the relaxation's graph (default 250)")
    args = ap.parse_args()
    for name, run, n in (("full model", full_model, args.model_nodes),
                         ("gap relaxation", relaxation, args.relaxation_nodes)):
        walls: dict[str, list[float]] = {route: [] for route in ROUTES}
        objectives = set()
        for _ in range(args.repeats):
            for route in ROUTES:
                objective, wall = run(route, n)
                objectives.add(objective)
                walls[route].append(wall)
                print(f"{name}, n = {n}, {route}: cost {objective}, {wall:.2f} s", flush=True)
        assert len(objectives) == 1, objectives
        pyomo, direct = (statistics.median(walls[route]) for route in ROUTES)
        print(f"{name}: median wall highs {pyomo:.2f} s, highs-direct {direct:.2f} s, ratio {direct / pyomo:.3f}",
              flush=True)


if __name__ == "__main__":
    main()
