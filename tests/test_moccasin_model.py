"""The Moccasin model's size and its warm-start encoding, checked against the IR directly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from remat.ir import violations
from remat.formulations.moccasin import Moccasin, event
from remat.generators import unet
from remat.graph import no_remat_peak
from tests.test_solve_cpsat import small_dags


@pytest.mark.parametrize("copies", [1, 2, 3])
def test_integer_variables_are_linear_in_n(copies):
    for depth in (2, 4, 8):
        g = unet(depth)
        model = Moccasin().build(g, no_remat_peak(g), max_copies=copies).model
        size = model.size()
        assert size["int_vars"] <= 2 * copies * g.n  # a start and an end per copy
        assert size["intervals"] <= copies * g.n
        assert size["bool_vars"] <= (copies - 1) * g.n + copies * copies * g.num_edges


def test_stage_events_are_distinct_and_ordered():
    n = 6
    evs = [event(k, s) for s in range(n) for k in range(s + 1)]
    assert evs == list(range(n * (n + 1) // 2))


@settings(max_examples=40, deadline=None)
@given(graph=small_dags(max_nodes=8))
def test_no_remat_order_encodes_to_a_feasible_assignment_at_its_peak(graph):
    built = Moccasin().build(graph, no_remat_peak(graph))
    values = built.encode(list(range(graph.n)))
    assert values is not None
    assert violations(built.model, values) == []
    assert built.decode(values) == list(range(graph.n))


@settings(max_examples=40, deadline=None)
@given(graph=small_dags(max_nodes=8))
def test_encoding_a_decoded_optimum_round_trips(graph):
    from remat.solve import solve

    budget = no_remat_peak(graph) * 3 // 4
    r = solve(graph, budget, threads=1, time_limit=20)
    if r.schedule is None:
        return
    built = Moccasin().build(graph, budget)
    seq = [graph.index[v] for v in r.schedule.computes]
    values = built.encode(seq)
    assert values is not None and violations(built.model, values) == []
    assert built.decode(values) == seq


def test_a_sequence_outside_the_stages_is_not_encoded():
    g = unet(2)
    built = Moccasin().build(g, no_remat_peak(g))
    assert built.encode([1, 0] + list(range(2, g.n))) is None
