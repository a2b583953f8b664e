"""How the formulations relate, checked on small graphs (hypothesis) and named examples.

* Checkmate (any number of recomputations, staged) <= Moccasin with C = 2;
* Moccasin with C >= n == Checkmate (the same staged set of schedules);
* free-order Moccasin <= staged Moccasin with the same C, and equal to a
  brute force over every order;
* every baseline schedule verifies and costs >= the staged optimum.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.heuristics.baselines import BASELINES, run_baseline
from remat.generators import linear
from remat.graph import Graph, no_remat_peak
from remat.solve import solve
from remat.status import Status
from remat.verify import verify
from tests.test_solve_cpsat import peak_of, small_dags


def optimum(graph: Graph, budget: int, formulation: str, max_copies: int = 2):
    """The proven optimum (None when proven infeasible); fails the test if the solver proves neither."""
    r = solve(graph, budget, formulation=formulation, max_copies=max_copies, threads=1, time_limit=30,
              warm_start=False)  # the model's own optimum: no heuristic schedule from outside it
    assert r.status in (Status.OPTIMAL, Status.INFEASIBLE), (formulation, r.status, r.message)
    if r.status == Status.INFEASIBLE:
        return None
    assert verify(graph, r.schedule, budget).valid
    return r.objective


def free_order_brute_force(graph: Graph, budget: int, max_copies: int) -> int | None:
    """Cheapest sequence in *any* order with each node computed 1..max_copies times."""
    best = None
    counts = [0] * graph.n

    def extend(seq: list[int]) -> None:
        nonlocal best
        if all(counts) and peak_of(graph, seq) <= budget:
            cost = sum(graph.cost[v] for v in seq)
            best = cost if best is None else min(best, cost)
        for v in range(graph.n):
            if counts[v] < max_copies and all(counts[u] for u in graph.preds[v]):
                counts[v] += 1
                extend(seq + [v])
                counts[v] -= 1

    extend([])
    return best


def at_most(a, b) -> bool:
    """a <= b for optima where None means infeasible (infinitely expensive)."""
    return b is None or (a is not None and a <= b)


@settings(max_examples=30, deadline=None)
@given(graph=small_dags(max_nodes=6), frac=st.floats(0.3, 1.0))
def test_checkmate_at_most_moccasin_c2_and_equal_to_moccasin_with_n_copies(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    checkmate = optimum(graph, budget, "checkmate")
    assert at_most(checkmate, optimum(graph, budget, "moccasin", max_copies=2))
    assert checkmate == optimum(graph, budget, "moccasin", max_copies=graph.n)


@settings(max_examples=20, deadline=None)
@given(graph=small_dags(max_nodes=4), frac=st.floats(0.3, 1.0))
def test_free_order_optimum_equals_brute_force_over_all_orders_and_beats_staged(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    free = optimum(graph, budget, "moccasin-free", max_copies=2)
    assert free == free_order_brute_force(graph, budget, 2)
    assert at_most(free, optimum(graph, budget, "moccasin", max_copies=2))


@settings(max_examples=30, deadline=None)
@given(graph=small_dags(max_nodes=6), frac=st.floats(0.3, 1.1))
def test_every_baseline_verifies_and_costs_at_least_the_staged_optimum(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    best = optimum(graph, budget, "checkmate")
    for name in BASELINES:
        s = run_baseline(graph, name, budget)
        if s is None or s.peak_memory > budget:
            continue
        assert verify(graph, s, budget).valid
        assert best is not None and s.objective >= best, name


def test_checkmate_beats_moccasin_c2_where_a_node_needs_three_computations():
    """A documented difference, not a bug: linear5 at 4916 bytes needs f0 three times."""
    g = linear(5)
    assert optimum(g, 4916, "checkmate") == 181
    assert optimum(g, 4916, "moccasin", max_copies=2) is None
    assert optimum(g, 4916, "moccasin", max_copies=3) == 181


def test_free_order_avoids_the_recomputation_that_the_given_order_forces():
    # two independent chains a -> a2 and b -> b2, given interleaved as a, b, a2, b2; all sizes 1.
    # In that order a and b are both resident when a2 computes (3 units); at budget 2 the staged
    # model must drop b after its first computation and recompute it for b2 (cost 5; recomputing
    # a instead does not help: b would still sit beside a and a2), while the order a, a2, b, b2
    # needs no recomputation.
    g = Graph.from_edges([("a", "a2"), ("b", "b2")], cost={"a": 3, "b": 5, "a2": 1, "b2": 1},
                         mem=dict.fromkeys(["a", "b", "a2", "b2"], 1), order=["a", "b", "a2", "b2"])
    assert no_remat_peak(g) == 3
    assert optimum(g, 2, "moccasin") == optimum(g, 2, "checkmate") == g.total_cost + 5
    r = solve(g, 2, formulation="moccasin-free", threads=1)
    assert r.status == Status.OPTIMAL and r.objective == g.total_cost and r.peak_memory <= 2
    assert r.schedule.computes in (["a", "a2", "b", "b2"], ["b", "b2", "a", "a2"])
