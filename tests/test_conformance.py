"""Conformance: one set of problems, every installed backend, the same proven answers.

In the style of cvxpy's shared test problems: hand-made graphs whose optimum is
worked out in the comments, plus hypothesis graphs of at most 10 nodes, run
against every installed backend (parametrized). On each, every backend proves
the same optimal objective (or the same infeasibility), and the test re-checks
every schedule with remat.verify itself. The MILP's reductions are checked in
both directions: a MILP solution mapped back satisfies the IR model (checked
by ``ir.violations``), and a CP-SAT solution mapped forward satisfies the MILP.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import remat
from remat.backends import SolveOptions, get_backend, installed_backends, is_available, solve_model
from remat.formulations import get_formulation
from remat.ir import violations
from remat.generators import linear, unet
from remat.graph import Graph, min_budget, no_remat_peak
from remat.status import Status
from remat.verify import verify

# Every installed backend, plus HiGHS through Pyomo's current and classic APIs where HiGHS is installed.
BACKENDS = installed_backends() + [name for name in ("pyomo:highs", "pyomo:appsi_highs") if is_available(name)]


def _skip_chain() -> Graph:
    """0 -> 1 -> 2 -> 3 -> 4 and 0 -> 4. Keeping 0 through nodes 2 and 3 costs 1 + 2 + 2 = 5 bytes;
    at 4 bytes it must be dropped after 1 and recomputed before 4 (memory then 2 + 1 + 1 = 4)."""
    return Graph.from_edges([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)], cost={0: 5, 1: 1, 2: 1, 3: 1, 4: 1},
                            mem={0: 1, 1: 2, 2: 2, 3: 2, 4: 1}, name="skip-chain")


def _chain() -> Graph:
    return Graph.from_edges([(0, 1), (1, 2)], cost={0: 1, 1: 2, 2: 3}, mem={0: 1, 1: 1, 2: 1}, name="chain")


# (case id, graph, budget, expected status, expected objective) -- objectives worked out by hand
CASES = [
    ("chain-fits", _chain, lambda g: 2, Status.OPTIMAL, 6),
    ("chain-below-min-budget", _chain, lambda g: 1, Status.INFEASIBLE, None),
    ("skip-chain-no-remat", _skip_chain, lambda g: 5, Status.OPTIMAL, 9),
    ("skip-chain-recompute-source", _skip_chain, lambda g: 4, Status.OPTIMAL, 14),
    ("skip-chain-below-min-budget", _skip_chain, lambda g: 3, Status.INFEASIBLE, None),
    # unet(2): 16 nodes of cost 100 (gradients 200) and a loss of cost 1; at 90% one encoder output is
    # recomputed (+100); at its min_budget the stage-restricted model has no schedule.
    ("unet2-90", lambda: unet(2), lambda g: int(0.9 * no_remat_peak(g)), Status.OPTIMAL, 1601),
    ("unet2-at-min-budget", lambda: unet(2), min_budget, Status.INFEASIBLE, None),
    ("linear3-peak", lambda: linear(3), no_remat_peak, Status.OPTIMAL, 91),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hand_made_problem(case, backend):
    _, make, budget_of, status, objective = case
    g = make()
    budget = budget_of(g)
    r = remat.solve(g, budget, backend=backend, threads=1, time_limit=60)
    assert r.status == status
    assert r.objective == objective
    if r.schedule is not None:
        report = verify(g, r.schedule, budget)
        assert report.valid and report.total_cost == objective


@st.composite
def dags(draw, max_nodes: int = 10):
    n = draw(st.integers(2, max_nodes))
    edges = [(u, v) for v in range(1, n) for u in range(v) if draw(st.integers(0, 3)) == 0]
    cost = {v: draw(st.integers(1, 9)) for v in range(n)}
    mem = {v: draw(st.integers(1, 6)) for v in range(n)}
    g = Graph.from_edges(edges, cost=cost, mem=mem, name="dag", order=list(range(n)))
    lo, hi = min_budget(g), no_remat_peak(g)
    return g, draw(st.integers(max(1, lo - 1), hi))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_every_backend_proves_the_same_answer(case):
    g, budget = case
    results = {b: remat.solve(g, budget, backend=b, threads=1, time_limit=30) for b in BACKENDS}
    statuses = {b: r.status for b, r in results.items()}
    assert set(statuses.values()) <= {Status.OPTIMAL, Status.INFEASIBLE}, statuses
    assert len(set(statuses.values())) == 1, statuses
    assert len({r.objective for r in results.values()}) == 1, {b: r.objective for b, r in results.items()}
    for r in results.values():
        if r.schedule is not None:
            report = verify(g, r.schedule, budget)
            assert report.valid and report.total_cost == r.objective and report.peak_memory <= budget


@pytest.mark.skipif("highs" not in BACKENDS, reason="pyomo/highspy not installed")
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(max_nodes=8))
def test_linearization_maps_solutions_both_ways(case):
    from remat.backends.linearize import check_linear, linearize

    g, budget = case
    model = get_formulation("moccasin").build(g, budget).model
    milp = solve_model(get_backend("highs"), model, SolveOptions(threads=1))
    cp = get_backend("cpsat").solve(model, SolveOptions(threads=1))
    assert milp.status == cp.status
    if milp.values is not None:
        assert violations(model, milp.values) == []  # inverted MILP solution is a solution of the IR model
    if cp.values is not None:
        lin = linearize(model)
        lifted = lin.lift(cp.values)  # CP-SAT's optimum is not cut off by the linearization
        assert check_linear(lifted, lin.model) == []
        assert lin.invert(lifted) == cp.values


def _unet3_with_a_suboptimal_warm_start():
    g = unet(3)
    built = get_formulation("moccasin").build(g, no_remat_peak(g))
    hint = built.encode([0, 1, 0, 2] + list(range(3, g.n)))  # node 0 recomputed once: cost 2201, optimum 2101
    assert hint is not None and violations(built.model, hint) == []
    return built.model, hint


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_time_at_all_gives_the_warm_start_or_nothing_never_a_proof(backend):
    """Without time, a backend returns the warm start as its incumbent (FEASIBLE), or nothing (UNKNOWN)
    where the warm start is only a search hint (CP-SAT's); without a warm start it has nothing."""
    model, hint = _unet3_with_a_suboptimal_warm_start()
    with_start = solve_model(get_backend(backend), model, SolveOptions(time_limit=0.0, threads=1, hint=hint))
    if backend == "cpsat":
        assert with_start.status == Status.UNKNOWN and with_start.values is None
    else:
        assert with_start.status == Status.FEASIBLE and with_start.objective == 2201
        assert violations(model, with_start.values) == []
    without = solve_model(get_backend(backend), model, SolveOptions(time_limit=0.0, threads=1))
    assert without.status == Status.UNKNOWN and without.values is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_from_a_suboptimal_warm_start_every_backend_proves_the_optimum(backend):
    model, hint = _unet3_with_a_suboptimal_warm_start()
    raw = solve_model(get_backend(backend), model, SolveOptions(time_limit=60, threads=1, hint=hint))
    assert raw.status == Status.OPTIMAL and raw.objective == 2101 and raw.bound == pytest.approx(2101)
    assert violations(model, raw.values) == []
