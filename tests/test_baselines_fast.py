"""The fast baselines against the implementations they replaced (kept here as references), and their limits.

``checkpoint_schedule`` is a definition: the fast executor must give the very same sequence.
``greedy_eviction(sample=None)`` is the exhaustive rule: the same sequence as the old scan;
the sampled default must stay valid and within the budget whenever it returns.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.generators import random_layered
from remat.graph import Graph, no_remat_peak
from remat.heuristics.baselines import (baseline_schedule, checkpoint_schedule, chen_greedy, chen_sqrt,
                                        greedy_eviction)
from remat.verify import verify


# ------------------------------------------------------------ the references (the code before the rewrite)
def _old_closure(graph, t, resident):
    need = set()
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


def _last_succ(graph):
    return [max(s) if s else -1 for s in graph.succs]


def old_checkpoint_schedule(graph, checkpoints):
    n = graph.n
    keep = set(checkpoints)
    nxt = [n - 1] * n
    upcoming = n - 1
    for t in range(n - 1, -1, -1):
        nxt[t] = upcoming
        if t in keep:
            upcoming = t
    last_succ = _last_succ(graph)
    resident = set()
    seq = []
    for t in range(n):
        closure = _old_closure(graph, t, resident)
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


def old_greedy_eviction(graph, budget=None):
    n = graph.n
    last_succ = _last_succ(graph)
    resident = {}
    used = 0
    clock = 0
    seq = []
    for t in range(n):
        closure = _old_closure(graph, t, resident)
        if closure is None:
            return None
        stage = closure + [t]
        for idx, x in enumerate(stage):
            if budget is not None:
                pinned = {u for y in stage[idx:] for u in graph.preds[y]}
                while used + graph.mem[x] > budget:
                    victims = [u for u in resident if u not in pinned and graph.recomputable[u] and graph.mem[u] > 0]
                    if not victims:
                        return None

                    def h(u):
                        lost = _old_closure(graph, u, resident) or []
                        c = graph.cost[u] + sum(graph.cost[p] for p in lost) + 1e-9 * len(lost)
                        return c / (graph.mem[u] * (clock - resident[u] + 1))  # noqa: B023

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


# ------------------------------------------------------------ strategies
@st.composite
def dags(draw, max_nodes=14, fixed=False):
    """Random DAGs in index order, some nodes not recomputable (``fixed``), float or int costs."""
    n = draw(st.integers(1, max_nodes))
    density = draw(st.sampled_from([0.15, 0.3, 0.6]))
    preds = []
    for v in range(n):
        preds.append(tuple(u for u in range(v) if draw(st.floats(0, 1)) < density))
    cost = tuple(draw(st.one_of(st.integers(0, 9), st.floats(0, 9, allow_nan=False))) for _ in range(n))
    mem = tuple(draw(st.integers(0, 6)) for _ in range(n))
    rec = tuple(draw(st.booleans()) or not fixed for _ in range(n))
    return Graph(name="dag", ids=tuple(map(str, range(n))), cost=cost, mem=mem, preds=tuple(preds), recomputable=rec)


@settings(max_examples=300, deadline=None)
@given(graph=dags(fixed=True), data=st.data())
def test_checkpoint_schedule_is_the_old_executor(graph, data):
    ckpts = data.draw(st.lists(st.integers(-1, graph.n), max_size=graph.n))
    assert checkpoint_schedule(graph, ckpts) == old_checkpoint_schedule(graph, ckpts)


@settings(max_examples=200, deadline=None)
@given(graph=dags(fixed=True), frac=st.floats(0.2, 1.1))
def test_exhaustive_greedy_eviction_is_the_old_rule(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    assert greedy_eviction(graph, budget, sample=None) == old_greedy_eviction(graph, budget)


@settings(max_examples=150, deadline=None)
@given(graph=dags(fixed=True), frac=st.floats(0.2, 1.1), sample=st.integers(1, 4))
def test_sampled_greedy_eviction_is_valid_and_within_the_budget(graph, frac, sample):
    budget = int(frac * no_remat_peak(graph))
    seq = greedy_eviction(graph, budget, sample=sample)
    if seq is None:
        return
    s = baseline_schedule(graph, seq, budget)  # raises on an invalid sequence
    assert s.peak_memory <= budget and verify(graph, s, budget).valid


def test_checkpoint_schedule_and_eviction_agree_with_the_old_ones_on_a_random_layered_graph():
    g = random_layered(300, seed=4)
    fwd = list(range(0, g.n, 7))
    assert checkpoint_schedule(g, fwd) == old_checkpoint_schedule(g, fwd)
    budget = int(0.7 * no_remat_peak(g))
    assert greedy_eviction(g, budget, sample=None) == old_greedy_eviction(g, budget)


def test_a_passed_deadline_stops_every_executor():
    g = random_layered(200, seed=1)
    past = time.perf_counter() - 1.0
    budget = int(0.8 * no_remat_peak(g))
    assert checkpoint_schedule(g, [5, 50], deadline=past) is None
    assert checkpoint_schedule(g, [5, 50], deadline=time.perf_counter() + 60) == old_checkpoint_schedule(g, [5, 50])
    assert chen_sqrt(g, budget, deadline=past) is None
    assert chen_sqrt(g, budget, articulation=True, deadline=past) is None
    assert chen_greedy(g, budget, deadline=past) is None
    assert greedy_eviction(g, budget, deadline=past) is None
    assert greedy_eviction(g, budget, sample=None, deadline=past) is None
