"""Speed levers of the Moccasin model and the CP-SAT backend keep the optimum; the warm start is honest."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remat.backends import SolveOptions, get_backend
from remat.formulations.moccasin import Moccasin
from remat.heuristics.staged import (_Evaluator, anneal_excess, greedy_plan, improve_plan, plan_cost,
                                                   plan_sequence, warm_start_sequence)
from remat.generators import random_layered
from remat.graph import Graph, min_budget, no_remat_peak
from remat.schedule import schedule_from_computes
from remat.solve import solve
from remat.status import Status
from remat.verify import verify
from remat.ir import violations
from remat.testing import earliest_free_peak, graphs, staged_sequences
from remat.testing import staged_optimum as brute_force
from tests.test_solve_cpsat import small_dags

LEVER_OFF = dict(time="dense", end_bounds=False, stage_cuts=False, gcd=False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(max_nodes=6), frac=st.floats(0.4, 1.0))
def test_model_levers_keep_the_brute_force_optimum(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    expected = brute_force(graph, budget)
    for opts, backend_opts in ((LEVER_OFF, {"two_phase": False}), ({}, {})):
        r = solve(graph, budget, threads=1, time_limit=20, backend_options=backend_opts, **opts)
        if expected is None:
            assert r.status == Status.INFEASIBLE
        else:
            assert r.status == Status.OPTIMAL and r.objective == expected


def test_lex_and_dense_time_order_the_events_alike():
    g = random_layered(12, seed=5)
    lex = Moccasin().build(g, no_remat_peak(g))
    dense = Moccasin().build(g, no_remat_peak(g), time="dense")
    key = lambda built: [(itv.name, itv.start.values or (itv.start.lb,)) for itv in built.model.intervals]  # noqa: E731
    for (name_a, a), (name_b, b) in zip(key(lex), key(dense)):
        assert name_a == name_b and len(a) == len(b)
    # the same compute sequence encodes in both and decodes back to itself
    seq = list(range(g.n))
    assert lex.decode(lex.encode(seq)) == dense.decode(dense.encode(seq)) == seq


def test_end_bounds_never_cut_below_the_last_possible_read():
    g = random_layered(30, seed=2)
    built = Moccasin().build(g, no_remat_peak(g))
    ends = {itv.name: itv.end.ub for itv in built.model.intervals}
    n = g.n
    for v in range(n):
        latest_reader = max((w for w in g.succs[v]), default=v)
        assert ends[f"resident[{v},0]"] >= latest_reader * n + latest_reader + 1 or latest_reader == v


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("frac", [0.9, 0.75])
def test_greedy_plan_is_an_encodable_schedule_and_says_truly_whether_it_fits(seed, frac):
    g = random_layered(60, seed=seed)
    budget = int(frac * no_remat_peak(g))
    plan, fits = greedy_plan(g, budget)
    seq = plan_sequence(g.n, plan)
    report = verify(g, schedule_from_computes(g, seq))
    assert report.valid or report.kinds() == set()
    assert (report.peak_memory <= budget) == fits
    assert report.total_cost == g.total_cost + plan_cost(g, plan)
    assert Moccasin().build(g, budget).encode(seq) is not None
    assert all(v < s for v, s in plan.items())


def test_improve_plan_never_returns_a_dearer_plan():
    g = random_layered(80, seed=3)
    budget = int(0.8 * no_remat_peak(g))
    plan, fits = greedy_plan(g, budget)
    assert fits
    better = improve_plan(g, budget, plan, time_limit=0.5, seed=1)
    assert plan_cost(g, better) <= plan_cost(g, plan)
    assert verify(g, schedule_from_computes(g, plan_sequence(g.n, better)), budget).valid


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(8, 60), seed=st.integers(0, 10_000), frac=st.floats(0.6, 0.95))
def test_ruin_repair_and_stage_shifts_keep_the_plan_fitting_and_never_dearer(n, seed, frac):
    g = random_layered(n, seed=seed)
    budget = max(min_budget(g), int(frac * no_remat_peak(g)))
    plan, fits = greedy_plan(g, budget, variants=1)
    assume(fits)
    better = improve_plan(g, budget, plan, time_limit=0.1, seed=seed)
    assert plan_cost(g, better) <= plan_cost(g, plan)
    assert all(v < s for v, s in better.items())
    assert verify(g, schedule_from_computes(g, plan_sequence(g.n, better)), budget).valid


def _excess(graph: Graph, budget: int, plan) -> int:
    ev = _Evaluator(graph, budget)
    return ev.excess(ev.profile(plan_sequence(graph.n, plan))[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(min_nodes=1, max_nodes=10), data=st.data())
def test_the_warm_start_memory_profile_is_the_verifier_replay(graph, data):
    """The warm start's evaluator (numpy, or plain Python where sums could overflow 64 bits) gives the
    memory at every computation that the verifier measures, for any number of recomputations."""
    seq = list(range(graph.n))
    for _ in range(data.draw(st.integers(0, 8))):
        v = data.draw(st.integers(0, graph.n - 1))
        seq.insert(data.draw(st.integers(seq.index(v) + 1, len(seq))), v)
    schedule = schedule_from_computes(graph, seq)
    report = verify(graph, schedule)
    at_compute = [m for step, m in zip(schedule.steps, report.memory_profile) if step.op == "compute"]
    ev = _Evaluator(graph, 0)
    assert ev.profile(seq)[0] == at_compute
    if ev.vectorised:
        assert ev.profile(seq) == ev._profile_python(seq)  # last reads too
        assert ev._profile_python(seq)[0] == at_compute


def test_the_greedy_recomputes_early_where_the_inputs_are_still_resident():
    """Found by search over small generated graphs: recomputing only in the stage of the next read,
    the greedy recomputed nodes 0 and 4 in stage 8 (806 units); recomputing node 3 in stage 7, where
    its inputs are still resident, with node 0 in stage 8 costs 714, the proven optimum."""
    g = random_layered(10, seed=81)
    budget = int(0.8 * no_remat_peak(g))
    plan, fits = greedy_plan(g, budget)
    optimum = solve(g, budget, time_limit=60, warm_start=False)
    assert fits and optimum.status == Status.OPTIMAL
    assert g.total_cost + plan_cost(g, plan) == optimum.objective
    assert verify(g, schedule_from_computes(g, plan_sequence(g.n, plan)), budget).valid


def test_the_warm_start_memory_profile_does_not_overflow_64_bits():
    big = 2**62  # numpy's int64 would wrap at the second tensor
    g = Graph.from_edges([(0, 1), (1, 2), (0, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: big, 1: big, 2: big})
    ev = _Evaluator(g, 0)
    assert not ev.vectorised
    assert ev.profile([0, 1, 0, 2])[0] == [big, 2 * big, 2 * big, 3 * big]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(8, 40), seed=st.integers(0, 10_000), frac=st.floats(0.55, 0.9), moves=st.integers(0, 300))
def test_anneal_excess_never_ends_above_its_start_and_says_truly_whether_it_fits(n, seed, frac, moves):
    g = random_layered(n, seed=seed)
    budget = max(min_budget(g), int(frac * no_remat_peak(g)))
    start, _ = greedy_plan(g, budget, variants=1)
    plan, fits = anneal_excess(g, budget, start, max_moves=moves, seed=seed)
    seq = plan_sequence(g.n, plan)
    report = verify(g, schedule_from_computes(g, seq))
    assert report.valid
    assert (report.peak_memory <= budget) == fits
    assert _excess(g, budget, plan) <= _excess(g, budget, start)
    assert all(v < s for v, s in plan.items())
    assert Moccasin().build(g, budget).encode(seq) is not None


def test_anneal_excess_fits_where_the_greedy_gets_stuck():
    g = random_layered(30, seed=4)
    budget = int(0.75 * no_remat_peak(g))
    start, fits = greedy_plan(g, budget, variants=1)
    assert not fits  # the instance exists to exercise this case
    plan, fits = anneal_excess(g, budget, start, max_moves=3000, seed=0)
    assert fits
    assert verify(g, schedule_from_computes(g, plan_sequence(g.n, plan)), budget).valid


def test_the_warm_start_anneals_where_the_greedy_gets_stuck():
    g = random_layered(30, seed=4)
    budget = int(0.75 * no_remat_peak(g))
    assert not greedy_plan(g, budget, time_limit=5.0)[1]
    seq, fits = warm_start_sequence(g, budget, time_limit=5.0, improve=False)
    assert fits and verify(g, schedule_from_computes(g, seq), budget).valid


def test_the_warm_start_does_not_search_below_the_memory_floor(monkeypatch):
    g = random_layered(30, seed=4)
    budget = min_budget(g) - 1  # no schedule at all: the annealing would run to its deadline in vain

    def in_vain(*args, **kwargs):
        raise AssertionError("annealing below min_budget")

    monkeypatch.setattr("remat.heuristics.staged.anneal_excess", in_vain)
    seq, fits = warm_start_sequence(g, budget, time_limit=60.0, improve=False)
    assert not fits and sorted(set(seq)) == list(range(g.n))


def test_anneal_excess_refuses_to_run_without_an_end():
    g = random_layered(10, seed=0)
    with pytest.raises(ValueError, match="deadline or max_moves"):
        anneal_excess(g, no_remat_peak(g), {})


def _over_budget_hint(graph: Graph, budget: int):
    built = Moccasin().build(graph, budget)
    return built, built.encode(list(range(graph.n)))  # the no-remat order peaks above the budget


@pytest.mark.parametrize("seed", [0, 4])
def test_two_phase_start_reaches_the_same_optimum_as_a_plain_solve(seed):
    g = random_layered(14, seed=seed)
    budget = int(0.8 * no_remat_peak(g))
    built, hint = _over_budget_hint(g, budget)
    cpsat = get_backend("cpsat")
    results = [cpsat.solve(built.model, SolveOptions(time_limit=30, threads=1, hint=hint,
                                                    extra={"two_phase": two})) for two in (True, False)]
    assert results[0].status == results[1].status
    if results[0].status == Status.OPTIMAL:
        assert results[0].objective == results[1].objective
        computes = built.decode(results[0].values)
        assert verify(g, schedule_from_computes(g, computes), budget).valid


def test_two_phase_proves_infeasibility_below_min_budget():
    g = random_layered(10, seed=7)
    budget = min_budget(g) - 1
    built, hint = _over_budget_hint(g, budget)
    raw = get_backend("cpsat").solve(built.model, SolveOptions(time_limit=30, threads=1, hint=hint))
    assert raw.status == Status.INFEASIBLE


def test_default_solve_starts_from_the_formulation_warm_start():
    g = next(g for g in (random_layered(40, seed=s) for s in range(50)) if min_budget(g) < 0.8 * no_remat_peak(g))
    r = solve(g, int(0.85 * no_remat_peak(g)), threads=1, time_limit=20)
    assert r.schedule is not None and r.report.valid and r.peak_memory <= r.budget
    assert r.warm_start is not None


@pytest.mark.parametrize("n", [60, 240])
def test_model_size_is_linear_in_nodes_plus_edges(n):
    """What keeps building near-linear: no variable carries an explicit list of O(n) values."""
    g = random_layered(n, seed=1)
    model = Moccasin().build(g, int(0.8 * no_remat_peak(g))).model
    objects = sum(model.size().values())
    assert objects <= 16 * (g.n + g.num_edges)
    assert all(v.values is None or isinstance(v.values, range) for v in model.int_vars)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=small_dags(max_nodes=6), frac=st.floats(0.5, 1.0))
def test_stage_cuts_remove_no_schedule_that_fits(graph, frac):
    """Every staged sequence within the budget, encoded, satisfies the model with its implied cuts."""
    budget = int(frac * no_remat_peak(graph))
    built = Moccasin().build(graph, budget)
    cuts = len(built.model.constraints) - len(Moccasin().build(graph, budget, stage_cuts=False).model.constraints)
    for seq in staged_sequences(graph.n, 2, graph.recomputable):
        values = built.encode(seq)
        if values is not None and earliest_free_peak(graph, seq) <= budget:
            assert violations(built.model, values) == [], (seq, cuts)


def test_stage_cuts_appear_only_where_the_budget_binds():
    g = random_layered(120, width=0.3, seed=4)
    rows = {frac: len(Moccasin().build(g, int(frac * no_remat_peak(g))).model.constraints)
            - len(Moccasin().build(g, int(frac * no_remat_peak(g)), stage_cuts=False).model.constraints)
            for frac in (1.0, 0.95, 0.85)}
    assert rows[1.0] == 0 < rows[0.95] < rows[0.85]
