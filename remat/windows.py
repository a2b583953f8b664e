"""Window search: the exact model improves a verified schedule of any size, one window at a time.

A large-neighbourhood search over windows of *stages* of an incumbent compute
sequence (node indices, verified to fit). Stage ``k`` of the incumbent is the
run of steps that ends with the ``k``-th first computation (the recomputations
before it, then that node's first computation), so stage boundaries follow the
incumbent's own first-computation order, whatever order produced it. A window
``[a, b)`` of stages splits the sequence into a prefix, the window's steps and
a suffix, both kept as they are; the window becomes an ordinary
:class:`~remat.graph.Graph` that :func:`remat.solve` (the Moccasin model,
``order="given"``) solves unchanged:

* *sources*, first in the sub-order: tensors resident at the window's entry
  that a window step reads from that entry copy; cost 0, not recomputable,
  their true sizes, no inputs;
* a *constant load*: tensors resident at the entry that no window step reads
  stay resident all through (the suffix reads them); the sub-budget is the
  budget minus their sizes;
* the nodes the window computes (its first computations, and recomputations
  of earlier nodes not resident at the entry), in the order of their first
  computation in the window, with their costs, sizes, inputs and
  recomputability; every input of such a node is a source or one of them;
* a *sink* (cost 0, size 0) that reads every tensor the incumbent has
  resident at the window's exit apart from the constant load: with frees as
  early as possible (:func:`~remat.schedule.schedule_from_computes`) these
  are exactly the tensors the suffix reads before recomputing them, so a
  window schedule that keeps them leaves the suffix the same state, and the
  same memory profile.

The sub-solve is hinted with the incumbent's window steps (recomputations
within a stage sorted into the model's slot order), so the model starts near
the incumbent's window cost; its schedule is mapped back (sources and sink
dropped), spliced, verified on the whole graph at the whole budget and kept
only when it is valid and strictly cheaper. The search never returns a
sequence dearer than, or less verified than, its input. Memory stays linear:
only the window's sub-graph is ever built.

What a window can and cannot change: its sub-model must compute every node of
the sub-graph once, so a window whose steps compute each of its nodes once
(its cost equals the sum of its nodes' costs) has nothing to gain and is
skipped without a solve. An earlier tensor that the prefix freed and the
window recomputes stays recomputed: keeping it instead is a decision of the
prefix. On training graphs, where the forward pass evicts what the backward
pass recomputes thousands of stages later, contiguous windows therefore only
reorganise the recomputations inside them; gains that need a tensor kept from
the forward to the backward pass need a window that spans both (a set of
stages, not a range), which this module does not build.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from remat.graph import Graph
from remat.schedule import schedule_from_computes
from remat.verify import verify

SINK = "<window-sink>"


class WindowError(ValueError):
    """The incumbent handed to the window search is not a valid schedule within the budget."""


@dataclass(frozen=True)
class Window:
    """One window's sub-problem: ``graph`` at ``budget`` stands for incumbent steps ``[start, stop)``.

    ``nodes[i]`` is the full graph's index of sub-node ``i`` (``-1`` for the sink); the first
    ``sources`` sub-nodes are the entry tensors; ``hint`` is the incumbent's window in sub-indices
    (sources and sink included); ``cost`` what the incumbent's window steps cost.
    """

    graph: Graph
    budget: int
    start: int
    stop: int
    nodes: tuple[int, ...]
    sources: int
    hint: tuple[int, ...]
    cost: float | int
    copies: int  # most computations of one sub-node in the hint


@dataclass(frozen=True)
class WindowSearch:
    """What :func:`improve_by_windows` did: the best ``computes`` (verified) and its ``cost``."""

    computes: tuple[int, ...]
    cost: float | int
    initial_cost: float | int
    windows: int  # sub-solves run
    improved: int  # sub-solves whose splice was accepted
    seconds: float


# ------------------------------------------------------------------ replay
def last_reads(graph: Graph, computes: Sequence[int]) -> np.ndarray:
    """For each position of ``computes``: the last position that reads that computation (itself if
    none), as :func:`~remat.schedule.schedule_from_computes` frees it. One pass, O(steps + reads).

    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
    >>> last_reads(g, [0, 1, 2]).tolist()
    [2, 2, 2]
    """
    latest = [-1] * graph.n
    last = np.arange(len(computes), dtype=np.int64)
    preds = graph.preds
    for pos, v in enumerate(computes):
        for u in preds[v]:
            q = latest[u]
            if q >= 0:
                last[q] = pos
        latest[v] = pos
    return last


def stage_ends(graph: Graph, computes: Sequence[int]) -> list[int]:
    """Positions of the first computations in ``computes``, in order: stage ``k`` ends at ``[k]``."""
    seen = bytearray(graph.n)
    ends = []
    for pos, v in enumerate(computes):
        if not seen[v]:
            seen[v] = 1
            ends.append(pos)
    return ends


def _cost(graph: Graph, computes: Sequence[int]) -> float | int:
    return sum(graph.cost[v] for v in computes)


def fits(graph: Graph, budget: int, computes: Sequence[int]) -> bool:
    """Whether ``computes`` (with the earliest frees) passes :func:`remat.verify.verify` at ``budget``."""
    return verify(graph, schedule_from_computes(graph, computes), budget).valid


# ------------------------------------------------------------------ windows
def build_window(graph: Graph, budget: int, computes: Sequence[int], a: int, b: int, *,
                 ends: Sequence[int] | None = None, last: np.ndarray | None = None) -> Window:
    """The sub-problem of stages ``[a, b)`` of the incumbent ``computes`` (see the module docstring).

    ``ends`` and ``last`` (:func:`stage_ends`, :func:`last_reads` of ``computes``) may be passed to
    save their replay when many windows of one incumbent are built.

    >>> from remat.generators import linear
    >>> g = linear(4)
    >>> w = build_window(g, 10**9, list(range(g.n)), 2, 6)
    >>> [g.ids[v] if v >= 0 else "sink" for v in w.nodes]
    ['f1', 'f2', 'f3', 'loss', 'grad_f3', 'sink']
    >>> w.sources, w.cost == sum(g.cost[v] for v in range(2, 6))
    (1, True)
    """
    ends = stage_ends(graph, computes) if ends is None else ends
    last = last_reads(graph, computes) if last is None else last
    if not 0 <= a < b <= len(ends):
        raise WindowError(f"window [{a}, {b}) is not a range of the {len(ends)} stages")
    start = ends[a - 1] + 1 if a > 0 else 0
    stop = ends[b - 1] + 1
    steps = computes[start:stop]
    # Entry state: computations before `start` whose copy is still read at or after it.
    pos = np.arange(len(computes))
    entry_q = np.nonzero((pos < start) & (last >= start))[0]
    exit_q = np.nonzero((pos < stop) & (last >= stop))[0]
    entry = {int(computes[q]) for q in entry_q}
    # Sources: entry tensors read from their entry copy by a window step.
    sources: list[int] = []
    in_window: set[int] = set()  # computed by a window step so far
    computed: list[int] = []  # in order of first computation in the window
    source_set: set[int] = set()
    for v in steps:
        for u in graph.preds[v]:
            if u not in in_window and u not in source_set:
                if u not in entry:
                    raise WindowError(f"incumbent step computes {graph.ids[v]!r} without its input "
                                      f"{graph.ids[u]!r} resident")
                source_set.add(u)
                sources.append(u)
        if v not in in_window:
            in_window.add(v)
            if v not in source_set:
                computed.append(v)
    constant = entry - source_set
    exits = [int(computes[q]) for q in exit_q]
    sink_reads = sorted({v for v in exits if v not in constant})
    nodes = sources + computed
    index = {v: i for i, v in enumerate(nodes)}
    k = len(sources)
    n_sub = len(nodes) + 1
    sub_preds: list[tuple[int, ...]] = [()] * k
    for v in computed:
        sub_preds.append(tuple(sorted(index[u] for u in graph.preds[v])))
    sub_preds.append(tuple(sorted(index[u] for u in sink_reads)))
    ids = tuple(graph.ids[v] for v in nodes) + (_sink_id(graph),)
    cost = tuple(0 for _ in sources) + tuple(graph.cost[v] for v in computed) + (0,)
    mem = tuple(graph.mem[v] for v in nodes) + (0,)
    recomputable = (False,) * k + tuple(graph.recomputable[v] for v in computed) + (False,)
    sub = Graph(name=f"{graph.name}[stages {a}:{b}]", ids=ids, cost=cost, mem=mem, preds=tuple(sub_preds),
                recomputable=recomputable)
    hint, copies = _staged_hint(list(range(k)) + [index[v] for v in steps if v not in source_set] + [n_sub - 1],
                                n_sub)
    load = sum(graph.mem[v] for v in constant)
    return Window(graph=sub, budget=budget - load, start=start, stop=stop, nodes=tuple(nodes) + (-1,),
                  sources=k, hint=hint, cost=_cost(graph, steps), copies=copies)


def _sink_id(graph: Graph) -> str:
    name = SINK
    while name in graph.index:
        name += "'"
    return name


def _staged_hint(seq: list[int], n: int) -> tuple[tuple[int, ...], int]:
    """``seq`` with the recomputations of each stage sorted by node index (the model's slot order),
    and the largest number of computations of one node."""
    seen = bytearray(n)
    out: list[int] = []
    pending: list[int] = []
    counts = [0] * n
    for v in seq:
        counts[v] += 1
        if seen[v]:
            pending.append(v)
        else:
            seen[v] = 1
            out.extend(sorted(pending))
            pending.clear()
            out.append(v)
    out.extend(sorted(pending))
    return tuple(out), max(counts, default=1)


def splice(computes: Sequence[int], window: Window, sub_computes: Sequence[int]) -> list[int]:
    """Prefix + the window's new steps (``sub_computes``: sub-graph indices, sources and sink
    dropped) + suffix, in full-graph node indices."""
    nodes, k = window.nodes, window.sources
    middle = [nodes[v] for v in sub_computes if v >= k and nodes[v] >= 0]
    return [*computes[:window.start], *middle, *computes[window.stop:]]


# ------------------------------------------------------------------ search
def solve_window(window: Window, *, time_limit: float, backend: str = "cpsat", threads: int | None = None,
                 max_copies: int = 2, seed: int = 0, backend_options: dict[str, Any] | None = None,
                 ) -> tuple[list[int] | None, bool]:
    """Solve one window's sub-graph with the Moccasin model in its given order.

    Returns its compute sequence (sub-indices, verified by :func:`remat.solve` on the sub-graph)
    when it is strictly cheaper than the incumbent's window, else None; and whether the model
    proved its optimum (nothing left to gain in this window for this incumbent).
    """
    from remat.solve import solve  # the pipeline imports this module's caller, not the reverse
    from remat.status import Status

    copies = min(max(max_copies, window.copies), max(max_copies, 4))
    result = solve(window.graph, window.budget, backend=backend, formulation="moccasin", order="given",
                   time_limit=time_limit, threads=threads, max_copies=copies, seed=seed, hint=window.hint,
                   warm_start=False, backend_options=backend_options)
    proven = result.status == Status.OPTIMAL
    if result.schedule is None or result.objective is None or not result.objective < window.cost:
        return None, proven
    index = window.graph.index
    return [index[v] for v in result.schedule.computes], proven


def pick_windows(graph: Graph, computes: Sequence[int], ends: Sequence[int], size: int,
                 rng: random.Random) -> tuple[int, int]:
    """A window of about ``size`` stages, centred on a stage drawn with probability proportional
    to the recomputation cost in it (uniformly when there is none)."""
    n = len(ends)
    size = max(1, min(size, n))
    rec = np.zeros(n)
    starts = np.concatenate(([0], np.asarray(ends[:-1]) + 1))
    cost = np.asarray(graph.cost, dtype=float)[np.asarray(computes)]
    csum = np.concatenate(([0.0], np.cumsum(cost)))
    rec = csum[np.asarray(ends)] - csum[starts]  # cost of the recomputations of each stage
    total = rec.sum()
    centre = int(rng.choices(range(n), weights=rec.tolist())[0]) if total > 0 else rng.randrange(n)
    a = max(0, min(centre - rng.randrange(size), n - size))
    return a, a + size


def improve_by_windows(graph: Graph, budget: int, computes: Sequence[int], *, deadline: float,
                       backend: str = "cpsat", threads: int | None = None, max_copies: int = 2, seed: int = 0,
                       window_stages: int = 120, window_seconds: float = 3.0,
                       backend_options: dict[str, Any] | None = None,
                       on_improve: Callable[[list[int], float | int], None] | None = None) -> WindowSearch:
    """Improve a verified compute sequence with the exact model on windows of its stages.

    Parameters
    ----------
    graph, budget : Graph, int
        The graph and the budget in bytes.
    computes : sequence of int
        The incumbent: node indices in execution order, which must fit ``budget``
        (:func:`remat.schedule.schedule_from_computes` adds the earliest frees).
    deadline : float
        A :func:`time.perf_counter` value: no sub-solve runs past it.
    backend, threads, max_copies, seed, backend_options
        The sub-solves' backend, threads, copies per node C (raised to the incumbent's window
        copies, at most 4, so the hint fits the model), random seed (windows and solver).
    window_stages : int
        Stages per window to start with; the search grows it while windows solve to optimality
        well within ``window_seconds`` and shrinks it when they do not.
    window_seconds : float
        Time limit of one sub-solve.
    on_improve : callable, optional
        Called with each accepted (verified, strictly cheaper) sequence and its cost.

    Returns
    -------
    WindowSearch
        ``computes`` verified at ``budget``, never dearer than the input.

    Raises
    ------
    WindowError
        The input sequence does not fit ``budget`` on ``graph``.

    Examples
    --------
    >>> import time
    >>> from remat.generators import linear
    >>> from remat.graph import no_remat_peak
    >>> from remat.heuristics.baselines import greedy_eviction
    >>> g = linear(8)
    >>> budget = int(0.6 * no_remat_peak(g))
    >>> seq = greedy_eviction(g, budget)
    >>> out = improve_by_windows(g, budget, seq, deadline=time.perf_counter() + 10, threads=1)
    >>> fits(g, budget, out.computes), out.cost <= out.initial_cost
    (True, True)
    """
    t0 = time.perf_counter()
    best = [int(v) for v in computes]
    report = verify(graph, schedule_from_computes(graph, best), budget)
    if not report.valid:
        raise WindowError(f"incumbent does not fit: {report.violations[0]}")
    best_cost = report.total_cost
    initial = best_cost
    rng = random.Random(seed)
    size, runs, accepted, skips = max(1, window_stages), 0, 0, 0
    proven: set[tuple[int, int]] = set()  # windows solved to optimality since the last acceptance
    verify_time = time.perf_counter() - t0
    overrun = 0.0  # the most a sub-solve ran past its limit (model build, decode): kept off the next limits
    ends, last = stage_ends(graph, best), last_reads(graph, best)
    while True:
        left = deadline - time.perf_counter() - 2 * verify_time - overrun
        if left < 0.2:
            break
        a, b = pick_windows(graph, best, ends, size, rng)
        if (a, b) not in proven:
            window = build_window(graph, budget, best, a, b, ends=ends, last=last)
            if not window.cost > sum(window.graph.cost):  # each node of the window once: nothing to gain
                proven.add((a, b))
        if (a, b) in proven:
            skips += 1
            if skips > 50:  # most windows of this size are settled: look wider, or stop at the whole graph
                if size >= len(ends):
                    break
                size, skips = min(len(ends), 2 * size), 0
            continue
        skips = 0
        limit = min(window_seconds, left)
        t1 = time.perf_counter()
        found, optimal = solve_window(window, time_limit=limit, backend=backend, threads=threads,
                                      max_copies=max_copies, seed=rng.randrange(2**31), backend_options=backend_options)
        took = time.perf_counter() - t1
        overrun = max(overrun, took - limit)
        runs += 1
        size = _next_size(size, optimal, took, limit, len(ends))
        if optimal and found is None:
            proven.add((a, b))
        if found is None:
            continue
        candidate = splice(best, window, found)
        t2 = time.perf_counter()
        check = verify(graph, schedule_from_computes(graph, candidate), budget)
        verify_time = max(verify_time, time.perf_counter() - t2)
        if check.valid and check.total_cost < best_cost:
            best, best_cost, accepted = candidate, check.total_cost, accepted + 1
            ends, last = stage_ends(graph, best), last_reads(graph, best)
            proven.clear()
            if on_improve is not None:
                on_improve(list(best), best_cost)
    return WindowSearch(computes=tuple(best), cost=best_cost, initial_cost=initial, windows=runs, improved=accepted,
                        seconds=time.perf_counter() - t0)


def _next_size(size: int, optimal: bool, took: float, limit: float, stages: int) -> int:
    """Grow windows that solve to optimality in under a third of their time; shrink the others."""
    if optimal and took < limit / 3:
        return min(stages, int(size * 1.25) + 1)
    if not optimal:
        return max(4, int(size * 0.8))
    return size
