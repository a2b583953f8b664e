"""The order lever: a topological order with less memory above the budget than the given one.

The paper's model (and Checkmate's) computes every node for the first time in
one fixed topological order, the graph's; recomputation then has to make up
for whatever memory that order needs above the budget. The order itself is a
lever (FastSA, NeurIPS 2023, changes it and goes below the fixed-order optima):
:func:`low_memory_order` searches for a better one, and ``remat.solve(...,
order="memory")`` solves the same model on the graph in that order.

The default solve (``order="auto"``) uses it only when the paper's model in the
given order is not settled within its share of the time limit
(:data:`remat.timebudget.GIVEN_SHARE`): a solve in another
order is no longer the paper's model (whose optima
``../shared/graphs/paper/README.md`` lists and the default reproduces), and a
fixed-order optimum for the new order can cost more than the given order's.
What it keeps: the order it returns is never worse than the given one by
(memory above the budget summed over the steps, then peak), and every schedule
is still replayed by :mod:`remat.verify` on the original graph.

The search is simulated annealing over single-node moves: a node (half the
time one resident at a step over the budget) moves to a random position
between its last input and its first reader, so every order visited is
topological. The score of an order is its no-remat profile's area above the
budget (then its peak), computed with numpy in O(n + edges).
"""

from __future__ import annotations

import math
import random
import time
from typing import Callable, Sequence

import numpy as np

from remat.errors import FormulationError
from remat.graph import Graph, no_remat_profile

MOVES_PER_NODE = 2000
"""Default length of the search: this many moves per node (the deadline may stop it earlier)."""

TICK_SECONDS = 0.5
"""How often the search calls its ``on_tick`` callback."""

TEMPERATURE_SCALE = 10.0
"""Starting temperature over the median worsening of the first moves; tuned on RL1 at 80% and a
generated 1000-node graph at 90% (the research log, docs/research, has the runs)."""

TARGETED_SHARE = 0.5
"""Share of the moves that move a tensor resident at a step over the budget (the rest move any
node); tuned like :data:`TEMPERATURE_SCALE`."""


class _Profile:
    """No-remat memory profile of any order of one graph, vectorized."""

    def __init__(self, graph: Graph) -> None:
        self.n = graph.n
        self.mem = np.asarray(graph.mem, dtype=np.float64)
        with_readers = [u for u in range(graph.n) if graph.succs[u]]
        self.has_readers = np.asarray(with_readers, dtype=np.int64)
        self.readers = np.asarray([w for u in with_readers for w in graph.succs[u]], dtype=np.int64)
        counts = np.asarray([len(graph.succs[u]) for u in with_readers], dtype=np.int64)
        self.starts = np.cumsum(counts) - counts  # where each node's readers begin in self.readers

    def __call__(self, position: np.ndarray) -> np.ndarray:
        """Memory while the node at each step computes, given each node's step ``position``."""
        last = position.copy()
        if len(self.has_readers):
            last[self.has_readers] = np.maximum(position[self.has_readers],
                                                np.maximum.reduceat(position[self.readers], self.starts))
        change = (np.bincount(position, weights=self.mem, minlength=self.n + 1)
                  - np.bincount(last + 1, weights=self.mem, minlength=self.n + 1))
        self.last = last  # each node's last step resident, for the caller
        return np.cumsum(change)[: self.n]


def _score(profile: np.ndarray, budget: int) -> tuple[float, float]:
    return float(np.maximum(profile - budget, 0).sum()), float(profile.max())


def low_memory_order(graph: Graph, budget: int, *, seed: int = 0, moves: int | None = None,
                     deadline: float | None = None, on_tick: Callable[[], None] | None = None) -> list[int]:
    """A topological order (node indices) whose no-remat profile has no more memory above ``budget``
    than the graph's own order, found by simulated annealing (see the module docstring).

    Stops when the peak fits ``budget`` (then nothing needs recomputing), after ``moves`` moves
    (default :data:`MOVES_PER_NODE` per node) or at ``deadline`` (a ``time.perf_counter()`` value).
    The temperature falls linearly over the moves or the time to the deadline, whichever runs out
    first; deterministic for a seed when the deadline does not stop it. ``on_tick()`` is called
    about every :data:`TICK_SECONDS` while the search runs (for a live progress line).

    >>> from remat.graph import Graph, no_remat_peak
    >>> g = Graph.from_edges([("a", "b"), ("c", "d")], cost={v: 1 for v in "abcd"},
    ...                      mem={"a": 10, "b": 1, "c": 10, "d": 1}, order=["a", "c", "b", "d"])
    >>> no_remat_peak(g), no_remat_peak(g, low_memory_order(g, 11))
    (21, 11)
    """
    n = graph.n
    profile = _Profile(graph)
    order = list(range(n))
    position = np.arange(n, dtype=np.int64)
    current_profile = profile(position)
    current_last = profile.last
    current = _score(current_profile, budget)
    best_score, best_order = current, list(order)
    moves = MOVES_PER_NODE * n if moves is None else moves
    rng = random.Random(seed)
    start = last_tick = time.perf_counter()
    progress = 0.0  # share of the search done: of the moves, or of the time to the deadline
    temperature0 = None
    sampled: list[float] = []
    for move in range(moves):
        if move % 256 == 0:
            now = time.perf_counter()
            progress = move / moves
            if deadline is not None:
                progress = max(progress, (now - start) / max(deadline - start, 1e-9))
            if on_tick is not None and now - last_tick >= TICK_SECONDS:
                on_tick()
                last_tick = now
        if best_score[0] == 0 or progress >= 1:
            break
        if rng.random() < TARGETED_SHARE:  # a tensor resident at a step over the budget
            over = np.flatnonzero(current_profile > budget)
            step = int(over[rng.randrange(len(over))])
            resident = np.flatnonzero((position <= step) & (current_last >= step))
            v = int(resident[rng.randrange(len(resident))])
        else:
            v = rng.randrange(n)
        lo = max((int(position[u]) for u in graph.preds[v]), default=-1) + 1
        hi = min((int(position[w]) for w in graph.succs[v]), default=n) - 1
        i = int(position[v])
        if hi <= lo:
            continue
        j = rng.randint(lo, hi - 1)
        j += j >= i  # any step of the window but its own
        _move(order, position, i, j)
        candidate_profile = profile(position)
        candidate = _score(candidate_profile, budget)
        delta = (candidate[0] - current[0]) + 1e-3 * (candidate[1] - current[1])
        if temperature0 is None:
            # The first moves calibrate the temperature: a multiple of the median worsening among them.
            if delta > 0:
                sampled.append(delta)
            if len(sampled) == 32:
                temperature0 = TEMPERATURE_SCALE * float(np.median(sampled))
            accept = delta <= 0
        else:
            temperature = temperature0 * (1.0 - progress) + 1e-9
            accept = delta <= 0 or rng.random() < math.exp(-delta / temperature)
        if accept:
            current, current_profile, current_last = candidate, candidate_profile, profile.last
            if candidate < best_score:
                best_score, best_order = candidate, list(order)
        else:
            _move(order, position, j, i)
    # The search scores in float64; the promise "never worse" is checked in exact integers.
    return best_order if memory_above(graph, budget, best_order) < memory_above(graph, budget) else list(range(n))


def memory_above(graph: Graph, budget: int, order: Sequence[int] | None = None) -> tuple[int, int]:
    """``(memory above budget summed over the steps, peak)`` of computing each node once in ``order``
    (default the graph's): what :func:`low_memory_order` lowers, exactly.

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 1}, mem={"a": 10, "b": 5})
    >>> memory_above(g, 12)
    (3, 15)
    """
    profile = no_remat_profile(graph, order)
    return sum(max(0, m - budget) for m in profile), max(profile, default=0)


def _move(order: list[int], position: np.ndarray, i: int, j: int) -> None:
    """Move the node at step i to step j, shifting the ones between."""
    v = order.pop(i)
    order.insert(j, v)
    a, b = min(i, j), max(i, j)
    position[order[a:b + 1]] = np.arange(a, b + 1)


def order_for(graph: Graph, budget: int, order: str, *, seed: int = 0, deadline: float | None = None,
              on_tick: Callable[[], None] | None = None) -> Graph:
    """``graph`` itself for ``order="given"``; for ``"memory"``, the graph in
    :func:`low_memory_order`'s order (the same graph when that finds nothing better).

    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(60, seed=3)
    >>> budget = int(0.8 * no_remat_peak(g))
    >>> order_for(g, budget, "given") is g
    True
    >>> memory_above(order_for(g, budget, "memory"), budget) < memory_above(g, budget)
    True
    """
    if order not in ("given", "memory"):
        raise FormulationError(f"unknown order {order!r}: expected given or memory")
    if order == "given":
        return graph
    found = low_memory_order(graph, budget, seed=seed, deadline=deadline, on_tick=on_tick)
    return graph if found == list(range(graph.n)) else graph.reordered(found)


def low_memory_sequence(graph: Graph, budget: int, *, deadline: float | None = None, seed: int = 0) -> list[int]:
    """The ``low-memory-order`` heuristic: :func:`low_memory_order` as a compute sequence (each
    node once, nothing recomputed), over the budget when no order fits it.

    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(30, seed=1)
    >>> sorted(low_memory_sequence(g, no_remat_peak(g))) == list(range(g.n))
    True
    """
    return low_memory_order(graph, budget, seed=seed, deadline=deadline)
