"""The backend comparison table of ``docs/backends.md``, from the CSV that ``remat bench`` wrote.

One row per graph and budget, one column per backend: ``optimal`` or ``infeasible`` with the wall
time of the solve when proven; otherwise TDI and gap at the time limit (``feasible``), ``no
schedule``, or why the backend declined the model. Also prints, per backend, the largest graph
(by nodes) it proved optimal at some budget, and at which.

    python benchmarks/backends_table.py benchmarks/results/backends/results.csv
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict


def cell(row: dict[str, str]) -> str:
    if row["error"]:
        return "declined: 32-bit" if "32-bit" in row["error"] else "error: " + row["error"][:40]
    status = row["status"]
    if status in ("optimal", "infeasible"):
        return f"**{status}** {float(row['wall_time']):.1f} s"
    if status == "feasible":
        gap = f"{100 * float(row['gap']):.2f}%" if row["gap"] else "?"
        return f"TDI {float(row['tdi']):.2f}%, gap {gap}"
    return "no schedule"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+")
    args = ap.parse_args()
    rows = [r for path in args.csv for r in csv.DictReader(open(path))]
    backends = list(dict.fromkeys(r["backend"] for r in rows))
    table: dict[tuple[str, str, int], dict[str, str]] = defaultdict(dict)
    for r in rows:
        table[(r["graph"], r["budget_spec"], int(r["n"]))][r["backend"]] = cell(r)
    print("| graph | n | budget | " + " | ".join(backends) + " |")
    print("|---|---|---|" + "---|" * len(backends))
    for (graph, budget, n), cells in table.items():
        print(f"| {graph} | {n} | {budget} | " + " | ".join(cells.get(b, "") for b in backends) + " |")
    print()
    for b in backends:
        optimal = [(int(r["n"]), r["graph"], r["budget_spec"]) for r in rows
                   if r["backend"] == b and r["status"] == "optimal" and not r["error"]]
        best = max(optimal, default=None)
        at = ", ".join(sorted(budget for n, g, budget in optimal if best and g == best[1]))
        print(f"{b}: largest graph proven optimal: {f'{best[1]} ({best[0]} nodes; at {at})' if best else 'none'}")

if __name__ == "__main__":
    main()
