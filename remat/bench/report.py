"""Writers and readers of benchmark rows: CSV, markdown tables, a Pareto PNG.

Four table layouts. :func:`markdown_table` (``paper``) has one row per
(graph, budget) and one column per configuration (formulation, backend,
time limit, variant or options), as the Moccasin paper's table does; each
cell reads ``TDI% / peak / time to best / gap / status``, and over several
seeds a cell shows the seed with the lowest cost. :func:`rows_table`
(``rows``) has one row per case with the time and memory columns, and can
join reference figures and targets (:func:`read_reference`) and ratios to
a baseline variant. :func:`backends_table` (``backends``) has one row per
(graph, budget) and one column per backend, proofs with their wall time,
and the largest graph each backend proved optimal. :func:`gap_table` (``gap``)
has one row per (graph, budget): the heuristics' TDI beside the model's, its
proven bound and gap, and whether it beats greedy eviction by 20% or is
within a point of its bound.
``remat bench report`` prints any of them from CSV files,
and the documentation's performance page is generated with them.
"""

from __future__ import annotations

import csv
import json
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

from remat.bench.run import COLUMNS


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


#: Columns read back from a CSV as numbers (empty cells stay "").
_INTS = ("n", "edges", "budget", "peak_no_remat", "threads", "seed")
_FLOATS = ("budget_frac", "time_limit", "objective", "total_cost", "tdi", "bound", "gap", "peak_memory", "peak_frac",
           "time_to_best", "solve_time", "build_time", "warm_start_time", "wall_time", "bound_time", "order_time",
           "time_to_first", "call_time", "overrun", "peak_rss_mb", "lowest_peak_frac")


def read_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``results.csv`` (or a folder holding one), numbers as numbers; older CSVs lack new columns.

    Raises
    ------
    BenchSpecError
        If the file cannot be read or is not a bench CSV.
    """
    from remat.bench.spec import BenchSpecError

    p = Path(path)
    if p.is_dir():
        p = p / "results.csv"
    try:
        with open(p, newline="") as fh:
            raw = list(csv.DictReader(fh))
    except OSError as exc:
        raise BenchSpecError(f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    if raw and not {"graph", "budget", "status"} <= set(raw[0]):
        raise BenchSpecError(f"{p}: not a bench results CSV (no graph, budget and status columns)")
    rows = []
    for r in raw:
        row: dict[str, Any] = {k: "" for k in COLUMNS}
        row.update({k: (v if v is not None else "") for k, v in r.items()})
        for key in _INTS + _FLOATS:
            if row.get(key, "") != "":
                try:
                    num = float(row[key])
                except ValueError:
                    continue
                row[key] = int(num) if key in _INTS or (key == "objective" and num.is_integer()) else num
        rows.append(row)
    return rows


def config_of(row: dict[str, Any]) -> str:
    """A column label: formulation/backend, time limit, then the variant's name or the options.

    >>> config_of({"formulation": "moccasin", "backend": "cpsat", "time_limit": 5.0, "options": "lns=False",
    ...            "variant": "nolns"})
    'moccasin/cpsat 5s nolns'
    """
    tl = row["time_limit"]
    tl = f"{tl:g}" if isinstance(tl, float) else str(tl)
    label = row.get("variant") or row["options"]
    return f"{row['formulation']}/{row['backend']} {tl}s" + (f" {label}" if label else "")


def cell(row: dict[str, Any]) -> str:
    """One table cell: ``TDI% / peak (share of no-remat peak) / time to best / gap / status``.

    >>> cell({"status": "optimal", "tdi": 0.789, "peak_memory": 40800, "peak_frac": 0.8808,
    ...       "time_to_best": 1.93, "gap": 0.0, "error": ""})
    '0.789 / 40,800 (88.1%) / 1.9 s / 0.00% / optimal'
    >>> cell({"status": "infeasible", "error": ""})
    'infeasible (proven)'
    >>> cell({"status": "unknown", "lowest_peak_frac": 0.9093, "error": ""})
    'no solution (lowest peak 90.9%)'
    """
    status = row["status"]
    if status == "error":
        return f"error: {row['error'][:60]}"
    if status == "killed":
        return f"killed at {float(row['wall_time']):.0f} s"
    if status == "infeasible":
        return "infeasible (proven)"
    if status == "unknown":
        lowest = row.get("lowest_peak_frac")
        return "no solution" if lowest in ("", None) else f"no solution (lowest peak {100 * float(lowest):.1f}%)"
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


def _fmt(x: Any, spec: str) -> str:
    return "-" if x in ("", None) else format(float(x), spec)


def read_reference(path: str | Path) -> dict[tuple[str, str, str], dict[str, str]]:
    """Figures to show beside ours and targets to check, keyed by (graph, budget_spec, time limit).

    A CSV with columns ``graph`` and ``budget_spec`` (as in the results),
    optionally ``time_limit`` (then a row applies only to cases at that
    limit), any columns to display (their header is the table's), and
    optional targets: ``target_status`` (``optimal``, ``infeasible``, or empty for
    any schedule), ``target_tdi`` (largest TDI %) and ``target_seconds``
    (wall seconds for a status target, seconds to the best schedule for a
    TDI target). With a target, the table gains a ``met`` column.

    Raises
    ------
    BenchSpecError
        If the file cannot be read or lacks ``graph`` and ``budget_spec``.
    """
    from remat.bench.spec import BenchSpecError

    try:
        with open(path, newline="") as fh:
            raw = list(csv.DictReader(fh))
    except OSError as exc:
        raise BenchSpecError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if raw and not {"graph", "budget_spec"} <= set(raw[0]):
        raise BenchSpecError(f"{path}: a reference CSV needs graph and budget_spec columns")
    return {(r["graph"], r["budget_spec"], _limit(r.get("time_limit"))): r for r in raw}


def _limit(x: Any) -> str:
    return "" if x in ("", None) else f"{float(x):g}"


def _lookup(reference: dict[tuple[str, str, str], dict[str, str]], row: dict[str, Any]) -> dict[str, str]:
    key = (str(row["graph"]), str(row["budget_spec"]))
    return reference.get((*key, _limit(row.get("time_limit"))), reference.get((*key, ""), {}))


def target_met(row: dict[str, Any], ref: dict[str, str]) -> str:
    """``yes``/``no`` for the targets of ``ref`` (see :func:`read_reference`), ``""`` when it sets none.

    >>> target_met({"status": "optimal", "tdi": 0.8, "wall_time": 0.6, "time_to_best": 0.6},
    ...            {"target_status": "optimal", "target_seconds": "5"})
    'yes'
    >>> target_met({"status": "feasible", "tdi": 0.95, "wall_time": 10.0, "time_to_best": 3.0},
    ...            {"target_tdi": "0.9", "target_seconds": "10"})
    'no'
    """
    want, tdi, secs = (ref.get(k, "") or "" for k in ("target_status", "target_tdi", "target_seconds"))
    if not (want or tdi or secs):
        return ""
    status = row["status"]
    if want == "infeasible":
        ok, clock = status == "infeasible", row.get("wall_time")
    elif want == "optimal":  # or the paper's model proven optimal, and a schedule no dearer returned
        model_proven = row.get("model_status") == "optimal" and float(row["tdi"]) <= float(row["model_tdi"])
        ok, clock = status == "optimal" or model_proven, row.get("wall_time")
    else:
        ok, clock = status in ("optimal", "feasible"), row.get("time_to_best")
    if ok and tdi:
        ok = float(row["tdi"]) <= float(tdi)
    if ok and secs:
        ok = clock not in ("", None) and float(clock) <= float(secs)
    return "yes" if ok else "no"


def _status(row: dict[str, Any]) -> str:
    status = str(row["status"])
    if status in ("error", "killed"):
        return f"{status}: {str(row.get('error', ''))[:50]}"
    order = row.get("order") or "given"
    return status + (f" ({order} order)" if order != "given" and status in ("optimal", "feasible") else "")


def rows_table(rows: Sequence[dict[str, Any]], *, reference: dict[tuple[str, str, str], dict[str, str]] | None = None,
               baseline: str | None = None, memory: bool = True) -> str:
    """One markdown row per case: TDI, peak, times, the limit's overrun, peak RSS, status.

    Parameters
    ----------
    rows : sequence of dict
        Result rows (:func:`run_grid` or :func:`read_csv`).
    reference : dict, optional
        From :func:`read_reference`: its display columns follow ours, then ``met``.
    baseline : str, optional
        A variant name: adds the wall time and the TDI excess of each row as
        ratios to that variant's row of the same graph, budget,
        configuration and seed.
    memory : bool
        Include the ``peak RSS MB`` column.

    Returns
    -------
    str
        The table, header and rule included.

    Examples
    --------
    >>> row = {"graph": "g", "budget": 90, "budget_spec": "90%", "variant": "", "tdi": 0.5, "peak_memory": 88,
    ...        "peak_frac": 0.88, "time_to_best": 1.25, "wall_time": 2.0, "overrun": -8.0, "status": "optimal",
    ...        "order": "given", "peak_rss_mb": 120.0, "time_limit": 10.0}
    >>> print(rows_table([row]).splitlines()[2])
    | g | 90 (90%) | 10 | 0.500 | 88 (88.0%) | 1.2 | 2.0 | -8.0 | 120 | optimal |
    """
    variants = any(r.get("variant") for r in rows)
    head = ["graph", "budget"] + (["variant"] if variants else []) + \
        ["limit s", "TDI %", "peak (share)", "s to best", "wall s", "overrun s"] + \
        (["peak RSS MB"] if memory else []) + ["status"]
    ref_cols: list[str] = []
    targets = False
    if reference:
        first = next(iter(reference.values()))
        ref_cols = [c for c in first if c not in ("graph", "budget_spec", "time_limit") and not c.startswith("target_")]
        targets = any(c.startswith("target_") for c in first)
        head += ref_cols + (["met"] if targets else [])
    if baseline:
        head += [f"wall / {baseline}", f"TDI / {baseline}"]
        base = {_join_key(r): r for r in rows if r.get("variant") == baseline}
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        spec = str(r["budget_spec"])
        budget = f"{int(r['budget']):,}" + (f" ({spec})" if spec != str(r["budget"]) else "")
        solved = r["status"] in ("optimal", "feasible")
        peak = f"{int(float(r['peak_memory'])):,} ({100 * float(r['peak_frac']):.1f}%)" if solved else "-"
        cells = [str(r["graph"]), budget] + ([str(r.get("variant", ""))] if variants else []) + \
            [_fmt(r["time_limit"], "g"), _fmt(r["tdi"], ".3f") if solved else "-", peak,
             _fmt(r.get("time_to_best"), ".1f"), _fmt(r.get("wall_time"), ".1f"), _fmt(r.get("overrun"), ".1f")] + \
            ([_fmt(r.get("peak_rss_mb"), ".0f")] if memory else []) + [_status(r)]
        if reference is not None and (ref_cols or targets):
            ref = _lookup(reference, r)
            cells += [ref.get(c, "") or "-" for c in ref_cols] + ([target_met(r, ref) or "-"] if targets else [])
        if baseline:
            b = base.get(_join_key(r))
            cells += [_ratio(r.get("wall_time"), b and b.get("wall_time")),
                      _ratio(r.get("tdi"), b and b.get("tdi"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _join_key(r: dict[str, Any]) -> tuple:
    return (str(r["graph"]), int(r["budget"]), r["formulation"], r["backend"], float(r["time_limit"]), int(r["seed"]))


def _ratio(a: Any, b: Any) -> str:
    if a in ("", None) or b in ("", None) or not float(b):
        return "-"
    return f"{float(a) / float(b):.2f}"


def machine() -> dict[str, Any]:
    """What a result folder's ``meta.json`` says about the run's machine: version, CPUs, load.

    >>> sorted(machine())
    ['cpus', 'date', 'load_average', 'platform', 'python', 'remat']
    """
    import platform
    from datetime import datetime, timezone

    import remat

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"remat": remat.__version__, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}", "cpus": os.cpu_count(), "load_average": load}


def write_meta(path: str | Path, *, started: dict[str, Any], grids: Sequence[Any], seconds: float) -> None:
    """``meta.json`` of a run: the machine, its load before and after, the grids, the duration (no commit hash)."""
    import dataclasses

    after = machine()
    meta = {**started, "load_average_before": started.get("load_average"), "load_average_after": after["load_average"],
            "seconds": round(seconds, 1), "grids": [dataclasses.asdict(g) for g in grids]}
    meta.pop("load_average", None)
    Path(path).write_text(json.dumps(meta, indent=1) + "\n")


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


def _backend_cell(row: dict[str, Any]) -> str:
    if row.get("error"):
        return "declined: 32-bit" if "32-bit" in str(row["error"]) else "error: " + str(row["error"])[:40]
    status = str(row["status"])
    if status in ("optimal", "infeasible"):
        return f"**{status}** {float(row['wall_time']):.1f} s"
    if status == "feasible":
        gap = f"{100 * float(row['gap']):.2f}%" if row.get("gap") not in ("", None) else "?"
        return f"TDI {float(row['tdi']):.2f}%, gap {gap}"
    return "no schedule"


def backends_table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per (graph, budget), one column per backend; then, per backend, the largest graph
    (by nodes) it proved optimal, and at which budgets.

    >>> print(backends_table([{"graph": "g", "n": 3, "budget_spec": "90%", "backend": "cpsat", "status": "optimal",
    ...                        "wall_time": 0.4, "error": ""}]))
    | graph | n | budget | cpsat |
    |---|---|---|---|
    | g | 3 | 90% | **optimal** 0.4 s |
    <BLANKLINE>
    cpsat: largest graph proven optimal: g (3 nodes; at 90%)
    """
    backends = list(dict.fromkeys(str(r["backend"]) for r in rows))
    cells: dict[tuple[str, str, int], dict[str, str]] = OrderedDict()
    for r in rows:
        cells.setdefault((str(r["graph"]), str(r["budget_spec"]), int(r["n"])), {})[str(r["backend"])] = \
            _backend_cell(r)
    lines = ["| graph | n | budget | " + " | ".join(backends) + " |", "|---|---|---|" + "---|" * len(backends)]
    lines += [f"| {g} | {n} | {b} | " + " | ".join(c.get(k, "") for k in backends) + " |"
              for (g, b, n), c in cells.items()]
    lines.append("")
    for backend in backends:
        proven = [(int(r["n"]), str(r["graph"]), str(r["budget_spec"])) for r in rows
                  if r["backend"] == backend and r["status"] == "optimal" and not r.get("error")]
        best = max(proven, default=None)
        at = ", ".join(sorted(b for _, g, b in proven if best and g == best[1]))
        lines.append(f"{backend}: largest graph proven optimal: "
                     + (f"{best[1]} ({best[0]} nodes; at {at})" if best else "none"))
    return "\n".join(lines)


GREEDY = "greedy-eviction"
"""The heuristic the ``gap`` layout measures the default against."""


def _tdi_of(value: Any, total: Any) -> float | None:
    if value in ("", None) or total in ("", None) or float(total) == 0:
        return None
    return 100.0 * (float(value) - float(total)) / float(total)


def gap_table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per (graph, budget): each heuristic's TDI (rows whose formulation is a heuristic),
    then the model's (the last other row): TDI, status, its proven bound as a TDI, the gap in TDI
    points, and whether it is at most greedy eviction's TDI and either at least 20% below it or
    within 1 point of its bound (``met``; ``-`` without a greedy-eviction row).

    >>> base = {"graph": "g", "budget_spec": "50%", "total_cost": 100, "status": "feasible", "order": "given"}
    >>> print(gap_table([{**base, "formulation": "greedy-eviction", "objective": 110, "bound": 100},
    ...                  {**base, "formulation": "moccasin", "objective": 105, "bound": 104.5}]))
    | graph | budget | greedy-eviction TDI % | TDI % | status | bound TDI % | gap (points) | met |
    |---|---|---|---|---|---|---|---|
    | g | 50% | 10.000 | 5.000 | feasible | 4.500 | 0.50 | yes |
    """
    from remat.heuristics import heuristic_names

    heuristics = set(heuristic_names())
    names = list(dict.fromkeys(str(r["formulation"]) for r in rows if r["formulation"] in heuristics))
    cells: dict[tuple[str, str], dict[str, Any]] = OrderedDict()
    for r in rows:
        cell = cells.setdefault((str(r["graph"]), str(r["budget_spec"])), {})
        name = str(r["formulation"])
        cell[name if name in heuristics else "model"] = r
    head = [f"{n} TDI %" for n in names] + ["TDI %", "status", "bound TDI %", "gap (points)", "met"]
    lines = ["| graph | budget | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
    for (graph, budget), cell in cells.items():
        found = {n: _tdi_of(cell[n].get("objective"), cell[n].get("total_cost")) if n in cell else None
                 for n in names}
        model = cell.get("model")
        tdi = bound = None
        if model is not None:
            tdi = _tdi_of(model.get("objective"), model.get("total_cost"))
            bound = _tdi_of(model.get("bound"), model.get("total_cost")) if tdi is not None else None
        gap = None if tdi is None or bound is None else max(0.0, tdi - bound)
        greedy = found.get(GREEDY, "absent")
        if tdi is None or greedy == "absent":
            met = "-"
        elif greedy is None:  # greedy eviction found nothing: only the gap can speak
            met = "yes" if gap is not None and gap < 1 else "no"
        else:
            met = "yes" if tdi <= greedy + 1e-9 and (tdi <= 0.8 * greedy + 1e-9 or (gap is not None and gap < 1)) \
                else "no"
        values = ["none" if found[n] is None else f"{found[n]:.3f}" for n in names]
        values += ["none" if tdi is None else f"{tdi:.3f}", "" if model is None else _status(model),
                   "" if bound is None else f"{bound:.3f}", "" if gap is None else f"{gap:.2f}", met]
        lines.append(f"| {graph} | {budget} | " + " | ".join(values) + " |")
    return "\n".join(lines)
