"""The model build is skipped when its estimated time or memory does not fit (remat.stages.build):
the heuristics' verified schedule is then the answer, and the backend is never started."""

from __future__ import annotations

import pytest

import remat.stages as stages
from remat import solve
from remat.generators import random_layered
from remat.graph import no_remat_peak
from remat.verify import verify


def _no_backend(*args, **kwargs):
    raise AssertionError("the backend ran on a model that should not have been built")


@pytest.fixture()
def graph_and_budget():
    g = random_layered(16, seed=1)  # a graph whose heuristic schedules the cut bound does not prove optimal
    return g, int(0.9 * no_remat_peak(g))


def test_a_model_estimated_above_the_memory_cap_is_not_built(monkeypatch, graph_and_budget):
    g, budget = graph_and_budget
    monkeypatch.setattr(stages, "MODEL_MAX_BYTES", 1)
    monkeypatch.setattr(stages, "solve_model", _no_backend)
    r = solve(g, budget, time_limit=20, threads=1, order="given")
    assert r.schedule is not None and r.source.startswith("heuristic")
    assert verify(g, r.schedule, budget).valid
    assert "model not built" in r.message and "GB" in r.message


def test_a_model_estimated_too_slow_for_the_time_left_is_not_built(monkeypatch, graph_and_budget):
    g, budget = graph_and_budget
    monkeypatch.setattr(stages, "BUILD_UNITS_PER_SECOND", 1e-3)
    monkeypatch.setattr(stages, "solve_model", _no_backend)
    r = solve(g, budget, time_limit=20, threads=1, order="given")
    assert r.schedule is not None and verify(g, r.schedule, budget).valid
    assert "model not built" in r.message and "s left" in r.message


def test_without_a_time_limit_the_time_estimate_never_skips_the_model(monkeypatch, graph_and_budget):
    g, budget = graph_and_budget
    monkeypatch.setattr(stages, "BUILD_UNITS_PER_SECOND", 1e-3)
    r = solve(g, budget, threads=1, order="given")
    assert r.model_status is not None and "model not built" not in r.message
    assert verify(g, r.schedule, budget).valid


def test_the_estimate_grows_with_nodes_edges_and_copies():
    small, large = random_layered(50, seed=1), random_layered(400, seed=1)
    s1, b1 = stages.model_estimate(small, 2)
    s2, b2 = stages.model_estimate(large, 2)
    s3, b3 = stages.model_estimate(large, 3)
    assert s1 < s2 < s3 and b1 < b2 < b3
