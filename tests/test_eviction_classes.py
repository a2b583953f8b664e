"""``greedy-eviction-eq``: greedy eviction priced by DTR's equivalence classes of evicted tensors.

The classes' bookkeeping is checked by hand on a chain (what an eviction is charged), the
executor by brute force on small graphs, and the reason the variant exists on a random layered
graph of 1,000 nodes, where the exact walk over evicted ancestors prices cascades it then pays.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.generators import random_layered
from remat.graph import Graph, no_remat_peak
from remat.heuristics.baselines import _Evictor, baseline_schedule, greedy_eviction, peak_and_cost
from remat.testing import budgets, graphs, optimum


def _chain() -> Graph:
    return Graph.from_edges([("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")],
                            cost={"a": 1, "b": 10, "c": 100, "d": 1000, "e": 0}, mem=dict.fromkeys("abcde", 1))


def test_an_eviction_is_charged_the_classes_of_its_evicted_inputs():
    g = _chain()
    a, b, c, d, _ = range(5)
    ev = _Evictor(g, None, classes=True)
    for u in (a, b, c, d):
        ev.touch(u, u)
    ev.remove(a)
    ev.remove(b)  # joins a's class: recomputing b means recomputing a too
    assert ev._recompute_cost(c, None) == (100 + 10 + 1, True)
    assert ev._recompute_cost(d, None) == (1000, True)  # c resident: nothing of the class
    ev.remove(c)
    assert ev._recompute_cost(d, None) == (1000 + 100 + 10 + 1, True)
    ev.touch(b, 9)  # b recomputed: the class is not split (DTR's estimate), but b is no longer charged
    assert ev._recompute_cost(c, None) == (100, True)
    assert ev._recompute_cost(d, None) == (1000 + 111, True)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_returned_sequence_is_a_verified_schedule_never_below_the_optimum(data):
    g = data.draw(graphs(max_nodes=7))
    budget = data.draw(budgets(g))
    seq = greedy_eviction(g, budget, classes=True)
    best = optimum(g, budget)
    if seq is None:
        return
    assert best is not None  # nothing fits: nothing may be returned
    schedule = baseline_schedule(g, seq, budget)  # raises on an invalid schedule
    assert schedule.peak_memory <= budget
    assert peak_and_cost(g, seq)[1] >= best


def test_on_a_large_random_layered_graph_the_classes_find_a_cheaper_schedule():
    g = random_layered(1000, seed=0)
    budget = int(0.9 * no_remat_peak(g))
    exact, eq = greedy_eviction(g, budget), greedy_eviction(g, budget, classes=True)
    assert exact is not None and eq is not None
    assert baseline_schedule(g, eq, budget).peak_memory <= budget
    assert peak_and_cost(g, eq)[1] < 0.9 * peak_and_cost(g, exact)[1]
