"""The gap relaxation bounds the default model's optimum from below, never above it."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remat.bounds import _solve_relaxation, gap_lower_bound
from remat.formulations.moccasin_bound import gap_relaxation
from remat.generators import random_layered
from remat.graph import Graph, load_graph, no_remat_peak, no_remat_profile
from remat.solve import solve
from remat.status import Status
from remat.testing import earliest_free_peak
from remat.testing import staged_optimum as brute_force
from tests.paper import paper_graph_path
from tests.test_training_graphs import GRAPHS as TRAINING
from tests.test_solve_cpsat import small_dags

ALL_STAGES = 1e-9  # share: every stage with any memory gets a row (the tightest relaxation)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(), frac=st.floats(0.3, 1.0), share=st.sampled_from([ALL_STAGES, 1.0]),
       rounds=st.sampled_from([1, 5]))
def test_the_bound_never_exceeds_the_brute_force_optimum(graph, frac, share, rounds):
    budget = int(frac * no_remat_peak(graph))
    expected = brute_force(graph, budget)
    bound = gap_lower_bound(graph, budget, backend="cpsat", time_limit=20, threads=1, share=share, rounds=rounds)
    assert bound.status in (Status.OPTIMAL, Status.INFEASIBLE)
    if bound.status == Status.INFEASIBLE:
        assert expected is None and bound.value == math.inf
    elif expected is not None:
        assert graph.total_cost <= bound.value <= expected


@pytest.mark.parametrize("seed", range(4))
def test_the_bound_never_exceeds_the_proven_optimum_on_layered_graphs(seed):
    g = random_layered(24, seed=seed)
    budget = int(0.85 * no_remat_peak(g))
    optimum = solve(g, budget, threads=2, time_limit=60)
    assert optimum.status == Status.OPTIMAL
    for backend in ("cpsat", "highs", "highs-direct"):
        bound = gap_lower_bound(g, budget, backend=backend, time_limit=30, share=ALL_STAGES)
        assert bound.status == Status.OPTIMAL
        assert g.total_cost <= bound.value <= optimum.objective
    tighter = gap_lower_bound(g, budget, time_limit=60, share=ALL_STAGES, rounds=6)
    assert bound.value <= tighter.value <= optimum.objective
    grown = gap_lower_bound(g, budget, time_limit=60, share=ALL_STAGES, rounds=8, start_stages=3, add_stages=3)
    assert g.total_cost <= grown.value <= optimum.objective


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(), frac=st.floats(0.3, 1.0), data=st.data())
def test_the_bound_at_any_set_of_stages_never_exceeds_the_brute_force_optimum(graph, frac, data):
    """Rows at an arbitrary subset of the stages, not only those above a memory threshold (stage growth
    picks such subsets), and rows at the recomputations of its solutions."""
    budget = int(frac * no_remat_peak(graph))
    expected = brute_force(graph, budget)
    stages = data.draw(st.lists(st.integers(0, graph.n - 1), unique=True))
    relaxed = gap_relaxation(graph, budget, stages=stages)
    status, bound, values = _solve_relaxation(relaxed.model, "cpsat", 20, 1)
    if status == Status.INFEASIBLE:
        assert expected is None
        return
    assert status == Status.OPTIMAL
    tighter = gap_relaxation(graph, budget, stages=stages, recompute_rows=relaxed.recomputations(values))
    status, again, _ = _solve_relaxation(tighter.model, "cpsat", 20, 1)
    assert status in (Status.OPTIMAL, Status.INFEASIBLE)
    if expected is None:
        return
    assert status == Status.OPTIMAL and bound <= again and again * relaxed.cost_unit <= expected


def test_no_gap_can_relieve_a_stage_over_the_budget():
    # 0 -> 2 and 1 -> 2: at 2's computation both inputs and 2 are resident whatever is recomputed
    g = Graph.from_edges([(0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 2, 1: 2, 2: 2})
    bound = gap_lower_bound(g, 5)
    assert bound.status == Status.INFEASIBLE and bound.value == math.inf
    assert solve(g, 5, time_limit=10).status == Status.INFEASIBLE


def test_the_no_remat_profile_is_the_replayed_memory_without_recomputation():
    g = random_layered(40, seed=3)
    memory = no_remat_profile(g)
    assert max(memory) == no_remat_peak(g) == earliest_free_peak(g, list(range(g.n)))
    # memory at each first computation: the replay of the prefix ending there
    for s in (0, 7, 20, 39):
        resident = [u for u in range(s) if max(g.succs[u], default=u) >= s]
        assert memory[s] == g.mem[s] + sum(g.mem[u] for u in resident)


def test_the_default_stages_are_those_over_the_budget():
    g = random_layered(60, seed=1)
    budget = int(0.9 * no_remat_peak(g))
    over = [s for s, m in enumerate(no_remat_profile(g)) if m > budget]
    assert over and gap_relaxation(g, budget).stages == over


def test_the_bound_proves_the_rl2_schedule_optimal():
    """RL2 at 132,156: the relaxation's optimum equals the given order's schedule (0.904% TDI), which
    a 120 s CP-SAT proof on the full model (benchmarks/prove_rl2.py) also shows optimal."""
    g = load_graph(paper_graph_path("rl2_random_layered_n250"))
    result = solve(g, 132_156, time_limit=10, order="given")
    assert result.report is not None and result.report.valid
    bound = gap_lower_bound(g, 132_156, time_limit=60)
    assert bound.status == Status.OPTIMAL
    assert bound.value == result.objective


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(), frac=st.floats(0.3, 1.0))
def test_the_solve_with_the_relaxation_row_keeps_the_brute_force_optimum(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    expected = brute_force(graph, budget)
    r = solve(graph, budget, threads=1, time_limit=20, lower_bound=True)
    if expected is None:
        assert r.status == Status.INFEASIBLE
    else:
        assert r.status == Status.OPTIMAL and r.objective == expected and r.bound == expected


def test_the_relaxation_step_runs_only_where_it_may_settle_and_only_for_a_model_it_bounds():
    small = random_layered(30, seed=2)
    budget = int(0.85 * no_remat_peak(small))
    assert solve(small, budget, time_limit=20).bound_time == 0.0  # the given order's search settles it
    assert solve(small, budget).bound_time == 0.0  # no time limit: the search settles it, however long
    forced = solve(small, budget, time_limit=20, lower_bound=True)
    assert forced.bound_time > 0 and forced.status == Status.OPTIMAL
    # more than two copies: the relaxation (one recomputation per node) would not bound the model
    assert solve(small, budget, time_limit=20, lower_bound=True, max_copies=3).bound_time == 0.0


def test_by_default_the_relaxation_proves_what_the_search_cannot_on_a_training_graph():
    """BERT-mini at 50% (fixed order: the model has the whole limit): CP-SAT's search stalls at the
    cut plan's schedule with the cut bound 2.4 TDI points below; the relaxation, run first by
    default, proves that schedule the model's optimum. Without it the same schedule stays unproven."""
    g = load_graph(TRAINING / "bert_mini.json")
    budget = int(0.5 * no_remat_peak(g))
    r = solve(g, budget, time_limit=30)
    assert r.bound_time > 0 and r.status == Status.OPTIMAL and r.bound == r.objective and r.report.valid
    assert gap_lower_bound(g, budget, time_limit=30).value == r.objective  # the relaxation alone agrees
    off = solve(g, budget, time_limit=10, lower_bound=False)
    assert off.bound_time == 0.0 and off.status == Status.FEASIBLE and off.objective == r.objective
    assert off.bound < r.bound


def test_by_default_the_relaxation_runs_only_before_a_search_that_has_the_whole_limit():
    """RL2 at 132,156: under --order given the relaxation runs first and the model's optimum is
    proven; under auto the time goes to the two orders instead (the memory order's schedule recomputes
    nothing, below the model's optimum)."""
    g = load_graph(paper_graph_path("rl2_random_layered_n250"))
    given_order = solve(g, 132_156, time_limit=30, order="given")
    assert given_order.bound_time > 0 and given_order.status == Status.OPTIMAL and given_order.report.valid
    auto = solve(g, 132_156, time_limit=10)
    assert auto.bound_time == 0.0 and auto.objective <= given_order.objective and auto.report.valid


def test_only_a_schedule_at_the_model_bound_is_optimal_by_it():
    """A schedule cheaper than the model's proven bound leaves the model: nothing is proven for it."""
    from types import SimpleNamespace

    from remat.solve import _at_model_bound

    def attempt(order, bound):
        return SimpleNamespace(order=order, bound=bound)

    def chosen(cost):
        return SimpleNamespace(cost=cost, fits=True)

    assert _at_model_bound(chosen(100), [attempt("given", 90.0), attempt("given", 100.0)])
    assert not _at_model_bound(chosen(99), [attempt("given", 100.0)])  # cheaper than the model can be
    assert not _at_model_bound(chosen(101), [attempt("given", 100.0)])
    assert not _at_model_bound(chosen(100), [attempt("memory", 100.0), attempt("given", None)])


def test_the_relaxation_row_proves_rl2_optimal_within_its_time_limit():
    g = load_graph(paper_graph_path("rl2_random_layered_n250"))
    r = solve(g, 132_156, time_limit=30, lower_bound=True)
    assert r.bound_time > 0
    assert r.status == Status.OPTIMAL and r.bound == r.objective and r.report.valid


def test_a_recomputation_after_the_last_reader_is_a_gap_too():
    """v's only first reader is w; w is freed for a and b and recomputed for x, which needs v again,
    and v cannot stay (at b's computation a, b and v are over the budget): the optimum recomputes v
    after its last first reader. A relaxation without that case calls the graph infeasible."""
    g = Graph.from_edges([("v", "w"), ("a", "b"), ("w", "x"), ("b", "x")],
                         cost={"v": 3, "w": 5, "a": 1, "b": 1, "x": 1},
                         mem={"v": 2, "w": 5, "a": 8, "b": 1, "x": 1}, order=["v", "w", "a", "b", "x"])
    expected = brute_force(g, 10)
    assert expected == g.total_cost + 3 + 5
    bound = gap_lower_bound(g, 10, backend="cpsat", share=ALL_STAGES)
    assert bound.status == Status.OPTIMAL and g.total_cost <= bound.value <= expected


@pytest.mark.parametrize("seed, frac", [(4, 0.8), (6, 0.85), (9, 0.8), (10, 0.85), (11, 0.85)])
def test_rows_at_the_recomputations_tighten_the_bound_and_keep_it_valid(seed, frac):
    """Cases where the relaxation's solution recomputes a node while inputs freed before its stage are
    not counted: the rows at its recomputations raise the bound, never above CP-SAT's proven optimum."""
    g = random_layered(30, seed=seed)
    budget = int(frac * no_remat_peak(g))
    optimum = solve(g, budget, time_limit=60, threads=2)
    assert optimum.status == Status.OPTIMAL
    once = gap_lower_bound(g, budget, backend="cpsat", time_limit=30, share=ALL_STAGES)
    rounds = gap_lower_bound(g, budget, backend="cpsat", time_limit=60, share=ALL_STAGES, rounds=8)
    assert once.value < rounds.value <= optimum.objective

