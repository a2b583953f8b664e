"""The cut bound never exceeds the cost of any schedule, in any order, with any number of copies;
its plan is a valid schedule; and the solve's claims built on it (optimal, infeasible) hold."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remat.cut_bound import solve_cut, candidate_cuts, cut_at, cut_lower_bound, cut_model
from remat.generators import from_spec, linear, unet
from remat.graph import Graph, load_graph, min_budget, no_remat_peak
from remat.heuristics.cut_plan import _tightened, bound_and_plan, cut_plan, cut_plan_sequence
from remat.heuristics.staged import _Evaluator, plan_sequence
from remat.schedule import schedule_from_computes
from remat.solve import solve
from remat.status import Status
from remat.testing import budgets, graphs, optimum
from remat.verify import verify

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _at_most(bound: float, cost: float) -> bool:
    return bound <= cost or math.isclose(bound, cost, rel_tol=1e-9)


@SETTINGS
@given(data=st.data(), backend=st.sampled_from(["cpsat", "highs"]))
def test_every_cut_bounds_the_brute_force_optimum_over_all_schedules(data, backend):
    """Every node as the cut (not only the candidates), on graphs with non-recomputable nodes and
    float costs: the brute force takes any order and any number of computations per node."""
    graph = data.draw(graphs(max_nodes=7, non_recomputable=True))
    budget = data.draw(budgets(graph))
    best = optimum(graph, budget)
    for x in range(graph.n):
        bound = solve_cut(graph, budget, cut_at(graph, x, budget), 20, backend, 1)
        if math.isinf(bound.value):
            assert best is None, f"cut at {graph.ids[x]} says nothing fits, but a schedule costs {best}"
        elif best is not None:
            assert graph.total_cost <= bound.value + 1e-9
            assert _at_most(bound.value, best), f"cut at {graph.ids[x]}: bound {bound.value} > optimum {best}"


@SETTINGS
@given(data=st.data())
def test_the_best_cut_bounds_the_optimum_and_its_plan_is_a_valid_schedule(data):
    graph = data.draw(graphs(max_nodes=7, non_recomputable=True))
    budget = data.draw(budgets(graph))
    best = optimum(graph, budget)
    bound, sequence = bound_and_plan(graph, budget, deadline=None)
    if best is None:
        assert sequence is None or not verify(graph, schedule_from_computes(graph, sequence), budget).valid
        return
    assert _at_most(bound.value, best)
    if sequence is not None:
        report = verify(graph, schedule_from_computes(graph, sequence), budget)
        assert report.valid, report.violations
        assert _at_most(best, report.total_cost)
        if bound.proves_optimal(report.total_cost):
            assert math.isclose(report.total_cost, best, rel_tol=1e-9)


@SETTINGS
@given(data=st.data())
def test_a_solve_proven_by_the_cut_is_the_brute_force_optimum(data):
    """The solve's own bound and statuses speak of the paper's model in the graph's order; what the
    cut proves holds for every schedule: the returned cost, when the cut bound reaches it, is the
    optimum over all orders and copies, and a cut that nothing fits means no schedule exists."""
    graph = data.draw(graphs(max_nodes=6, non_recomputable=True))
    budget = data.draw(budgets(graph))
    best = optimum(graph, budget)
    cut = cut_lower_bound(graph, budget, time_limit=20)
    result = solve(graph, budget, time_limit=20, threads=1)
    if math.isinf(cut.value):
        assert best is None and result.status == Status.INFEASIBLE and result.schedule is None
    if result.objective is not None and cut.proves_optimal(result.objective):
        assert result.status == Status.OPTIMAL
        assert math.isclose(result.objective, best, rel_tol=1e-9)


def test_the_loss_is_the_cut_of_a_chain_and_the_bound_is_its_cheapest_rebuild():
    g = linear(6, cost=10)
    budget = no_remat_peak(g) - 1024
    bound = cut_lower_bound(g, budget, time_limit=10)
    assert bound.value - g.total_cost == 10          # one 1024-byte activation rebuilt, at cost 10
    assert g.ids[bound.node] in ("loss", "grad_f5")  # where every activation waits for the backward


def test_no_cut_exceeds_a_budget_above_the_peak():
    g = unet(2)
    assert candidate_cuts(g, no_remat_peak(g)) == []
    assert cut_lower_bound(g, no_remat_peak(g)).value == g.total_cost


def test_a_cut_whose_forced_tensors_exceed_the_budget_proves_that_nothing_fits():
    """``a`` may be computed once and ``e`` reads it at the end, so it is resident when ``x`` computes:
    5 + 1 + 10 bytes, over the budget of 11 that every single computation fits."""
    g = Graph.from_edges([("a", "b"), ("b", "x"), ("x", "y"), ("y", "e"), ("a", "e")],
                         cost=dict.fromkeys("abxye", 1), mem={"a": 5, "b": 1, "x": 10, "y": 1, "e": 1},
                         order=list("abxye"))
    g = Graph(g.name, g.ids, g.cost, g.mem, g.preds, g.labels, tuple(v != "a" for v in g.ids))
    budget = min_budget(g)
    assert budget == 11 and optimum(g, budget) is None
    assert {g.ids[c.node]: cut_model(g, budget, c) for c in candidate_cuts(g, budget)} == {"x": None, "y": None}
    assert math.isinf(cut_lower_bound(g, budget).value)
    result = solve(g, budget, time_limit=20, threads=1)
    assert result.status == Status.INFEASIBLE and result.schedule is None and result.model_status is None


def test_the_plan_keeps_what_the_bound_keeps_and_rebuilds_the_rest_for_their_first_reader():
    g = linear(3)  # f0 f1 f2 loss grad_f2 grad_f1 grad_f0
    plan = cut_plan(g, g.index["loss"], [g.index["f2"]])
    # f1 is first read again by grad_f2; f0 by grad_f1, but rebuilding f1 reads it already there
    assert {g.ids[v]: g.ids[s] for v, s in plan.items()} == {"f0": "grad_f2", "f1": "grad_f2"}


def _over(graph: Graph, budget: int, plan: dict[int, int]) -> int:
    """How far the plan's sequence goes over ``budget`` at its worst step (<= 0: it fits)."""
    return max(_Evaluator(graph, budget).profile(plan_sequence(graph.n, plan))[0]) - budget


def _assert_repair_starts_from_the_least_over_plan(graph: Graph, budget: int) -> None:
    bound = cut_lower_bound(graph, budget)
    if bound.node is None or math.isinf(bound.value):
        return
    plan, fits = _tightened(graph, budget, bound, _Evaluator(graph, budget), None)
    assert fits == (_over(graph, budget, plan) <= 0)
    assert _over(graph, budget, plan) <= _over(graph, budget, cut_plan(graph, bound.node, bound.keep))


@SETTINGS
@given(data=st.data())
def test_the_plan_handed_to_the_repair_is_never_further_over_the_budget_than_the_bound_s_own(data):
    """Solving the cut again at a lower budget can move the excess and make it larger: what goes
    to the repair is the plan least over the budget, the bound's own one or a tightened one."""
    graph = data.draw(graphs(max_nodes=9))
    _assert_repair_starts_from_the_least_over_plan(graph, data.draw(budgets(graph)))


def test_the_cut_plan_fits_a_resnet_at_half_its_peak():
    """CIFAR ResNet-56 at 50%: the bound's plan is a little over the budget after the loss, and
    solving the cut again at lower budgets only moves the excess and grows it; the repair of the
    least-over plan fits (it returned nothing when it started from the last, tightest one)."""
    g = load_graph(Path(__file__).parent.parent / "benchmarks" / "graphs" / "training" / "resnet56.json")
    budget = int(0.5 * no_remat_peak(g))
    _assert_repair_starts_from_the_least_over_plan(g, budget)
    sequence = cut_plan_sequence(g, budget, deadline=None)
    assert sequence is not None
    report = verify(g, schedule_from_computes(g, sequence), budget)
    assert report.valid, report.violations


@pytest.mark.parametrize("fraction", [0.9, 0.7])
def test_the_cut_plan_proves_a_small_decoder_optimal(fraction):
    """On a decoder the cut at the loss is tight: the default solve returns a schedule its bound
    proves optimal, without the model."""
    g = from_spec("transformer:layers=2,d=128,heads=2,seq=256,batch=2,vocab=1000")
    budget = int(fraction * no_remat_peak(g))
    sequence = cut_plan_sequence(g, budget, deadline=None)
    assert sequence is not None and verify(g, schedule_from_computes(g, sequence), budget).valid
    result = solve(g, budget, time_limit=30, threads=1)
    assert result.report.valid
    assert result.status == Status.OPTIMAL and result.bound == result.objective
    assert result.objective == cut_lower_bound(g, budget).value


def test_the_live_bound_is_the_cut_bound_once_known():
    """The live line shows the bound the result claims: here the cut bound, above the total cost,
    from the warm start on (the relaxation and the model never run: the cut proves the plan)."""
    g = from_spec("transformer:layers=2,d=128,heads=2,seq=256,batch=2,vocab=1000")
    budget = int(0.7 * no_remat_peak(g))
    seen = []
    result = solve(g, budget, time_limit=30, threads=1, on_progress=seen.append)
    cut = cut_lower_bound(g, budget).value
    assert result.status == Status.OPTIMAL and cut > g.total_cost
    assert seen[-1].bound == cut == result.bound and seen[-1].objective == result.objective
    assert all(p.bound is None or p.bound <= cut for p in seen)
