"""The routes to HiGHS on the same linearized model, ratioed against each other in one run.

Routes: ``highs`` (highspy handed the MILP as arrays), ``pyomo:highs`` (Pyomo's current solver
API) and ``pyomo:appsi_highs`` (Pyomo's classic API). Workloads, each solved by every route
``--repeats`` times, alternating, one thread, the default solve in the given order:

* small paper graphs (VGG16, VGG19) at 90% and a generated random layered graph at 85%;
* the gap relaxation (:mod:`remat.formulations.moccasin_bound`) of a larger layered graph at 90%
  (binaries and plain rows: the model building dominates).

Prints each run and, per workload, every route's median wall time over the first route's.

    python benchmarks/micro/highs_routes.py --repeats 2 --time-limit 20
"""

from __future__ import annotations

import argparse
import statistics
import time

from remat.backends import SolveOptions, get_backend, is_available, solve_model
from remat.formulations.moccasin_bound import gap_relaxation
from remat.generators import random_layered
from remat.graph import load_graph, no_remat_peak
from remat.solve import solve

ROUTES = ("highs", "pyomo:highs", "pyomo:appsi_highs")
PAPER = "/work/shared/graphs/paper"


def full_model(route: str, graph, frac: float, limit: float) -> tuple[object, float]:
    t0 = time.perf_counter()
    r = solve(graph, int(frac * no_remat_peak(graph)), backend=route, time_limit=limit, threads=1, order="given")
    return (r.status.value, r.objective), time.perf_counter() - t0


def relaxation(route: str, n: int, limit: float) -> tuple[object, float]:
    g = random_layered(n, seed=1)
    model = gap_relaxation(g, int(0.9 * no_remat_peak(g))).model
    t0 = time.perf_counter()
    raw = solve_model(get_backend(route), model, SolveOptions(time_limit=limit, threads=1))
    return (raw.status.value, raw.objective), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--paper-dir", default=PAPER)
    args = ap.parse_args()
    routes = [r for r in ROUTES if is_available(r)]
    paper = {name: load_graph(f"{args.paper_dir}/{name}_train.json") for name in ("vgg16", "vgg19")}
    workloads = [(f"{name} 90%", lambda route, g=g: full_model(route, g, 0.9, args.time_limit))
                 for name, g in paper.items()]
    workloads.append(("random_layered n=40 85%", lambda route: full_model(route, random_layered(40, seed=2), 0.85,
                                                                          args.time_limit)))
    workloads.append(("gap relaxation n=250", lambda route: relaxation(route, 250, args.time_limit)))
    for name, run in workloads:
        walls: dict[str, list[float]] = {route: [] for route in routes}
        for _ in range(args.repeats):
            for route in routes:
                answer, wall = run(route)
                walls[route].append(wall)
                print(f"{name}, {route}: {answer}, {wall:.2f} s", flush=True)
        base = statistics.median(walls[routes[0]])
        print(f"{name}: median wall " + ", ".join(
            f"{route} {statistics.median(w):.2f} s (x{statistics.median(w) / base:.2f})" for route, w in walls.items()),
            flush=True)


if __name__ == "__main__":
    main()
