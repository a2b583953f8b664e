"""The order lever (remat.heuristics.ordering, ``solve(order="memory")``, ``remat solve --order``).

Oracles: the graph module's own memory model (``no_remat_profile``, a plain loop) for the
vectorized profile; brute force over all schedules (:func:`remat.testing.optimum`) and the
given-order model's exact optimum (:func:`remat.testing.staged_optimum`) for the solves.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remat.cli import main
from remat.bench.run import run_case
from remat.bench.spec import Grid, expand
from remat.errors import FormulationError, GraphError
from remat.generators import _random_topological_order, random_layered
from remat.graph import Graph, no_remat_peak, no_remat_profile
from remat.heuristics.ordering import TICK_SECONDS, _Profile, low_memory_order, memory_above, order_for
from remat.solve import solve
from remat.status import Status
from remat.testing import budgets, graphs, node_sizes, optimum, staged_optimum
from remat.verify import verify
from tests.conftest import examples, skip_chain


def random_topological_order(graph: Graph, rng: random.Random) -> list[int]:
    return _random_topological_order({v: set(graph.preds[v]) for v in range(graph.n)}, rng)


@settings(max_examples=examples(60))
@given(graph=graphs(1, 9, sizes=node_sizes(huge=False)), seed=st.integers(0, 1000))
def test_vectorized_profile_equals_the_memory_model(graph, seed):
    order = random_topological_order(graph, random.Random(seed))
    position = np.empty(graph.n, dtype=np.int64)
    position[order] = np.arange(graph.n)
    assert _Profile(graph)(position).tolist() == no_remat_profile(graph, order)


@settings(max_examples=examples(60))
@given(data=st.data())
def test_the_order_is_topological_and_never_worse(data):
    graph = data.draw(graphs(1, 9))
    budget = data.draw(budgets(graph))
    order = low_memory_order(graph, budget, seed=data.draw(st.integers(0, 99)), moves=300)
    reordered = graph.reordered(order)  # raises unless a topological permutation
    assert memory_above(graph, budget, order) <= memory_above(graph, budget)
    assert memory_above(reordered, budget) == memory_above(graph, budget, order)


def test_the_search_finds_the_order_that_fits():
    # Two chains a -> b and c -> d with big heads: the given order holds both heads at once.
    g = Graph.from_edges([("a", "b"), ("c", "d")], cost={v: 1 for v in "abcd"},
                         mem={"a": 10, "b": 1, "c": 10, "d": 1}, order=["a", "c", "b", "d"])
    assert no_remat_peak(g) == 21
    assert no_remat_peak(g, low_memory_order(g, 11)) <= 11


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_search_lowers_the_memory_above_the_budget_of_layered_graphs(seed):
    g = random_layered(80, seed=seed)
    budget = int(0.8 * no_remat_peak(g))
    before = memory_above(g, budget)
    assert before[0] > 0
    after = memory_above(g, budget, low_memory_order(g, budget, seed=0))
    assert after < before and after[0] < 0.5 * before[0]


def test_the_search_is_deterministic_for_a_seed_and_ticks_while_it_runs():
    g = random_layered(120, seed=6)
    budget = int(0.75 * no_remat_peak(g))
    ticks = []
    started = time.perf_counter()
    first = low_memory_order(g, budget, seed=7, moves=20_000, on_tick=lambda: ticks.append(1))
    took = time.perf_counter() - started
    assert first == low_memory_order(g, budget, seed=7, moves=20_000)
    assert first != low_memory_order(g, budget, seed=8, moves=20_000)
    assert ticks if took > 2 * TICK_SECONDS else len(ticks) <= took / TICK_SECONDS + 1
    events = []
    r = solve(g, budget, order="memory", time_limit=4, on_progress=events.append)
    searching = [e for e in events if e.elapsed < r.order_time]  # the inner solve reports from order_time on
    assert all(e.bound == g.total_cost for e in searching)
    assert searching or r.order_time < 2 * TICK_SECONDS


def test_reordered_keeps_everything_but_the_order():
    g = random_layered(30, seed=4)
    order = random_topological_order(g, random.Random(0))
    h = g.reordered(order)
    assert sorted(h.ids) == sorted(g.ids)
    by_id = lambda graph: {graph.ids[v]: (graph.cost[v], graph.mem[v], graph.labels[v], graph.recomputable[v],
                                          frozenset(graph.ids[u] for u in graph.preds[v])) for v in range(graph.n)}
    assert by_id(h) == by_id(g)
    assert list(h.ids) == [g.ids[v] for v in order]


def test_reordered_rejects_orders_that_are_not_topological_permutations():
    g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 1}, mem={"a": 1, "b": 1})
    with pytest.raises(GraphError, match="edge a -> b goes against the node order"):
        g.reordered([1, 0])
    with pytest.raises(GraphError, match="each of the 2"):
        g.reordered([0, 0])


def test_unknown_order_is_rejected():
    g = random_layered(10, seed=1)
    with pytest.raises(FormulationError, match="unknown order 'best'"):
        order_for(g, no_remat_peak(g), "best")
    row = run_case(expand(Grid(graphs=("random_layered:n=10,seed=1",), options={"order": "best"}))[0])
    assert row["status"] == "error" and "unknown order 'best'" in row["error"]


def test_a_formulation_that_chooses_its_own_order_refuses_the_memory_order(tmp_path, capsys):
    g = random_layered(10, seed=1)
    with pytest.raises(FormulationError, match="'moccasin-free' chooses its own order"):
        solve(g, no_remat_peak(g), formulation="moccasin-free", order="memory")
    g.save(tmp_path / "g.json")
    code = main(["solve", str(tmp_path / "g.json"), "--budget", "90%", "--formulation", "moccasin-free",
                 "--order", "memory", "-q"])
    assert code == 2 and "chooses its own order" in capsys.readouterr().err


def test_bench_rows_carry_the_order_option():
    grid = Grid(graphs=("random_layered:n=40,seed=4",), budgets=("80%",), time_limits=(20,),
                options={"order": "memory"})
    row = run_case(expand(grid)[0])
    assert row["status"] == "optimal" and row["tdi"] == 0.0 and row["options"] == "order=memory"
    assert isinstance(row["order_time"], float)


@settings(max_examples=examples(30), deadline=None)
@given(data=st.data())
def test_memory_order_solves_are_verified_and_claim_only_what_holds(data):
    g = data.draw(graphs(1, 6, sizes=node_sizes(huge=False), costs=st.integers(0, 9)))
    budget = data.draw(budgets(g))
    r = solve(g, budget, order="memory", time_limit=30, threads=1)
    best = optimum(g, budget, max_copies=2)
    in_given_order = staged_optimum(g, budget)
    if r.status == Status.INFEASIBLE:  # only ever the given order's proof (the fallback)
        assert r.order == "given" and in_given_order is None
    if r.order == "given" and r.status == Status.OPTIMAL:  # the given order's proofs stand
        assert r.objective == in_given_order
    if r.schedule is not None:
        report = verify(g, r.schedule, budget)
        assert report.valid and report.total_cost == r.objective
        assert best is not None and r.objective >= best
        assert r.bound <= r.objective
    if r.status == Status.OPTIMAL:
        assert r.objective == g.total_cost  # the only optimum an order heuristic can claim


def test_memory_order_beats_the_given_order_on_a_layered_graph():
    g = random_layered(40, seed=4)  # given order: optimum 2.96% (proven); the memory order needs none
    budget = int(0.8 * no_remat_peak(g))
    given_order = solve(g, budget, time_limit=30)
    memory_order = solve(g, budget, time_limit=30, order="memory")
    assert given_order.status == Status.OPTIMAL and given_order.objective > g.total_cost
    assert memory_order.order == "memory" and memory_order.objective < given_order.objective


def test_a_proven_memory_order_optimum_yields_to_a_cheaper_given_order():
    g = random_layered(40, seed=3)  # at 80%: given order 1.002% (proven), the memory order's optimum 1.285%
    budget = int(0.8 * no_remat_peak(g))
    # without the warm start, whose heuristics the cut bound proves optimal here before any model runs
    default = solve(g, budget, time_limit=30, warm_start=False)
    memory = solve(g, budget, time_limit=30, order="memory", warm_start=False)
    assert default.status == Status.OPTIMAL
    assert memory.order == "given" and memory.status == Status.OPTIMAL and memory.objective == default.objective
    assert "costs no more than the memory order" in memory.message


def test_without_a_better_order_the_memory_order_solve_is_the_default_solve(tmp_path, capsys):
    # One topological order only; at 9 bytes its head must be recomputed (optimum 13).
    g = skip_chain()
    budget = 9
    default, memory = solve(g, budget, time_limit=30), solve(g, budget, time_limit=30, order="memory")
    assert default.status == memory.status == Status.OPTIMAL and default.objective > g.total_cost
    assert memory.order == "given" and memory.objective == default.objective and memory.bound == default.bound
    g.save(tmp_path / "chain.json")
    assert main(["solve", str(tmp_path / "chain.json"), "--budget", str(budget), "--order", "memory", "-q",
                 "--no-warm-start"]) == 0
    assert "the given order kept after" in capsys.readouterr().out


def test_cli_order_flag(tmp_path, capsys):
    graph, out = tmp_path / "g.json", tmp_path / "s.json"
    random_layered(60, seed=3).save(graph)
    code = main(["solve", str(graph), "--budget", "80%", "--order", "memory", "--time-limit", "5", "-q",
                 "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "memory order" in text and "verified" in text
    assert main(["verify", str(graph), str(out)]) == 0
