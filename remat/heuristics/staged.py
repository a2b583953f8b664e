"""A fast warm start for the stage-restricted Moccasin model: a greedy portfolio, annealing, ruin and repair.

A *plan* gives each node at most one recomputation stage (``rec[v] = s`` with
``v < s``): stage ``s`` recomputes its planned nodes in index order, then
computes node ``s`` for the first time. Every plan is a valid compute
sequence of the stage-restricted model with ``C >= 2`` (each input has been
computed by then; the earliest-free schedule keeps it resident until read),
so its memory profile decides its feasibility.

* :func:`greedy_plan` starts from no recomputation and, while some step is
  over the budget, adds the recomputation that removes the most excess
  memory (summed over steps) per unit of cost (a small portfolio of
  variants of that rule is tried, the cheapest result kept): a tensor resident at the
  worst step and not read there is dropped and recomputed in the stage of
  its next read; inputs that would otherwise have to stay resident until
  then may be recomputed with it, or it may be recomputed earlier, in the
  last stage where its inputs are all still resident (which keeps no input
  longer, and often cheaper). Unneeded recomputations are removed at
  the end, dearest first.
* :func:`anneal_excess` takes over where the greedy got stuck: simulated
  annealing on the excess memory, whose moves add a recomputation (of a
  tensor resident at an over-budget step, in a stage after it, up to its
  next read, sometimes with some of its inputs), move an existing one
  there, or drop one; it stops at the first plan that fits.
* :func:`improve_plan` then ruins and repairs until a time limit: it drops a
  few recomputations of neighbouring stages and lets a randomised greedy
  re-add what the budget needs, keeping a repaired plan that is no dearer.

All are heuristics: they often find the optimum on the paper's graphs,
may get stuck over the budget (the search then reports its best effort),
and prove nothing; the solver does that.

>>> from remat.generators import linear
>>> from remat.graph import no_remat_peak
>>> g = linear(4)
>>> seq, fits = warm_start_sequence(g, no_remat_peak(g) - 1024, time_limit=0.2)
>>> fits, len(seq) > g.n, sorted(set(seq)) == list(range(g.n))
(True, True, True)
"""

from __future__ import annotations

import math
import random
import time
from typing import Sequence

import numpy as np

from remat.heuristics.base import WarmStartInterrupted
from remat.graph import Graph, min_budget

Plan = dict[int, int]  # node -> stage of its one recomputation
# Greedy variants (candidates evaluated exactly per step, exponent of cost in the score), tried in turn
# while time is left. 64 candidates come first: on large graphs later variants often get no time
# (the research log, docs/research, has the measurements behind this order).
PORTFOLIO = ((64, 1.0), (32, 1.0), (128, 1.0), (16, 1.0), (8, 1.0), (64, 0.5), (16, 0.5), (16, 2.0), (4, 1.0),
             (8, 0.5), (8, 2.0))


def plan_sequence(n: int, plan: Plan) -> list[int]:
    """The compute sequence of ``plan`` (node indices): stage by stage, its recomputations in
    index order, then its first computation.

    >>> plan_sequence(4, {0: 2, 1: 3, 2: 3})
    [0, 1, 0, 2, 1, 2, 3]
    """
    seq: list[int] = []
    first = 0  # the next first computation
    for s, v in sorted((s, v) for v, s in plan.items()):
        seq.extend(range(first, s))
        first = max(first, s)
        seq.append(v)
    seq.extend(range(first, n))
    return seq


def first_computation_memory(graph: Graph, plan: Plan) -> list[int]:
    """Memory at the first computation of each node when ``plan``'s sequence runs, tensors freed at once.

    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 10, 2: 100})
    >>> first_computation_memory(g, {}), first_computation_memory(g, {0: 2})
    ([1, 11, 111], [1, 11, 111])
    """
    seq = plan_sequence(graph.n, plan)
    profile, _ = _Evaluator(graph, 0).profile(seq)
    memory = [0] * graph.n
    seen = [False] * graph.n
    for v, m in zip(seq, profile):
        if not seen[v]:
            seen[v] = True
            memory[v] = m
    return memory


class _Evaluator:
    """Memory profile of compute sequences under the earliest-free rule.

    numpy does the work (the greedy spends most of its time here;
    ``benchmarks/micro/evaluator_speed.py`` measures it against plain Python);
    plain Python where the total memory could overflow 64-bit integers.
    """

    def __init__(self, graph: Graph, budget: int) -> None:
        self.preds = graph.preds
        self.mem = graph.mem
        self.budget = budget
        self.vectorised = sum(graph.mem) < 2**62
        if self.vectorised:
            degree = np.fromiter(map(len, graph.preds), dtype=np.int64, count=graph.n)
            self._first_pred = np.concatenate(([0], np.cumsum(degree)[:-1])).astype(np.int64)
            self._degree = degree
            self._preds = np.fromiter((u for ps in graph.preds for u in ps), dtype=np.int64, count=int(degree.sum()))
            self._mem = np.asarray(graph.mem, dtype=np.int64)

    def profile(self, seq: Sequence[int]) -> tuple[list[int], list[int]]:
        """Memory at each position and, per position, the last position reading that computation.

        >>> from remat.graph import Graph
        >>> g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 10, 2: 100})
        >>> _Evaluator(g, 0).profile([0, 1, 2])
        ([1, 11, 111], [2, 2, 2])
        >>> _Evaluator(g, 0).profile([0, 1, 0, 2])  # 0 recomputed: the first copy is freed after 1 reads it
        ([1, 11, 11, 111], [1, 3, 3, 3])
        """
        if not self.vectorised:
            return self._profile_python(seq)
        nodes = np.asarray(seq, dtype=np.int64)
        m = len(nodes)
        degree = self._degree[nodes]
        reader = np.repeat(np.arange(m), degree)  # one entry per (position, input) pair
        within = np.arange(len(reader)) - np.repeat(np.cumsum(degree) - degree, degree)
        read = self._preds[np.repeat(self._first_pred[nodes], degree) + within]
        used = self._used_computation(nodes, read, reader)
        last_read = np.arange(m)
        np.maximum.at(last_read, used, reader)
        sizes = self._mem[nodes]
        diff = np.zeros(m + 1, dtype=np.int64)
        diff[:m] = sizes
        np.subtract.at(diff, last_read + 1, sizes)
        return np.cumsum(diff[:m]).tolist(), last_read.tolist()

    def _used_computation(self, nodes: np.ndarray, read: np.ndarray, reader: np.ndarray) -> np.ndarray:
        """The computation each read uses: the latest position of ``read`` before ``reader``."""
        m = len(nodes)
        by_node = np.argsort(nodes, kind="stable")  # each node's positions, ascending, side by side
        sorted_nodes = nodes[by_node]
        again = np.zeros(m, dtype=bool)
        again[1:] = sorted_nodes[1:] == sorted_nodes[:-1]
        if again[1:].any() and (again[1:] & again[:-1]).any():  # a node computed three times or more
            keys = sorted_nodes * m + by_node
            return by_node[np.searchsorted(keys, read * m + reader) - 1]
        first = np.empty(len(self._degree), dtype=np.int64)
        second = np.full(len(self._degree), m, dtype=np.int64)  # m: never recomputed
        first[sorted_nodes[~again]] = by_node[~again]
        second[sorted_nodes[again]] = by_node[again]
        recomputed = second[read]
        return np.where(recomputed < reader, recomputed, first[read])

    def _profile_python(self, seq: Sequence[int]) -> tuple[list[int], list[int]]:
        preds, mem = self.preds, self.mem
        m = len(seq)
        latest: dict[int, int] = {}
        last_read = list(range(m))
        for p, v in enumerate(seq):
            for u in preds[v]:
                last_read[latest[u]] = p
            latest[v] = p
        diff = [0] * (m + 1)
        for q, v in enumerate(seq):
            diff[q] += mem[v]
            diff[last_read[q] + 1] -= mem[v]
        prof, cur = [], 0
        for p in range(m):
            cur += diff[p]
            prof.append(cur)
        return prof, last_read

    def excess(self, prof: Sequence[int]) -> int:
        b = self.budget
        return sum(x - b for x in prof if x > b)


def _repair(graph: Graph, ev: _Evaluator, plan: Plan, rng: random.Random | None,
            deadline: float | None, candidates: int = 8, alpha: float = 1.0) -> tuple[Plan, bool]:
    """Add recomputations to ``plan`` until no step is over the budget.

    Returns the plan and whether it fits; a plan that does not fit is where the greedy got stuck.
    """
    n, cost, preds = graph.n, graph.cost, graph.preds
    plan = dict(plan)
    seq = plan_sequence(n, plan)
    prof, last_read = ev.profile(seq)
    ex = ev.excess(prof)
    while ex > 0:
        if deadline is not None and time.perf_counter() > deadline:
            return plan, False
        worst = max(range(len(seq)), key=prof.__getitem__)
        stage_of = _stage_of(n, seq)
        reading = set(preds[seq[worst]])
        options = []
        for q in range(worst):
            x = seq[q]
            if last_read[q] > worst and x not in reading and x not in plan and graph.recomputable[x]:
                options.append((graph.mem[x] / (cost[x] + 1), q, x))
        options.sort(reverse=True)
        scored: list = []
        for k, (_, q, x) in enumerate(options):
            if k >= candidates and scored:
                break  # the rest only when the likeliest ones all fail
            if deadline is not None and time.perf_counter() > deadline:
                return plan, False
            r = _next_read(seq, preds, q, worst, last_read[q])
            s = stage_of[r]
            stage_start = min(p for p in range(r + 1) if stage_of[p] == s)
            groups = [([x], s)]
            input_ends = {z: last_read[_latest_before(seq, z, stage_start)] for z in preds[x]}
            dead = [z for z, end in input_ends.items() if end < stage_start]
            if dead and all(z not in plan and graph.recomputable[z] for z in dead):
                groups.append(([x] + dead, s))
            if dead:
                # or earlier, in the last stage its inputs are all still resident: no input kept longer
                alive = stage_of[min(input_ends.values())]
                if stage_of[worst] < alive < s:
                    groups.append(([x], alive))
            for group, at in groups:
                trial = dict(plan)
                trial.update((y, at) for y in group)
                tseq = plan_sequence(n, trial)
                tprof, tlast = ev.profile(tseq)
                tex = ev.excess(tprof)
                if tex < ex:
                    gain = (ex - tex) / (sum(cost[y] for y in group) + 1) ** alpha
                    scored.append((gain, trial, tseq, tprof, tlast, tex))
        if not scored:
            return plan, False
        scored.sort(key=lambda t: -t[0])
        pick = scored[0] if rng is None or rng.random() < 0.5 else rng.choice(scored[:3])
        _, plan, seq, prof, last_read, ex = pick
    return _prune(graph, ev, plan, deadline), True


def _stage_of(n: int, seq: Sequence[int]) -> list[int]:
    """Per position of a staged sequence, its stage: the node whose first computation closes it."""
    first_pos: dict[int, int] = {}
    for p, v in enumerate(seq):
        first_pos.setdefault(v, p)
    stage_of = [0] * len(seq)
    cur = n - 1
    for p in range(len(seq) - 1, -1, -1):
        if first_pos[seq[p]] == p:
            cur = seq[p]
        stage_of[p] = cur
    return stage_of


def _next_read(seq: Sequence[int], preds: Sequence[Sequence[int]], q: int, after: int, last: int) -> int:
    """The first position after ``after`` (up to ``last``) that reads the computation at position ``q``."""
    x = seq[q]
    return next(p for p in range(after + 1, last + 1) if x in preds[seq[p]])


def _latest_before(seq: Sequence[int], z: int, p: int) -> int:
    for q in range(p - 1, -1, -1):
        if seq[q] == z:
            return q
    raise AssertionError(f"node {z} is not computed before position {p}")


def _prune(graph: Graph, ev: _Evaluator, plan: Plan, deadline: float | None = None) -> Plan:
    """Drop recomputations the budget does not need, dearest first, until ``deadline``."""
    for v in sorted(plan, key=lambda v: -graph.cost[v]):
        if deadline is not None and time.perf_counter() > deadline:
            break
        trial = {k: s for k, s in plan.items() if k != v}
        if ev.excess(ev.profile(plan_sequence(graph.n, trial))[0]) == 0:
            plan = trial
    return plan


def anneal_excess(graph: Graph, budget: int, plan: Plan, *, deadline: float | None = None,
                  max_moves: int | None = None, seed: int = 0) -> tuple[Plan, bool]:
    """Simulated annealing on the excess memory (summed over over-budget steps) from ``plan``, until
    a plan fits, ``deadline`` (a :func:`time.perf_counter` value) passes or ``max_moves`` moves were
    tried; returns the plan of least excess seen, pruned when it fits, and whether it fits.

    Where the greedy gets stuck, every single added recomputation raises the
    excess somewhere (typically a tensor already recomputed once, whose copy
    spans the peak, or inputs that must stay resident longer). Each move
    picks an over-budget step (the worst one 30% of the time) and a tensor
    resident there but not read there, and then recomputes it in the stage of
    its next read (half of the time in a stage drawn between the step's and
    that one): a new recomputation (with each of its inputs not yet
    recomputed, half of the time, at probability 1/2), or the existing one
    moved there; a fifth of the moves also drop some other recomputation.
    Worse plans are accepted with probability ``exp(-increase / T)``,
    ``T`` starting at 0.1% of the initial excess and cooling by 0.1% per move.
    """
    if deadline is None and max_moves is None:
        raise ValueError("anneal_excess needs a deadline or max_moves: a budget no plan fits would never end")
    n, preds = graph.n, graph.preds
    ev = _Evaluator(graph, budget)
    rng = random.Random(seed)
    plan = dict(plan)
    seq = plan_sequence(n, plan)
    prof, last_read = ev.profile(seq)
    excess = ev.excess(prof)
    best, best_excess = dict(plan), excess
    temperature = max(1.0, 1e-3 * excess)
    moves = 0
    while best_excess > 0 and (deadline is None or time.perf_counter() < deadline):
        if max_moves is not None and moves >= max_moves:
            break
        moves += 1
        temperature *= 0.999
        over = [p for p in range(len(seq)) if prof[p] > budget]
        p = max(over, key=prof.__getitem__) if rng.random() < 0.3 else rng.choice(over)
        reading = set(preds[seq[p]])
        resident = [q for q in range(p) if last_read[q] > p and seq[q] not in reading]
        if not resident:
            continue
        q = rng.choice(resident)
        x = seq[q]
        if not graph.recomputable[x]:
            continue
        trial = dict(plan)
        stage_of = _stage_of(n, seq)
        stage = stage_of[_next_read(seq, preds, q, p, last_read[q])]
        if rng.random() < 0.5:
            stage = rng.randint(min(stage, stage_of[p] + 1), stage)
        trial[x] = stage
        if x not in plan and rng.random() < 0.5:
            trial.update((z, stage) for z in preds[x]
                         if z not in trial and graph.recomputable[z] and rng.random() < 0.5)
        others = [k for k in trial if k != x]
        if others and rng.random() < 0.2:
            del trial[rng.choice(others)]
        trial_seq = plan_sequence(n, trial)
        trial_prof, trial_last = ev.profile(trial_seq)
        trial_excess = ev.excess(trial_prof)
        increase = trial_excess - excess
        if increase <= 0 or rng.random() < math.exp(-increase / temperature):
            plan, seq, prof, last_read, excess = trial, trial_seq, trial_prof, trial_last, trial_excess
            if excess < best_excess:
                best, best_excess = dict(plan), excess
    if best_excess == 0:
        return _prune(graph, ev, best, deadline), True
    return best, False


def plan_cost(graph: Graph, plan: Plan) -> float:
    return sum(graph.cost[v] for v in plan)


class _Cheapest:
    """The cheapest fitting plan offered so far: what a Ctrl-C during the warm start hands out."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.plan: Plan | None = None

    def offer(self, plan: Plan) -> None:
        if self.plan is None or plan_cost(self.graph, plan) < plan_cost(self.graph, self.plan):
            self.plan = plan


def greedy_plan(graph: Graph, budget: int, *, time_limit: float | None = None, variants: int = len(PORTFOLIO),
                _kept: _Cheapest | None = None) -> tuple[Plan, bool]:
    """The cheapest plan over the first ``variants`` greedy variants of :data:`PORTFOLIO` tried
    within ``time_limit`` seconds (None: no limit), and whether it fits; a plan that does not fit
    is the first variant's best effort (cut short at the limit)."""
    ev = _Evaluator(graph, budget)
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    best, best_fits = _repair(graph, ev, {}, None, deadline, candidates=PORTFOLIO[0][0], alpha=PORTFOLIO[0][1])
    for candidates, alpha in PORTFOLIO[1:variants]:
        if best_fits and _kept is not None:
            _kept.offer(best)
        if deadline is not None and time.perf_counter() > deadline:
            break
        plan, fits = _repair(graph, ev, {}, None, deadline, candidates=candidates, alpha=alpha)
        if fits and (not best_fits or plan_cost(graph, plan) < plan_cost(graph, best)):
            best, best_fits = plan, True
    return best, best_fits


# Memory above this share of the budget counts as pressure when a stage shift is weighed.
PRESSURE_SHARE = 0.97


def improve_plan(graph: Graph, budget: int, plan: Plan, *, time_limit: float, seed: int = 0,
                 shift_share: float = 0.5, _kept: _Cheapest | None = None) -> Plan:
    """Ruin and repair, interleaved with stage shifts, until ``time_limit`` seconds have passed;
    never returns a dearer plan.

    A ruin-and-repair round drops the ``k`` recomputations (``k`` drawn from
    1..6) whose stages lie nearest that of one drawn at random, then re-adds
    recomputations with the greedy (a random variant, ties among the three
    best moves broken at random half of the time) until the plan fits. A
    repaired plan no dearer than the current one replaces it (equal cost
    too: a walk along the plateau); the cheapest plan seen is returned.

    A share ``shift_share`` of the rounds (default half) instead moves one recomputation to another stage, drawn
    between its node and its last reader (the solver's schedules recompute
    where no reader is). A shifted plan that still fits and whose pressure
    (memory above :data:`PRESSURE_SHARE` of the budget, summed over the steps)
    is no higher replaces the current one, pruned: lower pressure is room in
    which a later repair needs fewer recomputations.
    """
    ev = _Evaluator(graph, budget)
    rng = random.Random(seed)
    deadline = time.perf_counter() + time_limit
    current, current_cost = plan, plan_cost(graph, plan)
    current_pressure = _pressure(ev, graph.n, current)
    best, best_cost = current, current_cost
    while current and time.perf_counter() < deadline:
        if rng.random() < shift_share:
            shifted, pressure = _shifted(graph, ev, current, rng)
            if shifted is None or pressure > current_pressure:
                continue
            current = _prune(graph, ev, shifted, deadline)
        else:
            centre = current[rng.choice(list(current))]
            ruined = sorted(current, key=lambda v: abs(current[v] - centre))[:rng.randint(1, 6)]
            kept = {v: s for v, s in current.items() if v not in ruined}
            trial, fits = _repair(graph, ev, kept, rng, deadline, candidates=rng.choice((4, 8, 16)),
                                  alpha=rng.uniform(0.5, 2.0))
            if not fits or plan_cost(graph, trial) > current_cost:
                continue
            current = trial
        current_cost, current_pressure = plan_cost(graph, current), _pressure(ev, graph.n, current)
        if current_cost < best_cost:
            best, best_cost = current, current_cost
            if _kept is not None:
                _kept.offer(best)
    return best


def _shifted(graph: Graph, ev: _Evaluator, plan: Plan, rng: random.Random) -> tuple[Plan | None, float]:
    """``plan`` with one recomputation moved to a stage drawn between its node and its last reader,
    and its pressure; ``(None, 0)`` when that plan does not fit (or there is no other stage)."""
    v = rng.choice(list(plan))
    stage = rng.randint(v + 1, max(graph.succs[v], default=v + 1))
    if stage == plan[v]:
        return None, 0.0
    trial = {**plan, v: stage}
    prof = ev.profile(plan_sequence(graph.n, trial))[0]
    return (trial, _pressure_of(ev, prof)) if ev.excess(prof) == 0 else (None, 0.0)


def _pressure(ev: _Evaluator, n: int, plan: Plan) -> float:
    return _pressure_of(ev, ev.profile(plan_sequence(n, plan))[0])


def _pressure_of(ev: _Evaluator, prof: Sequence[int]) -> float:
    """Memory above :data:`PRESSURE_SHARE` of the budget, summed over the steps of a profile."""
    line = PRESSURE_SHARE * ev.budget
    return sum(x - line for x in prof if x > line)


def warm_start_sequence(graph: Graph, budget: int, *, time_limit: float = 0.0, improve: bool = True,
                        seed: int = 0) -> tuple[list[int], bool]:
    """A compute sequence of the stage-restricted model and whether it fits ``budget``.

    Half of ``time_limit`` (0: only the first greedy variant, with no limit)
    goes to the greedy portfolio; when its plan does not fit,
    :func:`anneal_excess` searches for one that does until ``time_limit``;
    what is left goes to :func:`improve_plan`
    when ``improve`` and the plan fits. A sequence that still does not fit
    is the search's best effort: a start for minimising the peak (two-phase
    solve).

    Ctrl-C (KeyboardInterrupt) once a fitting plan exists raises
    :class:`~remat.heuristics.WarmStartInterrupted` with the cheapest
    one so far; before that, the KeyboardInterrupt itself.
    """
    t0 = time.perf_counter()
    kept = _Cheapest(graph)
    try:
        if time_limit <= 0:
            plan, fits = greedy_plan(graph, budget, variants=1, _kept=kept)
        else:
            plan, fits = greedy_plan(graph, budget, time_limit=time_limit / 2 if improve else time_limit, _kept=kept)
        if not fits and time_limit > 0 and budget >= min_budget(graph):  # below it no plan fits
            deadline = t0 + time_limit
            plan, fits = anneal_excess(graph, budget, plan, deadline=deadline, seed=seed)
        if fits:
            kept.offer(plan)
        rest = time_limit - (time.perf_counter() - t0)
        if fits and improve and rest > 0:
            plan = improve_plan(graph, budget, plan, time_limit=rest, seed=seed, _kept=kept)
    except KeyboardInterrupt:
        if kept.plan is None:
            raise
        raise WarmStartInterrupted(plan_sequence(graph.n, kept.plan)) from None
    return plan_sequence(graph.n, plan), fits


def staged_plan_sequence(graph: Graph, budget: int, *, deadline: float | None = None,
                         seed: int = 0) -> list[int] | None:
    """The ``staged-plan`` heuristic: :func:`warm_start_sequence` until ``deadline``, ruin and
    repair included on graphs of :data:`IMPROVE_FROM_NODES` nodes or more (where the solver
    cannot prove optimality fast); over the budget when no plan fits (a best effort).

    >>> from remat.generators import linear
    >>> from remat.graph import no_remat_peak
    >>> g = linear(4)
    >>> len(staged_plan_sequence(g, no_remat_peak(g) - 1024)) > g.n
    True
    """
    left = 0.0 if deadline is None else deadline - time.perf_counter()
    if deadline is not None and left <= 0:
        return None  # no time at all (without a deadline: the first greedy variant, whole)
    return warm_start_sequence(graph, budget, time_limit=left, improve=graph.n >= IMPROVE_FROM_NODES,
                               seed=seed)[0]


IMPROVE_FROM_NODES = 200
"""Ruin and repair pays off where the solver cannot prove optimality fast: large graphs."""
