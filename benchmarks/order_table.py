"""The order tables in docs/performance.md: a baseline run beside a run in another order.

Reads the ``results.csv`` of ``remat bench`` output folders, joins the rows on (graph, budget),
and prints one markdown row per case of the second run: the baseline's TDI and status, then the
second run's TDI, peak (share of the no-remat peak), seconds to best and status (with the order
its schedule came from when that is not the given one). Each column is headed by its runs'
``--option`` (the default solve, ``order=auto``, when none). ``--fastsa`` adds the FastSA column
(NeurIPS 2023, figures from ../shared/graphs/paper/README.md) for RL1, RL2 and CM1.

    remat bench --grid benchmarks/grids/order_lever.toml -o bench-out/order_memory
    remat bench --grid benchmarks/grids/order_lever.toml --option order=given -o bench-out/order_given
    python benchmarks/order_table.py --baseline bench-out/order_given --lever bench-out/order_memory --fastsa
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

# FastSA's published TDI % / memory share / seconds, single thread (../shared/graphs/paper/README.md).
FASTSA = {
    ("rl1", "90%"): "0.0 / 79.4% / 11.7", ("rl1", "80%"): "0.3 / 79.4% / 11.5", ("rl1", "70%"): "2.2 / 77.3% / 12.0",
    ("rl2", "90%"): "0.0 / 77.3% / 15.1", ("rl2", "80%"): "0.0 / 72.2% / 15.0", ("rl2", "70%"): "2.6 / 68.9% / 14.5",
    ("cm1", "90%"): "0.1 / 75.3% / 9.4", ("cm1", "80%"): "0.1 / 75.1% / 9.7", ("cm1", "70%"): "3.0 / 62.3% / 9.7",
}


def read_rows(folders: list[str]) -> list[dict[str, str]]:
    return [row for folder in folders for row in csv.DictReader(open(Path(folder) / "results.csv"))]


def cell(row: dict[str, str], full: bool) -> str:
    if row["status"] == "infeasible":
        return "infeasible (proven)"
    if row["tdi"] == "":
        return f"no schedule ({row['status']})"
    if not full:
        return f"{float(row['tdi']):.3f} / {row['status']}"
    share = 100 * float(row["peak_frac"])
    order = f" ({row['order']} order)" if row.get("order", "given") != "given" else ""
    return (f"{float(row['tdi']):.3f} / {int(row['peak_memory']):,} ({share:.1f}%) / "
            f"{float(row['time_to_best']):.1f} / {row['status']}{order}")


def label(rows: list[dict[str, str]]) -> str:
    return f"`{rows[0]['options']}`" if rows and rows[0]["options"] else "default (`order=auto`)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", nargs="+", required=True, help="bench output folders of the baseline order")
    parser.add_argument("--lever", nargs="+", required=True, help="bench output folders of the other order")
    parser.add_argument("--fastsa", action="store_true", help="add FastSA's published column")
    args = parser.parse_args()
    baseline_rows, lever_rows = read_rows(args.baseline), read_rows(args.lever)
    baseline = {(r["graph"], r["budget_spec"]): r for r in baseline_rows}
    head = ["graph", "budget"] + (["FastSA"] if args.fastsa else []) + [
        f"{label(baseline_rows)}: TDI % / status", f"{label(lever_rows)}: TDI % / peak (share) / s to best / status"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in lever_rows:
        key = (row["graph"], row["budget_spec"])
        before = cell(baseline[key], False) if key in baseline else "-"
        fastsa = [FASTSA.get((row["graph"][:3], row["budget_spec"]), "-")] if args.fastsa else []
        cells = [row["graph"], f"{int(row['budget']):,} ({row['budget_spec']})"] + fastsa + [before, cell(row, True)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
