"""Hypothesis strategies and brute-force oracles for testing remat and new formulations.

This module is public: the library's own property suite is written with it,
and a researcher testing a new formulation or backend can reuse it. It needs
``hypothesis`` (``pip install "remat[test]"``); nothing else in remat imports it.

Strategies
    :func:`dags` (edge lists of many shapes), :func:`graphs` (validated
    :class:`~remat.graph.Graph` objects with costs and sizes that include zeros,
    ties, floats and byte counts near 1e12), :func:`budgets` (drawn relative to
    ``min_budget`` and the no-remat peak) and :func:`valid_schedules` (random
    valid schedules, built by a replay that shares no code with
    :mod:`remat.verify`).

Oracles (deliberately naive, independent of the solver stack)
    :func:`optimum` (the exact minimum cost over *all* schedules, by a
    shortest-path search over resident sets), :func:`staged_optimum` (the
    exact minimum over the Moccasin model's staged sequences, by enumeration),
    :func:`enumerate_schedules` (every valid schedule up to a length) and
    :func:`reference_replay` (a second, minimal implementation of the memory
    model).

Testing a new formulation
-------------------------
>>> from hypothesis import given, settings
>>> from hypothesis.strategies import data
>>> import remat
>>> @settings(max_examples=5, deadline=None)
... @given(data())
... def test_my_formulation(data):
...     g = data.draw(graphs(max_nodes=4))
...     b = data.draw(budgets(g))
...     r = remat.solve(g, b, formulation="moccasin", threads=1)  # your registered name here
...     best = optimum(g, b)                     # the optimum over all schedules, or None
...     if r.status is remat.Status.OPTIMAL:
...         assert best is not None and r.objective >= best - 1e-9
>>> test_my_formulation()
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy, composite

from remat.heuristics.baselines import _closure  # the executors' closure search, unchanged by their rewrite
from remat.graph import Graph, min_budget, no_remat_peak
from remat.schedule import Schedule, Step

__all__ = ["SHAPES", "Replay", "budgets", "dags", "enumerate_schedules", "graphs", "node_costs",
           "node_sizes", "optimum", "reference_replay", "staged_optimum", "valid_schedules"]

SHAPES = ("chain", "tree", "diamond", "layered", "components", "fan_in", "fan_out", "random")
"""Names of the DAG shapes :func:`dags` draws from."""

HUGE = 10**12


# ------------------------------------------------------------------- shapes
def _chain(draw, n: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(n - 1)]


def _tree(draw, n: int) -> list[tuple[int, int]]:
    # an out-tree (each node has one parent) or an in-tree (each node has one child)
    if draw(st.booleans()):
        return [(draw(st.integers(0, v - 1)), v) for v in range(1, n)]
    return [(u, draw(st.integers(u + 1, n - 1))) for u in range(n - 1)]


def _diamond(draw, n: int) -> list[tuple[int, int]]:
    # diamonds in series: a source, `width` middles, a sink that is the next source
    width = draw(st.integers(1, max(1, min(4, n - 2))))
    edges, src, v = [], 0, 1
    while v < n:
        mids = list(range(v, min(v + width, n)))
        v += len(mids)
        edges += [(src, m) for m in mids]
        if v < n:
            edges += [(m, v) for m in mids]
            src, v = v, v + 1
    return edges


def _layered(draw, n: int) -> list[tuple[int, int]]:
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    layers = [list(range(a, b)) for a, b in zip([0, *cuts], [*cuts, n])]
    edges = set()
    for prev, layer in zip(layers, layers[1:]):
        for v in layer:
            edges.add((draw(st.sampled_from(prev)), v))
            earlier = [u for u in range(layer[0]) if (u, v) not in edges]
            if earlier:
                edges.update((u, v) for u in draw(st.lists(st.sampled_from(earlier), max_size=2)))
    return sorted(edges)


def _components(draw, n: int) -> list[tuple[int, int]]:
    # several disconnected pieces, each a chain or a random DAG
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), min_size=min(1, n - 1), max_size=3))) if n > 1 else []
    edges = []
    for a, b in zip([0, *cuts], [*cuts, n]):
        sub = _chain(draw, b - a) if draw(st.booleans()) else _random(draw, b - a)
        edges += [(u + a, v + a) for u, v in sub]
    return edges


def _fan_in(draw, n: int) -> list[tuple[int, int]]:
    return [(u, n - 1) for u in range(n - 1)]


def _fan_out(draw, n: int) -> list[tuple[int, int]]:
    return [(0, v) for v in range(1, n)]


def _random(draw, n: int) -> list[tuple[int, int]]:
    return [(u, v) for v in range(n) for u in range(v) if draw(st.booleans())]


_SHAPE_FUNCS = {"chain": _chain, "tree": _tree, "diamond": _diamond, "layered": _layered,
                "components": _components, "fan_in": _fan_in, "fan_out": _fan_out, "random": _random}


@composite
def dags(draw, min_nodes: int = 1, max_nodes: int = 8, shapes: Sequence[str] = SHAPES
         ) -> tuple[int, list[tuple[int, int]]]:
    """``(n, edges)``: a DAG on nodes ``0..n-1`` with every edge ``u -> v`` having ``u < v``.

    >>> from hypothesis import find
    >>> find(dags(min_nodes=4, shapes=["fan_in"]), lambda d: True)
    (4, [(0, 3), (1, 3), (2, 3)])
    """
    unknown = set(shapes) - set(SHAPES)
    if unknown or not shapes:
        raise ValueError(f"unknown DAG shape(s) {sorted(unknown)}; known: {', '.join(SHAPES)}")
    n = draw(st.integers(min_nodes, max_nodes))
    shape = draw(st.sampled_from(list(shapes)))
    return n, sorted(set(_SHAPE_FUNCS[shape](draw, n)))


# ------------------------------------------------------------ costs, sizes
def node_costs(*, floats: bool = True, huge: bool = True) -> SearchStrategy[int | float]:
    """Compute costs: small integers (with zeros and ties), optionally floats and values near 1e12."""
    parts = [st.sampled_from([0, 1, 2, 5]), st.integers(0, 20)]
    if floats:
        parts.append(st.floats(0, 100, allow_nan=False, allow_infinity=False))
    if huge:
        parts.append(st.integers(HUGE - 5, HUGE + 5))
    return st.one_of(*parts)


def node_sizes(*, huge: bool = True) -> SearchStrategy[int]:
    """Output sizes in bytes: small integers (with zeros and ties), multiples of 4096, values near 1e12."""
    parts = [st.sampled_from([0, 1, 4, 8]), st.integers(0, 16), st.integers(1, 8).map(lambda k: 4096 * k)]
    if huge:
        parts += [st.integers(HUGE - 5, HUGE + 5), st.integers(1, 4).map(lambda k: k * HUGE)]
    return st.one_of(*parts)


@composite
def graphs(draw, min_nodes: int = 1, max_nodes: int = 8, *, shapes: Sequence[str] = SHAPES,
           costs: SearchStrategy | None = None, sizes: SearchStrategy | None = None,
           uniform: bool | None = None, non_recomputable: bool = False) -> Graph:
    """Validated graphs: a :func:`dags` shape, node ids shuffled, costs and sizes per node.

    ``costs`` / ``sizes`` are strategies for one value (default :func:`node_costs`,
    :func:`node_sizes`). When ``uniform`` is true (default: drawn), every node
    gets a value from one sub-range, so graphs of all-tiny or all-huge numbers
    appear as often as mixed ones. ``non_recomputable`` lets some nodes be
    marked ``recomputable: false``.

    >>> from hypothesis import find
    >>> g = find(graphs(min_nodes=3, shapes=["chain"]), lambda g: True)
    >>> g.n, g.num_edges
    (3, 2)
    """
    n, edges = draw(dags(min_nodes, max_nodes, shapes))
    cost_st = costs if costs is not None else node_costs()
    size_st = sizes if sizes is not None else node_sizes()
    if uniform is None:
        uniform = draw(st.booleans())
    if uniform:  # fix the sub-strategy once: one value drawn, then small variations of it
        base_cost, base_size = draw(cost_st), draw(size_st)
        cost_st = st.sampled_from([base_cost, 0, base_cost * 2]) if costs is None else cost_st
        size_st = st.sampled_from([base_size, base_size // 2 + 1, base_size * 2]) if sizes is None else size_st
    labels = draw(st.permutations([f"n{i}" for i in range(n)]))  # ids do not follow the order
    cost = {labels[v]: draw(cost_st) for v in range(n)}
    mem = {labels[v]: draw(size_st) for v in range(n)}
    g = Graph.from_edges([(labels[u], labels[v]) for u, v in edges], cost=cost, mem=mem,
                         name=f"h{n}", order=[labels[v] for v in range(n)])
    if non_recomputable:
        flags = tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        g = Graph(g.name, g.ids, g.cost, g.mem, g.preds, g.labels, tuple(not f for f in flags))
    return g


@composite
def budgets(draw, graph: Graph, *, below_min: bool = False, above_peak: bool = False) -> int:
    """A budget in bytes: by default in ``[min_budget, no-remat peak]``, ends and middle favoured.

    ``below_min`` draws from ``[0, min_budget - 1]`` instead (every such budget is
    infeasible); ``above_peak`` from ``[peak, 2 * peak]`` (no recomputation needed).
    Budgets are at least 1 (the library rejects a zero budget).
    """
    lo, hi = min_budget(graph), no_remat_peak(graph)
    if below_min:
        if lo <= 1:
            raise ValueError("budgets(below_min=True) needs a graph with min_budget > 1")
        lo, hi = 1, lo - 1
    elif above_peak:
        lo, hi = hi, 2 * hi
    lo = max(lo, 1)
    hi = max(hi, lo)
    fractions = [lo + (hi - lo) * k // 10 for k in (0, 3, 5, 8, 10)]
    return draw(st.one_of(st.sampled_from(fractions), st.integers(lo, hi)))


# ----------------------------------------------------------- the oracles
@dataclass(frozen=True)
class Replay:
    """What :func:`reference_replay` found: ``valid`` and, when valid, cost and peak."""

    valid: bool
    cost: float | int
    peak: int


def reference_replay(graph: Graph, steps: Sequence[tuple[str, int]]) -> Replay:
    """Replay ``(op, node index)`` steps with the documented semantics; a minimal second implementation.

    >>> g = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1}, mem={0: 2, 1: 3})
    >>> reference_replay(g, [("compute", 0), ("compute", 1)])
    Replay(valid=True, cost=2, peak=5)
    >>> reference_replay(g, [("compute", 1)]).valid
    False
    """
    resident: set[int] = set()
    computed: set[int] = set()
    cost: float | int = 0
    peak = 0
    for op, v in steps:
        if op == "compute":
            if v in resident or not resident.issuperset(graph.preds[v]):
                return Replay(False, cost, peak)
            if v in computed and not graph.recomputable[v]:
                return Replay(False, cost, peak)
            resident.add(v)
            computed.add(v)
            cost += graph.cost[v]
            peak = max(peak, sum(graph.mem[u] for u in resident))
        elif op == "free":
            if v not in resident:
                return Replay(False, cost, peak)
            resident.discard(v)
        else:
            return Replay(False, cost, peak)
    return Replay(len(computed) == graph.n, cost, peak)


def _schedule(graph: Graph, steps: Sequence[tuple[str, int]], replay: Replay) -> Schedule:
    return Schedule(graph=graph.name, steps=tuple(Step(op, graph.ids[v]) for op, v in steps),
                    budget=replay.peak, objective=replay.cost, peak_memory=replay.peak)


def enumerate_schedules(graph: Graph, max_steps: int) -> Iterator[Schedule]:
    """Every valid schedule of at most ``max_steps`` steps, with its true claims (budget = its peak).

    Exhaustive (exponential): for graphs of a few nodes. A schedule is yielded
    as soon as every node has been computed; longer ones extend it.

    >>> g = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1}, mem={0: 1, 1: 1})
    >>> [[(s.op, s.node) for s in x.steps] for x in enumerate_schedules(g, 2)]
    [[('compute', '0'), ('compute', '1')]]
    """
    n = graph.n

    def extend(steps: list[tuple[str, int]], resident: frozenset[int], computed: frozenset[int]):
        if len(computed) == n:
            yield list(steps)
        if len(steps) == max_steps:
            return
        for v in range(n):
            if v in resident:
                steps.append(("free", v))
                yield from extend(steps, resident - {v}, computed)
            elif resident.issuperset(graph.preds[v]) and (graph.recomputable[v] or v not in computed):
                steps.append(("compute", v))
                yield from extend(steps, resident | {v}, computed | {v})
            else:
                continue
            steps.pop()

    for steps in extend([], frozenset(), frozenset()):
        yield _schedule(graph, steps, reference_replay(graph, steps))


@composite
def valid_schedules(draw, graph: Graph, max_extra: int = 8) -> Schedule:
    """A random valid schedule of ``graph`` with its true claims (``budget`` = its peak).

    A random walk over enabled steps (compute a node whose inputs are resident,
    free a resident tensor, up to ``max_extra`` detours), then a completion that
    computes every remaining node, recomputing freed inputs as needed. Frees of
    non-recomputable tensors are avoided, so the completion never gets stuck.
    """
    n = graph.n
    resident: set[int] = set()
    computed: set[int] = set()
    steps: list[tuple[str, int]] = []

    def compute(v: int) -> None:
        steps.append(("compute", v))
        resident.add(v)
        computed.add(v)

    def ensure(v: int) -> None:  # make v resident, recomputing its inputs first as needed
        if v in resident:
            return
        for u in graph.preds[v]:
            ensure(u)
        compute(v)

    for _ in range(draw(st.integers(0, max_extra + n))):
        options = [("compute", v) for v in range(n) if v not in resident
                   and resident.issuperset(graph.preds[v]) and (graph.recomputable[v] or v not in computed)]
        options += [("free", v) for v in sorted(resident) if graph.recomputable[v]]
        if not options:
            break
        op, v = draw(st.sampled_from(options))
        if op == "compute":
            compute(v)
        else:
            steps.append(("free", v))
            resident.discard(v)
    for v in range(n):
        if v not in computed:
            ensure(v)
            for u in sorted(resident):  # sometimes free what no later node needs
                if graph.recomputable[u] and not any(w > v for w in graph.succs[u]) and draw(st.booleans()):
                    steps.append(("free", u))
                    resident.discard(u)
    if draw(st.booleans()):
        steps += [("free", v) for v in sorted(resident)]
    replay = reference_replay(graph, steps)
    assert replay.valid, "valid_schedules built an invalid schedule"  # a bug here, not in remat
    return _schedule(graph, steps, replay)


def optimum(graph: Graph, budget: int, *, max_copies: int | None = None,
            max_states: int = 200_000) -> float | int | None:
    """The minimum total cost over *all* schedules within ``budget``; None if none fits.

    Dijkstra over states (resident set, computations so far per node);
    computing adds the node's cost, freeing is free. With ``max_copies`` each
    node is computed at most that many times (the free-order Moccasin space);
    without, the optimum is a lower bound for every formulation and the exact
    feasibility test. For graphs of up to about 8 nodes; raises ValueError
    past ``max_states``.

    >>> g = Graph.from_edges([(0, 1), (1, 2), (2, 3), (0, 3)], cost={0: 5, 1: 1, 2: 1, 3: 1},
    ...                      mem={0: 4, 1: 4, 2: 4, 3: 1})
    >>> optimum(g, 12), optimum(g, 9), optimum(g, 8), optimum(g, 9, max_copies=1)
    (8, 13, None, None)
    """
    n = graph.n
    # per node: how many computations the state distinguishes (more are allowed when unlimited)
    limit = [max_copies or 1 if graph.recomputable[v] else 1 for v in range(n)]
    unlimited = [max_copies is None and graph.recomputable[v] for v in range(n)]
    preds = [sum(1 << u for u in graph.preds[v]) for v in range(n)]
    start = (0, (0,) * n)
    dist = {start: 0}
    counter = itertools.count()  # tie-breaker: costs may be floats, states are never compared
    heap: list = [(0, next(counter), start)]
    while heap:
        d, _, state = heapq.heappop(heap)
        res, counts = state
        if all(counts):
            return d
        if dist.get(state, math.inf) < d:
            continue
        mem_res = sum(graph.mem[v] for v in range(n) if res >> v & 1)
        for v in range(n):
            bit = 1 << v
            if res & bit:
                nxt, nd = (res & ~bit, counts), d
            elif (res & preds[v]) == preds[v] and (counts[v] < limit[v] or unlimited[v]) \
                    and mem_res + graph.mem[v] <= budget:
                bumped = counts[:v] + (min(counts[v] + 1, limit[v]),) + counts[v + 1:]
                nxt, nd = (res | bit, bumped), d + graph.cost[v]
            else:
                continue
            if nd < dist.get(nxt, math.inf):
                dist[nxt] = nd
                if len(dist) > max_states:
                    raise ValueError(f"optimum(): more than {max_states} states; use a smaller graph")
                heapq.heappush(heap, (nd, next(counter), nxt))
    return None


def earliest_free_peak(graph: Graph, seq: Sequence[int]) -> int:
    """Peak of a compute sequence when each copy lives until its last read before the node's next compute."""
    end = []
    for q, u in enumerate(seq):
        last = q
        for r in range(q + 1, len(seq)):
            if seq[r] == u:
                break
            if u in graph.preds[seq[r]]:
                last = r
        end.append(last)
    return max((sum(graph.mem[seq[q]] for q in range(p + 1) if end[q] >= p) for p in range(len(seq))), default=0)


def staged_sequences(n: int, max_copies: int, recomputable: Sequence[bool] | None = None) -> Iterator[list[int]]:
    """Every compute sequence of the stage-restricted model on ``n`` nodes in topological order.

    Stage ``s`` recomputes some nodes ``k < s`` in index order, then computes node ``s``
    for the first time; each node is computed at most ``max_copies`` times (once where
    ``recomputable`` says False).

    >>> list(staged_sequences(2, 2))
    [[0, 1], [0, 0, 1]]
    """
    choices = []
    for k in range(n):
        extra = max_copies - 1 if recomputable is None or recomputable[k] else 0
        choices.append([c for j in range(extra + 1) for c in itertools.combinations(range(k + 1, n), j)])
    for pick in itertools.product(*choices):
        seq: list[int] = []
        for s in range(n):
            seq += [k for k in range(s) if s in pick[k]]
            seq.append(s)
        yield seq


def staged_optimum(graph: Graph, budget: int, max_copies: int = 2) -> float | int | None:
    """The Moccasin model's exact optimum (stage restriction, ``max_copies`` per node), by enumeration.

    Stage ``s`` recomputes some of the nodes ``k < s`` in index order, then
    computes node ``s`` for the first time; non-recomputable nodes are computed
    once. There are up to ``n!`` sequences for ``max_copies=2``: for graphs of
    up to about 7 nodes. None if no staged sequence fits the budget.

    >>> g = Graph.from_edges([(0, 1), (1, 2), (2, 3), (0, 3)], cost={0: 5, 1: 1, 2: 1, 3: 1},
    ...                      mem={0: 4, 1: 4, 2: 4, 3: 1})
    >>> staged_optimum(g, 9), staged_optimum(g, 9, max_copies=1)
    (13, None)
    """
    best = None
    for seq in staged_sequences(graph.n, max_copies, graph.recomputable):
        cost = sum(graph.cost[v] for v in seq)
        if (best is None or cost < best) and earliest_free_peak(graph, seq) <= budget:
            best = cost
    return best


# ------------------------------------------- the baselines' executors before their rewrite
# (the closure search did not change: the executors share it)
def reference_checkpoint_schedule(graph: Graph, checkpoints) -> list[int] | None:
    """The staged checkpoint executor as first written (quadratic): the definition that
    :func:`remat.heuristics.baselines.checkpoint_schedule` must match sequence for sequence."""
    n = graph.n
    keep = set(checkpoints)
    nxt = [n - 1] * n
    upcoming = n - 1
    for t in range(n - 1, -1, -1):
        nxt[t] = upcoming
        if t in keep:
            upcoming = t
    last_succ = [max(s) if s else -1 for s in graph.succs]
    resident: set[int] = set()
    seq: list[int] = []
    for t in range(n):
        closure = _closure(graph, t, resident)
        if closure is None:
            return None
        for x in closure:
            seq.append(x)
            resident.add(x)
        seq.append(t)
        resident.add(t)
        boundary = nxt[t]
        resident = {u for u in resident
                    if last_succ[u] > t
                    and (u in keep or not graph.recomputable[u] or any(t < w <= boundary for w in graph.succs[u]))}
    return seq


def reference_greedy_eviction(graph: Graph, budget: int | None = None, *,
                              deadline: float | None = None) -> list[int] | None:
    """DTR-style greedy eviction as first written (every resident tensor scored at every eviction):
    what ``greedy_eviction(..., sample=None)`` must reproduce; None past ``deadline``."""
    import time

    n = graph.n
    last_succ = [max(s) if s else -1 for s in graph.succs]
    resident: dict[int, int] = {}
    used = 0
    clock = 0
    seq: list[int] = []
    for t in range(n):
        closure = _closure(graph, t, resident)
        if closure is None or (deadline is not None and time.perf_counter() > deadline):
            return None
        stage = closure + [t]
        for idx, x in enumerate(stage):
            if budget is not None:
                pinned = {u for y in stage[idx:] for u in graph.preds[y]}
                while used + graph.mem[x] > budget:
                    victims = [u for u in resident if u not in pinned and graph.recomputable[u] and graph.mem[u] > 0]
                    if not victims:
                        return None

                    def h(u: int) -> float:
                        lost = _closure(graph, u, resident) or []
                        c = graph.cost[u] + sum(graph.cost[p] for p in lost) + 1e-9 * len(lost)
                        return c / (graph.mem[u] * (clock - resident[u] + 1))  # noqa: B023 (called at once)

                    victim = min(victims, key=lambda u: (h(u), u))
                    used -= graph.mem[victim]
                    del resident[victim]
            clock += 1
            seq.append(x)
            resident[x] = clock
            used += graph.mem[x]
            for u in graph.preds[x]:
                resident[u] = clock
            later = stage[idx + 1:]
            for u in [*graph.preds[x], x]:
                if u in resident and last_succ[u] <= t and not any(u in graph.preds[y] for y in later):
                    used -= graph.mem[u]
                    del resident[u]
    return seq
