"""Formulations side by side on the Moccasin paper's graphs: writes docs/formulations-comparison.md.

Every cell (graph x budget x formulation x backend) runs in its own process
with the given time limit and a hard wall-clock cap (the limit plus a
margin: model building and Pyomo's translation are not interruptible), so
one slow cell cannot stall the table. Each schedule reported is verified by
``remat.solve``; the table shows its TDI and peak as the verifier measures
them. A second table measures the warm start: the same Moccasin/CP-SAT solve
with and without it, in the same run.

Usage::

    python benchmarks/compare_formulations.py [--paper-dir DIR] [--time-limit 60] [--threads 2]
        [--backends cpsat,highs] [--graphs rl1_random_layered_n100,...] [--out docs/formulations-comparison.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER_DIR = ROOT.parent / "shared" / "graphs" / "paper"
GRAPHS = ["rl1_random_layered_n100", "rl2_random_layered_n250", "cm1_fcn8_train", "vgg16_train", "vgg19_train",
          "segnet_train", "vgg_unet_train", "mobilenet_train"]
LABELS = {"rl1_random_layered_n100": "RL1", "rl2_random_layered_n250": "RL2", "cm1_fcn8_train": "CM1",
          "vgg16_train": "VGG16", "vgg19_train": "VGG19", "segnet_train": "SegNet", "vgg_unet_train": "VGG-UNet",
          "mobilenet_train": "MobileNet"}
FORMULATIONS = ["moccasin", "checkmate", "moccasin-free"]
BASELINE_COLUMNS = ["greedy-eviction", "chen-greedy", "chen-sqrt"]
MARGIN_S = 30.0


def run_cell(path: str, frac: str, formulation: str, backend: str, time_limit: float, threads: int,
             warm_start: bool = True) -> dict:
    """One solve, in this process; returns plain data."""
    import remat
    from remat.budget import parse_budget

    g = remat.load_graph(path)
    peak = remat.no_remat_peak(g)
    budget = parse_budget(frac, peak=peak)
    t0 = time.perf_counter()
    r = remat.solve(g, budget, formulation=formulation, backend=backend, time_limit=time_limit,
                    threads=threads, warm_start=warm_start, order="given")  # the models, not the order lever
    return {"status": r.status.value, "objective": r.objective, "tdi": r.tdi, "bound": r.bound, "gap": r.gap,
            "peak": r.peak_memory, "no_remat_peak": peak, "budget_bytes": budget, "size": r.model_size,
            "time_to_first": r.time_to_first, "time_to_best": r.time_to_best, "build_time": r.build_time,
            "hint_time": r.hint_time, "warm_start": r.warm_start, "wall": time.perf_counter() - t0,
            "message": r.message}


def cell_in_subprocess(*args, cap: float) -> dict:
    cmd = [sys.executable, __file__, "--cell", json.dumps(args)]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=cap, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"status": "killed", "wall": time.perf_counter() - t0,
                "message": f"no answer within {cap:.0f} s (model building or translation too slow)"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": "error", "wall": time.perf_counter() - t0, "message": tail[:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_time(x) -> str:
    return "-" if x is None else f"{x:.1f}"


def paired_cells(rows, first: str, second: str, backend: str = "cpsat"):
    """``(graph, budget, row of first, row of second)`` for every cell where both formulations ran on ``backend``."""
    by_key = {(r["graph"], r["budget"], r["formulation"], r["backend"]): r for r in rows}
    for gname in dict.fromkeys(r["graph"] for r in rows):
        for frac in dict.fromkeys(r["budget"] for r in rows):
            a = by_key.get((gname, frac, first, backend))
            b = by_key.get((gname, frac, second, backend))
            if a is not None and b is not None:
                yield gname, frac, a, b


def fmt_cell(r: dict) -> str:
    if r["status"] in ("killed", "error"):
        return r["status"]
    if r["objective"] is None:
        return r["status"]
    return f"{r['tdi']:.3f}"


def size_text(r: dict) -> str:
    s = r.get("size") or {}
    if not s:
        return "-"
    return f"{s['int_vars']:,} / {s['bool_vars']:,} / {s['constraints']:,}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", help=argparse.SUPPRESS)
    ap.add_argument("--paper-dir", default=str(PAPER_DIR))
    ap.add_argument("--graphs", default=",".join(GRAPHS))
    ap.add_argument("--budgets", default="90%,80%")
    ap.add_argument("--formulations", default=",".join(FORMULATIONS))
    ap.add_argument("--backends", default="cpsat,highs")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warm-graphs", default="rl1_random_layered_n100,vgg19_train,mobilenet_train")
    ap.add_argument("--out", default=str(ROOT / "docs" / "formulations-comparison.md"))
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "compare_formulations.json"))
    args = ap.parse_args(argv)
    if args.cell:
        print(json.dumps(run_cell(*json.loads(args.cell))))
        return 0

    graphs = [g for g in args.graphs.split(",") if g]
    budgets = args.budgets.split(",")
    forms = args.formulations.split(",")
    backends = args.backends.split(",")
    rows, warm = [], []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t_all = time.perf_counter()
    for gname in graphs:
        path = str(Path(args.paper_dir) / f"{gname}.json")
        for frac in budgets:
            for form in forms:
                for backend in backends:
                    r = cell_in_subprocess(path, frac, form, backend, args.time_limit, args.threads,
                                           cap=args.time_limit + MARGIN_S)
                    rows.append({"graph": gname, "budget": frac, "formulation": form, "backend": backend, **r})
                    print(gname, frac, form, backend, r["status"], fmt_cell(r), f"{r['wall']:.1f}s", flush=True)
            for base in BASELINE_COLUMNS:
                r = run_cell(path, frac, base, "cpsat", args.time_limit, args.threads)  # fast: in process
                rows.append({"graph": gname, "budget": frac, "formulation": base, "backend": "none", **r})
    for gname in [g for g in args.warm_graphs.split(",") if g]:
        path = str(Path(args.paper_dir) / f"{gname}.json")
        for frac in budgets:
            pair = {}
            for ws in (True, False):
                pair[ws] = cell_in_subprocess(path, frac, "moccasin", "cpsat", args.time_limit, args.threads, ws,
                                              cap=args.time_limit + MARGIN_S)
            warm.append({"graph": gname, "budget": frac, "on": pair[True], "off": pair[False]})
            print("warm", gname, frac, pair[True].get("time_to_first"), pair[False].get("time_to_first"), flush=True)
    total = time.perf_counter() - t_all

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"rows": rows, "warm": warm}, indent=1) + "\n")
    Path(args.out).write_text(render(rows, warm, args, started, total))
    print(f"wrote {args.out} and {args.json} ({total / 60:.1f} min)")
    return 0


def render(rows, warm, args, started, total) -> str:
    cmd = "python benchmarks/compare_formulations.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in (("time_limit", args.time_limit), ("threads", args.threads),
                                                      ("backends", args.backends)))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    lines = [
        "# Formulations compared on the paper graphs",
        "",
        "Generated by `" + cmd + "` (do not edit by hand) at commit " + commit + " on " + started
        + f", {platform.machine()} with {os.cpu_count()} CPU cores shared with other jobs; "
        f"total {total / 60:.0f} min. Time limit {args.time_limit:g} s per solve (build included), "
        f"{args.threads} threads; a cell that gives no answer within the limit plus {MARGIN_S:.0f} s is "
        "`killed`. Budgets floor(0.9 x peak) and floor(0.8 x peak) of the no-remat peak; C = 2 for both "
        "Moccasin variants. Every schedule is verified; TDI% = 100 x (cost / sum of node costs - 1).",
        "",
        "Columns: model size (integer variables / Booleans / constraints of the IR, before any backend's "
        "reduction), status (`optimal` is proven; `feasible` = best incumbent at the limit), TDI%, peak as % "
        "of the no-remat peak, seconds to the first and to the best incumbent (from the backend's start), "
        "proven gap, wall seconds of the whole solve. Warm start on (the default).",
        "",
        "| graph | budget | formulation | backend | size (int / bool / cons) | status | TDI% | peak% | first s "
        "| best s | gap% | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["backend"] == "none":
            continue
        peak = "-" if r.get("peak") is None else f"{100 * r['peak'] / r['no_remat_peak']:.1f}"
        gap = "-" if r.get("gap") is None else f"{100 * r['gap']:.2f}"
        lines.append(f"| {LABELS.get(r['graph'], r['graph'])} | {r['budget']} | {r['formulation']} | {r['backend']} "
                     f"| {size_text(r)} | {r['status']} | {fmt_cell(r) if r.get('objective') is not None else '-'} "
                     f"| {peak} | {fmt_time(r.get('time_to_first'))} | {fmt_time(r.get('time_to_best'))} | {gap} "
                     f"| {r['wall']:.1f} |")
    lines += ["", "## Baselines", "",
              "TDI% of each heuristic's schedule when it fits the budget (`unknown`: it found none that fits).", "",
              "| graph | budget | " + " | ".join(BASELINE_COLUMNS) + " |",
              "|---|---|" + "---|" * len(BASELINE_COLUMNS)]
    cells: dict = {}
    for r in rows:
        if r["backend"] == "none":
            cells.setdefault((r["graph"], r["budget"]), {})[r["formulation"]] = r
    for (gname, frac), by in cells.items():
        lines.append(f"| {LABELS.get(gname, gname)} | {frac} | "
                     + " | ".join(fmt_cell(by[b]) for b in BASELINE_COLUMNS) + " |")
    lines += ["", "## Moccasin against Checkmate (CP-SAT)", "",
              "Same time limit, both warm-started from the same heuristic schedule. `delta` = Checkmate's TDI "
              "minus Moccasin's, in percentage points (positive: Moccasin's schedule is cheaper).", "",
              "| graph | budget | Moccasin TDI% (status, best s) | Checkmate TDI% (status, best s) | delta |",
              "|---|---|---|---|---|"]
    for gname, frac, mo, ck in paired_cells(rows, "moccasin", "checkmate"):
        delta = ("-" if mo.get("tdi") is None or ck.get("tdi") is None
                 else f"{ck['tdi'] - mo['tdi']:+.3f}")
        lines.append(f"| {LABELS.get(gname, gname)} | {frac} "
                     f"| {fmt_cell(mo)} ({mo['status']}, {fmt_time(mo.get('time_to_best'))}) "
                     f"| {fmt_cell(ck)} ({ck['status']}, {fmt_time(ck.get('time_to_best'))}) | {delta} |")
    lines += ["", "## What free order buys (CP-SAT)", "",
              "Staged Moccasin against free-order Moccasin, both C = 2: TDI% / peak as % of the no-remat peak "
              "(status).", "",
              "| graph | budget | staged | free order |", "|---|---|---|---|"]
    def both(r):
        if r.get("objective") is None:
            return r["status"]
        return f"{r['tdi']:.3f} / {100 * r['peak'] / r['no_remat_peak']:.1f}% ({r['status']})"

    for gname, frac, mo, fr in paired_cells(rows, "moccasin", "moccasin-free"):
        lines.append(f"| {LABELS.get(gname, gname)} | {frac} | {both(mo)} | {both(fr)} |")
    lines += ["", "## Warm start", "",
              "Moccasin (C = 2) on CP-SAT with and without the warm start, same run, same limits. "
              "`hint` names the start handed over (a baseline, or `formulation`: the staged heuristic of "
              "`remat.heuristics.staged`; none: `-`); seconds from the backend's start; "
              "`ratio` = time to first incumbent without / with.", "",
              "| graph | budget | hint | first s (on / off) | ratio | best s (on / off) | TDI% (on / off) "
              "| status (on / off) |",
              "|---|---|---|---|---|---|---|---|"]
    for w in warm:
        on, off = w["on"], w["off"]
        f_on, f_off = on.get("time_to_first"), off.get("time_to_first")
        ratio = "-" if not f_on or f_off is None else f"{f_off / f_on:.1f}x"
        lines.append(f"| {LABELS.get(w['graph'], w['graph'])} | {w['budget']} | {on.get('warm_start') or '-'} "
                     f"| {fmt_time(f_on)} / {fmt_time(f_off)} | {ratio} "
                     f"| {fmt_time(on.get('time_to_best'))} / {fmt_time(off.get('time_to_best'))} "
                     f"| {fmt_cell(on)} / {fmt_cell(off)} | {on['status']} / {off['status']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
