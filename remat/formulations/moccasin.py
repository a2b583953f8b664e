"""The Moccasin model (Bartan et al., ICML 2023) in the solver-neutral IR.

Time and stages
    With the paper's stage restriction, time is a sequence of *events*. For
    the nodes in topological order ``0..n-1``, stage ``s`` holds the events
    of nodes ``k = 0..s``: in stage ``s`` node ``k`` may be (re)computed at
    slot ``k``, and stage ``s`` ends with the first computation of node
    ``s``. Events are ordered by (stage, slot). The paper numbers them
    densely, ``e(k, s) = s(s+1)/2 + k`` (horizon ``n(n+1)/2``; option
    ``time="dense"``); by default we number them ``s n + k`` (horizon
    ``n^2``). Both numberings order the events the same way, so the two
    models have the same solutions up to renaming time, and the same
    optimum; with ``s n + k`` the possible starts of a node's recomputation
    are an arithmetic progression (stated as a ``range``, so the model stays
    O(n C + E) to build), an affine image of its stage, which the CP-SAT
    backend states as such; CP-SAT's presolve takes tens of seconds over the
    dense numbering's irregular sets of values on 250 nodes.

Variables (O(n C) integers, as in the paper)
    Per node ``v`` and copy ``i < C_v``: ``start[v,i]`` (an event of ``v``),
    ``end[v,i]`` and presence ``p[v,i]``. Copy 0 is present and starts at
    ``e(v, v)``. The tensor is resident on ``[start, end)``, at least one event.

Constraints
    * copies in order: ``p[v,i] -> p[v,i-1]`` and ``p[v,i] -> end[v,i-1] <= start[v,i]``;
    * memory: one cumulative over all intervals, demand ``mem(v)``, capacity the budget;
    * precedence: for each edge ``u -> v`` and copy ``j`` of ``v``, some copy ``i``
      of ``u`` covers the compute event: cover literals ``x[u,v,i,j]`` with
      ``p[v,j] -> OR_i x`` and ``x -> p[u,i] & start[u,i] < start[v,j] < end[u,i]``;
    * objective: total cost of the present copies.

Reductions that keep an optimum (applied always):
    * a node without successors gets one copy: recomputing it is never read;
    * a node marked non-recomputable gets one copy;
    * the last node in the order has one copy (there is no later stage);
    * cover literals whose timing is fixed false are not created;
    * a budget below ``min_budget`` gets a constant-false row
      (:func:`~remat.formulations.base.add_min_budget_cut`), as in every formulation;
    * (option ``end_bounds``, default on) a retention interval ends at most
      one event after the latest event at which any successor of its node
      can be computed: an interval that runs longer can be cut back to end
      right after its last reader, which keeps every cover and only lowers
      the memory load, so some optimum satisfies the bound.

Implied cuts (option ``stage_cuts``, default on; they remove no schedule):
    at the first computation of node ``s``, its output and its inputs are
    resident, and so is every earlier node ``u`` with a reader after ``s``
    that is never recomputed: its one interval runs from its stage to that
    reader's. So the recomputed ones among those ``u`` (copy 1 present) must
    free at least the excess ``size(s) + size(inputs) + size(all such u) -
    capacity`` (a covering row, added only where that excess is positive).
    They give CP-SAT's relaxation a bound above the trivial one on graphs
    where the full search cannot close the gap (measured in the research log,
    docs/research).

>>> from remat.graph import Graph
>>> g = Graph.from_edges([(0, 1), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
>>> built = Moccasin().build(g, budget=2)
>>> built.model.size()["int_vars"] <= 4 * g.n
True
"""

from __future__ import annotations

from typing import Any, Sequence

from remat.errors import FormulationError
from remat.formulations.base import Built, add_min_budget_cut
from remat.ir import BoolVar, Clause, Cumulative, IntVar, Linear, Model, Var, paused_gc
from remat.formulations.moccasin_bound import gap_relaxation
from remat.formulations.scaling import ScaledSizes, scale_costs, scale_sizes
from remat.graph import Graph


def event(k: int, s: int) -> int:
    """The paper's dense number of the event of node ``k`` (topological index) in stage ``s >= k``."""
    return s * (s + 1) // 2 + k


TIMES = ("lex", "dense")


class Moccasin:
    """Builder of the Moccasin model.

    Options: ``max_copies`` (C, default 2); ``stage`` (default True; False
    is the ``moccasin-free`` formulation); ``time`` (``"lex"``, default, or
    ``"dense"``: how events are numbered, see the module docstring);
    ``end_bounds`` (default True: the optimum-keeping bound on interval
    ends); ``stage_cuts`` (default True: the implied covering rows of the
    module docstring); ``gcd`` (default True: sizes divided by their greatest common
    divisor, see :mod:`remat.formulations.scaling`). Every option value gives
    the same optimum; they exist to measure each lever alone.

    ``Built.relaxation()`` (C <= 2) returns the gap relaxation of
    :mod:`remat.formulations.moccasin_bound`, whose optimum bounds this
    model's objective from below (same units). The ``staged-plan``
    heuristic (:mod:`remat.heuristics.staged`) produces sequences of this
    model, which ``encode`` accepts.
    """

    name = "moccasin"
    chooses_order = False

    def build(self, graph: Graph, budget: int, *, max_copies: int = 2, stage: bool = True, time: str = "lex",
              end_bounds: bool = True, stage_cuts: bool = True, gcd: bool = True, **unknown: Any) -> Built:
        if unknown:
            raise FormulationError(f"moccasin: unknown option(s) {', '.join(sorted(unknown))}")
        if max_copies < 1:
            raise FormulationError(f"moccasin: max_copies must be >= 1, got {max_copies}")
        if not stage:
            raise FormulationError("moccasin: stage=False is the 'moccasin-free' formulation")
        if time not in TIMES:
            raise FormulationError(f"moccasin: time must be one of {', '.join(TIMES)}, got {time!r}")
        with paused_gc():
            return _build_staged(graph, budget, max_copies, time=time, end_bounds=bool(end_bounds),
                                 stage_cuts=bool(stage_cuts), gcd=bool(gcd))


def copies_allowed(graph: Graph, v: int, max_copies: int) -> int:
    if not graph.succs[v] or not graph.recomputable[v] or v == graph.n - 1:
        return 1
    return min(max_copies, graph.n - v)  # at most one copy per stage from v on


def _slot_function(n: int, time: str):
    """``(slot(k, s) -> time point, horizon)`` for the chosen event numbering."""
    if time == "dense":
        return event, n * (n + 1) // 2
    return (lambda k, s: s * n + k), n * n


def _build_staged(graph: Graph, budget: int, max_copies: int, *, time: str = "lex",
                  end_bounds: bool = True, stage_cuts: bool = True, gcd: bool = True) -> Built:
    n = graph.n
    slot, horizon = _slot_function(n, time)
    sizes = scale_sizes(graph.mem, budget) if gcd else ScaledSizes(tuple(graph.mem), budget, 1)
    costs = scale_costs(graph.cost)
    m = Model(f"moccasin[{graph.name}, budget={budget}, C={max_copies}]")
    copies = [copies_allowed(graph, v, max_copies) for v in range(n)]
    # Latest event at which v may be computed; an interval of u ends by the latest read + 1.
    latest = [slot(v, v) if copies[v] == 1 else slot(v, n - 1) for v in range(n)]
    end_ub = [min(horizon, 1 + max((latest[w] for w in graph.succs[v]), default=slot(v, v))) if end_bounds
              else horizon for v in range(n)]

    start: list[list[IntVar]] = []
    end: list[list[IntVar]] = []
    present: list[list[BoolVar | None]] = []  # None: copy 0, always present
    for v in range(n):
        first = slot(v, v)
        starts = [m.int_var(first, first, f"start[{v},0]")]
        ends = [m.int_var(first + 1, max(first + 1, end_ub[v]), f"end[{v},0]")]
        pres: list[BoolVar | None] = [None]
        for i in range(1, copies[v]):
            lo, hi = slot(v, v + 1), slot(v, n - 1)
            if time == "lex":  # the events of v are every n-th time point: a range, O(1) to state
                start_var = IntVar(lo, hi, f"start[{v},{i}]", range(lo, hi + 1, n))  # type: ignore[arg-type]
                m.int_vars.append(start_var)
            else:  # the dense numbering needs the explicit set of events: O(n) values per copy
                start_var = m.int_var(0, 0, f"start[{v},{i}]", values=[slot(v, s) for s in range(v + 1, n)])
            starts.append(start_var)
            ends.append(m.int_var(lo + 1, max(lo + 1, end_ub[v]), f"end[{v},{i}]"))
            p = m.bool_var(f"present[{v},{i}]")
            pres.append(p)
            m.add(Linear(((ends[i - 1], 1), (starts[i], -1)), ub=0, enforce=(p,)))
            if i > 1:
                m.add(Clause((pres[i - 1],), enforce=(p,)))  # type: ignore[arg-type]
        start.append(starts)
        end.append(ends)
        present.append(pres)


    intervals, demands = [], []
    for v in range(n):
        for i in range(len(start[v])):
            intervals.append(m.interval(start[v][i], end[v][i], present[v][i], f"resident[{v},{i}]", min_size=1,
                                        group=v))
            demands.append(sizes.values[v])
    m.add(Cumulative(tuple(intervals), tuple(demands), sizes.capacity))
    if stage_cuts:
        _add_stage_cuts(m, graph, sizes.values, sizes.capacity, present)

    cover_vars: dict[tuple[int, int, int, int], BoolVar] = {}
    for u, v in graph.edges:
        for j in range(len(start[v])):
            covers = []
            sv = start[v][j]
            for i in range(len(start[u])):
                su, eu = start[u][i], end[u][i]
                if su.lb >= sv.ub or eu.ub <= sv.lb:  # copy i of u cannot cover copy j of v
                    continue
                if i == 0 and sv.lb > su.ub and j == 0:
                    # both starts fixed in order: covering is just end[u,0] > start[v,0]
                    if len(start[u]) == 1:
                        m.add(Linear(((eu, 1),), lb=sv.lb + 1))
                        covers = None
                        break
                x = m.bool_var(f"cover[{u}->{v},{i},{j}]")
                cover_vars[u, v, i, j] = x
                if present[u][i] is not None:
                    m.add(Clause((present[u][i],), enforce=(x,)))  # type: ignore[arg-type]
                m.add(Linear(((su, 1), (sv, -1)), ub=-1, enforce=(x,)))
                m.add(Linear(((sv, 1), (eu, -1)), ub=-1, enforce=(x,)))
                covers.append(x)
            if covers is None:
                continue
            if not covers:
                raise AssertionError(f"no copy of {u} can precede copy {j} of {v}")
            enforce = () if present[v][j] is None else (present[v][j],)
            m.add(Clause(tuple(covers), enforce=enforce))  # type: ignore[arg-type]

    add_min_budget_cut(m, graph, budget)
    m.minimize([(present[v][i], costs.values[v]) for v in range(n) for i in range(1, len(start[v]))],
               offset=sum(costs.values))

    def decode(values: dict[Var, int]) -> list[int]:
        events = []
        for v in range(n):
            for i in range(len(start[v])):
                if present[v][i] is None or values[present[v][i]]:  # type: ignore[index]
                    events.append((values[start[v][i]], v))
        return [v for _, v in sorted(events)]

    def encode(computes: Sequence[int]) -> dict[Var, int] | None:
        values = _encode_staged(graph, computes, start, end, present, slot)
        if values is not None:
            for (u, v, i, j), x in cover_vars.items():
                live = lambda w, k: present[w][k] is None or values[present[w][k]]  # noqa: E731
                values[x] = int(live(u, i) and live(v, j)
                                and values[start[u][i]] < values[start[v][j]] < values[end[u][i]])
        return values

    info = {"horizon": horizon, "size_unit": sizes.unit, "capacity": sizes.capacity, "time": time}
    # The gap relaxation allows one recomputation per node: a bound for C <= 2 only.
    relaxation = (lambda: gap_relaxation(graph, budget).model) if max_copies <= 2 else None
    return Built(model=m, decode=decode, encode=encode, cost_unit=costs.unit, exact_costs=costs.exact,
                 relaxation=relaxation, info=info)


def _add_stage_cuts(m: Model, graph: Graph, size: Sequence[int], capacity: int,
                    present: list[list[BoolVar | None]]) -> None:
    """The implied covering rows of the module docstring, in one sweep over the stages.

    ``live`` holds the nodes computed before the current stage that have a
    reader after it; only stages whose excess is positive get a row, so a
    budget near the peak adds few.
    """
    n = graph.n
    last_reader = [max(graph.succs[u], default=-1) for u in range(n)]
    leaving: list[list[int]] = [[] for _ in range(n)]
    live: dict[int, None] = {}  # insertion-ordered set
    live_size = 0
    for s in range(n):
        for u in leaving[s]:  # read for the last time at s: an input of s now
            del live[u]
            live_size -= size[u]
        inputs = set(graph.preds[s])
        excess = (size[s] + sum(size[u] for u in inputs) + live_size
                  - sum(size[u] for u in inputs if u in live) - capacity)
        if excess > 0:
            terms = tuple((present[u][1], size[u]) for u in live
                          if u not in inputs and len(present[u]) > 1 and size[u])
            if terms:  # none: only the search can show that no schedule fits
                m.add(Linear(terms, lb=excess))  # type: ignore[arg-type]
        if last_reader[s] > s:
            live[s] = None
            live_size += size[s]
            leaving[last_reader[s]].append(s)


def _encode_staged(graph: Graph, computes: Sequence[int], start, end, present, slot) -> dict[Var, int] | None:
    """Place a compute sequence on the stage events, or None if it does not fit the stages."""
    n = graph.n
    placed: list[list[int]] = [[] for _ in range(n)]  # time points of each node's computations
    next_first = 0
    prev = (-1, -1)  # (stage, slot) of the previous computation
    for v in computes:
        if not placed[v]:
            if v != next_first:
                return None  # first computations must follow the order
            here = (v, v)
            next_first += 1
        else:
            s = max(v + 1, prev[0])
            if (s, v) <= prev:
                s += 1
            here = (s, v)
            if s >= n or here >= (next_first, next_first):
                return None  # a recomputation must come before the next first computation
        if here <= prev or len(placed[v]) >= len(start[v]):
            return None
        placed[v].append(slot(v, here[0]))
        prev = here
    if next_first != n:
        return None
    values: dict[Var, int] = {}
    for v in range(n):
        evs = placed[v]
        for i in range(len(start[v])):
            if i < len(evs):
                last_read = evs[i]
                nxt = evs[i + 1] if i + 1 < len(evs) else None
                for w in graph.succs[v]:
                    for t in placed[w]:
                        if t > evs[i] and (nxt is None or t < nxt):
                            last_read = max(last_read, t)
                values[start[v][i]] = evs[i]
                values[end[v][i]] = last_read + 1
                if present[v][i] is not None:
                    values[present[v][i]] = 1
            else:
                dom = start[v][i].values or (start[v][i].ub,)
                values[start[v][i]] = dom[-1]
                values[end[v][i]] = end[v][i].ub
                values[present[v][i]] = 0
    return values
