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
from remat.testing import reference_checkpoint_schedule, reference_greedy_eviction
from remat.verify import verify


# the references (the code before the rewrite) live in remat.testing
old_checkpoint_schedule = reference_checkpoint_schedule
old_greedy_eviction = reference_greedy_eviction


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
    assert greedy_eviction(graph, budget, sample=None, keep_inputs=False) == old_greedy_eviction(graph, budget)


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
    assert greedy_eviction(g, budget, sample=None, keep_inputs=False) == old_greedy_eviction(g, budget)


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
