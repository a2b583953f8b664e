"""Micro-benchmark: Moccasin model build (and CP-SAT translation) time and memory for n = 250..5000.

Builds the model for random layered graphs of growing size at 80% of the
no-remat peak and prints, per n: nodes + edges, IR size, build seconds,
the same build with Python's garbage collector running (the builder
pauses it), peak Python memory during the build (tracemalloc), CP-SAT translation
seconds, and the build time per (n + edges) relative to the smallest graph,
which stays near 1 when building is linear in n + edges.

    python benchmarks/micro/build_time.py                # n = 250, 500, 1000, 2000, 5000
    python benchmarks/micro/build_time.py 250 1000 --no-translate
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from remat.formulations.moccasin import Moccasin, _build_staged
from remat.generators import random_layered
from remat.graph import no_remat_peak


def measure(n: int, translate: bool) -> dict:
    g = random_layered(n, seed=0)
    budget = int(0.8 * no_remat_peak(g))
    t0 = time.perf_counter()
    built = Moccasin().build(g, budget)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _build_staged(g, budget, 2)  # the same build with Python's cyclic garbage collector running
    build_gc = time.perf_counter() - t0
    tracemalloc.start()  # a third build, for memory only: tracing slows building down several times
    Moccasin().build(g, budget)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    row = {"n": n, "edges": g.num_edges, "size": g.n + g.num_edges, "build_s": build, "build_gc_s": build_gc,
           "build_mib": peak / 2**20,
           **built.model.size()}
    if translate:
        from remat.backends.cpsat import CpSatBackend

        t0 = time.perf_counter()
        CpSatBackend().translate(built.model)
        row["translate_s"] = time.perf_counter() - t0
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[250, 500, 1000, 2000, 5000])
    ap.add_argument("--no-translate", action="store_true", help="only the IR build")
    args = ap.parse_args()
    rows = [measure(n, not args.no_translate) for n in args.sizes]
    base = rows[0]["build_s"] / rows[0]["size"]
    print("| n | n + edges | IR vars (int / bool) | constraints | build s | build s, GC running | build MiB "
          "| translate s | build s per (n+E), relative |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        tr = f"{r['translate_s']:.2f}" if "translate_s" in r else "-"
        print(f"| {r['n']} | {r['size']} | {r['int_vars']} / {r['bool_vars']} | {r['constraints']} | "
              f"{r['build_s']:.2f} | {r['build_gc_s']:.2f} | {r['build_mib']:.1f} | {tr} | "
              f"{r['build_s'] / r['size'] / base:.2f} |")


if __name__ == "__main__":
    main()
