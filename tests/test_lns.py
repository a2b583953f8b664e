"""Large-neighbourhood search (remat.backends.lns and the CP-SAT backend's loop).

A neighbourhood fixes exactly the groups it does not free, at the incumbent's
values; the loop never returns anything worse than its incumbent, reaches the
brute-force optimum when a neighbourhood spans the whole model, and what
``remat.solve`` ships after it is verified.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remat.backends import SolveOptions
from remat.backends.cpsat import CpSatBackend, _Recorder
from remat.backends.lns import NeighbourhoodSearch
from remat.formulations.moccasin import Moccasin
from remat.heuristics.staged import warm_start_sequence
from remat.generators import random_layered
from remat.graph import no_remat_peak
from remat.schedule import schedule_from_computes
from remat.solve import solve
from remat.status import Status
from remat.testing import earliest_free_peak, staged_optimum, staged_sequences
from remat.verify import verify
from tests.test_solve_cpsat import small_dags


def _dearest_fitting_start(graph, budget):
    """The built model and the encoding of the dearest staged sequence within ``budget`` (or None)."""
    built = Moccasin().build(graph, budget)
    fitting = [s for s in staged_sequences(graph.n, 2, graph.recomputable) if earliest_free_peak(graph, s) <= budget]
    for seq in sorted(fitting, key=lambda s: -sum(graph.cost[v] for v in s)):
        values = built.encode(seq)
        if values is not None:
            return built, values
    return built, None


def _objective(model, values):
    return sum(c * values[v] for v, c in model.objective.terms) + model.objective.offset


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=small_dags(max_nodes=7), frac=st.floats(0.7, 1.0), seed=st.integers(0, 1000), size=st.integers(1, 8))
def test_a_neighbourhood_fixes_every_other_group_at_the_incumbent_and_frees_its_own(graph, frac, seed, size):
    built, values = _dearest_fitting_start(graph, int(frac * no_remat_peak(graph)))
    assume(values is not None)
    search = NeighbourhoodSearch(built.model, seed=seed, size=size)
    free = search.neighbourhood(values)
    assert len(free) == min(size, graph.n)  # every node's group has a hull: its first copy is always present
    fixed = search.fixings(values, free)
    for group, intervals in search.groups.items():
        for itv in intervals:
            variables = [itv.start, itv.end] + ([itv.presence] if itv.presence is not None else [])
            if group in free:
                assert not any(v in fixed for v in variables)
            else:
                assert all(fixed[v] == values[v] for v in variables)
    assert set(fixed) <= {v for itvs in search.groups.values() for i in itvs for v in (i.start, i.end, i.presence)}


def test_tight_times_are_where_the_load_leaves_no_room_for_the_largest_demand():
    g = random_layered(40, seed=3)
    budget = int(0.9 * no_remat_peak(g))
    r = solve(g, budget, time_limit=20, threads=1, order="given")
    assert r.schedule is not None
    built = Moccasin().build(g, budget)
    values = built.encode([g.index[v] for v in r.schedule.computes])
    search = NeighbourhoodSearch(built.model)
    tight = search.tight_times(values)
    cumulative = search.cumulatives[0]
    capacity, largest = cumulative.capacity, max(cumulative.demands)
    assert tight, "a schedule at 90% of the peak has steps near the budget"
    for t in tight:
        load = sum(d for itv, d in zip(cumulative.intervals, cumulative.demands)
                   if (itv.presence is None or values[itv.presence]) and values[itv.start] <= t < values[itv.end])
        assert capacity - largest < load <= capacity


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=small_dags(max_nodes=7), frac=st.floats(0.7, 1.0))
def test_a_neighbourhood_spanning_the_model_reaches_the_optimum_from_the_dearest_start(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    built, values = _dearest_fitting_start(graph, budget)
    assume(values is not None)
    backend = CpSatBackend()
    cp, native = backend.translate(built.model)
    search = NeighbourhoodSearch(built.model, size=graph.n)
    options = SolveOptions(threads=1)
    out = backend._neighbourhoods(cp, native, search, values, _objective(built.model, values), options, {},
                                  time.perf_counter() + 30, _Recorder(options, time.perf_counter()))
    assert out.proven and out.searched == 1
    assert out.objective * built.cost_unit == staged_optimum(graph, budget)
    report = verify(graph, schedule_from_computes(graph, built.decode(out.values)), budget)
    assert report.valid and report.total_cost == staged_optimum(graph, budget)


def test_the_search_never_returns_less_than_its_incumbent_when_time_is_up():
    g = random_layered(30, seed=2)
    budget = int(0.85 * no_remat_peak(g))
    built = Moccasin().build(g, budget)
    seq, fits = warm_start_sequence(g, budget, time_limit=1)
    values = built.encode(seq)
    assert fits and values is not None
    backend = CpSatBackend()
    cp, native = backend.translate(built.model)
    options = SolveOptions(threads=1)
    out = backend._neighbourhoods(cp, native, NeighbourhoodSearch(built.model), values,
                                  _objective(built.model, values), options, {}, time.perf_counter(),
                                  _Recorder(options, time.perf_counter()))
    assert out.searched == 0 and out.values is values and out.objective == _objective(built.model, values)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_solve_that_switches_to_neighbourhoods_at_once_ships_a_verified_schedule(seed):
    g = random_layered(150, order="levels", seed=seed)
    budget = int(0.85 * no_remat_peak(g))
    r = solve(g, budget, time_limit=4, threads=1, order="given", backend_options={"lns_after": 0.0})
    assert r.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert r.report.valid and verify(g, r.schedule, budget).valid
    assert "neighbourhoods" in r.message or r.status == Status.OPTIMAL
    assert r.bound is not None and r.bound <= r.objective


def test_lns_off_is_the_plain_search():
    g = random_layered(150, order="levels", seed=1)
    budget = int(0.85 * no_remat_peak(g))
    r = solve(g, budget, time_limit=3, threads=1, order="given", backend_options={"lns": False, "lns_after": 0.0})
    assert "neighbourhoods" not in r.message and r.report.valid


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=small_dags(max_nodes=7), frac=st.floats(0.7, 1.0))
def test_a_solve_handed_to_the_search_at_once_still_ends_at_the_brute_force_optimum(graph, frac):
    """With lns_after=0 the full search stops at its first schedule; on graphs this small one
    neighbourhood frees every node, so the search itself must prove the optimum."""
    budget = int(frac * no_remat_peak(graph))
    expected = staged_optimum(graph, budget)
    assume(expected is not None)
    r = solve(graph, budget, time_limit=20, threads=1, order="given", backend_options={"lns_after": 0.0})
    assert r.status == Status.OPTIMAL and r.objective == expected
    assert verify(graph, r.schedule, budget).valid and r.bound == r.objective
