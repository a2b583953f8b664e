"""The targets table of docs/performance.md: the paper's Moccasin column beside ours, from bench CSVs.

Reads the ``results.csv`` files that ``remat bench --grid benchmarks/grids/<name>.toml -o DIR/<name>``
wrote for the four grids and prints one markdown row per target.

    python benchmarks/paper_table.py bench-out
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

# (grid, graph as in the CSV, budget spec, time limit, paper's Moccasin C=2 cell, target, test)
PAPER = "TDI % / peak / s to best, 16 cores"
TARGETS = [
    ("paper_small", "rl1_random_layered_n100", "90%", 30, "0.8 / 88.1% / 9.3", "optimal in <= 5 s", "opt"),
    ("paper_small", "rl1_random_layered_n100", "80%", 30, "2.3 / 79.5% / 9.5", "optimal in <= 5 s", "opt"),
    ("paper_small", "cm1_fcn8_train", "90%", 30, "0.0 / 11.1 GiB / 3.1", "optimal in <= 5 s", "opt"),
    ("paper_small", "cm1_fcn8_train", "80%", 30, "0.1 / 9.9 GiB / 3.1", "optimal in <= 5 s", "opt"),
    ("paper_small", "vgg16_train", "90%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "vgg16_train", "80%", 30, "-", "infeasible in <= 5 s", "inf"),
    ("paper_small", "vgg19_train", "90%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "vgg19_train", "80%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "segnet_train", "90%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "segnet_train", "80%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "vgg_unet_train", "90%", 30, "-", "optimal in <= 5 s", "opt"),
    ("paper_small", "vgg_unet_train", "80%", 30, "-", "optimal in <= 5 s", "opt"),
    ("rl2", "rl2_random_layered_n250", "132156", 10, "0.9 / 131,831 / 55.0", "TDI <= 0.9% in 10 s", "tdi0.9"),
    ("rl2", "rl2_random_layered_n250", "117472", 60, "4.9 / 117,400 / 639.5", "TDI <= 4.9% in 60 s", "tdi4.9"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=0", "90%", 60, "-", "TDI <= 1% in 60 s", "tdi1"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=0", "80%", 60, "-", "a schedule in 60 s", "any"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=1", "90%", 60, "-", "TDI <= 1% in 60 s", "tdi1"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=1", "80%", 60, "-", "a schedule in 60 s", "any"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=2", "90%", 60, "-", "TDI <= 1% in 60 s", "tdi1"),
    ("generated_500", "random_layered:n=500,width=0.36,seed=2", "80%", 60, "-", "a schedule in 60 s", "any"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=0", "90%", 120, "-", "TDI <= 1% in 120 s", "tdi1"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=0", "80%", 120, "-", "a schedule in 120 s", "any"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=1", "90%", 120, "-", "TDI <= 1% in 120 s", "tdi1"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=1", "80%", 120, "-", "a schedule in 120 s", "any"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=2", "90%", 120, "-", "TDI <= 1% in 120 s", "tdi1"),
    ("generated_1000", "random_layered:n=1000,width=0.31,seed=2", "80%", 120, "-", "a schedule in 120 s", "any"),
]


def met(test: str, r: dict) -> bool:
    wall = float(r["wall_time"])
    if test == "opt":
        return r["status"] == "optimal" and wall <= 5
    if test == "inf":
        return r["status"] == "infeasible" and wall <= 5
    if test == "any":
        return r["status"] in ("optimal", "feasible")
    return r["status"] in ("optimal", "feasible") and float(r["tdi"]) <= float(test[3:]) + 1e-9


def main() -> None:
    base = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out")
    rows: dict[tuple, dict] = {}
    for grid in {t[0] for t in TARGETS}:
        with open(base / grid / "results.csv") as fh:
            for r in csv.DictReader(fh):
                rows[grid, r["graph"], r["budget_spec"], float(r["time_limit"])] = r
    print(f"| graph | budget | paper, Moccasin C=2 ({PAPER}) | ours, 2 threads: TDI % / peak (share) / s to best / "
          "wall s / status | target | met |")
    print("|---|---|---|---|---|---|")
    for grid, graph, spec, limit, paper, target, test in TARGETS:
        r = rows[grid, graph, spec, float(limit)]
        if r["status"] in ("optimal", "feasible"):
            ours = (f"{float(r['tdi']):.3f} / {int(r['peak_memory']):,} ({100 * float(r['peak_frac']):.1f}%) / "
                    f"{float(r['time_to_best']):.1f} / {float(r['wall_time']):.1f} / {r['status']}"
                    + (f" ({r['order']} order)" if r.get("order", "given") != "given" else ""))
        else:
            ours = f"- / - / - / {float(r['wall_time']):.1f} / {r['status']}"
        budget = f"{int(r['budget']):,} ({spec})" if spec.endswith("%") else f"{int(r['budget']):,}"
        print(f"| {graph} | {budget} | {paper} | {ours} | {target} | {'yes' if met(test, r) else 'no'} |")


if __name__ == "__main__":
    main()
