"""Classic rematerialization heuristics, to compare with and to warm-start from.

Every baseline here runs the same *staged* executor, so its schedules also
fit the stage structure of the Checkmate and Moccasin models (and can seed
them): stage ``t`` recomputes, in index order, whatever evicted ancestors
node ``t`` needs, then computes ``t`` for the first time. The baselines
differ only in what they keep between stages:

* ``checkpoint-all``: everything, until its last use (no recomputation);
* ``chen-sqrt`` / ``chen-sqrt-ap``: Chen et al. (2016), every
  ``sqrt(|C|)``-th candidate becomes a checkpoint;
* ``chen-greedy`` / ``chen-greedy-ap``: Chen et al.'s greedy rule, a
  checkpoint whenever the memory accumulated since the last one exceeds a
  threshold; the threshold is swept and the cheapest schedule within the
  budget is kept (the lowest peak without a budget);
* ``greedy-eviction``: DTR-style (Kirisame et al., 2021): keep everything,
  and when the next computation would exceed the budget evict the resident
  tensor with the smallest ``cost / (memory x staleness)``; recompute on
  demand. It fails only when the tensors the current stage must hold do not
  fit.
* ``greedy-eviction-eq``: the same with DTR's equivalence-class estimate of
  what an eviction costs (the evicted neighbours' classes, near-constant time)
  instead of the walk over evicted ancestors, which grows with the evictions
  on large dense graphs (random layered graphs of thousands of nodes).

With checkpoints ``K`` a tensor outside ``K`` is kept only while nodes up to
the next checkpoint still read it; later readers recompute it. The
candidates ``C`` are the nodes of the *forward part*, the prefix of the
order up to the no-remat peak (our graphs carry no forward/backward marks;
on a training graph this prefix is the forward pass plus the first
gradients); the ``-ap`` variants keep only its articulation points (with a
virtual source before its sources and a virtual sink after its last node,
as Checkmate does for the forward graph).

Each function returns a compute sequence (node indices);
:func:`baseline_schedule` turns one into a verified
:class:`~remat.schedule.Schedule`.

>>> from remat.generators import linear
>>> g = linear(6)   # f0..f5, loss, grad_f5..grad_f0; checkpoints f1, f3, f5, grad_f5
>>> " ".join(g.ids[v] for v in chen_sqrt(g)[8:])  # the backward pass recomputes f2 and f0
'grad_f4 f2 grad_f3 grad_f2 f0 grad_f1 grad_f0'
>>> seq = greedy_eviction(g, budget=5 * 1024)
>>> baseline_schedule(g, seq, 5 * 1024).peak_memory <= 5 * 1024
True
"""

from __future__ import annotations

import bisect
import heapq
import math
import time
from typing import Any, Callable, Sequence

import networkx as nx

from remat.errors import FormulationError
from remat.graph import Graph, no_remat_peak
from remat.schedule import Schedule, schedule_from_computes
from remat.verify import verify

Sequence_ = list[int]


# ------------------------------------------------------------------ helpers
def _closure(graph: Graph, t: int, resident: set[int] | dict[int, int]) -> list[int] | None:
    """Non-resident ancestors that must be recomputed to compute ``t``, in index order
    (None if one of them may not be recomputed)."""
    need: set[int] = set()
    stack = [u for u in graph.preds[t] if u not in resident]
    while stack:
        u = stack.pop()
        if u in need:
            continue
        need.add(u)
        stack.extend(p for p in graph.preds[u] if p not in resident and p not in need)
    if any(not graph.recomputable[u] for u in need):
        return None
    return sorted(need)


def _last_succ(graph: Graph) -> list[int]:
    return [max(s) if s else -1 for s in graph.succs]


def forward_part(graph: Graph) -> list[int]:
    """Nodes ``0..p`` where ``p`` is the first node at whose computation the no-remat schedule peaks.

    >>> from remat.generators import linear
    >>> g = linear(3)
    >>> [g.ids[v] for v in forward_part(g)]
    ['f0', 'f1', 'f2', 'loss', 'grad_f2']
    """
    order = list(range(graph.n))
    peak = no_remat_peak(graph)
    last_use = list(range(graph.n))
    for v in order:
        for u in graph.preds[v]:
            last_use[u] = max(last_use[u], v)
    live = 0
    dies: dict[int, int] = {}
    for v in order:
        live += graph.mem[v]
        if live == peak:
            return order[: v + 1]
        dies[last_use[v]] = dies.get(last_use[v], 0) + graph.mem[v]
        live -= dies.pop(v, 0)
    return order  # pragma: no cover - the peak is always reached


def articulation_points(graph: Graph, nodes: Sequence[int] | None = None) -> list[int]:
    """Cut vertices of the undirected skeleton of ``nodes`` (default :func:`forward_part`),
    with a virtual source joined to the nodes without inputs there and a virtual sink
    joined to the last node.

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2), (2, 3)], cost=dict.fromkeys(range(4), 1),
    ...                      mem=dict.fromkeys(range(4), 1))
    >>> articulation_points(g, range(4))
    [0, 2, 3]
    """
    part = list(forward_part(graph) if nodes is None else nodes)
    inside = set(part)
    skeleton = nx.Graph()
    skeleton.add_nodes_from(part)
    skeleton.add_edges_from((u, v) for u, v in graph.edges if u in inside and v in inside)
    src, snk = -1, -2
    skeleton.add_edges_from((src, v) for v in part if not any(u in inside for u in graph.preds[v]))
    skeleton.add_edge(max(part), snk)
    return sorted(v for v in nx.articulation_points(skeleton) if v >= 0)


# ------------------------------------------------------------ the executors
def _drop_stage(succs: Sequence[int], nxt: Sequence[int], sticky: bool, s: int) -> int:
    """The stage after which :func:`checkpoint_schedule` drops a tensor made resident at stage ``s``.

    ``succs`` are its readers (sorted). A sticky tensor (a checkpoint, or one that may not be
    recomputed) stays until its last reader; any other stays while a reader lies in ``(t, nxt[t]]``:
    within a segment that is up to its last reader there, and it crosses into the next segment
    only when the segment's boundary node itself reads it.
    """
    if sticky:
        return max(s, succs[-1]) if succs else s
    t = s
    while True:
        b = nxt[t]
        i = bisect.bisect_right(succs, b) - 1  # the last reader up to the boundary
        if i < 0 or succs[i] <= t:
            return t
        w = succs[i]
        if w < b:  # no checkpoint in (t, b): nxt[w] == b and nothing in (w, b] reads it
            return w
        t = w


def checkpoint_schedule(graph: Graph, checkpoints: Sequence[int], *,
                        deadline: float | None = None) -> Sequence_ | None:
    """The staged compute sequence that keeps ``checkpoints`` and drops other tensors at segment ends.

    A tensor outside ``checkpoints`` (and recomputable) stays resident after
    stage ``t`` only if some node in ``(t, c]`` reads it, ``c`` being the next
    checkpoint after ``t`` (the last node when none is left). Each tensor's
    drop stage is computed once when it becomes resident, so the cost is the
    length of the sequence times the in-degree, plus a binary search per
    segment a tensor crosses.

    Parameters
    ----------
    graph : Graph
    checkpoints : sequence of int
        Node indices kept until their last reader.
    deadline : float, optional
        A :func:`time.perf_counter` value; past it the function returns None.

    Returns
    -------
    list of int or None
        The compute sequence; None when a tensor that may not be recomputed
        would be needed again, or at ``deadline``.

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost=dict.fromkeys(range(3), 1), mem=dict.fromkeys(range(3), 1))
    >>> checkpoint_schedule(g, []), checkpoint_schedule(g, [1])
    ([0, 1, 2], [0, 1, 2])
    """
    n = graph.n
    keep = bytearray(n)
    for c in checkpoints:
        if 0 <= c < n:
            keep[c] = 1
    nxt = [n - 1] * n
    upcoming = n - 1
    for t in range(n - 1, -1, -1):
        nxt[t] = upcoming
        if keep[t]:
            upcoming = t
    preds, succs, rec = graph.preds, graph.succs, graph.recomputable
    resident = bytearray(n)
    drops: list[list[int]] = [[] for _ in range(n)]
    seq: Sequence_ = []
    for t in range(n):
        if _past(deadline):
            return None
        stack = [u for u in preds[t] if not resident[u]]
        if stack:
            need: set[int] = set()
            while stack:
                u = stack.pop()
                if u in need:
                    continue
                if not rec[u]:
                    return None
                need.add(u)
                stack.extend(p for p in preds[u] if not resident[p] and p not in need)
            for x in sorted(need):
                seq.append(x)
                resident[x] = 1
                drops[_drop_stage(succs[x], nxt, bool(keep[x]) or not rec[x], t)].append(x)
        seq.append(t)
        resident[t] = 1
        drops[_drop_stage(succs[t], nxt, bool(keep[t]) or not rec[t], t)].append(t)
        for u in drops[t]:
            resident[u] = 0
        drops[t] = []
    return seq


def peak_and_cost(graph: Graph, computes: Sequence[int]) -> tuple[int, float | int]:
    """Peak memory and cost of a compute sequence with the earliest frees (a fast replay for sweeps;
    schedules handed out are still checked by :func:`remat.verify.verify`)."""
    latest: dict[int, int] = {}
    last_read = list(range(len(computes)))
    for pos, v in enumerate(computes):
        for u in graph.preds[v]:
            last_read[latest[u]] = pos
        latest[v] = pos
    release = [0] * (len(computes) + 1)
    live = peak = 0
    for pos, v in enumerate(computes):
        live += graph.mem[v]
        peak = max(peak, live)
        release[last_read[pos]] += graph.mem[v]
        live -= release[pos]
    return peak, sum(graph.cost[v] for v in computes)


def checkpoint_all(graph: Graph, budget: int | None = None, *, deadline: float | None = None) -> Sequence_:
    """Every node once, in the graph's order; tensors freed after their last use."""
    return list(range(graph.n))


def _candidates(graph: Graph, articulation: bool) -> tuple[list[int], list[int]]:
    """The forward part and the checkpoint candidates in it (its articulation points with ``articulation``)."""
    fwd = forward_part(graph)
    return fwd, (articulation_points(graph, fwd) if articulation else fwd)


def chen_sqrt(graph: Graph, budget: int | None = None, *, articulation: bool = False,
              deadline: float | None = None) -> Sequence_ | None:
    """Chen et al.'s sqrt(n) checkpointing: every ``floor(sqrt(|C|))``-th candidate is kept
    (None at ``deadline``)."""
    _, cands = _candidates(graph, articulation)
    k = max(1, math.isqrt(len(cands)))
    return checkpoint_schedule(graph, [v for i, v in enumerate(cands) if (i + 1) % k == 0], deadline=deadline)


def _greedy_cuts(graph: Graph, fwd: Sequence[int], cands: set[int] | None, threshold: int) -> list[int]:
    total, out = 0, []
    for v in fwd:
        total += graph.mem[v]
        if (cands is None or v in cands) and total > threshold:
            out.append(v)
            total = 0
    return out


def chen_greedy_checkpoints(graph: Graph, threshold: int, *, articulation: bool = False) -> list[int]:
    """Chen et al.'s greedy rule: walk the forward part adding up output sizes; a candidate
    becomes a checkpoint (and the sum restarts) once the sum exceeds ``threshold``."""
    fwd, cands = _candidates(graph, articulation)
    return _greedy_cuts(graph, fwd, set(cands) if articulation else None, threshold)


def chen_greedy(graph: Graph, budget: int | None = None, *, articulation: bool = False,
                steps: int = 16, deadline: float | None = None) -> Sequence_ | None:
    """Chen's greedy rule with its threshold swept over ``steps`` values from the largest
    output to the forward part's total; the cheapest result within ``budget`` (None if none
    fits), or the lowest peak when no budget is given. The sweep stops at ``deadline``
    (with the best found so far).

    The forward part and its articulation points are computed once per call, and a
    threshold that yields checkpoints already tried is skipped.
    """
    fwd, cands = _candidates(graph, articulation)
    cand_set = set(cands) if articulation else None
    lo = max(1, max(graph.mem[v] for v in fwd))
    hi = max(lo, sum(graph.mem[v] for v in fwd))
    thresholds = sorted({int(lo * (hi / lo) ** (i / max(1, steps - 1))) for i in range(steps)})
    best: tuple[Any, ...] | None = None
    seen: set[tuple[int, ...]] = set()
    for th in thresholds:
        if _past(deadline):
            break
        ckpts = tuple(_greedy_cuts(graph, fwd, cand_set, th))
        if ckpts in seen:
            continue
        seen.add(ckpts)
        seq = checkpoint_schedule(graph, ckpts, deadline=deadline)
        if seq is None:
            continue
        peak, cost = peak_and_cost(graph, seq)
        if budget is not None and peak > budget:
            continue
        key = (cost, peak) if budget is not None else (peak, cost)
        if best is None or key < best[0]:
            best = (key, seq)
    return None if best is None else best[1]


EVICTION_SAMPLE = 32
"""Default for :func:`greedy_eviction`'s ``sample``: how many of the stalest, of the largest and of the
cheapest-per-byte evictable tensors each eviction scores."""


class _Evictor:
    """The eviction choice of :func:`greedy_eviction` (the resident tensors and their last accesses).

    With a ``sample``, the pool scored at each eviction is the ``sample`` stalest tensors (the
    resident ones in order of last access), the ``sample`` largest and the ``sample`` smallest by
    ``(cost + cost of evicted inputs) / memory``: a heap whose keys are re-scored when popped (a key
    that grew goes back in), as that cost changes only where neighbours are evicted or recomputed.
    """

    def __init__(self, graph: Graph, sample: int | None, classes: bool = False) -> None:
        self.graph = graph
        self.sample = sample
        # classes: DTR's equivalence classes of evicted tensors (never split), with their summed cost
        self.classes = nx.utils.UnionFind() if classes else None
        self.class_cost: dict[int, float] = {}  # class root -> summed cost
        self.resident: dict[int, int] = {}  # tensor -> clock of its last access
        self.lru: dict[int, None] = {}  # the evictable kind (recomputable, mem > 0), least recently accessed first
        self.largest: list[tuple[int, int]] = []  # (-mem, tensor), lazily cleaned
        self.cheapest: list[tuple[float, int]] = []  # (recompute cost / mem, tensor), lazily cleaned and re-scored
        self.in_largest = bytearray(graph.n)
        self.in_cheapest = bytearray(graph.n)
        # A non-recomputable ancestor makes the rule score only the tensor's own cost, which a search
        # stopped early could miss: no early stop then.
        self.prune = all(graph.recomputable)
        # keep_inputs: the inputs of evicted tensors that will be read again stay (evictable) past their last reader
        self.keeping = [0] * graph.n  # per tensor: how many such evicted tensors have it as an input
        self.waiting: dict[int, int] = {}  # evicted tensor -> the last stage that reads it
        self.expiry: dict[int, list[int]] = {}  # stage -> tensors evicted whose last reader it is

    def touch(self, u: int, clock: int) -> None:
        self.resident[u] = clock
        g = self.graph
        if g.recomputable[u] and g.mem[u] > 0:
            self.lru.pop(u, None)
            self.lru[u] = None
            if self.sample is not None:
                if not self.in_largest[u]:
                    self.in_largest[u] = 1
                    heapq.heappush(self.largest, (-g.mem[u], u))
                if not self.in_cheapest[u]:
                    self.in_cheapest[u] = 1
                    heapq.heappush(self.cheapest, (g.cost[u] / g.mem[u], u))

    def remove(self, u: int) -> None:
        del self.resident[u]
        self.lru.pop(u, None)
        if self.classes is not None:
            g, classes = self.graph, self.classes
            left = classes.parents  # the tensors that left memory at least once (the classes' members)
            group = [u, *(q for q in (*g.preds[u], *g.succs[u]) if q in left and q not in self.resident)]
            roots = {classes[q] for q in group}
            cost = sum(self.class_cost.get(r, g.cost[r]) for r in roots)
            classes.union(*roots)
            self.class_cost[classes[u]] = cost

    def _top(self, heap: list[tuple[float, int]], flag: bytearray, pin: dict[int, int], rescore: bool) -> list[int]:
        """The first ``sample`` unpinned evictable tensors of ``heap`` (left in it)."""
        taken: list[tuple[float, int]] = []
        out: list[int] = []
        budget = 4 * self.sample  # re-scores per call: past them the keys are taken as they stand
        while heap and len(out) < self.sample:
            key, u = heapq.heappop(heap)
            if u not in self.lru:
                flag[u] = 0
                continue
            if rescore and budget > 0:
                budget -= 1
                c, _ = self._recompute_cost(u, key * self.graph.mem[u] * (1 + 1e-9), always_stop=True)
                fresh = c / self.graph.mem[u]
                if fresh > key:  # grew (or at least this much): back in at its new place
                    heapq.heappush(heap, (fresh, u))
                    continue
                key = fresh
            taken.append((key, u))
            if not pin.get(u):
                out.append(u)
        for item in taken:
            heapq.heappush(heap, item)
        return out

    def _pool(self, pin: dict[int, int]) -> list[int]:
        if self.sample is None:
            return [u for u in self.lru if not pin.get(u)]
        pool: list[int] = []
        for u in self.lru:  # the stalest
            if not pin.get(u):
                pool.append(u)
                if len(pool) >= self.sample:
                    break
        pool += self._top(self.largest, self.in_largest, pin, False)
        pool += self._top(self.cheapest, self.in_cheapest, pin, True)
        return list(dict.fromkeys(pool))

    def _recompute_cost(self, u: int, limit: float | None, always_stop: bool = False) -> tuple[float, bool]:
        """``(cost(u) + cost of its evicted inputs (+ 1e-9 each), True)``, or ``(a part of that
        cost already over limit, False)`` (with no early stop where that could be wrong, unless
        ``always_stop``)."""
        g, resident = self.graph, self.resident
        if self.classes is not None:
            roots = {self.classes[p] for p in g.preds[u] if p not in resident}
            return g.cost[u] + sum(self.class_cost[r] for r in roots), True
        if not self.prune and not always_stop:
            limit = None
        need: set[int] = set()
        partial = g.cost[u]
        stack = [p for p in g.preds[u] if p not in resident]
        while stack:
            p = stack.pop()
            if p in need:
                continue
            need.add(p)
            partial += g.cost[p]
            if limit is not None and partial > limit:
                return partial, False
            stack.extend(q for q in g.preds[p] if q not in resident and q not in need)
        if any(not g.recomputable[p] for p in need):
            lost: list[int] = []  # as the rule always scored it: no extra cost
        else:
            lost = sorted(need)
        return g.cost[u] + sum(g.cost[p] for p in lost) + 1e-9 * len(lost), True

    def evicted(self, u: int, until: int) -> None:
        """``u`` was evicted and is read again up to stage ``until``: its inputs are kept."""
        if u not in self.waiting:
            for p in self.graph.preds[u]:
                self.keeping[p] += 1
        self.waiting[u] = until
        self.expiry.setdefault(until, []).append(u)

    def read_until(self, u: int, last: int) -> int:
        """The last stage that reads ``u``: ``last``, its last reader's, or later when evicted
        tensors that will be read then are waiting for it (so that its own inputs are kept too)."""
        if self.keeping[u]:
            waiting = self.waiting
            last = max(last, max(waiting.get(r, -1) for r in self.graph.succs[u]))
        return last

    def recomputed(self, u: int) -> None:
        """``u`` is computed again: its inputs are no longer kept for it."""
        if self.waiting.pop(u, None) is not None:
            for p in self.graph.preds[u]:
                self.keeping[p] -= 1

    def expire(self, t: int) -> list[int]:
        """Stage ``t`` has ended: the evicted tensors it was the last reader of release their
        inputs; returns those inputs."""
        released: list[int] = []
        for u in self.expiry.pop(t, ()):
            if self.waiting.get(u) == t:
                self.recomputed(u)
                released.extend(self.graph.preds[u])
        return released

    def choose(self, clock: int, pin: dict[int, int]) -> int | None:
        """The tensor to evict: the smallest ``(h, index)`` over the pool; None when there is none."""
        g, resident = self.graph, self.resident
        ranked = sorted((g.cost[u] / (g.mem[u] * (clock - resident[u] + 1)), u) for u in self._pool(pin))
        best: tuple[float, int] | None = None
        for lower, u in ranked:  # lower <= h(u): stop once it cannot beat the best
            if best is not None and lower > best[0]:
                break
            den = g.mem[u] * (clock - resident[u] + 1)
            c, exact = self._recompute_cost(u, None if best is None else best[0] * den * (1 + 1e-9))
            if exact and (best is None or (c / den, u) < best):
                best = (c / den, u)
        return None if best is None else best[1]


def greedy_eviction(graph: Graph, budget: int | None = None, *, deadline: float | None = None,
                    sample: int | None = EVICTION_SAMPLE, keep_inputs: bool = True,
                    classes: bool = False) -> Sequence_ | None:
    """DTR-style greedy eviction within ``budget`` (no budget: no eviction); None when it gets
    stuck or reaches ``deadline`` (a :func:`time.perf_counter` value) first.

    Before each computation that would exceed the budget, evict the resident
    tensor that the current stage does not need with the smallest
    ``h = (cost + cost of its evicted inputs) / (memory x staleness)``,
    staleness counting computations since it was last computed or read.

    With ``keep_inputs`` (default), the inputs of an evicted tensor that will
    be read again stay resident past their last reader, as evictable as any
    other, until it is recomputed or its last reader has run: dropped at their
    last use, they would turn its recomputation into a cascade of ancestors
    that no eviction had priced (on graphs with long-lived tensors whose
    inputs die early, such as random layered graphs in a random order, such
    cascades make the executor stall or get stuck).

    Parameters
    ----------
    graph : Graph
    budget : int, optional
    deadline : float, optional
        Looked at before every stage and every eviction.
    sample : int or None
        Score only the ``sample`` stalest, the ``sample`` largest and the
        ``sample`` cheapest-per-byte evictable tensors (near ``n log n`` overall); None scores every resident tensor,
        the exhaustive rule. Either way candidates are scored in order of the
        lower bound ``cost / (memory x staleness)`` and the search for evicted
        inputs stops once a candidate cannot win.
    keep_inputs : bool
        Keep the inputs of evicted tensors (above); False is the rule as first
        written (:func:`remat.testing.reference_greedy_eviction`).
    classes : bool
        Price an eviction as DTR's ``h_DTR^eq`` does (``greedy-eviction-eq``):
        a tensor that leaves memory joins one class with its inputs and
        readers that left memory too, classes are never split, and the cost
        of recomputing a tensor is its own plus that of the classes of its
        non-resident inputs. An estimate in near-constant time where the
        exact walk over evicted ancestors grows with the evictions.

    Returns
    -------
    list of int or None
        The compute sequence.

    >>> from remat.generators import linear
    >>> g = linear(6)
    >>> greedy_eviction(g, 5 * 1024) == greedy_eviction(g, 5 * 1024, sample=None)
    True
    >>> len(greedy_eviction(g, 5 * 1024, classes=True)) > g.n  # it recomputes to fit
    True
    """
    n = graph.n
    preds, mem = graph.preds, graph.mem
    last_succ = _last_succ(graph)
    ev = _Evictor(graph, sample, classes)
    resident = ev.resident
    keeping = ev.keeping if keep_inputs else None
    used = 0
    clock = 0
    seq: Sequence_ = []
    for t in range(n):
        if _past(deadline):
            return None
        closure = _closure(graph, t, resident)
        if closure is None:
            return None
        stage = closure + [t]
        pin: dict[int, int] = {}  # tensor -> how many nodes of the rest of the stage read it
        for y in stage:
            for u in preds[y]:
                pin[u] = pin.get(u, 0) + 1
        for x in stage:
            if budget is not None:
                while used + mem[x] > budget:
                    if _past(deadline):
                        return None
                    victim = ev.choose(clock, pin)
                    if victim is None:
                        return None
                    used -= mem[victim]
                    ev.remove(victim)
                    if keeping is not None:
                        until = ev.read_until(victim, last_succ[victim])
                        if until >= t:
                            ev.evicted(victim, until)
            if keeping is not None:
                ev.recomputed(x)
            clock += 1
            seq.append(x)
            ev.touch(x, clock)
            used += mem[x]
            for u in preds[x]:
                ev.touch(u, clock)
                pin[u] -= 1
            for u in (*preds[x], x):
                if u in resident and last_succ[u] <= t and not pin.get(u) and not (keeping is not None and keeping[u]):
                    used -= mem[u]
                    ev.remove(u)
        if keeping is not None:
            for u in ev.expire(t):
                if u in resident and last_succ[u] <= t and not keeping[u]:
                    used -= mem[u]
                    ev.remove(u)
    return seq


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline


BaselineFn = Callable[..., "Sequence_ | None"]  # (graph, budget, *, deadline=None)

BASELINES: dict[str, BaselineFn] = {
    "checkpoint-all": checkpoint_all,
    "chen-sqrt": chen_sqrt,
    "chen-sqrt-ap": lambda g, b=None, **kw: chen_sqrt(g, b, articulation=True, **kw),
    "chen-greedy": chen_greedy,
    "chen-greedy-ap": lambda g, b=None, **kw: chen_greedy(g, b, articulation=True, **kw),
    "greedy-eviction": greedy_eviction,
    "greedy-eviction-eq": lambda g, b=None, **kw: greedy_eviction(g, b, classes=True, **kw),
}


# -------------------------------------------------------------- public API
def baseline_schedule(graph: Graph, computes: Sequence[int], budget: int | None = None) -> Schedule:
    """A compute sequence as a verified Schedule (claims filled in); raises AssertionError if invalid.

    ``budget`` is recorded as a claim only when the schedule fits it.
    """
    draft = schedule_from_computes(graph, computes)
    rep = verify(graph, draft)
    if not rep.valid:  # a bug in a baseline, never user error
        raise AssertionError(f"baseline produced an invalid schedule: {rep.violations[0]}")
    fits = budget is not None and rep.peak_memory <= budget
    return draft.with_claims(objective=rep.total_cost, peak_memory=rep.peak_memory,
                             budget=budget if fits else None, status="feasible")


def run_baseline(graph: Graph, name: str, budget: int | None = None, *,
                 deadline: float | None = None) -> Schedule | None:
    """Run baseline ``name`` (a key of :data:`BASELINES`); None when it finds no schedule
    (the slow ones also give up at ``deadline``, a :func:`time.perf_counter` value).

    >>> from remat.generators import unet
    >>> g = unet(2)
    >>> run_baseline(g, "checkpoint-all").peak_memory == no_remat_peak(g)
    True
    """
    try:
        fn = BASELINES[name]
    except KeyError:
        raise FormulationError(f"unknown baseline {name!r}; known: {', '.join(sorted(BASELINES))}") from None
    seq = fn(graph, budget, deadline=deadline)
    return None if seq is None else baseline_schedule(graph, seq, budget)
