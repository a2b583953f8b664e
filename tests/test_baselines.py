"""Baseline heuristics: valid schedules, the rules they claim, their place in solve and the CLI, warm starts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remat.heuristics.baselines import (BASELINES, articulation_points, checkpoint_schedule, chen_greedy_checkpoints,
                             forward_part, greedy_eviction, run_baseline)
from remat.cli import main
from remat.errors import FormulationError
from remat.generators import linear, random_layered, unet
from remat.graph import Graph, no_remat_peak
from remat.solve import solve
from remat.status import Status
from remat.verify import verify
from tests.test_solve_cpsat import peak_of, small_dags


def names(graph, seq):
    return [graph.ids[v] for v in seq]


BUDGET_AWARE = ("chen-greedy", "chen-greedy-ap", "greedy-eviction", "greedy-eviction-eq")


@settings(max_examples=40, deadline=None)
@given(graph=small_dags(max_nodes=8), frac=st.floats(0.3, 1.1))
def test_every_baseline_schedule_verifies_and_its_claims_hold(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    for name in BASELINES:
        s = run_baseline(graph, name, budget)
        if s is None:
            assert name in BUDGET_AWARE
            continue
        report = verify(graph, s)
        assert report.valid, (name, report.violations)
        assert s.objective == report.total_cost and s.peak_memory == report.peak_memory
        assert s.peak_memory == peak_of(graph, [graph.index[v] for v in s.computes])
        if name in BUDGET_AWARE:
            assert s.peak_memory <= budget and s.budget == budget


@settings(max_examples=30, deadline=None)
@given(graph=small_dags(max_nodes=8))
def test_greedy_eviction_at_the_no_remat_peak_recomputes_nothing(graph):
    assert greedy_eviction(graph, no_remat_peak(graph)) == list(range(graph.n))


def test_checkpoint_all_is_the_no_remat_schedule():
    g = unet(2)
    s = run_baseline(g, "checkpoint-all")
    assert s.computes == list(g.ids) and s.peak_memory == no_remat_peak(g) and s.objective == g.total_cost


def test_chen_sqrt_on_a_chain_keeps_every_sqrt_nth_forward_node():
    g = linear(6)  # f0..f5, loss, grad_f5..grad_f0
    fwd = forward_part(g)
    assert names(g, fwd) == ["f0", "f1", "f2", "f3", "f4", "f5", "loss", "grad_f5"]  # up to the no-remat peak
    seq = checkpoint_schedule(g, [g.index["f1"], g.index["f3"], g.index["f5"]])
    # forward once; grad_f3 needs f2 (dropped: only f3, next to it, read it before the next checkpoint);
    # grad_f1 needs f0
    assert names(g, seq) == ["f0", "f1", "f2", "f3", "f4", "f5", "loss", "grad_f5", "grad_f4", "f2", "grad_f3",
                             "grad_f2", "f0", "grad_f1", "grad_f0"]
    assert run_baseline(g, "chen-sqrt").computes == names(g, seq)  # grad_f5, also a checkpoint, changes nothing


def test_chen_greedy_rule_cuts_when_the_running_sum_exceeds_the_threshold():
    g = Graph.from_edges([(i, i + 1) for i in range(5)], cost=dict.fromkeys(range(6), 1),
                         mem={0: 3, 1: 3, 2: 3, 3: 3, 4: 3, 5: 100})
    # forward part = 0..5 (the peak is at node 5); sums 3, 6 > 5 -> cut at 1; 3, 6 -> cut at 3; 3, 103 -> cut at 5
    assert chen_greedy_checkpoints(g, 5) == [1, 3, 5]


def test_articulation_points_of_a_residual_block_exclude_its_inside():
    # x=0 -> conv1=1 -> conv2=2 -> add=3 <- x ; add -> out=4
    g = Graph.from_edges([(0, 1), (1, 2), (2, 3), (0, 3), (3, 4)], cost=dict.fromkeys(range(5), 1),
                         mem=dict.fromkeys(range(5), 1))
    assert articulation_points(g, range(5)) == [0, 3, 4]


def test_greedy_eviction_follows_its_rule_even_where_that_costs_more():
    # 0 (cost 1) and 1 (cost 50) are read by 2 and again later (0 by 4, 1 by 5); all sizes 1.
    # At budget 3, before node 3 one of them must go and both are equally stale: the rule evicts
    # the cheap 0, recomputes it for 4, and then must evict 1 too (recomputed for 5).
    # Evicting 1 first would have cost less: the rule is a heuristic.
    g = Graph.from_edges([(0, 2), (1, 2), (2, 3), (0, 4), (3, 4), (1, 5), (4, 5)],
                         cost={0: 1, 1: 50, 2: 1, 3: 1, 4: 1, 5: 1}, mem=dict.fromkeys(range(6), 1))
    assert no_remat_peak(g) == 4 and greedy_eviction(g, 4) == list(range(6))
    seq = greedy_eviction(g, 3)
    assert seq == [0, 1, 2, 3, 0, 4, 1, 5] and peak_of(g, seq) == 3


def test_greedy_eviction_gives_up_when_the_stage_itself_does_not_fit():
    g = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1}, mem={0: 5, 1: 5})
    assert greedy_eviction(g, 9) is None


def _warm_start(g, budget, limit=None):
    from remat.stages import Live, prepare, warm_start
    from remat.timebudget import TimeBudget

    clock = TimeBudget(limit)
    problem = prepare(g, budget, formulation="moccasin", backend="cpsat", order="given", time_limit=limit, hint=None)
    return warm_start(problem, clock, Live(None, clock))


def test_the_warm_start_offers_fitting_schedules_cheapest_first_then_the_rest_by_peak():
    g = linear(6)
    budget = int(0.8 * no_remat_peak(g))
    offers = _warm_start(g, budget).offers
    fitting = [c for c in offers if c.fits]
    over = [c for c in offers if not c.fits]
    assert fitting and offers[:len(fitting)] == tuple(fitting)  # every fitting one before any other
    assert all(c.report.peak_memory <= budget and verify(g, c.schedule, budget).valid for c in fitting)
    assert [c.cost for c in fitting] == sorted(c.cost for c in fitting)
    assert [c.report.peak_memory for c in over] == sorted(c.report.peak_memory for c in over)
    assert all(c.report.peak_memory > budget for c in over)


# ------------------------------------------------------------- through solve
def test_a_baseline_is_a_formulation_of_solve():
    g = linear(6)
    budget = int(0.8 * no_remat_peak(g))
    r = solve(g, budget, formulation="greedy-eviction")
    assert r.backend == "none" and r.status == Status.FEASIBLE and r.report.valid
    assert r.peak_memory <= budget and r.objective > g.total_cost and r.bound == g.total_cost
    full = solve(g, no_remat_peak(g), formulation="checkpoint-all")
    assert full.status == Status.OPTIMAL and full.objective == g.total_cost  # nothing to recompute: optimal
    over = solve(g, budget, formulation="checkpoint-all")
    assert over.status == Status.UNKNOWN and over.schedule is None and "over the budget" in over.message


def test_baseline_rejects_unknown_options():
    with pytest.raises(FormulationError, match="unknown option"):
        solve(linear(2), 10**6, formulation="chen-sqrt", stage=False)


def test_warm_start_hands_the_cheapest_expressible_schedule_to_the_backend_and_can_be_switched_off():
    g = random_layered(16, seed=1)  # no heuristic proven optimal by the cut bound: the model runs
    budget = int(0.8 * no_remat_peak(g))
    cheapest = _warm_start(g, budget).best.source.removeprefix("heuristic ")
    on = solve(g, budget, threads=1, formulation="checkmate")
    off = solve(g, budget, threads=1, formulation="checkmate", warm_start=False)
    assert on.warm_start == cheapest and off.warm_start is None
    assert on.status == off.status == Status.OPTIMAL and on.objective == off.objective


def test_cli_solves_with_a_baseline_and_reports_one_that_does_not_fit(tmp_path, capsys):
    g = linear(6)
    path = tmp_path / "g.json"
    g.save(path)
    assert main(["solve", str(path), "--budget", "80%", "--formulation", "greedy-eviction", "-q",
                 "-o", str(tmp_path / "s.json")]) == 0
    assert main(["verify", str(path), str(tmp_path / "s.json")]) == 0
    capsys.readouterr()
    assert main(["solve", str(path), "--budget", "80%", "--formulation", "checkpoint-all", "-q"]) == 4
    out = capsys.readouterr().out
    assert "status unknown: checkpoint-all's schedule peaks at" in out and "over the budget" in out
    assert main(["solve", str(path), "--budget", "90%", "--no-warm-start", "-q"]) == 0


def test_cli_info_prints_model_sizes_per_formulation(tmp_path, capsys):
    g = linear(4)
    path = tmp_path / "g.json"
    g.save(path)
    assert main(["info", str(path), "--formulations", "--max-copies", "3"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line and line.split()[0] in
            ("checkmate", "moccasin", "moccasin-free", "chen-sqrt")}
    assert set(rows) == {"checkmate", "moccasin", "moccasin-free", "chen-sqrt"}
    from remat.formulations import get_formulation
    size = get_formulation("checkmate").build(g, no_remat_peak(g) * 9 // 10).model.size()
    assert rows["checkmate"] == [f"{size['int_vars']:,}", f"{size['bool_vars']:,}", f"{size['intervals']:,}",
                                 f"{size['constraints']:,}"]
    assert "heuristic" in " ".join(rows["chen-sqrt"])


def test_a_passed_deadline_stops_the_slow_baselines():
    import time

    from remat.heuristics.baselines import run_baseline
    from remat.generators import unet

    g = unet(3)
    budget = int(0.9 * no_remat_peak(g))
    assert greedy_eviction(g, budget) is not None
    past = time.perf_counter() - 1.0
    assert greedy_eviction(g, budget, deadline=past) is None
    assert run_baseline(g, "chen-greedy", budget, deadline=past) is None
    assert run_baseline(g, "chen-greedy-ap", budget, deadline=past) is None
