"""Greedy eviction with the large sinks moved: ``greedy-sinks``.

A *sink* is a node that nothing reads, such as a weight gradient that the
optimizer consumes. It can run at any time after its inputs. A traced training
graph runs it where the framework produced it: a convolution's weight gradient
right after its input gradient, deep in the backward pass, while the forward
activations that the rest of the backward pass reads are still waiting.

Its output is as large as the weights and is freed at once. Even so, it needs
that room while it is computed, and greedy eviction makes the room by evicting
activations that it then recomputes. Moved later as a group, to where less is
resident, the same sinks only keep their inputs (small next to the gradient)
alive until then.

:func:`late_sinks_sequence` takes the sinks whose output is at least one of
:data:`SINK_SHARES` of the budget. For each such group it tries positions ``p``
in the order of the other nodes and delays every sink of the group that runs
before ``p`` to ``p``. It tries a coarse grid of :data:`COARSE_POSITIONS`
positions first, then halves the step around the best one. At each position it runs
both greedy eviction rules in that order, and it returns the cheapest sequence
within the budget. Graphs without such sinks cost nothing: the function
returns None at once.

>>> from remat.graph import Graph
>>> g = Graph.from_edges([("f", "loss"), ("loss", "b"), ("b", "w"), ("f", "g"), ("b", "g"), ("g", "end")],
...                      cost={"f": 5, "loss": 1, "b": 1, "w": 1, "g": 1, "end": 0},
...                      mem={"f": 4, "loss": 1, "b": 1, "w": 6, "g": 1, "end": 0},
...                      order=["f", "loss", "b", "w", "g", "end"])
>>> [g.ids[v] for v in late_sinks_sequence(g, 8)]   # w after g: f is never rebuilt
['f', 'loss', 'b', 'g', 'w', 'end']
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Sequence

from remat.graph import Graph
from remat.heuristics.baselines import _past, greedy_eviction, peak_and_cost

SINK_SHARES = (0.06, 0.02)
"""Sizes of the sinks moved, as shares of the budget: each share is a group, the large ones
alone, then more of them (groups that come out the same are tried once)."""

COARSE_POSITIONS = 16
"""Positions of the coarse pass, evenly spread from the group's first position to the end; the
search then halves the step around the best position until it is 1."""


def late_sinks_sequence(graph: Graph, budget: int, *, deadline: float | None = None) -> list[int] | None:
    """The cheapest greedy-eviction sequence within ``budget`` over positions of the large sinks
    (see the module), in the graph's indices; None when no sink can move later or nothing fits.

    Parameters
    ----------
    graph : Graph
    budget : int
    deadline : float, optional
        A :func:`time.perf_counter` value, checked before every greedy eviction run.

    Returns
    -------
    list of int or None
        A compute sequence within the budget.

    Examples
    --------
    >>> from remat.generators import linear
    >>> late_sinks_sequence(linear(4), 4096) is None   # its only sink is the last node
    True
    """
    best: tuple[float, list[int]] | None = None
    tried: set[tuple[int, ...]] = set()
    for share in SINK_SHARES:
        group = tuple(v for v in range(graph.n)
                      if not graph.succs[v] and graph.preds[v] and graph.mem[v] >= share * budget)
        if not group or group in tried:
            continue
        tried.add(group)
        found = _place(graph, budget, group, deadline)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    return None if best is None else best[1]


def _place(graph: Graph, budget: int, group: Sequence[int], deadline: float | None) -> tuple[float, list[int]] | None:
    """The cheapest (cost, sequence) with every sink of ``group`` delayed to at least one position of
    the others' order (a coarse grid of positions, then half steps around the best one); a sink
    already later stays where it is."""
    moved = set(group)
    others = [v for v in range(graph.n) if v not in moved]
    slot = {s: bisect_left(others, s) for s in group}  # how many others run before it now
    first, last = min(slot.values()), len(others)
    if first >= last:
        return None  # every sink already runs last
    found: dict[int, tuple[float, list[int]] | None] = {}

    def at(p: int) -> None:
        if p not in found and not _past(deadline):
            found[p] = _greedy(graph, budget, _delayed(others, group, slot, p), deadline)

    def best() -> int | None:
        fitting = [p for p, f in found.items() if f is not None]
        return min(fitting, key=lambda p: (found[p][0], p)) if fitting else None  # type: ignore[index]

    step = max(1, (last - first) // COARSE_POSITIONS)
    for p in range(first + step, last + 1, step):
        at(p)
    while step > 1 and best() is not None:  # halve the step around the best position so far
        step = (step + 1) // 2
        centre = best()
        for p in (centre - step, centre + step):
            if first < p <= last:
                at(p)
    centre = best()
    return None if centre is None else found[centre]


def _delayed(others: Sequence[int], group: Sequence[int], slot: dict[int, int], p: int) -> list[int]:
    """The order with each sink of ``group`` after ``max(p, its slot)`` of the ``others``."""
    at: dict[int, list[int]] = {}
    for s in group:
        at.setdefault(max(p, slot[s]), []).append(s)
    order: list[int] = []
    for i, v in enumerate(others):
        order += at.get(i, [])
        order.append(v)
    return order + at.get(len(others), [])


def _greedy(graph: Graph, budget: int, order: Sequence[int], deadline: float | None) -> tuple[float, list[int]] | None:
    """Greedy eviction (both rules) on ``graph`` in ``order``: the cheaper (cost, sequence) within the
    budget, the sequence in the graph's own indices."""
    moved = graph.reordered(order)
    best: tuple[float, list[int]] | None = None
    for classes in (False, True):
        if _past(deadline):
            break
        seq = greedy_eviction(moved, budget, deadline=deadline, classes=classes)
        if seq is None:
            continue
        peak, cost = peak_and_cost(moved, seq)
        if peak <= budget and (best is None or cost < best[0]):
            best = (cost, [order[v] for v in seq])
    return best
