"""Checkmate's MILP: its memory accounting against the verifier, its optimum against brute force, both backends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remat.backends import installed_backends
from remat.formulations.checkmate import Checkmate, stage_positions
from remat.ir import violations
from remat.generators import linear, unet
from remat.graph import Graph, no_remat_peak
from remat.schedule import schedule_from_computes
from remat.solve import solve
from remat.status import Status
from remat.verify import verify
from tests.test_solve_cpsat import brute_force, peak_of, small_dags, staged_sequences


def valid_staged_sequences(graph: Graph):
    """Valid staged sequences that recompute only nodes with successors (the model's reduction)."""
    for seq in staged_sequences(graph.n, graph.n):
        if all(u in seq[:p] for p, v in enumerate(seq) for u in graph.preds[v]) and all(
                graph.succs[v] for v in set(seq) if seq.count(v) > 1):
            yield seq


@settings(max_examples=30, deadline=None)
@given(graph=small_dags(max_nodes=5), frac=st.floats(0.3, 1.0))
def test_memory_U_equals_the_verifier_memory_at_every_compute_step(graph, frac):
    """Encode every staged sequence: it is accepted iff the verifier says it fits, and then
    U at each compute step is exactly the verifier's memory there (in the model's size unit)."""
    budget = int(frac * no_remat_peak(graph))
    built = Checkmate().build(graph, budget)
    unit, memory = built.info["size_unit"], built.info["memory"]
    for seq in valid_staged_sequences(graph):
        values = built.encode(seq)
        fits = peak_of(graph, seq) <= budget
        assert (values is not None) == fits, seq
        if values is None:
            continue
        assert violations(built.model, values) == []
        assert built.decode(values) == seq
        report = verify(graph, schedule_from_computes(graph, seq))
        at_compute = [m for step, m in zip(schedule_from_computes(graph, seq).steps, report.memory_profile)
                      if step.op == "compute"]
        slots = stage_positions(graph, seq)
        assert [values[memory[slot]] * unit for slot in slots] == at_compute


@settings(max_examples=30, deadline=None)
@given(graph=small_dags(max_nodes=5), frac=st.floats(0.3, 1.0))
def test_checkmate_optimum_equals_brute_force_over_staged_sequences(graph, frac):
    budget = int(frac * no_remat_peak(graph))
    r = solve(graph, budget, formulation="checkmate", threads=1, time_limit=30)
    expected = brute_force(graph, budget, max_copies=graph.n)
    if expected is None:
        assert r.status == Status.INFEASIBLE
    else:
        assert r.status == Status.OPTIMAL and r.objective == expected
        assert verify(graph, r.schedule, budget).valid


def test_recomputes_a_node_three_times_where_that_is_cheapest():
    """linear5 at 4916 bytes: 151 without recomputation, +30 for three recomputations of
    10-cost forward nodes, f0 three times (so Moccasin with C=2 cannot follow, C=3 can)."""
    g = linear(5)
    r = solve(g, 4916, formulation="checkmate", threads=1)
    assert r.status == Status.OPTIMAL and r.objective == g.total_cost + 30 == 181
    assert r.schedule.computes.count("f0") == 3 and verify(g, r.schedule, 4916).valid
    assert solve(g, 4916, formulation="moccasin", max_copies=3, threads=1).objective == 181


@pytest.mark.parametrize("backend", [b for b in ("cpsat", "highs") if b in installed_backends()])
@pytest.mark.parametrize("graph, frac", [(linear(5), 0.8), (unet(2), 1.0), (linear(4), 0.85)])
def test_every_backend_reaches_the_optimum_of_moccasin_with_enough_copies(backend, graph, frac):
    budget = int(frac * no_remat_peak(graph))
    r = solve(graph, budget, formulation="checkmate", backend=backend, threads=1, time_limit=60)
    reference = solve(graph, budget, formulation="moccasin", max_copies=graph.n, threads=1, time_limit=60)
    assert r.status == reference.status == Status.OPTIMAL
    assert r.objective == reference.objective
    assert verify(graph, r.schedule, budget).valid


def test_stage_rule_rejects_out_of_order_sequences():
    g = linear(2)  # f0 f1 loss grad_f1 grad_f0
    assert stage_positions(g, [1, 0, 2, 3, 4]) is None  # first computations out of order
    assert stage_positions(g, [0, 1, 2, 3, 4, 0]) is None  # a recomputation after the last stage
    assert stage_positions(g, [0, 1, 1, 0, 2, 3, 4]) is None  # a stage recomputes in decreasing index
    assert Checkmate().build(g, no_remat_peak(g)).encode([1, 0, 2, 3, 4]) is None


def test_unknown_option_is_a_one_line_error():
    from remat.errors import FormulationError

    with pytest.raises(FormulationError, match="checkmate: unknown option"):
        solve(linear(2), 10**6, formulation="checkmate", stage=False)
