"""Checkmate's frontier-advancing MILP (Jain et al., MLSys 2020) in the solver-neutral IR.

Stages and variables
    Stage ``t = 0..n-1`` computes node ``t`` for the first time (``R[t,t] = 1``)
    after recomputing, in index order, any earlier nodes it chooses
    (``R[t,k]``, ``k < t``). ``S[t,i]`` (``i < t``) says that node ``i``'s
    tensor is retained from stage ``t-1`` into stage ``t``. ``FREE[t,i,k]``
    says that ``i`` (an input of ``k``, or ``k`` itself) is freed right after
    ``k`` computes in stage ``t``. ``U[t,k]`` is the memory while ``k``
    computes in stage ``t``.

Constraints
    * dependencies: ``R[t,j] -> R[t,i] or S[t,i]`` for every edge ``i -> j``;
    * retention: ``S[t+1,i] -> R[t,i] or S[t,i]``;
    * frees: ``FREE[t,i,k] -> R[t,k]`` and ``FREE[t,i,k] -> not S[t+1,i] and
      not R[t,j]`` for every user ``j`` of ``i`` with ``k < j <= t`` (the
      aggregated "hazard" row: one enforced linear constraint);
    * memory, within each stage as nodes compute and inputs die:
      ``U[t,first] = sum_i M_i S[t,i] + M_first R[t,first]`` and
      ``U[t,k] = U[t,k'] - sum_i M_i FREE[t,i,k'] + M_k R[t,k]`` for consecutive
      possible computations ``k' < k``; ``0 <= U <= budget``;
    * objective: ``sum_t sum_k cost_k R[t,k]``.

Memory accounting agrees with :mod:`remat.verify`: ``U[t,k]`` counts the new
output together with every tensor still resident, which is exactly the
verifier's memory at that compute step when the frees are set to their
logical values; the model may only leave a tensor resident longer (a FREE
left at 0), never shorter, so a model solution's real peak (with the earliest
frees that :func:`~remat.schedule.schedule_from_computes` derives) is at most
its ``U``. (Checkmate's published simulator reports smaller peaks than this;
we do not follow it.)

Differences from the paper's program, all keeping an optimum:

* ``FREE`` is only bounded from above: freeing never raises memory, so the
  lower bound the paper adds is not needed for correctness;
* ``R[t,i] + S[t,i] <= 1``: recomputing a tensor that is already resident
  only costs;
* a node without successors, or marked non-recomputable, is never
  recomputed and a node without successors is never retained;
* ``U`` exists only where a computation can happen; a free that cannot be
  blocked (a sink computed at its own stage) is a constant;
* a budget below :func:`~remat.graph.min_budget` gets a constant-false
  constraint (the search proves that slowly).

Size: ``O(n^2)`` Booleans for R and S, ``O(n (n + |E|))`` for FREE, ``O(n^2)``
integers for U.

>>> from remat.graph import Graph
>>> from remat.solve import solve
>>> g = Graph.from_edges([(0, 1), (1, 2), (2, 3), (0, 3)], cost={0: 5, 1: 1, 2: 1, 3: 1},
...                      mem={0: 4, 1: 4, 2: 4, 3: 1})
>>> r = solve(g, 9, formulation="checkmate", threads=1)
>>> r.status.value, r.objective, r.schedule.computes
('optimal', 13, ['0', '1', '2', '0', '3'])
"""

from __future__ import annotations

from typing import Any, Sequence

from remat.errors import FormulationError
from remat.formulations.base import Built, add_min_budget_cut
from remat.ir import BoolVar, Clause, IntVar, Linear, Model, Var
from remat.formulations.scaling import scale_costs, scale_sizes
from remat.graph import Graph

Bit = BoolVar | int  # a Boolean variable or a constant 0/1


def last_reads(graph: Graph, computes: Sequence[int]) -> list[int]:
    """For each position of ``computes``, the last position that reads that computation.

    A computation of ``v`` at position ``p`` is read by the computations of
    ``v``'s successors after ``p`` and before ``v``'s next computation; with no
    reader the answer is ``p`` itself (the same rule as
    :func:`remat.schedule.schedule_from_computes`).

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
    >>> last_reads(g, [0, 1, 2])
    [2, 2, 2]
    """
    latest: dict[int, int] = {}
    out = list(range(len(computes)))
    for pos, v in enumerate(computes):
        for u in graph.preds[v]:
            if u in latest:
                out[latest[u]] = pos
        latest[v] = pos
    return out


class Checkmate:
    """Builder of Checkmate's MILP; ``max_copies`` is accepted and ignored (R bounds nothing per node).

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 5, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
    >>> built = Checkmate().build(g, budget=3)
    >>> built.decode(built.encode([0, 1, 2]))
    [0, 1, 2]
    """

    name = "checkmate"
    chooses_order = False

    def build(self, graph: Graph, budget: int, *, max_copies: int = 2, **unknown: Any) -> Built:
        if unknown:
            raise FormulationError(f"checkmate: unknown option(s) {', '.join(sorted(unknown))}")
        return _build(graph, budget)


def _build(graph: Graph, budget: int) -> Built:
    n = graph.n
    sizes = scale_sizes(graph.mem, budget)
    costs = scale_costs(graph.cost)
    mem = sizes.values
    cap = sizes.capacity
    m = Model(f"checkmate[{graph.name}, budget={budget}]")

    def recomputed_usefully(w: int) -> bool:
        return graph.recomputable[w] and bool(graph.succs[w])

    # R[t][k] for k <= t; S[t][i] for i < t.
    R: list[list[Bit]] = []
    S: list[list[Bit]] = []
    for t in range(n):
        row: list[Bit] = []
        for k in range(t):
            row.append(m.bool_var(f"R[{t},{k}]") if recomputed_usefully(k) else 0)
        row.append(1)
        R.append(row)
        srow: list[Bit] = []
        for i in range(t):
            useful = any(w >= t or recomputed_usefully(w) for w in graph.succs[i])
            srow.append(m.bool_var(f"S[{t},{i}]") if useful else 0)
        S.append(srow)

    def s_at(t: int, i: int) -> Bit:
        return S[t][i] if t < n else 0

    def at_least_one(lits: list[Bit], enforce: Bit) -> None:
        """``enforce -> OR lits`` with constants folded."""
        if enforce == 0 or any(x == 1 for x in lits):
            return
        vars_ = tuple(x for x in lits if isinstance(x, BoolVar))
        cond = () if enforce == 1 else (enforce,)
        if vars_:
            m.add(Clause(vars_, enforce=cond))  # type: ignore[arg-type]
        elif cond:
            m.add(Linear(((enforce, 1),), ub=0))  # type: ignore[arg-type]
        else:
            raise AssertionError("checkmate: a constraint is constant false")

    for t in range(n):
        for i in range(t):
            if isinstance(R[t][i], BoolVar) and isinstance(S[t][i], BoolVar):
                m.add(Linear(((R[t][i], 1), (S[t][i], 1)), ub=1))
        for j in range(t + 1):
            for i in graph.preds[j]:
                at_least_one([R[t][i], S[t][i]], R[t][j])
        if t + 1 < n:
            for i in range(t + 1):
                at_least_one([R[t][i], S[t][i] if i < t else 0], S[t + 1][i])

    # FREE and the memory chain, stage by stage.
    U: dict[tuple[int, int], IntVar] = {}
    FREE: dict[tuple[int, int, int], Bit] = {}
    for t in range(n):
        prev_k = None
        for k in range(t + 1):
            if R[t][k] == 0:
                continue
            u = m.int_var(0, cap, f"U[{t},{k}]")
            U[t, k] = u
            terms: list[tuple[Var, int]] = [(u, -1)]
            const = 0
            if isinstance(R[t][k], BoolVar):
                terms.append((R[t][k], mem[k]))  # type: ignore[arg-type]
            else:
                const += mem[k]
            if prev_k is None:
                for i in range(t):
                    if isinstance(S[t][i], BoolVar):
                        terms.append((S[t][i], mem[i]))  # type: ignore[arg-type]
            else:
                terms.append((U[t, prev_k], 1))
                for i in (*graph.preds[prev_k], prev_k):
                    f = FREE.get((t, i, prev_k), 0)
                    if isinstance(f, BoolVar):
                        terms.append((f, -mem[i]))
                    elif f == 1:
                        const -= mem[i]
            # sum(terms) + const == 0
            m.add(Linear(tuple((v, c) for v, c in terms if c), lb=-const, ub=-const))
            # the frees after k, used by the next link of the chain
            for i in (*graph.preds[k], k):
                later = [w for w in graph.succs[i] if k < w <= t]
                if t in later:
                    continue  # node t itself reads i later in this stage
                hazards = [R[t][w] for w in later if isinstance(R[t][w], BoolVar)]
                nxt = s_at(t + 1, i)
                if isinstance(nxt, BoolVar):
                    hazards.append(nxt)
                if not hazards and R[t][k] == 1:
                    FREE[t, i, k] = 1
                    continue
                f = m.bool_var(f"FREE[{t},{i},{k}]")
                FREE[t, i, k] = f
                if isinstance(R[t][k], BoolVar):
                    m.add(Clause((R[t][k],), enforce=(f,)))  # type: ignore[arg-type]
                if hazards:
                    m.add(Linear(tuple((h, 1) for h in hazards), ub=0, enforce=(f,)))  # type: ignore[misc]
            prev_k = k

    add_min_budget_cut(m, graph, budget)

    r_vars = [(R[t][k], costs.values[k]) for t in range(n) for k in range(t) if isinstance(R[t][k], BoolVar)]
    m.minimize(r_vars, offset=sum(costs.values))  # type: ignore[arg-type]

    def bit(x: Bit, values: dict[Var, int]) -> int:
        return values[x] if isinstance(x, BoolVar) else x

    def decode(values: dict[Var, int]) -> list[int]:
        return [k for t in range(n) for k in range(t + 1) if bit(R[t][k], values)]

    def encode(computes: Sequence[int]) -> dict[Var, int] | None:
        stages = stage_positions(graph, computes)
        if stages is None:
            return None
        values: dict[Var, int] = {v: 0 for v in m.bool_vars}
        for (t, k) in stages:
            if R[t][k] == 0:
                return None
            if isinstance(R[t][k], BoolVar):
                values[R[t][k]] = 1  # type: ignore[index]
        reads = last_reads(graph, computes)
        for p, (t0, i) in enumerate(stages):
            t_last, k_last = stages[reads[p]]
            for t in range(t0 + 1, t_last + 1):
                if S[t][i] == 0:
                    return None
                values[S[t][i]] = 1  # type: ignore[index]
            f = FREE.get((t_last, i, k_last))
            if isinstance(f, BoolVar):
                values[f] = 1
            elif f is None:
                return None  # the model cannot free i there
        for t in range(n):
            prev_k = None
            for k in range(t + 1):
                if (t, k) not in U:
                    continue
                if prev_k is None:
                    total = sum(mem[i] for i in range(t) if bit(S[t][i], values))
                else:
                    total = values[U[t, prev_k]] - sum(mem[i] for i in (*graph.preds[prev_k], prev_k)
                                                       if bit(FREE.get((t, i, prev_k), 0), values))
                total += mem[k] * bit(R[t][k], values)
                if not 0 <= total <= cap:
                    return None
                values[U[t, k]] = total
                prev_k = k
        return values

    return Built(model=m, decode=decode, encode=encode, cost_unit=costs.unit, exact_costs=costs.exact,
                 info={"size_unit": sizes.unit, "capacity": cap, "memory": U})


def stage_positions(graph: Graph, computes: Sequence[int]) -> list[tuple[int, int]] | None:
    """Place a compute sequence on (stage, node) slots, or None if it breaks the stage rule.

    Stage ``t`` ends with the first computation of node ``t``; a recomputation
    belongs to the stage of the next first computation and, within a stage,
    computations come in increasing node index.

    >>> from remat.graph import Graph
    >>> chain = Graph.from_edges([(0, 1), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
    >>> stage_positions(chain, [0, 1, 0, 2])
    [(0, 0), (1, 1), (2, 0), (2, 2)]
    >>> stage_positions(chain, [0, 1, 2, 0]) is None
    True
    """
    out: list[tuple[int, int]] = []
    next_first = 0
    seen = [False] * graph.n
    for v in computes:
        if not 0 <= v < graph.n:
            return None
        if not seen[v]:
            if v != next_first:
                return None
            seen[v] = True
            slot = (v, v)
            next_first += 1
        else:
            if next_first >= graph.n:
                return None
            slot = (next_first, v)
        if out and slot <= out[-1]:
            return None
        out.append(slot)
    return out if next_first == graph.n else None
