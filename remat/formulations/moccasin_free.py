"""Free-order Moccasin: the Moccasin model without the stage restriction.

The staged model fixes the order of first computations to the graph's
topological order and lets recomputations happen only at fixed slots. Here
every computation is a distinct time point ``0..H-1`` chosen by the solver,
so the solver picks the order too. ``H`` is the number of copies allowed in
total (``sum_v C_v``), enough for every schedule with at most ``C_v``
computations of each node.

Variables
    Per node ``v`` and copy ``i < C_v``: ``start[v,i]`` (its time point),
    ``end[v,i]``, presence ``p[v,i]`` (copy 0 always present). The tensor is
    resident on ``[start, end)``.

Constraints
    * one computation per time point: unit intervals ``[start, start+1)``
      in a cumulative of capacity 1; the present computations fill the
      points ``0..count-1`` (``count`` = n + present extra copies), which
      removes the symmetric placements with gaps;
    * copies in order: ``p[v,i] -> p[v,i-1]`` and ``end[v,i-1] <= start[v,i]``;
    * memory: one cumulative of the residency intervals, demand ``mem(v)``;
    * precedence: for each edge ``u -> v`` and copy ``j`` of ``v``, some copy
      ``i`` of ``u`` is resident when it computes: cover literals as in
      :mod:`remat.formulations.moccasin`; and ``start[u,0] < start[v,0]``
      (copy 0 is each node's earliest, a valid tightening);
    * objective: total cost of the present copies.

Domains are tightened by counting: copy 0 of ``v`` comes after all of
``v``'s ancestors and before all of its descendants. An absent copy sits at
``H-1`` (its interval is ignored), which removes symmetric assignments.
Nodes without successors and non-recomputable nodes get one copy. A budget
below :func:`~remat.graph.min_budget` gets a constant-false constraint: the
search alone proves that slowly.

>>> from remat.graph import Graph
>>> g = Graph.from_edges([(0, 1), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
>>> built = MoccasinFree().build(g, budget=2)
>>> built.info["horizon"], built.decode(built.encode([0, 1, 2]))
(5, [0, 1, 2])
"""

from __future__ import annotations

from typing import Any, Sequence

import networkx as nx

from remat.errors import FormulationError
from remat.formulations.base import Built, add_min_budget_cut
from remat.formulations.checkmate import last_reads
from remat.ir import BoolVar, Clause, Cumulative, IntVar, Linear, Model, Not, Var
from remat.formulations.scaling import scale_costs, scale_sizes
from remat.graph import Graph


class MoccasinFree:
    """Builder of the free-order Moccasin model; option ``max_copies`` (C, default 2)."""

    name = "moccasin-free"
    chooses_order = True  # no stage restriction: remat.solve(order="memory") does not apply

    def build(self, graph: Graph, budget: int, *, max_copies: int = 2, **unknown: Any) -> Built:
        if unknown:
            raise FormulationError(f"moccasin-free: unknown option(s) {', '.join(sorted(unknown))}")
        if max_copies < 1:
            raise FormulationError(f"moccasin-free: max_copies must be >= 1, got {max_copies}")
        return _build_free(graph, budget, max_copies)


def _build_free(graph: Graph, budget: int, max_copies: int) -> Built:
    n = graph.n
    sizes = scale_sizes(graph.mem, budget)
    costs = scale_costs(graph.cost)
    copies = [1 if not graph.succs[v] or not graph.recomputable[v] else max_copies for v in range(n)]
    horizon = sum(copies)
    nxg = nx.DiGraph()
    nxg.add_nodes_from(range(n))
    nxg.add_edges_from(graph.edges)
    n_anc = [len(nx.ancestors(nxg, v)) for v in range(n)]
    n_desc = [len(nx.descendants(nxg, v)) for v in range(n)]
    m = Model(f"moccasin-free[{graph.name}, budget={budget}, C={max_copies}]")

    start: list[list[IntVar]] = []
    end: list[list[IntVar]] = []
    present: list[list[BoolVar | None]] = []
    ticks, residency, demands = [], [], []
    for v in range(n):
        starts, ends, pres = [], [], []
        for i in range(copies[v]):
            lo = n_anc[v] + i
            hi = horizon - 1 - (n_desc[v] if i == 0 else 0)
            s = m.int_var(lo, hi, f"start[{v},{i}]")
            e = m.int_var(lo + 1, horizon, f"end[{v},{i}]")
            p = None if i == 0 else m.bool_var(f"present[{v},{i}]")
            tick_end = m.int_var(lo + 1, horizon, f"tick_end[{v},{i}]")
            m.add(Linear(((tick_end, 1), (s, -1)), lb=1, ub=1))
            ticks.append(m.interval(s, tick_end, p, f"tick[{v},{i}]", min_size=1, group=v))
            residency.append(m.interval(s, e, p, f"resident[{v},{i}]", min_size=1, group=v))
            demands.append(sizes.values[v])
            if p is not None:
                m.add(Linear(((ends[i - 1], 1), (s, -1)), ub=0, enforce=(p,)))
                if i > 1:
                    m.add(Clause((pres[i - 1],), enforce=(p,)))
                m.add(Linear(((s, 1),), lb=hi, enforce=(Not(p),)))
                m.add(Linear(((e, 1),), lb=horizon, enforce=(Not(p),)))
            starts.append(s)
            ends.append(e)
            pres.append(p)
        start.append(starts)
        end.append(ends)
        present.append(pres)
    m.add(Cumulative(tuple(ticks), (1,) * len(ticks), 1))
    # compaction: the present computations fill the time points 0..count-1 exactly
    extra = [p for pres in present for p in pres if p is not None]
    count = m.int_var(n, horizon, "count")
    m.add(Linear(((count, 1), *((p, -1) for p in extra)), lb=n, ub=n))  # type: ignore[misc]
    for v in range(n):
        for i in range(copies[v]):
            enforce = () if present[v][i] is None else (present[v][i],)
            m.add(Linear(((start[v][i], 1), (count, -1)), ub=-1, enforce=enforce))  # type: ignore[arg-type]
    m.add(Cumulative(tuple(residency), tuple(demands), sizes.capacity))

    cover_vars: dict[tuple[int, int, int, int], BoolVar] = {}
    for u, v in graph.edges:
        m.add(Linear(((start[u][0], 1), (start[v][0], -1)), ub=-1))
        for j in range(copies[v]):
            sv = start[v][j]
            enforce = () if present[v][j] is None else (present[v][j],)
            if copies[u] == 1:
                m.add(Linear(((end[u][0], 1), (sv, -1)), lb=1, enforce=enforce))  # type: ignore[arg-type]
                continue
            covers = []
            for i in range(copies[u]):
                x = m.bool_var(f"cover[{u}->{v},{i},{j}]")
                cover_vars[u, v, i, j] = x
                if present[u][i] is not None:
                    m.add(Clause((present[u][i],), enforce=(x,)))  # type: ignore[arg-type]
                m.add(Linear(((start[u][i], 1), (sv, -1)), ub=-1, enforce=(x,)))
                m.add(Linear(((sv, 1), (end[u][i], -1)), ub=-1, enforce=(x,)))
                covers.append(x)
            m.add(Clause(tuple(covers), enforce=enforce))  # type: ignore[arg-type]

    add_min_budget_cut(m, graph, budget)

    m.minimize([(present[v][i], costs.values[v]) for v in range(n) for i in range(1, copies[v])],
               offset=sum(costs.values))

    def decode(values: dict[Var, int]) -> list[int]:
        events = [(values[start[v][i]], v) for v in range(n) for i in range(copies[v])
                  if present[v][i] is None or values[present[v][i]]]  # type: ignore[index]
        return [v for _, v in sorted(events)]

    def encode(computes: Sequence[int]) -> dict[Var, int] | None:
        if len(computes) > horizon or any(not 0 <= v < n for v in computes):
            return None
        reads = last_reads(graph, computes)
        placed: list[list[tuple[int, int]]] = [[] for _ in range(n)]  # (time, end) per computation
        for pos, v in enumerate(computes):
            placed[v].append((pos, reads[pos] + 1))
        values: dict[Var, int] = {}
        for v in range(n):
            if not placed[v] or len(placed[v]) > copies[v]:
                return None
            for i in range(copies[v]):
                if i < len(placed[v]):
                    t, e = placed[v][i]
                    if not start[v][i].lb <= t <= start[v][i].ub:
                        return None
                    values[start[v][i]], values[end[v][i]] = t, e
                    if present[v][i] is not None:
                        values[present[v][i]] = 1  # type: ignore[index]
                else:
                    values[start[v][i]], values[end[v][i]] = start[v][i].ub, horizon
                    values[present[v][i]] = 0  # type: ignore[index]
        for itv in ticks:
            values[itv.end] = values[itv.start] + 1
        values[count] = len(computes)
        for (u, v, i, j), x in cover_vars.items():
            live = lambda w, k: present[w][k] is None or values[present[w][k]]  # noqa: E731
            values[x] = int(live(u, i) and live(v, j)
                            and values[start[u][i]] < values[start[v][j]] < values[end[u][i]])
        return values  # possibly over the budget, as Moccasin's: a start for a two-phase backend

    return Built(model=m, decode=decode, encode=encode, cost_unit=costs.unit, exact_costs=costs.exact,
                 info={"horizon": horizon, "size_unit": sizes.unit, "capacity": sizes.capacity})
