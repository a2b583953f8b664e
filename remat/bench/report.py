"""Writers for benchmark rows: CSV, a markdown table in the paper's layout, a Pareto PNG.

The markdown table has one row per (graph, budget) and one column per
configuration (formulation, backend, time limit, options), as the Moccasin
paper's table does; each cell reads ``TDI% / peak / time to best / gap /
status``. Over several seeds a cell shows the seed with the lowest cost.
"""

from __future__ import annotations

import csv
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

from remat.bench.run import COLUMNS


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def config_of(row: dict[str, Any]) -> str:
    tl = row["time_limit"]
    tl = f"{tl:g}" if isinstance(tl, float) else str(tl)
    return f"{row['formulation']}/{row['backend']} {tl}s" + (f" {row['options']}" if row["options"] else "")


def cell(row: dict[str, Any]) -> str:
    """One table cell: ``TDI% / peak (share of no-remat peak) / time to best / gap / status``.

    >>> cell({"status": "optimal", "tdi": 0.789, "peak_memory": 40800, "peak_frac": 0.8808,
    ...       "time_to_best": 1.93, "gap": 0.0, "error": ""})
    '0.789 / 40,800 (88.1%) / 1.9 s / 0.00% / optimal'
    >>> cell({"status": "infeasible", "error": ""})
    'infeasible (proven)'
    """
    status = row["status"]
    if status == "error":
        return f"error: {row['error'][:60]}"
    if status == "infeasible":
        return "infeasible (proven)"
    if status == "unknown":
        return "no solution"
    gap = "-" if row.get("gap") in ("", None) else f"{100 * float(row['gap']):.2f}%"
    ttb = "-" if row.get("time_to_best") in ("", None) else f"{float(row['time_to_best']):.1f} s"
    return (f"{float(row['tdi']):.3f} / {int(row['peak_memory']):,} ({100 * float(row['peak_frac']):.1f}%) / "
            f"{ttb} / {gap} / {status}")


def _better(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def key(r: dict[str, Any]) -> tuple:
        has = r["objective"] not in ("", None)
        return (not has, float(r["objective"]) if has else 0.0, float(r.get("time_to_best") or 0))
    return key(a) < key(b)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The paper's layout: graph, budget, then one column per configuration.

    >>> rows = [{"graph": "g", "budget": 9, "budget_spec": "90%", "formulation": "moccasin", "backend": "cpsat",
    ...          "time_limit": 5.0, "options": "", "status": "infeasible", "error": "", "objective": ""}]
    >>> print(markdown_table(rows))
    | graph | budget | moccasin/cpsat 5s |
    |---|---|---|
    | g | 9 (90%) | infeasible (proven) |
    """
    configs = list(OrderedDict.fromkeys(config_of(r) for r in rows))
    table: OrderedDict[tuple[str, int], dict[str, dict[str, Any]]] = OrderedDict()
    for r in rows:
        key = (str(r["graph"]), int(r["budget"]))
        cur = table.setdefault(key, {}).get(config_of(r))
        if cur is None or _better(r, cur):
            table[key][config_of(r)] = r
    specs = {(str(r["graph"]), int(r["budget"])): r["budget_spec"] for r in rows}
    lines = ["| graph | budget | " + " | ".join(configs) + " |", "|---|---|" + "---|" * len(configs)]
    for (graph, budget), cells in table.items():
        spec = specs[graph, budget]
        label = f"{budget:,}" + (f" ({spec})" if spec != str(budget) else "")
        lines.append(f"| {graph} | {label} | " + " | ".join(cell(cells[c]) if c in cells else "" for c in configs)
                     + " |")
    return "\n".join(lines)


def plot_pareto(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """TDI% against budget (share of the no-remat peak), one panel per graph, one line per configuration.

    Proven-infeasible budgets are marked with an x on the horizontal axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graphs = list(OrderedDict.fromkeys(str(r["graph"]) for r in rows))
    configs = list(OrderedDict.fromkeys(config_of(r) for r in rows))
    cols = min(3, len(graphs))
    nrows = -(-len(graphs) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    for ax, graph in zip(axes.flat, graphs):
        for k, config in enumerate(configs):
            best: dict[int, dict[str, Any]] = {}
            for r in rows:
                if str(r["graph"]) == graph and config_of(r) == config:
                    b = int(r["budget"])
                    if b not in best or _better(r, best[b]):
                        best[b] = r
            pts = sorted((100 * float(r["budget_frac"]), float(r["tdi"])) for r in best.values()
                         if r["status"] in ("optimal", "feasible"))
            bad = sorted(100 * float(r["budget_frac"]) for r in best.values() if r["status"] == "infeasible")
            color = f"C{k % 10}"
            if pts:
                ax.plot(*zip(*pts), marker="o", color=color, label=config)
            if bad:
                ax.plot(bad, [0] * len(bad), linestyle="none", marker="x", color=color)
        ax.set_title(graph, fontsize=9)
        ax.set_xlabel("budget (% of no-remat peak)")
        ax.set_ylabel("TDI %")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(graphs):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
        fig.subplots_adjust(bottom=0.22 if nrows == 1 else 0.12)
    fig.tight_layout(rect=(0, 0.1 if handles else 0, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
