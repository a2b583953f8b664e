"""The verifier, specified by properties: valid schedules are accepted, every mutation is caught.

Valid schedules come from :mod:`remat.testing` (a random walk and an exhaustive
enumerator that share no code with :mod:`remat.verify`); each mutation below
breaks a schedule in one known way and must be rejected with the matching
violation at the matching step.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from remat.graph import Graph
from remat.schedule import Schedule, Step
from remat.testing import enumerate_schedules, graphs, reference_replay, valid_schedules
from remat.verify import (ALREADY_RESIDENT, BAD_OP, MISSING_INPUT, NEVER_COMPUTED, NOT_RECOMPUTABLE, NOT_RESIDENT,
                          OBJECTIVE_MISMATCH, OVER_BUDGET, PEAK_MISMATCH, UNKNOWN_NODE, verify)
from tests.conftest import examples


@st.composite
def graph_and_schedule(draw, min_nodes=1, max_nodes=7, **graph_options):
    g = draw(graphs(min_nodes, max_nodes, **graph_options))
    return g, draw(valid_schedules(g))


def with_steps(s: Schedule, steps) -> Schedule:
    return replace(s, steps=tuple(steps))


def at(kind: str, report) -> list[int | None]:
    return [v.step for v in report.violations if v.kind == kind]


# ------------------------------------------------------------ completeness
@given(graph_and_schedule(non_recomputable=True))
def test_random_valid_schedules_are_accepted_with_their_true_claims(gs):
    g, s = gs
    r = verify(g, s)
    assert r.valid, r.violations
    assert (r.peak_memory, r.total_cost) == (s.peak_memory, s.objective)


@settings(max_examples=examples(10))
@given(graphs(1, 3, non_recomputable=True))
def test_every_enumerated_schedule_is_accepted_and_one_byte_less_is_over_budget(g):
    count = 0
    for s in enumerate_schedules(g, max_steps=2 * g.n + 1):
        count += 1
        assert verify(g, s).valid, [(x.op, x.node) for x in s.steps]
        if s.peak_memory > 0:
            assert OVER_BUDGET in verify(g, s, budget=s.peak_memory - 1).kinds()
    assert count >= 1  # the no-remat order is always among them


@given(st.data())
def test_verifier_agrees_with_the_reference_replay_on_arbitrary_steps(data):
    g = data.draw(graphs(1, 4, non_recomputable=True))
    steps = data.draw(st.lists(st.tuples(st.sampled_from(["compute", "free"]), st.integers(0, g.n - 1)),
                               max_size=3 * g.n))
    ref = reference_replay(g, steps)
    r = verify(g, Schedule(g.name, tuple(Step(op, g.ids[v]) for op, v in steps)))
    assert r.valid == ref.valid
    if ref.valid:
        assert (r.peak_memory, r.total_cost) == (ref.peak, ref.cost)


# --------------------------------------------------------------- mutations
def index_steps(g: Graph, s: Schedule) -> list[tuple[str, int]]:
    return [(x.op, g.index[x.node]) for x in s.steps]


@given(graph_and_schedule())
def test_a_dropped_compute_is_rejected(gs):
    g, s = gs
    steps = index_steps(g, s)
    computes = [k for k, (op, _) in enumerate(steps) if op == "compute"]
    k = computes[len(computes) // 2]
    v = steps[k][1]
    mutated = with_steps(s, s.steps[:k] + s.steps[k + 1:])
    report = verify(g, mutated)
    # what breaks first: the next step that touches v, else the bookkeeping at the end
    nxt = next(((j, op, w) for j, (op, w) in enumerate(steps[k + 1:], start=k)
                if w == v or (op == "compute" and v in g.preds[w])), None)
    if nxt is not None and nxt[1] == "free":
        assert nxt[0] in at(NOT_RESIDENT, report)
    elif nxt is not None and nxt[2] != v:
        assert nxt[0] in at(MISSING_INPUT, report)
    elif sum(1 for j in computes if steps[j][1] == v) == 1:
        assert NEVER_COMPUTED in report.kinds()
    else:  # another copy of v is computed next: only the claims are now wrong
        assume(g.cost[v] != 0)
        assert OBJECTIVE_MISMATCH in report.kinds()
    assert not report.valid


@given(graph_and_schedule(min_nodes=2))
def test_two_swapped_steps_are_rejected(gs):
    """Swap a compute of u with a later compute that reads that copy of u."""
    g, s = gs
    steps = index_steps(g, s)
    pairs = []
    for i, (op, u) in enumerate(steps):
        if op != "compute":
            continue
        for j in range(i + 1, len(steps)):
            op2, w = steps[j]
            if w == u:
                break
            if op2 == "compute" and u in g.preds[w]:
                pairs.append((i, j))
    assume(pairs)
    i, j = pairs[len(pairs) // 2]
    mutated = list(s.steps)
    mutated[i], mutated[j] = mutated[j], mutated[i]
    assert i in at(MISSING_INPUT, verify(g, with_steps(s, mutated)))


@given(graph_and_schedule(min_nodes=2))
def test_a_free_moved_before_a_use_is_rejected(gs):
    g, s = gs
    steps = index_steps(g, s)
    moves = []  # (position of the free, position of the last read of that copy before it)
    for k, (op, v) in enumerate(steps):
        if op != "free":
            continue
        for j in range(k - 1, -1, -1):
            op2, w = steps[j]
            if w == v:
                break  # reached the compute of this copy: no read in between
            if op2 == "compute" and v in g.preds[w]:
                moves.append((k, j))
                break
    assume(moves)
    k, j = moves[len(moves) // 2]
    mutated = list(s.steps)
    free = mutated.pop(k)
    mutated.insert(j, free)
    assert j + 1 in at(MISSING_INPUT, verify(g, with_steps(s, mutated)))


@given(graph_and_schedule())
def test_a_second_compute_of_a_resident_tensor_is_rejected(gs):
    g, s = gs
    k = next(k for k, x in enumerate(s.steps) if x.op == "compute")
    mutated = s.steps[:k + 1] + (s.steps[k],) + s.steps[k + 1:]
    assert k + 1 in at(ALREADY_RESIDENT, verify(g, with_steps(s, mutated)))


@given(graph_and_schedule())
def test_a_budget_under_the_peak_is_rejected_at_the_peak_step(gs):
    g, s = gs
    assume(s.peak_memory > 0)
    report = verify(g, s, budget=s.peak_memory - 1)
    assert OVER_BUDGET in report.kinds()
    first = min(at(OVER_BUDGET, report))
    assert report.memory_profile[first] == s.peak_memory
    assert verify(g, s, budget=s.peak_memory).valid


@given(graph_and_schedule(), st.sampled_from([-1, 1, 0.5, 1e6]))
def test_a_wrong_reported_objective_is_rejected(gs, delta):
    """Integer costs are compared exactly (found: 1e12 + 1 used to pass); float costs to a relative 1e-9."""
    g, s = gs
    claim = s.objective + delta if isinstance(s.objective, int) else s.objective * (1 + 1e-8) + delta
    assert verify(g, s.with_claims(objective=claim)).kinds() == {OBJECTIVE_MISMATCH}


@given(graph_and_schedule(), st.sampled_from([-1, 1, 4096]))
def test_a_wrong_reported_peak_is_rejected(gs, delta):
    g, s = gs
    assume(s.peak_memory + delta >= 0)
    bad = s.with_claims(peak_memory=s.peak_memory + delta, budget=None)
    assert verify(g, bad).kinds() == {PEAK_MISMATCH}


@given(graph_and_schedule(), st.sampled_from(["unknown", "op"]))
def test_an_unknown_node_or_op_is_rejected(gs, what):
    g, s = gs
    extra = Step("free", "no-such-node") if what == "unknown" else Step("run", s.steps[0].node)
    report = verify(g, with_steps(s, s.steps + (extra,)))
    assert at(UNKNOWN_NODE if what == "unknown" else BAD_OP, report) == [len(s.steps)]


@given(graph_and_schedule(min_nodes=1))
def test_recomputing_a_non_recomputable_node_is_rejected(gs):
    g, s = gs
    v = g.index[s.steps[0].node]
    frozen = Graph(g.name, g.ids, g.cost, g.mem, g.preds, g.labels,
                   tuple(u != v for u in range(g.n)))
    steps = [x for x in s.steps if x.node != g.ids[v]]  # compute v once at the start, free it, compute it again
    mutated = [Step("compute", g.ids[v]), Step("free", g.ids[v]), Step("compute", g.ids[v]), *steps]
    assert at(NOT_RECOMPUTABLE, verify(frozen, with_steps(s, mutated))) == [2]
