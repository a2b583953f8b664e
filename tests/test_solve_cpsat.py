"""End to end on CP-SAT: the Moccasin optimum against brute force, the paper's optima, and the edge budgets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remat.graph import Graph, load_graph, min_budget, no_remat_peak
from remat.solve import solve
from remat.status import Status
from remat.testing import earliest_free_peak, staged_optimum, staged_sequences
from remat.verify import verify
from tests.conftest import skip_chain
from tests.paper import paper_graph_path


@st.composite
def small_dags(draw, max_nodes=7):
    n = draw(st.integers(1, max_nodes))
    edges = [(u, v) for v in range(n) for u in range(v) if draw(st.booleans())]
    cost = {v: draw(st.integers(0, 9)) for v in range(n)}
    mem = {v: draw(st.integers(0, 6)) for v in range(n)}
    return Graph.from_edges(edges, cost=cost, mem=mem, name="dag", order=list(range(n)))


# The brute-force oracles live in remat.testing (public, for researchers' own formulations):
# they enumerate the stage-restricted compute sequences and replay memory independently of
# remat.schedule and remat.verify.
peak_of = earliest_free_peak
brute_force = staged_optimum


def test_brute_force_enumerates_the_staged_sequences():
    assert sum(1 for _ in staged_sequences(4, 2)) == 4 * 3 * 2 * 1
    assert list(staged_sequences(2, 2)) == [[0, 1], [0, 0, 1]]


def test_recomputation_is_found_where_needed():
    # 0 -> 1 -> 2 -> 3 plus the skip 0 -> 3: keeping 0 alive costs 12 bytes at node 2;
    # recomputing 0 (cost 5) just before 3 brings the peak to 9.
    g = skip_chain()
    assert no_remat_peak(g) == 12
    assert brute_force(g, 9) == g.total_cost + 5
    r = solve(g, 9, threads=1)
    assert r.status == Status.OPTIMAL and r.objective == g.total_cost + 5
    assert r.schedule.computes == ["0", "1", "2", "0", "3"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(), frac=st.floats(0.3, 1.0))
def test_cpsat_optimum_equals_brute_force(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    result = solve(graph, budget, threads=1, time_limit=30)
    expected = brute_force(graph, budget)
    if expected is None:
        assert result.status == Status.INFEASIBLE
    else:
        assert result.status == Status.OPTIMAL
        assert result.objective == expected
        assert verify(graph, result.schedule, budget).valid


@settings(max_examples=25, deadline=None)
@given(graph=small_dags(max_nodes=9))
def test_budget_at_peak_costs_nothing_extra_and_below_min_budget_is_infeasible(graph):
    ok = solve(graph, no_remat_peak(graph), threads=1, time_limit=30)
    assert ok.status == Status.OPTIMAL and ok.objective == graph.total_cost and ok.report.valid
    if min_budget(graph) > 0:
        assert solve(graph, min_budget(graph) - 1, threads=1, time_limit=30).status == Status.INFEASIBLE


@settings(max_examples=25, deadline=None)
@given(graph=small_dags(max_nodes=9), frac=st.floats(0.0, 1.2))
def test_every_returned_schedule_verifies(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    r = solve(graph, budget, threads=1, time_limit=30)
    if r.schedule is not None:
        report = verify(graph, r.schedule, budget)
        assert report.valid and report.total_cost == r.objective and report.peak_memory <= budget


@pytest.mark.parametrize("stem, frac, tdi", [
    ("vgg16_train", "0.9", 1.968), ("cm1_fcn8_train", "0.9", 0.029), ("cm1_fcn8_train", "0.8", 0.136)])
def test_reference_optima_of_the_paper_model(stem, frac, tdi):
    """The optima in ../shared/graphs/paper/README.md, proven by an independent model."""
    from remat.budget import parse_budget

    g = load_graph(paper_graph_path(stem))
    r = solve(g, parse_budget(frac, peak=no_remat_peak(g)), threads=2, time_limit=60)
    assert r.status == Status.OPTIMAL
    assert round(r.tdi, 3) == tdi


def test_vgg16_at_80_percent_is_proven_infeasible():
    g = load_graph(paper_graph_path("vgg16_train"))
    assert solve(g, int(0.8 * no_remat_peak(g)), threads=2, time_limit=60).status == Status.INFEASIBLE


def test_time_limit_incumbent_is_feasible_not_optimal():
    g = load_graph(paper_graph_path("rl2_random_layered_n250"))
    r = solve(g, 117_472, threads=1, time_limit=0.5)
    assert r.status in (Status.FEASIBLE, Status.UNKNOWN)
    if r.schedule is not None:
        assert r.report.valid and r.bound is not None and r.bound <= r.objective


def test_backend_options_reach_cp_sat_and_bad_ones_are_one_line_errors():
    from remat.errors import BackendError
    from remat.generators import unet

    g = unet(2)
    ok = solve(g, no_remat_peak(g), threads=1, backend_options={"subsolvers": ["default_lp"], "use_lns_only": False})
    assert ok.status == Status.OPTIMAL
    with pytest.raises(BackendError, match="cannot set parameter no_such_parameter"):  # a budget the backend runs at
        solve(g, int(0.9 * no_remat_peak(g)), threads=1, backend_options={"no_such_parameter": 1}, warm_start=False)


def test_a_heuristic_schedule_with_more_copies_than_the_model_says_which_c_lets_the_model_start_from_it():
    """On a 4-layer chain at 4,096 bytes the only fitting schedules compute a node three times:
    the C = 2 model has none, the result says so and names C = 3, with which the model proves
    the optimum (no dearer than the heuristic's)."""
    from collections import Counter

    from remat.generators import linear

    g = linear(4)
    r = solve(g, 4096, time_limit=10, threads=1)
    assert r.status == Status.FEASIBLE and max(Counter(r.schedule.computes).values()) == 3
    assert r.unproven_reason.endswith("with max_copies=3 (--max-copies 3) the model starts from it")
    three = solve(g, 4096, time_limit=10, threads=1, max_copies=3)
    assert three.status == Status.OPTIMAL and three.objective <= r.objective
    assert verify(g, three.schedule, 4096).valid and "copies" not in three.unproven_reason



def test_no_advice_on_copies_for_a_heuristic_schedule_in_another_order():
    """A larger C lets the model (first computations in the graph's order) start from a heuristic's
    schedule only when that schedule's first computations follow the same order: ``greedy-sinks``'
    schedules run some nodes later, so no C is advised for them."""
    from remat.result import Attempt, Candidate
    from remat.solve import _more_copies

    tried = [Attempt(order="given", backend="cpsat", status=Status.FEASIBLE, candidate=None, bound=None,
                     settled=False)]

    def advice(computes):
        chosen = Candidate(schedule=None, report=None, computes=tuple(computes), source="heuristic h", found_at=0.0)
        return _more_copies(chosen, "h", tried, 2)

    assert advice([0, 1, 0, 2, 0, 3]).endswith("with max_copies=3 (--max-copies 3) the model starts from it")
    assert advice([0, 2, 0, 1, 0, 3]) == ""  # node 2 before node 1: another order
    assert advice([0, 1, 0, 2, 3]) == ""  # two computations: within the model's C
