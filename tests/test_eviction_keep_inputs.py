"""Greedy eviction keeps the inputs of evicted tensors (``keep_inputs``, the default), and what
no heuristic can promise: a schedule at every budget from ``min_budget`` up.

``min_budget`` is necessary, not sufficient: the first test is a graph with no schedule at it.
What the executor does promise, on every small graph: a returned sequence is a verified
schedule within the budget, never cheaper than the brute-force optimum, and nothing is
returned where the brute force finds no schedule.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.generators import random_layered
from remat.graph import Graph, min_budget, no_remat_peak
from remat.heuristics.baselines import baseline_schedule, greedy_eviction, peak_and_cost
from remat.testing import budgets, graphs, optimum
from remat.verify import verify


def _two_cones() -> Graph:
    """v reads a and b; a reads x, b reads y; x and y are large: whichever of a, b is computed
    first must stay while the other's large input is resident."""
    return Graph.from_edges([("x", "a"), ("y", "b"), ("a", "v"), ("b", "v")],
                            cost=dict.fromkeys("xyabv", 1), mem={"x": 10, "y": 10, "a": 1, "b": 1, "v": 1})


def test_min_budget_is_necessary_not_sufficient():
    g = _two_cones()
    assert min_budget(g) == 11
    assert optimum(g, 11) is None  # no schedule at min_budget, recomputation or not
    assert optimum(g, 12) is not None
    assert greedy_eviction(g, 11) is None
    seq = greedy_eviction(g, 12)
    assert seq is not None and verify(g, baseline_schedule(g, seq, 12), 12).valid


@settings(max_examples=200, deadline=None)
@given(data=st.data(), keep=st.booleans(), sample=st.sampled_from([None, 1, 32]))
def test_a_returned_sequence_is_a_verified_schedule_never_below_the_optimum(data, keep, sample):
    graph = data.draw(graphs(max_nodes=6, non_recomputable=True))
    budget = data.draw(budgets(graph))
    seq = greedy_eviction(graph, budget, sample=sample, keep_inputs=keep)
    best = optimum(graph, budget)
    if seq is None:
        return
    schedule = baseline_schedule(graph, seq, budget)  # raises on an invalid sequence
    assert verify(graph, schedule, budget).valid and schedule.peak_memory <= budget
    assert best is not None and schedule.objective >= best - 1e-9 * max(1.0, abs(best))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_keeping_inputs_changes_nothing_where_nothing_is_evicted(data):
    graph = data.draw(graphs(max_nodes=8))
    budget = data.draw(budgets(graph, above_peak=True))
    assert greedy_eviction(graph, budget) == greedy_eviction(graph, budget, keep_inputs=False) == list(range(graph.n))


def test_random_layered_graphs_the_rule_as_first_written_got_stuck_on():
    # the rule as first written dropped the inputs of evicted tensors at their last reader:
    # recomputing those tensors became cascades of ancestors whose stages no longer fit
    for n, seed, share in ((250, 0, 0.8), (1000, 2, 0.9)):
        g = random_layered(n, seed=seed)
        budget = int(share * no_remat_peak(g))
        assert greedy_eviction(g, budget, keep_inputs=False) is None
        seq = greedy_eviction(g, budget)
        assert seq is not None
        assert verify(g, baseline_schedule(g, seq, budget), budget).valid
        assert peak_and_cost(g, seq)[0] <= budget
