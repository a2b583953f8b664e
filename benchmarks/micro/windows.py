"""Window search (remat.windows) against the heuristics it starts from.

For each graph spec and budget (a fraction of the no-remat peak): the TDI of
greedy eviction, of the best verified schedule of the heuristic portfolio,
and of the window search started from that schedule, read at each checkpoint
(seconds of window search). One CSV row per (graph, budget). Every schedule
counted is verified at the budget.

    python benchmarks/micro/windows.py transformer:layers=40 --fractions 0.9 0.7 0.5 \
        --checkpoints 30 120 --threads 2 --out windows.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

from remat.generators import from_spec
from remat.graph import no_remat_peak
from remat.heuristics import PORTFOLIO, get_heuristic
from remat.windows import fits, improve_by_windows


def tdi(graph, cost) -> float | None:
    return None if cost is None else 100.0 * (cost - graph.total_cost) / graph.total_cost


def best_heuristic(graph, budget, seconds_each: float, names=PORTFOLIO):
    """(name, sequence, cost, seconds) of every portfolio heuristic that fits, each within its deadline."""
    found = []
    for name in names:
        t0 = time.perf_counter()
        seq = get_heuristic(name).run(graph, budget, deadline=t0 + seconds_each)
        took = time.perf_counter() - t0
        if seq is not None and fits(graph, budget, seq):
            found.append((name, list(seq), sum(graph.cost[v] for v in seq), took))
    return found


def run_case(spec: str, fraction: float, checkpoints: list[float], threads: int, seed: int, heuristic_seconds: float,
             heuristics=PORTFOLIO):
    graph = from_spec(spec)
    budget = int(fraction * no_remat_peak(graph))
    found = best_heuristic(graph, budget, heuristic_seconds, heuristics)
    greedy = next((f for f in found if f[0] == "greedy-eviction"), None)
    row = {"graph": spec, "n": graph.n, "budget_fraction": fraction,
           "greedy_tdi": tdi(graph, greedy[2] if greedy else None),
           "greedy_s": None if greedy is None else round(greedy[3], 2)}
    if not found:
        return row | {"best_heuristic": None}
    name, seq, cost, _ = min(found, key=lambda f: f[2])
    row |= {"best_heuristic": name, "best_heuristic_tdi": tdi(graph, cost)}
    trace = [(0.0, cost)]
    t0 = time.perf_counter()
    out = improve_by_windows(graph, budget, seq, deadline=t0 + max(checkpoints), threads=threads, seed=seed,
                             on_improve=lambda s, c: trace.append((time.perf_counter() - t0, c)))
    assert fits(graph, budget, out.computes) and out.cost == trace[-1][1]
    for c in checkpoints:
        row[f"windows_{c:g}s_tdi"] = tdi(graph, min(cost for t, cost in trace if t <= c))
    row |= {"sub_solves": out.windows, "accepted": out.improved, "wall_s": round(out.seconds, 1)}
    if greedy is not None and greedy[2] > graph.total_cost:
        row["vs_greedy_rel"] = round(1 - (out.cost - graph.total_cost) / (greedy[2] - graph.total_cost), 3)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("specs", nargs="+")
    p.add_argument("--fractions", type=float, nargs="+", default=[0.9, 0.7, 0.5])
    p.add_argument("--checkpoints", type=float, nargs="+", default=[30, 120])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heuristic-seconds", type=float, default=20.0)
    p.add_argument("--heuristics", nargs="+", default=list(PORTFOLIO),
                   help="the heuristics to start from (default the portfolio; some overrun their deadline on 10k nodes)")
    p.add_argument("--out", default="-")
    args = p.parse_args(argv)
    rows = []
    for spec in args.specs:
        for fraction in args.fractions:
            rows.append(run_case(spec, fraction, args.checkpoints, args.threads, args.seed, args.heuristic_seconds,
                                 args.heuristics))
            print(rows[-1], file=sys.stderr, flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    writer = csv.DictWriter(out, fieldnames=keys)
    writer.writeheader()
    writer.writerows({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
