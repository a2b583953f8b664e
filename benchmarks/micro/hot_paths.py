"""Hot paths at 10k and 100k nodes: loading, the memory model, schedule building, verification.

On op-level transformer training graphs from :func:`remat.generators.transformer`
(140 and 1408 layers: 9,971 and 99,999 nodes) and a schedule of each that
recomputes every forward input of every backward operator right before it
(about 1.3 n computes, 2.6 n steps), times each operation with the library's
implementation and with the one it replaced (kept below, ``old_*``), in the
same run, checks that both give the same result, and prints the median
seconds of ``--repeats`` runs, the ratio old / new, and how the new time grows
from 10k to 100k nodes (10 for linear growth). Then, each in a fresh process,
the wall time and peak resident memory of generating the 100k-node graph, and
of generating it, building the schedule and verifying it.

    python benchmarks/micro/hot_paths.py --repeats 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from numbers import Integral, Real
from typing import Any, Mapping, Sequence

import networkx as nx

from remat.errors import GraphError
from remat.generators import transformer
from remat.graph import MISSING, DIALECT_FIELDS, Graph, graph_from_json, min_budget, no_remat_profile
from remat.schedule import Schedule, Step, schedule_from_computes
from remat.verify import verify

SIZES = {"10k": 140, "100k": 1408}  # transformer layers: 71 n + 31 nodes


def recompute_sequence(g: Graph) -> list[int]:
    """The graph's order, with each recomputable forward input of a backward node computed again before it."""
    forward_end = g.index["loss.1"]
    seq: list[int] = []
    for v in range(g.n):
        if v > forward_end:
            seq.extend(u for u in g.preds[v] if u <= forward_end and g.recomputable[u])
        seq.append(v)
    return seq


def median_seconds(work, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--no-memory", action="store_true", help="skip the fresh-process time and memory runs")
    args = ap.parse_args(argv)
    new_times: dict[tuple[str, str], float] = {}
    print("| graph | nodes | edges | steps | operation | old s | new s | old / new |")
    print("|---|---|---|---|---|---|---|---|")
    for label in args.sizes:
        g = transformer(layers=SIZES[label], d=1024, heads=16, seq=2048)
        data = g.to_json()
        seq = recompute_sequence(g)
        sched = schedule_from_computes(g, seq)
        ops = {
            "load (graph_from_json)": (lambda: old_graph_from_json(data), lambda: graph_from_json(data)),
            "Graph() constructor": (lambda: old_construct(g), lambda: construct(g)),
            "no_remat_profile": (lambda: old_no_remat_profile(g), lambda: no_remat_profile(_fresh(g))),
            "min_budget": (lambda: old_min_budget(g), lambda: min_budget(_fresh(g))),
            "schedule_from_computes, first on the graph": (lambda: old_schedule_from_computes(g, seq),
                                                           lambda: schedule_from_computes(_fresh(g), seq)),
            "schedule_from_computes, again": (lambda: old_schedule_from_computes(g, seq),
                                              lambda: schedule_from_computes(g, seq)),
            "verify": (lambda: old_verify(g, sched), lambda: verify(g, sched)),
        }
        for name, (old, new) in ops.items():
            t_old, r_old = median_seconds(old, args.repeats)
            t_new, r_new = median_seconds(new, args.repeats)
            if not same(r_old, r_new):
                raise SystemExit(f"{name} on {label}: old and new results differ")
            new_times[label, name] = t_new
            print(f"| {g.name} | {g.n:,} | {g.num_edges:,} | {len(sched.steps):,} | {name} | {t_old:.3f} "
                  f"| {t_new:.3f} | {t_old / t_new:.1f} |", flush=True)
    if set(SIZES) <= set(args.sizes):
        print("\n| operation | new s at 100k / new s at 10k (10 is linear) |\n|---|---|")
        for name in dict.fromkeys(n for _, n in new_times):
            print(f"| {name} | {new_times['100k', name] / new_times['10k', name]:.1f} |")
    if not args.no_memory:
        print("\n| fresh process, 100k nodes | wall s | peak resident MiB (VmHWM) |\n|---|---|---|")
        for what, code in (("import + generate", GENERATE), ("import + generate + schedule + verify", VERIFY)):
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
            wall, rss = out.split()
            print(f"| {what} | {float(wall):.2f} | {int(rss) / 1024:.0f} |", flush=True)
    return 0


GENERATE = """
import re, time; t0 = time.perf_counter()
from remat.generators import transformer
g = transformer(layers=1408, d=1024, heads=16, seq=2048)
print(time.perf_counter() - t0, re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read())[1])
"""
VERIFY = GENERATE.replace("\nprint(", """
import sys; sys.path.insert(0, "benchmarks/micro")
from hot_paths import recompute_sequence
from remat.schedule import schedule_from_computes
from remat.verify import verify
assert verify(g, schedule_from_computes(g, recompute_sequence(g))).valid
print(""")


def _fresh(g: Graph) -> Graph:
    """The same graph without what the library caches on it (arrays, step objects), so that a run pays for them."""
    for key in ("_edges_np", "_mem_np", "_indptr_np", "_step_table"):
        g.__dict__.pop(key, None)
    return g


def construct(g: Graph) -> Graph:
    return Graph(name=g.name, ids=g.ids, cost=g.cost, mem=g.mem, preds=g.preds, labels=g.labels,
                 recomputable=g.recomputable)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Graph):
        return a == b and a.succs == b.succs and a.index == b.index
    return a == b


# ---------------------------------------------------------------------------------------------------
# The implementations replaced (remat/graph.py, remat/schedule.py, remat/verify.py before this change).
def old_construct(g: Graph) -> Graph:
    """The old constructor: the fields set, then succs and index built the old way."""
    new = object.__new__(Graph)
    for f in ("name", "ids", "cost", "mem", "preds", "labels", "recomputable", "fixed_order"):
        object.__setattr__(new, f, getattr(g, f))
    n = len(g.ids)
    succs: list[list[int]] = [[] for _ in range(n)]
    for v, ps in enumerate(g.preds):
        for u in ps:
            if not u < v:
                raise GraphError("edge goes against the node order")
            succs[u].append(v)
    object.__setattr__(new, "succs", tuple(tuple(s) for s in succs))
    object.__setattr__(new, "index", {v: i for i, v in enumerate(g.ids)})
    return new


def old_num(node: str, fieldname: str, value: Any, *, integer: bool) -> Any:
    where = f"node {node!r}: field {fieldname!r}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise GraphError(f"{where} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphError(f"{where} must be finite, got {value!r}")
    if value < 0:
        raise GraphError(f"{where} must be >= 0, got {value!r}")
    if integer:
        if isinstance(value, Integral) or float(value).is_integer():
            return int(value)
        raise GraphError(f"{where} must be an integer number of bytes, got {value!r}")
    return int(value) if isinstance(value, Integral) else float(value)


def old_build(*, name: str, nodes: list, edges: list, order: Sequence[Any] | None,
              fields: Mapping[str, str] | None = None, fixed_order: Any = False) -> Graph:
    fields = fields or {"cost": "cost", "mem": "mem"}
    ids: list[str] = []
    seen: set[str] = set()
    attrs: dict[str, dict[str, Any]] = {}
    for raw_id, a in nodes:
        vid = str(raw_id)
        if vid in seen:
            raise GraphError(f"duplicate node id {vid!r}")
        seen.add(vid)
        for key in ("cost", "mem"):
            if a[key] is MISSING:
                raise GraphError(f"node {vid!r}: missing field {fields[key]!r}")
        cost = old_num(vid, fields["cost"], a["cost"], integer=False)
        mem = old_num(vid, fields["mem"], a["mem"], integer=True)
        rec = a.get("recomputable", True)
        label = a.get("name")
        attrs[vid] = {"cost": cost, "mem": mem, "name": None if label is None else str(label), "rec": rec}
        ids.append(vid)
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    for raw_u, raw_v in edges:
        u, v = str(raw_u), str(raw_v)
        for end in (u, v):
            if end not in seen:
                raise GraphError(f"edge {u} -> {v}: unknown node {end!r}")
        if u == v:
            raise GraphError(f"self-loop on node {u!r}")
        g.add_edge(u, v)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        raise GraphError(f"graph {name!r} has a cycle")
    if order is None:
        position = {v: i for i, v in enumerate(ids)}
        topo = list(nx.lexicographical_topological_sort(g, key=position.__getitem__))
    else:
        topo = [str(v) for v in order]
        pos = {v: i for i, v in enumerate(topo)}
        for u, v in g.edges():
            if pos[u] > pos[v]:
                raise GraphError(f"order is not a topological order: {v!r} comes before its input {u!r}")
    index = {v: i for i, v in enumerate(topo)}
    preds = tuple(tuple(sorted(index[u] for u in g.predecessors(v))) for v in topo)
    return Graph(name=name, ids=tuple(topo), cost=tuple(attrs[v]["cost"] for v in topo),
                 mem=tuple(attrs[v]["mem"] for v in topo), preds=preds, labels=tuple(attrs[v]["name"] for v in topo),
                 recomputable=tuple(attrs[v]["rec"] for v in topo), fixed_order=fixed_order)


def old_graph_from_json(data: Any) -> Graph:
    keys: set[str] = set()
    for node in data.get("nodes", []):
        if isinstance(node, Mapping):
            keys.update(node)
    dialect = ("checkmate" if keys & {"cost_cpu", "cost_ram"} else
               "random-layered" if keys & {"duration", "out_cost"} else "remat")
    f = DIALECT_FIELDS[dialect]
    nodes = []
    for k, node in enumerate(data["nodes"]):
        if not isinstance(node, Mapping):
            raise GraphError(f"node #{k} must be an object")
        vid = node[f["id"]]
        if not isinstance(vid, (str, int)) or isinstance(vid, bool):
            raise GraphError(f"node #{k}: bad id")
        nodes.append((vid, {"cost": node.get(f["cost"], MISSING), "mem": node.get(f["mem"], MISSING),
                            "recomputable": node.get("recomputable", True),
                            "name": node.get("name") if dialect != "random-layered" else None}))
    edges = []
    for link in data["links"]:
        if isinstance(link, Mapping) and "source" in link and "target" in link:
            edges.append((link["source"], link["target"]))
        elif isinstance(link, Mapping) and "0" in link and "1" in link:
            edges.append((link["0"], link["1"]))
    for u, v in edges:
        for end in (u, v):
            if not isinstance(end, (str, int)) or isinstance(end, bool):
                raise GraphError("bad endpoint")
    meta = data.get("graph", {})
    return old_build(name=str(meta.get("name")), nodes=nodes, edges=edges, order=meta.get("order"), fields=f,
                     fixed_order=meta.get("fixed_order", False))


def old_no_remat_profile(graph: Graph, order: Sequence[int] | None = None) -> list[int]:
    seq = list(range(graph.n)) if order is None else list(order)
    pos = {v: i for i, v in enumerate(seq)}
    last_use = dict(pos)
    for v in seq:
        for u in graph.preds[v]:
            last_use[u] = max(last_use[u], pos[v])
    live = 0
    profile = []
    dies_at: dict[int, int] = {}
    for i, v in enumerate(seq):
        live += graph.mem[v]
        profile.append(live)
        dies_at[last_use[v]] = dies_at.get(last_use[v], 0) + graph.mem[v]
        live -= dies_at.pop(i, 0)
    return profile


def old_min_budget(graph: Graph) -> int:
    return max(graph.mem[v] + sum(graph.mem[u] for u in graph.preds[v]) for v in range(graph.n))


def old_schedule_from_computes(graph: Graph, computes: Sequence[int], **claims: Any) -> Schedule:
    latest: dict[int, int] = {}
    last_read = list(range(len(computes)))
    for pos, v in enumerate(computes):
        for u in graph.preds[v]:
            if u in latest:
                last_read[latest[u]] = pos
        latest[v] = pos
    frees_after: dict[int, list[int]] = {}
    for pos, v in enumerate(computes):
        frees_after.setdefault(last_read[pos], []).append(v)
    steps: list[Step] = []
    for pos, v in enumerate(computes):
        steps.append(Step("compute", graph.ids[v]))
        steps.extend(Step("free", graph.ids[u]) for u in sorted(frees_after.get(pos, ())))
    return Schedule(graph=graph.name, steps=tuple(steps), **claims)


def old_verify(graph: Graph, schedule: Schedule, budget: int | None = None) -> Any:
    """The old replay loop (the messages are the same; only local-name lookups changed)."""
    from remat.verify import (ALREADY_RESIDENT, BAD_OP, MISSING_INPUT, NEVER_COMPUTED, NOT_RECOMPUTABLE,
                              NOT_RESIDENT, OVER_BUDGET, UNKNOWN_NODE, Report, Violation, _same_cost)
    if budget is None:
        budget = schedule.budget
    violations: list = []
    resident = [False] * graph.n
    computed = [0] * graph.n
    memory = peak = 0
    cost: float | int = 0
    profile = []
    for k, step in enumerate(schedule.steps):
        v = graph.index.get(step.node)
        if v is None:
            violations.append(Violation(k, UNKNOWN_NODE, f"node {step.node!r} is not in graph {graph.name!r}"))
            profile.append(memory)
            continue
        if step.op == "compute":
            for u in graph.preds[v]:
                if not resident[u]:
                    violations.append(Violation(k, MISSING_INPUT, f"compute {step.node!r} needs input "
                                                f"{graph.ids[u]!r}, which is not resident"))
            if resident[v]:
                violations.append(Violation(k, ALREADY_RESIDENT, f"compute {step.node!r} while it is already resident"))
            else:
                resident[v] = True
                memory += graph.mem[v]
            if computed[v] and not graph.recomputable[v]:
                violations.append(Violation(k, NOT_RECOMPUTABLE, f"node {step.node!r} may be computed only once"))
            computed[v] += 1
            cost += graph.cost[v]
            peak = max(peak, memory)
            if budget is not None and memory > budget:
                violations.append(Violation(k, OVER_BUDGET,
                                            f"memory {memory} exceeds budget {budget} at compute {step.node!r}"))
        elif step.op == "free":
            if not resident[v]:
                violations.append(Violation(k, NOT_RESIDENT, f"free {step.node!r} while it is not resident"))
            else:
                resident[v] = False
                memory -= graph.mem[v]
        else:
            violations.append(Violation(k, BAD_OP, f"unknown op {step.op!r}"))
        profile.append(memory)
    for v in range(graph.n):
        if not computed[v]:
            violations.append(Violation(None, NEVER_COMPUTED, f"node {graph.ids[v]!r} is never computed"))
    if schedule.objective is not None and not _same_cost(schedule.objective, cost):
        violations.append(Violation(None, "objective-mismatch", "objective"))
    return Report(violations=tuple(violations), peak_memory=peak, total_cost=cost,
                  computes=sum(computed), budget=budget, memory_profile=tuple(profile))


if __name__ == "__main__":
    raise SystemExit(main())
