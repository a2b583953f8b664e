"""The default solve's order (``order="auto"``, remat.strategies.auto).

The given order (the paper's model) first; the memory order only when the given order is not
settled within ``GIVEN_SHARE`` of the time limit. Tests that need the second phase set the share
to 0, so that the given order gets no time at all and the outcome does not hang on timing.
Oracles: brute force over all schedules (:func:`remat.testing.optimum`), the given-order model's
exact optimum (:func:`remat.testing.staged_optimum`), and ``order="given"`` solves.
"""

from __future__ import annotations

import dataclasses
import time
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import remat.stages
import remat.timebudget
from remat.bench.run import run_case
from remat.bench.spec import Grid, expand
from remat.cli import main
from remat.generators import random_layered
from remat.errors import FormulationError, GraphError
from remat.graph import graph_from_json, load_graph, no_remat_peak
from remat.solve import solve
from remat.status import Status
from remat.testing import budgets, graphs, node_sizes, optimum, staged_optimum
from remat.verify import verify
from tests.conftest import examples, skip_chain

# random_layered(40, seed=4) at 80%: the given order's optimum is 2.962% (proven in well under a
# second), while an order that fits without recomputation exists (test_ordering.py).
LAYERED = random_layered(40, seed=4)
LAYERED_BUDGET = int(0.8 * no_remat_peak(LAYERED))


def no_time_for_the_given_order():
    return mock.patch.object(remat.timebudget, "GIVEN_SHARE", 0.0)


def test_without_a_time_limit_the_default_is_the_given_order():
    default, given_order = solve(LAYERED, LAYERED_BUDGET), solve(LAYERED, LAYERED_BUDGET, order="given")
    assert default.order == "given" and default.order_time == 0.0
    assert default.status == given_order.status == Status.OPTIMAL
    assert default.objective == given_order.objective > LAYERED.total_cost


def test_a_given_order_settled_in_its_share_is_the_answer():
    # The paper's optima are reproduced this way, even where another order does better.
    r = solve(LAYERED, LAYERED_BUDGET, time_limit=30)
    given_order = solve(LAYERED, LAYERED_BUDGET, order="given", time_limit=30)
    assert r.order == "given" and r.order_time == 0.0 and r.status == Status.OPTIMAL
    assert r.objective == given_order.objective > LAYERED.total_cost


def test_an_unsettled_given_order_hands_the_rest_to_the_memory_order():
    with no_time_for_the_given_order():
        r = solve(LAYERED, LAYERED_BUDGET, time_limit=30)
    assert r.order == "memory" and r.order_time > 0
    assert r.status == Status.OPTIMAL and r.objective == LAYERED.total_cost  # nothing of any cost recomputed
    assert verify(LAYERED, r.schedule, LAYERED_BUDGET).valid
    assert r.started_at >= r.order_time and r.wall_time >= r.started_at


def test_the_live_line_runs_on_through_both_phases():
    seen = []
    with no_time_for_the_given_order():
        r = solve(LAYERED, LAYERED_BUDGET, time_limit=30, on_progress=seen.append)
    assert r.order == "memory" and seen
    elapsed = [p.elapsed for p in seen]
    assert elapsed == sorted(elapsed) and elapsed[-1] <= r.wall_time
    assert seen[-1].objective == LAYERED.total_cost


def test_bench_time_to_best_counts_from_the_start_of_the_solve():
    grid = Grid(graphs=("random_layered:n=40,seed=4",), budgets=("80%",), time_limits=(30,))
    with no_time_for_the_given_order():
        row = run_case(expand(grid)[0])
    assert row["status"] == "optimal" and row["tdi"] == 0.0
    assert row["time_to_best"] <= row["wall_time"]
    if row["order"] == "memory":  # found after the order search
        assert row["order_time"] <= row["time_to_best"]


def test_cli_names_both_phases(tmp_path, capsys):
    graph = tmp_path / "g.json"
    LAYERED.save(graph)
    with no_time_for_the_given_order():
        code = main(["solve", str(graph), "--budget", "80%", "--time-limit", "30", "-q"])
    text = capsys.readouterr().out
    assert code == 0 and "first computations in the memory order" in text and "in the given order)" in text
    assert main(["solve", str(graph), "--budget", "80%", "--time-limit", "30", "--order", "given", "-q"]) == 0
    assert "memory order" not in capsys.readouterr().out


@settings(max_examples=examples(30), deadline=None)
@given(data=st.data())
def test_default_solves_are_verified_and_claim_only_what_holds(data):
    g = data.draw(graphs(1, 6, sizes=node_sizes(huge=False), costs=st.integers(0, 9)))
    budget = data.draw(budgets(g))
    share = data.draw(st.sampled_from([remat.timebudget.GIVEN_SHARE, 0.0]), label="given share")
    with mock.patch.object(remat.timebudget, "GIVEN_SHARE", share):
        r = solve(g, budget, time_limit=20, threads=1)
    best, in_given_order = optimum(g, budget, max_copies=2), staged_optimum(g, budget)
    if r.status == Status.INFEASIBLE:  # only ever the given order's proof
        assert r.order == "given" and in_given_order is None
    if r.order == "given" and r.status == Status.OPTIMAL:
        assert r.objective == in_given_order
    if r.order == "memory" and r.status == Status.OPTIMAL:
        assert r.objective == g.total_cost  # the only optimum an order heuristic can claim
    if r.schedule is not None:
        report = verify(g, r.schedule, budget)
        assert report.valid and report.total_cost == r.objective
        assert best is not None and r.objective >= best and r.bound <= r.objective


@pytest.mark.parametrize("formulation", ["moccasin-free", "greedy-eviction"])
def test_formulations_without_an_order_to_search_solve_as_given(formulation):
    r = solve(LAYERED, LAYERED_BUDGET, formulation=formulation, time_limit=5)
    assert r.order == "given" and r.order_time == 0.0


def test_ctrl_c_in_the_order_search_keeps_the_given_orders_schedule(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # 150 nodes at 80% are far from settled after 1.5 s, but the warm start has a schedule by then.
    g = random_layered(150, seed=1)
    budget = int(0.8 * no_remat_peak(g))
    monkeypatch.setattr("remat.heuristics.ordering.low_memory_order", interrupted)
    with mock.patch.object(remat.timebudget, "GIVEN_SHARE", 0.05):
        r = solve(g, budget, time_limit=30)
    assert r.interrupted and r.order == "given" and r.status == Status.FEASIBLE
    assert verify(g, r.schedule, budget).valid


def test_with_no_better_order_the_given_order_gets_the_time_back():
    # One topological order only; at 9 bytes its head must be recomputed. With no time in the
    # first phase, the given order gets the rest.
    chain = skip_chain()
    given_order = solve(chain, 9, order="given", warm_start=False)  # the cut bound would prove a heuristic optimal
    with no_time_for_the_given_order():
        r = solve(chain, 9, time_limit=10, warm_start=False)
    assert r.order == "given" and r.order_time > 0  # the search ran, and found nothing better
    assert r.status == given_order.status == Status.OPTIMAL and r.objective == given_order.objective > chain.total_cost


def test_a_graph_that_fixes_its_order_is_solved_in_it(tmp_path, capsys):
    fixed = dataclasses.replace(LAYERED, fixed_order=True)
    with no_time_for_the_given_order():
        r = solve(fixed, LAYERED_BUDGET, time_limit=10)
    assert r.order == "given" and r.order_time == 0.0 and r.objective > LAYERED.total_cost
    with pytest.raises(FormulationError, match="fixes its order"):
        solve(fixed, LAYERED_BUDGET, order="memory")
    fixed.save(tmp_path / "fixed.json")
    assert load_graph(tmp_path / "fixed.json") == fixed and load_graph(tmp_path / "fixed.json").fixed_order
    assert main(["solve", str(tmp_path / "fixed.json"), "--budget", "80%", "--order", "memory", "-q"]) == 2
    assert "fixes its order" in capsys.readouterr().err


def test_fixed_order_must_be_a_boolean():
    data = LAYERED.to_json()
    data["graph"]["fixed_order"] = "yes"
    with pytest.raises(GraphError, match="'graph.fixed_order' must be true or false, got 'yes'"):
        graph_from_json(data)


def test_times_count_from_the_call_in_both_phases():
    """Found: the backend's first import, before the given order's solve, counted in ``started_at``
    but not in the wall time of a result settled there; the slow lookup stands in for it."""
    real = remat.stages.get_backend

    def slow_lookup(spec):
        time.sleep(0.3)
        return real(spec)

    for share in (remat.timebudget.GIVEN_SHARE, 0.0):
        with mock.patch.object(remat.timebudget, "GIVEN_SHARE", share), \
                mock.patch.object(remat.stages, "get_backend", slow_lookup):
            r = solve(LAYERED, LAYERED_BUDGET, time_limit=30)
        assert r.started_at >= 0.3 and r.time_to_best >= 0.3  # both count from the call
        assert r.started_at <= r.time_to_best <= r.wall_time


def test_the_given_orders_share_is_for_proofs_only():
    # 150 nodes at 80% are not settled in 4 s; with the whole limit in the first phase (share 1),
    # the result is that phase's: the full search, never handed to neighbourhoods.
    g = random_layered(150, seed=1)
    budget = int(0.8 * no_remat_peak(g))
    with mock.patch.object(remat.timebudget, "GIVEN_SHARE", 1.0), \
            mock.patch.object(remat.timebudget, "GIVEN_MIN_SHARE", 1.0):  # and no hand-over on a stall
        first_phase = solve(g, budget, time_limit=4)
    plain = solve(g, budget, time_limit=4, order="given")
    assert first_phase.order == "given" and not first_phase.settled
    assert "neighbourhoods" not in first_phase.message and "neighbourhoods" in plain.message
