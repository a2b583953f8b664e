"""Each speed lever of the default solve, switched off alone (or, if off by default, on), against the default, in one run.

Every solve here is in the given order (``order=given``): these are the levers of the paper's
model, which the default's ``order=auto`` solves first (docs/performance.md, "The default solve's order").

For every instance the default solve (all levers on) and one solve per
lever switched off run back to back under the same time limit, serially,
so that every ratio compares runs made on the same machine at the same
time (with ``--repeats``, the median run of each cell). Prints a markdown table: per instance and variant, TDI%, status, time
to best and wall time, and the wall-time ratio to the default.

    python benchmarks/levers.py                       # the default instance set, 10 s each
    python benchmarks/levers.py --time-limit 20 --paper-dir ../shared/graphs/paper
    python benchmarks/levers.py --set large --time-limit 60 --variants "default,no neighbourhood search"
    python benchmarks/levers.py --only rl1 --repeats 3 --variants "default,no stage cuts"

The ``large`` set (generated 500-node graphs at the paper's n = 500 width, the two seeds
not proven within 60 s, and RL2 at 117,472) is where the solve runs to its limit, so its ratio is the TDI excess
over the no-recomputation cost (TDI% / default TDI%), not the wall time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from remat.bench import Grid, expand, run_grid

# (label, formulation options, backend options); the first is the default solve.
VARIANTS = [
    ("default", {}, {}),
    ("dense event numbering", {"time": "dense"}, {}),
    ("no end bounds", {"end_bounds": False}, {}),
    ("no gcd scaling", {"gcd": False}, {}),
    ("no two-phase start", {}, {"two_phase": False}),
    ("no warm start", {"warm_start": False}, {}),
    ("no neighbourhood search", {}, {"lns": False}),
    ("no stage cuts", {"stage_cuts": False}, {}),
    ("with relaxation bound", {"lower_bound": True}, {}),  # off by default: the one lever switched on
]

LARGE = [(f"random_layered:n=500,width=0.36,seed={seed}", budget) for seed in (1, 2) for budget in ("90%", "80%")]
LARGE.append(("rl2_random_layered_n250", "117472"))
INSTANCES = [("rl1_random_layered_n100", "80%"), ("vgg16_train", "80%"), ("vgg19_train", "80%"),
             ("segnet_train", "90%"), ("rl2_random_layered_n250", "132156"), ("rl2_random_layered_n250", "117472")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "graphs" / "paper"))
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="runs per cell; the table shows the median wall time")
    ap.add_argument("--set", choices=("paper", "large"), default="paper", help="instance set (default paper)")
    ap.add_argument("--variants", help="comma-separated variant labels (default: all)")
    ap.add_argument("--only", default="", help="only the instances whose name holds this text")
    args = ap.parse_args()
    wanted = args.variants.split(",") if args.variants else [label for label, _, _ in VARIANTS]
    rows = []
    for stem, budget in (i for i in (INSTANCES if args.set == "paper" else LARGE) if args.only in i[0]):
        graph = stem if ":" in stem else str(Path(args.paper_dir) / f"{stem}.json")
        for label, opts, bopts in (v for v in VARIANTS if v[0] in wanted):  # options reach remat.solve: warm_start is its own switch
            grid = Grid(graphs=(graph,), budgets=(budget,), time_limits=(args.time_limit,), threads=args.threads,
                        options={"order": "given", **opts}, backend_options=bopts)
            runs = [run_grid(expand(grid), executor="serial")[0] for _ in range(args.repeats)]
            runs.sort(key=lambda r: float(r["wall_time"]))
            row = runs[len(runs) // 2]
            rows.append((stem, budget, label, row))
            print(f"{stem} {budget} {label}: {row['status']} tdi={row['tdi']} wall={row['wall_time']}", flush=True)
    print()
    measure = "wall / default" if args.set == "paper" else "TDI / default TDI"
    print(f"| instance | budget | variant | TDI % | status | time to best s | wall s | {measure} |")
    print("|---|---|---|---|---|---|---|---|")
    default: dict = {}
    for stem, budget, label, r in rows:
        if label == "default":
            default[stem, budget] = r
        tdi = "-" if r["tdi"] == "" else f"{float(r['tdi']):.3f}"
        ttb = "-" if r["time_to_best"] == "" else f"{float(r['time_to_best']):.1f}"
        base = default[stem, budget]
        if args.set == "paper":
            ratio = float(r["wall_time"]) / float(base["wall_time"])
        else:
            tdi_now, tdi_base = float(r["tdi"] or "nan"), float(base["tdi"] or "nan")
            ratio = tdi_now / tdi_base if tdi_base else float("nan")
        print(f"| {stem} | {budget} | {label} | {tdi} | {r['status']} | {ttb} | {float(r['wall_time']):.1f} | "
              f"{ratio:.2f} |")


if __name__ == "__main__":
    main()
