"""The ``cut-plan`` heuristic: the schedule the cut bound's solution describes.

:func:`remat.cut_bound.cut_lower_bound` chooses which tensors to hold across
the cut (the moment the tightest node is first computed) and rebuilds the
rest. :func:`cut_plan` turns that choice into a staged plan
(:mod:`remat.heuristics.staged`): every rebuilt tensor is recomputed once,
in the stage of its first reader after the cut (or earlier, for a rebuilt
reader of its own), and freed after its last read. The cut is one moment;
where another step is over the budget, the cut is solved again at a budget
lowered by that excess (the plan then holds a little less across the cut),
and where that does not do, the staged greedy repair adds recomputations to
the plan least over the budget (often the first: a lower budget at the cut
can move the excess and make it larger), and ruin and repair lowers the cost
in the time left.

On training graphs the cut at the loss is where memory peaks, so the plan
often fits as it is, and its cost then equals the bound: the schedule is
optimal, proven by its own bound.

>>> from remat.generators import linear
>>> from remat.graph import no_remat_peak
>>> g = linear(6)
>>> budget = no_remat_peak(g) - 1024
>>> seq = cut_plan_sequence(g, budget, deadline=None)
>>> from remat.heuristics.baselines import peak_and_cost
>>> peak, cost = peak_and_cost(g, seq)
>>> peak <= budget, cost - g.total_cost     # one forward layer rebuilt: the bound's 10
(True, 10)
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

from remat.cut_bound import CutBound, cut_at, cut_lower_bound, reachable, solve_cut
from remat.graph import Graph
from remat.heuristics.staged import (IMPROVE_FROM_NODES, Plan, _Evaluator, _prune, _repair, improve_plan,
                                    plan_sequence)

BOUND_SHARE = 0.5
"""Of the heuristic's time, the share the cut bound's MILPs may take; the plan's repair gets the rest."""

PRUNE_WORK = 10**7
"""A fitting plan is pruned (one replay per recomputation) when recomputations x nodes is at most this."""

TIGHTEN_ROUNDS = 8
"""How many times the cut is solved again at a lower budget while its plan is over the budget."""


def cut_plan(graph: Graph, cut_node: int, keep: Sequence[int]) -> Plan:
    """The staged plan that holds ``keep`` across the first computation of ``cut_node`` and recomputes,
    once, every other tensor read after it (and, for those, their inputs that are not held).

    >>> from remat.generators import linear
    >>> g = linear(2)                   # f0 f1 loss grad_f1 grad_f0
    >>> plan = cut_plan(g, g.index["loss"], [g.index["f1"]])
    >>> {g.ids[v]: g.ids[s] for v, s in plan.items()}   # f0 rebuilt where grad_f1 first reads it
    {'f0': 'grad_f1'}
    """
    preds, succs, rec = graph.preds, graph.succs, graph.recomputable
    after = reachable(graph.succs, cut_node)
    held = set(keep)
    rebuilt = {v for v in reachable(graph.preds, cut_node)
               if v not in held and rec[v] and any(w in after for w in succs[v])}
    stack = list(rebuilt)
    while stack:
        for u in preds[stack.pop()]:
            if u not in held and u not in rebuilt and rec[u]:
                rebuilt.add(u)
                stack.append(u)
    stage: Plan = {}
    for v in sorted(rebuilt, reverse=True):  # readers (higher indices) first
        first = min((w for w in succs[v] if w in after), default=math.inf)
        first = min([first, *(stage[w] for w in succs[v] if w in stage)])
        if first < math.inf and first > v:
            stage[v] = int(first)
    return stage


def _tightened(graph: Graph, budget: int, bound: CutBound, evaluator: _Evaluator,
               deadline: float | None) -> tuple[Plan, bool]:
    """The bound's plan; where it is over the budget at some step, the cut's MILP solved again with
    the budget lowered by that excess (summed over rounds), up to :data:`TIGHTEN_ROUNDS` times: the
    cut holds a little less, and the steps after it, which the cut does not see, fit. Returns the
    first plan that fits, or else the one least over the budget (the likeliest to repair: a lower
    budget at the cut can move the excess elsewhere and make it larger), and whether it fits."""
    cut = None
    keep, lowered = bound.keep, 0
    least: tuple[int, Plan] | None = None
    for _ in range(TIGHTEN_ROUNDS):
        plan = cut_plan(graph, bound.node, keep)  # type: ignore[arg-type]
        over = max(evaluator.profile(plan_sequence(graph.n, plan))[0]) - budget
        if over <= 0:
            return plan, True
        if least is None or over < least[0]:
            least = (over, plan)
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        cut = cut or cut_at(graph, bound.node, budget)  # type: ignore[arg-type]
        lowered += over
        again = solve_cut(graph, budget - lowered, cut, None if left is None else left / 2)
        if math.isinf(again.value) or again.node is None or not again.keep:
            break
        keep = again.keep
    assert least is not None
    return least[1], False


def _pruned(graph: Graph, evaluator: _Evaluator, plan: Plan, deadline: float | None) -> Plan:
    """:func:`~remat.heuristics.staged._prune`, repeated until it drops nothing more (or ``deadline``):
    a recomputation dropped late in one pass can make an earlier one unneeded."""
    while True:
        fewer = _prune(graph, evaluator, plan, deadline)
        if len(fewer) == len(plan) or (deadline is not None and time.perf_counter() > deadline):
            return fewer
        plan = fewer


def plan_from_bound(graph: Graph, budget: int, bound: CutBound, *, deadline: float | None, seed: int = 0,
                    on_plan: Callable[[list[int]], None] | None = None) -> list[int] | None:
    """The compute sequence of the bound's plan, repaired where it is over the budget and improved
    by ruin and repair until ``deadline``; None when the bound solved no cut or the repair could
    not make it fit. ``on_plan`` gets the first plan that fits before the improvement starts (an
    incumbent from the first seconds).

    >>> from remat.generators import linear
    >>> g = linear(4)
    >>> plan_from_bound(g, 10**9, cut_lower_bound(g, 10**9), deadline=None) is None   # nothing to cut
    True
    """
    if bound.node is None or math.isinf(bound.value):
        return None
    evaluator = _Evaluator(graph, budget)
    plan, fits = _tightened(graph, budget, bound, evaluator, deadline)
    if not fits:  # the staged greedy adds recomputations, then drops those the budget does not need
        plan, fits = _repair(graph, evaluator, plan, None, deadline)
    if fits and len(plan) * graph.n <= PRUNE_WORK:  # a lowered cut or the repair may rebuild more than needed
        plan = _pruned(graph, evaluator, plan, deadline)
    if not fits:
        return None
    left = None if deadline is None else deadline - time.perf_counter()
    proven = bound.proves_optimal(graph.total_cost + sum(graph.cost[v] for v in plan))
    if plan and not proven and graph.n >= IMPROVE_FROM_NODES and left is not None and left > 0:
        if on_plan is not None:
            on_plan(plan_sequence(graph.n, plan))
        plan = improve_plan(graph, budget, plan, time_limit=left, seed=seed)
    return plan_sequence(graph.n, plan)


def bound_and_plan(graph: Graph, budget: int, *, deadline: float | None = None, seed: int = 0,
                   threads: int | None = None,
                   on_plan: Callable[[list[int]], None] | None = None) -> tuple[CutBound, list[int] | None]:
    """The cut bound (within :data:`BOUND_SHARE` of the time to ``deadline``) and the sequence of its
    plan (:func:`plan_from_bound`, the rest of the time; ``on_plan`` as there).

    >>> from remat.generators import linear
    >>> from remat.graph import no_remat_peak
    >>> g = linear(6)
    >>> bound, seq = bound_and_plan(g, no_remat_peak(g) - 1024)
    >>> from remat.heuristics.baselines import peak_and_cost
    >>> bound.proves_optimal(peak_and_cost(g, seq)[1])
    True
    """
    left = None if deadline is None else max(0.0, deadline - time.perf_counter())
    bound = cut_lower_bound(graph, budget, time_limit=None if left is None else BOUND_SHARE * left, threads=threads)
    return bound, plan_from_bound(graph, budget, bound, deadline=deadline, seed=seed, on_plan=on_plan)


def cut_plan_sequence(graph: Graph, budget: int, *, deadline: float | None = None,
                      seed: int = 0) -> list[int] | None:
    """The ``cut-plan`` heuristic: the cut bound (half the time), then its plan (the rest).

    Parameters
    ----------
    graph, budget : Graph, int
    deadline : float, optional
        A :func:`time.perf_counter` value both phases stop at; None for no limit (no ruin and repair).
    seed : int
        Seeds the ruin and repair.

    Returns
    -------
    list of int or None
        A compute sequence, or None where no cut applies or the plan could not be made to fit.
    """
    if deadline is not None and deadline <= time.perf_counter():
        return None
    return bound_and_plan(graph, budget, deadline=deadline, seed=seed)[1]
