"""The window search (remat.windows): sub-problems stand for their windows, splices verify,
the search never returns a dearer or unverified sequence, a whole-graph window reaches the model's optimum."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remat import solve
from remat.generators import linear, random_layered
from remat.graph import Graph, no_remat_peak
from remat.heuristics.baselines import greedy_eviction
from remat.schedule import schedule_from_computes
from remat.testing import graphs, staged_optimum, valid_schedules
from remat.verify import verify
from remat.windows import (WindowError, build_window, fits, improve_by_windows, last_reads, splice, stage_ends)

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def incumbents(draw, max_nodes: int = 7):
    """A graph, a valid compute sequence of it, and a budget it fits (its own peak, or more)."""
    g = draw(graphs(min_nodes=2, max_nodes=max_nodes, non_recomputable=draw(st.booleans())))
    sched = draw(valid_schedules(g))
    computes = [g.index[v] for v in sched.computes]
    report = verify(g, schedule_from_computes(g, computes))
    budget = max(1, report.peak_memory + draw(st.sampled_from([0, 0, 1, report.peak_memory // 3])))
    return g, computes, budget


def _window(draw, g, computes):
    stages = len(stage_ends(g, computes))
    a = draw(st.integers(0, stages - 1))
    b = draw(st.integers(a + 1, stages))
    return a, b


def _source_recomputed(g, computes, w) -> bool:
    srcs = set(w.nodes[:w.sources])
    return any(v in srcs for v in computes[w.start:w.stop])


@SLOW
@given(incumbents(), st.data())
def test_incumbent_window_is_a_schedule_of_its_sub_graph(case, data):
    """The incumbent's window steps, mapped to the sub-graph, fit the sub-budget at the window's cost
    (unless they recompute an entry tensor, which the sub-graph keeps as a source)."""
    g, computes, budget = case
    a, b = _window(data.draw, g, computes)
    w = build_window(g, budget, computes, a, b)
    assert w.cost == sum(g.cost[v] for v in computes[w.start:w.stop])
    assume(not _source_recomputed(g, computes, w))
    index = {v: i for i, v in enumerate(w.nodes) if v >= 0}
    k = w.sources
    seq = list(range(k)) + [index[v] for v in computes[w.start:w.stop]] + [w.graph.n - 1]
    report = verify(w.graph, schedule_from_computes(w.graph, seq), w.budget)
    assert report.valid, report.violations[:2]
    assert report.total_cost == w.cost
    # Memory at each window computation: the sub-graph's plus the constant load, exactly.
    full = verify(g, schedule_from_computes(g, computes))
    at_full = _compute_memory(schedule_from_computes(g, computes), full)[w.start:w.stop]
    at_sub = _compute_memory(schedule_from_computes(w.graph, seq), report)[k:k + len(at_full)]
    assert [f - s_ for f, s_ in zip(at_full, at_sub)] == [budget - w.budget] * len(at_full)


def _compute_memory(schedule, report):
    """Memory right after each compute step (its output included, before the frees that follow)."""
    return [m for step, m in zip(schedule.steps, report.memory_profile) if step.op == "compute"]


@SLOW
@given(incumbents(max_nodes=6), st.data())
def test_any_sub_schedule_splices_into_a_valid_schedule(case, data):
    """Whatever the model returns for a window, the splice verifies on the whole graph at the whole
    budget and costs prefix + window + suffix."""
    g, computes, budget = case
    a, b = _window(data.draw, g, computes)
    w = build_window(g, budget, computes, a, b)
    r = solve(w.graph, w.budget, formulation="moccasin", order="given", time_limit=10, threads=1,
              max_copies=data.draw(st.integers(1, 3)), warm_start=False)
    assume(r.schedule is not None)
    sub = [w.graph.index[v] for v in r.schedule.computes]
    spliced = splice(computes, w, sub)
    report = verify(g, schedule_from_computes(g, spliced), budget)
    assert report.valid, report.violations[:2]
    outside = sum(g.cost[v] for v in computes[:w.start] + computes[w.stop:])
    assert report.total_cost == pytest.approx(outside + r.objective)


@SLOW
@given(incumbents(max_nodes=7), st.integers(1, 8), st.integers(0, 3))
def test_search_never_returns_dearer_or_invalid(case, size, seed):
    g, computes, budget = case
    out = improve_by_windows(g, budget, computes, deadline=time.perf_counter() + 3, threads=1,
                             window_stages=size, window_seconds=1, seed=seed)
    assert fits(g, budget, out.computes)
    assert out.cost <= out.initial_cost
    assert out.initial_cost == sum(g.cost[v] for v in computes)
    assert out.cost == sum(g.cost[v] for v in out.computes)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(min_nodes=2, max_nodes=6), st.data())
def test_whole_graph_window_reaches_the_models_optimum(g, data):
    """An incumbent whose first computations follow the graph's order, one window over all stages:
    the search ends at or below the Moccasin model's optimum (C = 2, brute force)."""
    lo, hi = max(1, max(g.mem[v] + sum(g.mem[u] for u in g.preds[v]) for v in range(g.n))), no_remat_peak(g)
    budget = data.draw(st.integers(lo, max(lo, hi)))
    seq = greedy_eviction(g, budget)
    assume(seq is not None and fits(g, budget, seq))
    assert stage_ends(g, seq) == sorted(stage_ends(g, seq))
    assume([seq[p] for p in stage_ends(g, seq)] == list(range(g.n)))
    best = staged_optimum(g, budget, 2)
    assert best is not None  # the greedy sequence is staged in the graph's order
    out = improve_by_windows(g, budget, seq, deadline=time.perf_counter() + 20, threads=1,
                             window_stages=g.n, window_seconds=20)
    assert fits(g, budget, out.computes)
    assert out.cost <= best + 1e-9 * max(1, abs(best))


def test_search_improves_greedy_on_a_chain_and_reports_each_step():
    g = linear(10)
    budget = int(0.5 * no_remat_peak(g))
    seq = greedy_eviction(g, budget)
    seen = []
    out = improve_by_windows(g, budget, seq, deadline=time.perf_counter() + 20, threads=1,
                             on_improve=lambda s, c: seen.append((list(s), c)))
    assert fits(g, budget, out.computes)
    best = solve(g, budget, time_limit=20, threads=1)
    if out.cost < out.initial_cost:
        assert seen and seen[-1][1] == out.cost and all(fits(g, budget, s) for s, _ in seen)
    assert out.cost >= best.bound - 1e-9


def test_windows_on_a_larger_graph_stay_valid_and_not_dearer():
    g = random_layered(100, seed=1)
    budget = int(0.7 * no_remat_peak(g))
    seq = _best_heuristic(g, budget)
    out = improve_by_windows(g, budget, seq, deadline=time.perf_counter() + 8, threads=1, window_stages=10,
                             window_seconds=2)
    assert fits(g, budget, out.computes) and out.cost <= out.initial_cost and out.windows >= 1


def _best_heuristic(g, budget):
    from remat.heuristics import PORTFOLIO, get_heuristic
    found = [s for s in (get_heuristic(h).run(g, budget) for h in PORTFOLIO) if s is not None and fits(g, budget, s)]
    assert found
    return min(found, key=lambda s: sum(g.cost[v] for v in s))


def test_an_incumbent_over_the_budget_is_refused():
    g = linear(4)
    seq = list(range(g.n))
    with pytest.raises(WindowError, match="does not fit"):
        improve_by_windows(g, no_remat_peak(g) - 1, seq, deadline=time.perf_counter() + 1)


def test_a_window_outside_the_stages_is_refused():
    g = linear(4)
    with pytest.raises(WindowError, match="not a range"):
        build_window(g, 10**9, list(range(g.n)), 3, 3)


def test_last_reads_matches_the_schedule_frees():
    g = random_layered(40, seed=1)
    seq = list(range(g.n)) + [3, 7, 39]
    seq = [v for v in seq]
    last = last_reads(g, seq)
    # a computation read later than itself is freed after its last read: replay it independently
    for q, v in enumerate(seq):
        readers = [p for p in range(q + 1, len(seq)) if v in g.preds[seq[p]]]
        nxt = next((p for p in range(q + 1, len(seq)) if seq[p] == v), len(seq))
        readers = [p for p in readers if p < nxt]
        assert last[q] == (readers[-1] if readers else q)


def test_sub_graph_keeps_only_the_window():
    """Memory stays near the window: a window of a few stages of a large chain has a few nodes."""
    g = linear(200)
    seq = list(range(g.n))
    w = build_window(g, 10**12, seq, 100, 105)
    assert w.graph.n <= 5 + 3
    assert isinstance(w.graph, Graph)
