"""HiGHS (through the linearization) against CP-SAT on the same Moccasin model.

For each graph and budget, both backends solve the same IR model through
``remat.solve`` (so both get the same warm start, and every schedule is
verified); the script prints status, TDI, objective, wall time and the native
model sizes: CP-SAT's proto (variables, Boolean variables, constraints) and
the linearized MILP (variables, binaries, rows, nonzeros).

Usage (the issue 3 acceptance run, from the repository root)::

    python benchmarks/micro/milp_vs_cpsat.py ../shared/graphs/paper/vgg16_train.json \
        ../shared/graphs/paper/cm1_fcn8_train.json --budgets 90% 80% --threads 2 --time-limit 300
"""

from __future__ import annotations

import argparse
import sys
import time

import remat
from remat.backends.linearize import linearize
from remat.budget import parse_budget
from remat.formulations import get_formulation


def cpsat_size(model) -> dict[str, int]:
    from remat.backends.cpsat import CpSatBackend

    cp, _ = CpSatBackend().translate(model)
    proto = cp.proto
    binaries = sum(1 for v in proto.variables if list(v.domain) == [0, 1])
    return {"variables": len(proto.variables), "binaries": binaries, "constraints": len(proto.constraints)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("graphs", nargs="+")
    p.add_argument("--budgets", nargs="+", default=["90%", "80%"])
    p.add_argument("--backends", nargs="+", default=["cpsat", "highs"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--time-limit", type=float, default=300.0)
    args = p.parse_args(argv)
    print("| graph | n | budget | backend | warm start | status | TDI% | objective | bound | wall s | variables "
          "| binaries | constraints | nonzeros |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for path in args.graphs:
        g = remat.load_graph(path)
        peak = remat.no_remat_peak(g)
        for spec in args.budgets:
            budget = parse_budget(spec, peak=peak)
            model = get_formulation("moccasin").build(g, budget).model
            sizes = {"cpsat": cpsat_size(model)}
            lin = linearize(model).size()
            for name in args.backends:
                size = sizes.get(name, lin)
                t0 = time.perf_counter()
                r = remat.solve(g, budget, backend=name, threads=args.threads, time_limit=args.time_limit,
                                order="given")  # the backends on one model, not the order lever
                wall = time.perf_counter() - t0
                tdi = "-" if r.tdi is None else f"{r.tdi:.3f}"
                warm = getattr(r, "warm_start", None) or "-"
                print(f"| {g.name} | {g.n} | {spec} ({budget:,}) | {name} | {warm} | {r.status.value} | {tdi} | "
                      f"{r.objective if r.objective is not None else '-'} | "
                      f"{r.bound if r.bound is not None else '-'} | {wall:.1f} | {size['variables']:,} | "
                      f"{size['binaries']:,} | {size['constraints']:,} | {size.get('nonzeros', '-')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
