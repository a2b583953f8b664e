"""``greedy-sinks``: greedy eviction with the large sinks moved (remat.heuristics.sinks)."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.budget import parse_budget
from remat.graph import Graph, load_graph, no_remat_peak
from remat.heuristics import get_heuristic
from remat.heuristics.baselines import greedy_eviction
from remat.heuristics.sinks import late_sinks_sequence
from remat.schedule import schedule_from_computes
from remat.testing import budgets, graphs, optimum
from remat.verify import verify

RESNET18 = Path(__file__).resolve().parents[1] / "benchmarks" / "graphs" / "training" / "resnet18.json"


def _cost(graph: Graph, sequence) -> float:
    return sum(graph.cost[v] for v in sequence)


def _with_late_sinks(graph: Graph) -> Graph:
    """``graph`` with a sink after each gradient node: a weight gradient four times the size of the
    largest tensor, read by nothing."""
    edges = [(graph.ids[u], graph.ids[v]) for u, v in graph.edges]
    cost = dict(zip(graph.ids, graph.cost))
    mem = dict(zip(graph.ids, graph.mem))
    order = []
    for name in graph.ids:
        order.append(name)
        if name.startswith("grad_"):
            sink = f"dw_{name}"
            edges.append((name, sink))
            cost[sink], mem[sink] = 1, 4 * max(graph.mem)
            order.append(sink)
    return Graph.from_edges(edges, cost=cost, mem=mem, name=graph.name + "_dw", order=order)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_sequence_it_returns_is_valid_within_the_budget_and_no_cheaper_than_the_optimum(data):
    graph = data.draw(graphs(min_nodes=2, max_nodes=7))
    budget = data.draw(budgets(graph))
    sequence = late_sinks_sequence(graph, budget)
    if sequence is None:
        return
    report = verify(graph, schedule_from_computes(graph, sequence), budget)
    assert report.valid and report.peak_memory <= budget
    best = optimum(graph, budget)
    assert best is not None and _cost(graph, sequence) >= best - 1e-9 * abs(best)


def test_weight_gradients_moved_later_save_the_recomputation_greedy_eviction_pays():
    from remat.generators import linear
    graph = _with_late_sinks(linear(6, mem=4, cost=10))
    budget = 28  # where a weight gradient runs, the activations still waiting do not all fit beside it
    given_order = [greedy_eviction(graph, budget, classes=c) for c in (False, True)]
    moved = late_sinks_sequence(graph, budget)
    assert moved is not None
    assert verify(graph, schedule_from_computes(graph, moved), budget).valid
    assert all(s is not None and _cost(graph, moved) < _cost(graph, s) for s in given_order)


def test_resnet18_at_half_its_peak_is_cheaper_than_greedy_eviction_in_the_given_order():
    graph = load_graph(RESNET18)
    budget = parse_budget("50%", peak=no_remat_peak(graph))
    moved = get_heuristic("greedy-sinks").run(graph, budget)
    assert moved is not None
    assert verify(graph, schedule_from_computes(graph, moved), budget).valid
    given_order = min(_cost(graph, s) for s in (greedy_eviction(graph, budget),
                                                 greedy_eviction(graph, budget, classes=True)) if s is not None)
    assert _cost(graph, moved) < 0.9 * given_order + 0.1 * graph.total_cost  # TDI at least 10% lower


def test_a_passed_deadline_returns_nothing_and_runs_no_greedy_eviction(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("greedy eviction started after the deadline")

    monkeypatch.setattr("remat.heuristics.sinks.greedy_eviction", forbidden)
    graph = load_graph(RESNET18)
    budget = parse_budget("50%", peak=no_remat_peak(graph))
    assert late_sinks_sequence(graph, budget, deadline=time.perf_counter() - 1) is None


def test_a_solve_in_the_given_order_leaves_it_out(monkeypatch):
    """``order="given"`` asks for the paper's model in the graph's order: its warm start runs no
    heuristic whose schedules leave that order; the default (``"auto"``) runs it."""
    from remat import solve
    from remat.generators import unet
    from remat.heuristics import base

    calls: list[int] = []

    def recorded(graph, budget, *, deadline=None):
        calls.append(graph.n)
        return None

    monkeypatch.setitem(base._REGISTRY, "greedy-sinks", base.FunctionHeuristic("greedy-sinks", recorded, reorders=True))
    graph = unet(2)
    budget = int(0.9 * no_remat_peak(graph))  # greedy eviction recomputes: the portfolio goes on
    assert solve(graph, budget, time_limit=5, threads=1, order="given").report.valid and calls == []
    assert solve(graph, budget, time_limit=5, threads=1).report.valid and calls == [graph.n]
