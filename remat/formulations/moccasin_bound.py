"""The gap relaxation: a lower bound on the stage-restricted Moccasin model with C = 2.

Every schedule of that model (nodes first computed in the given order, stage
``s`` closed by the first computation of node ``s``, at most one
recomputation per node) satisfies the rows below, so the relaxation's
optimum, or any bound on it, bounds the model's optimum from below. It is
small (no time, no intervals) and a MILP solver often closes it where the
full model's search cannot (docs/performance.md, "lower bound").

Variables
    ``y[v, r]``: node ``v`` is recomputed in stage ``r``, for ``r = s + 1``
    with ``s`` a *constraint stage* (by default the stages whose first
    computation is over the budget without recomputation) and ``v < s <
    reach(v)``, the last stage that may read ``v``: its last reader, or the
    last reader of a successor that may be recomputed (for that successor's
    recomputation). A schedule's real stage ``r*`` stands for the latest
    ``s + 1 <= r*``: the same constraint stages lie before both. At most one
    ``y`` or ``late`` per node. ``late[v]``: ``v`` is recomputed after
    ``reach(v)`` (for a successor recomputed for a recomputed successor of
    its own; a catch-all, exists only where that can happen). ``e[u, s]``: a tensor
    whose last reader comes before ``s`` is kept across ``s`` for a
    recomputation.

Rows, at the first computation of each constraint stage ``s`` (memory
within the budget there): ``base(s)``, the memory without recomputation
(``s``, and every earlier node with a reader at or after ``s``), minus the
*gaps*, plus the *extensions*:

* a gap: node ``u`` with a reader at or after ``s``, not an input of ``s``,
  is absent at ``s`` only when it is freed before ``s`` and recomputed after
  it, by its next reader ``w >= s``: ``sum(y[u, r] for s < r <= w)``. (Its
  stand-in stage lies in the same range, so the relaxation credits every
  real gap.)
* an extension: node ``u`` without a reader at or after ``s`` is resident at
  ``s`` when a successor ``v`` of it is recomputed after ``s`` while ``u``
  is not: ``e[u, s] >= sum(y[v, r] for r > s) (+ late[v] if s <=
  reach(v)) - sum(y[u, r] for r > s) - late[u]`` for each such ``v``.
  (Were ``u`` recomputed by stage ``s``, that copy would have to stay until
  ``v``'s recomputation: resident at ``s`` too. ``late[u]`` counts as "after
  ``s``" always and ``late[v]`` only where it surely is, so the row never
  asks more than a schedule must.)

Optional rows at recomputations (``recompute_rows``, pairs ``(v, r)``), for
a stand-in stage ``r`` that is itself a constraint stage, as is ``r - 1``
(so ``y[v, r]`` means "recomputed in stage ``r``" exactly): when ``v`` is
recomputed in stage ``r``, all its inputs are resident at that moment. So
is everything the row at ``r`` counts, except node ``r`` (not computed yet)
and what stage ``r`` recomputes after ``v`` (index order). An input ``u``
whose last reader comes before ``r`` is not in that row unless kept
(``e[u, r]``), so the moment holds at least ``row(r) - mem[r] - sum(mem[x]
y[x, r] for x > v) + sum(mem[u] (y[v, r] - e[u, r]))`` over those inputs.
With ``y[v, r] = 0`` that is implied by the row at ``r``; with ``y[v, r] =
1`` it is the memory at the recomputation, within the budget. There are
tens of thousands of such pairs on a 500-node graph; :func:`remat.bounds.gap_lower_bound`
adds those of each solution and solves again.

What it still leaves out, and why it is only a bound: memory at the
recomputations of other stages, at the other stages, reads by recomputed
nodes, and whether a gap can close (the inputs of ``u`` resident at its
recomputation). Objective: the total cost plus the recomputations.

>>> from remat.generators import linear
>>> from remat.graph import no_remat_peak, no_remat_profile
>>> g = linear(4)  # a training graph: 4 forward nodes, a loss, 4 backward nodes
>>> budget = no_remat_peak(g) - 1024
>>> relaxed = gap_relaxation(g, budget)
>>> relaxed.stages == [s for s, m in enumerate(no_remat_profile(g)) if m > budget]
True
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable, Sequence

from remat.errors import FormulationError
from remat.ir import BoolVar, Linear, Model
from remat.formulations.scaling import scale_costs, scale_sizes
from remat.graph import Graph, no_remat_profile


@dataclass(frozen=True)
class Relaxation:
    """The gap relaxation's model; its objective times ``cost_unit`` is in the graph's cost unit.

    ``stages`` are the constraint stages. A stage over the budget that no gap can relieve makes the
    model infeasible (a constant-false row), as the full model is then. ``stand_in[x] = (v, r)`` for
    each literal ``y[v, r]``.
    """

    model: Model
    cost_unit: float | int
    exact_costs: bool
    stages: list[int]
    stand_in: dict[BoolVar, tuple[int, int]]

    def recomputations(self, values: dict) -> list[tuple[int, int]]:
        """The pairs ``(v, r)`` whose ``y[v, r]`` is set in ``values`` (a solution of :attr:`model`)."""
        return sorted(pair for x, pair in self.stand_in.items() if values.get(x))


def constraint_stages(graph: Graph, budget: int, share: float = 1.0) -> list[int]:
    """The stages whose first computation, without recomputation, is above ``share`` x ``budget``."""
    return [s for s, memory in enumerate(no_remat_profile(graph)) if memory > share * budget]


def _reach(graph: Graph) -> tuple[list[bool], list[int], list[bool]]:
    """Per node: whether it may be recomputed; ``reach[v]``, the last stage in which it may be read by
    a first computation (its last reader) or by the recomputation of a successor for that successor's
    own first readers; whether it may be read later still (by a successor recomputed for a recomputed
    successor of its own: the catch-all ``late[v]``)."""
    n = graph.n
    can_recompute = [graph.recomputable[v] and bool(graph.succs[v]) and v != n - 1 for v in range(n)]
    reach = [max(graph.succs[v], default=v) for v in range(n)]
    beyond = [False] * n
    for v in range(n):
        if can_recompute[v]:
            for w in graph.succs[v]:
                if can_recompute[w]:
                    reach[v] = max(reach[v], max(graph.succs[w]))
                    beyond[v] = beyond[v] or any(can_recompute[x] for x in graph.succs[w])
    return can_recompute, reach, beyond


def gap_relaxation(graph: Graph, budget: int, *, share: float = 1.0, stages: Sequence[int] | None = None,
                   recompute_rows: Iterable[tuple[int, int]] = ()) -> Relaxation:
    """The relaxation of the module docstring at ``stages`` (default: those whose memory without
    recomputation is above ``share`` x ``budget``; more stages, a tighter and larger relaxation), with
    rows at the recomputations ``recompute_rows`` (pairs ``(v, r)``; those that are not exact stand-ins,
    or whose inputs are all in the row at ``r``, add nothing)."""
    n = graph.n
    if share <= 0:
        raise FormulationError(f"gap relaxation: share must be positive, got {share}")
    sizes = scale_sizes(graph.mem, budget)
    mem, capacity = sizes.values, sizes.capacity
    costs = scale_costs(graph.cost)
    base = no_remat_profile(graph)
    stages = sorted(set(constraint_stages(graph, budget, share) if stages is None else stages))
    base = [b // sizes.unit for b in base]  # exact: every size is a multiple of the unit
    succs = [sorted(graph.succs[u]) for u in range(n)]
    last = [max(graph.succs[u], default=u) for u in range(n)]
    m = Model(f"gap relaxation[{graph.name}, budget={budget}]")

    can_recompute, reach, beyond = _reach(graph)
    # y[v]: (stand-in stage, literal) pairs, ascending; late[v]: recomputed after reach[v]
    y: dict[int, list[tuple[int, BoolVar]]] = {}
    late: dict[int, BoolVar] = {}
    for v in range(n):
        if can_recompute[v]:
            y[v] = [(s + 1, m.bool_var(f"y[{v},{s + 1}]")) for s in stages if v < s < reach[v]]
            if beyond[v]:
                late[v] = m.bool_var(f"late[{v}]")
            once = [x for _, x in y[v]] + ([late[v]] if v in late else [])
            if len(once) > 1:
                m.add(Linear(tuple((x, 1) for x in once), ub=1))

    # later[v, s] = sum(y[v, r] for r > s), one Boolean per constraint stage, stated as a chain
    # (later[v, s] = y[v, s + 1] + later[v, next stage]) so that each extension row has a few terms.
    later: dict[tuple[int, int], BoolVar] = {}
    for v, ys in y.items():
        for (r, x), nxt in zip(reversed(ys), [None] + [r for r, _ in reversed(ys)][:-1]):
            s = r - 1
            later[v, s] = m.bool_var(f"later[{v},{s}]")
            rest = ((later[v, nxt - 1], -1),) if nxt is not None else ()
            m.add(Linear(((later[v, s], 1), (x, -1)) + rest, lb=0, ub=0))
    first_after = {v: [r - 1 for r, _ in ys] for v, ys in y.items()}

    def stand_in(v: int, s: int) -> BoolVar | None:
        """later[v, t] for the first constraint stage t >= s that has one (the same sum), if any."""
        ts = first_after.get(v, ())
        k = bisect.bisect_left(ts, s)
        return later[v, ts[k]] if k < len(ts) else None

    def surely_after(v: int, s: int) -> list[BoolVar]:
        """Literals of which one is true when v is recomputed in a stage after s."""
        lits = [x for x in (stand_in(v, s),) if x is not None]
        return lits + ([late[v]] if v in late and s <= reach[v] else [])

    def maybe_after(v: int, s: int) -> list[BoolVar]:
        """Literals of which one is true whenever v is recomputed in a stage after s."""
        return [x for x in (stand_in(v, s),) if x is not None] + ([late[v]] if v in late else [])

    stage_rows: dict[int, tuple[list[tuple[BoolVar, int]], int]] = {}  # s -> (terms, room) of its row
    kept: dict[tuple[int, int], BoolVar] = {}  # (u, s) -> e[u, s]
    for s in stages:
        inputs = set(graph.preds[s])
        terms: list[tuple[BoolVar, int]] = []
        extended = False
        for u in range(s):
            if last[u] >= s:  # resident at s unless a gap covers s
                if u in inputs or not mem[u]:
                    continue
                # the gap sum(y[u, r] for s < r <= reader) as a difference of two suffix sums: two terms
                # per tensor instead of one per stand-in stage (the same rows, a far sparser matrix)
                reader = succs[u][bisect.bisect_left(succs[u], s)]
                since, until = stand_in(u, s), stand_in(u, reader)
                if since is not None and since is not until:
                    terms.append((since, -mem[u]))
                    if until is not None:
                        terms.append((until, mem[u]))
            elif mem[u]:  # freed before s unless kept for a successor's recomputation
                kept_for = [xs for xs in (surely_after(v, s) for v in succs[u]) if xs]
                if not kept_for:
                    continue
                e = m.bool_var(f"e[{u},{s}]")
                own = tuple((x, 1) for x in maybe_after(u, s))
                for xs in kept_for:
                    m.add(Linear(((e, 1),) + tuple((x, -1) for x in xs) + own, lb=0))
                terms.append((e, mem[u]))
                kept[u, s] = e
                extended = True
        room = capacity - base[s]
        stage_rows[s] = (terms, room)
        if not terms and room < 0:  # no gap can relieve stage s: the relaxation, and the model, are infeasible
            never = m.int_var(0, 0, f"stage {s} over the budget")
            m.add(Linear(((never, 1),), lb=1))
            break
        if room < 0 or extended:
            m.add(Linear(tuple(terms), ub=room))
    _add_recomputation_rows(m, graph, mem, last, y, stage_rows, kept, recompute_rows)
    m.minimize([(x, costs.values[v]) for v, xs in y.items() for _, x in xs]
               + [(x, costs.values[v]) for v, x in late.items()], offset=sum(costs.values))
    return Relaxation(m, costs.unit, costs.exact, stages, {x: (v, r) for v, ys in y.items() for r, x in ys})


def _add_recomputation_rows(m: Model, graph: Graph, mem: Sequence[int], last: Sequence[int],
                            y: dict[int, list[tuple[int, BoolVar]]],
                            stage_rows: dict[int, tuple[list[tuple[BoolVar, int]], int]],
                            kept: dict[tuple[int, int], BoolVar], pairs: Iterable[tuple[int, int]]) -> None:
    """The rows at recomputations of the module docstring, for ``pairs`` ``(v, r)`` whose ``y[v, r]`` is an
    exact stand-in (rows at ``r - 1`` and ``r``) and whose node has inputs freed before ``r``."""
    exact = {(v, r): x for v, ys in y.items() for r, x in ys if r in stage_rows and r - 1 in stage_rows}
    at_stage: dict[int, list[tuple[int, BoolVar]]] = {}
    for (v, r), x in exact.items():
        at_stage.setdefault(r, []).append((v, x))
    for v, r in sorted(set(pairs)):
        dead = [u for u in graph.preds[v] if last[u] < r and mem[u]]
        if (v, r) not in exact or not dead:
            continue
        terms, room = stage_rows[r]
        row: dict[BoolVar, int] = {}
        changes = (terms + [(exact[v, r], sum(mem[u] for u in dead))]
                   + [(kept[u, r], -mem[u]) for u in dead if (u, r) in kept]  # kept: already in the row at r
                   + [(x, -mem[w]) for w, x in at_stage[r] if w > v])  # recomputed after v in stage r
        for x, c in changes:
            row[x] = row.get(x, 0) + c
        m.add(Linear(tuple((x, c) for x, c in row.items() if c), ub=room + mem[r]))
