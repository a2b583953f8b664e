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
from remat.schedule import Schedule, Step, schedule_from_computes
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


# ------------------------------------------- the fast paths against straightforward references
def reference_schedule_from_computes(g: Graph, computes) -> list[tuple[str, str]]:
    """Earliest frees, the plain way: replay the computes, and free each computation right after its last
    reader, a reader being a later compute of a successor that comes before the next computation of the node."""
    steps: list[tuple[str, str]] = []
    frees: dict[int, list[int]] = {}  # position -> computations (by node) freed right after it
    for pos, v in enumerate(computes):
        nxt = next((q for q in range(pos + 1, len(computes)) if computes[q] == v), len(computes))
        readers = [q for q in range(pos + 1, nxt) if v in g.preds[computes[q]]]
        frees.setdefault(max(readers, default=pos), []).append(v)
    for pos, v in enumerate(computes):
        steps.append(("compute", g.ids[v]))
        steps.extend(("free", g.ids[u]) for u in sorted(frees.get(pos, [])))
    return steps


@st.composite
def graph_and_computes(draw, max_nodes=7):
    """A graph and any compute sequence of its node indices (inputs not always computed first)."""
    g = draw(graphs(1, max_nodes, non_recomputable=True))
    return g, draw(st.lists(st.integers(0, g.n - 1), max_size=3 * g.n))


@settings(max_examples=examples(300))
@given(graph_and_computes())
def test_schedule_from_computes_agrees_with_the_reference_on_any_sequence(gc):
    g, computes = gc
    s = schedule_from_computes(g, computes)
    assert [(x.op, x.node) for x in s.steps] == reference_schedule_from_computes(g, computes)


@settings(max_examples=examples(100))
@given(graph_and_computes())
def test_schedule_from_computes_is_valid_exactly_when_the_sequence_can_run(gc):
    """Inputs computed before each reader, each node computed, non-recomputable nodes once: then the verifier
    accepts the built schedule, with the reference replay's cost and peak; otherwise it rejects it."""
    g, computes = gc
    s = schedule_from_computes(g, computes)
    ref = reference_replay(g, [(x.op, g.index[x.node]) for x in s.steps])
    seen: set[int] = set()
    runs = True
    for v in computes:
        runs &= set(g.preds[v]) <= seen and (g.recomputable[v] or v not in seen)
        seen.add(v)
    runs &= len(seen) == g.n
    r = verify(g, s)
    assert r.valid == ref.valid == runs
    if runs:
        assert (r.peak_memory, r.total_cost) == (ref.peak, ref.cost)


def reference_verify(g: Graph, s: Schedule, budget=None):
    """Violations as (step, kind), peak, cost, computes and profile, by a second plain replay."""
    budget = s.budget if budget is None else budget
    out, resident, computed, memory, peak, cost, profile = [], set(), {}, 0, 0, 0, []
    for k, step in enumerate(s.steps):
        if step.node not in g.index:
            out.append((k, UNKNOWN_NODE))
        elif step.op == "compute":
            v = g.index[step.node]
            out += [(k, MISSING_INPUT) for u in g.preds[v] if u not in resident]
            if v in resident:
                out.append((k, ALREADY_RESIDENT))
            resident.add(v)
            memory = sum(g.mem[u] for u in resident)
            if computed.get(v) and not g.recomputable[v]:
                out.append((k, NOT_RECOMPUTABLE))
            computed[v] = computed.get(v, 0) + 1
            cost += g.cost[v]
            peak = max(peak, memory)
            if budget is not None and memory > budget:
                out.append((k, OVER_BUDGET))
        elif step.op == "free":
            v = g.index[step.node]
            if v not in resident:
                out.append((k, NOT_RESIDENT))
            resident.discard(v)
            memory = sum(g.mem[u] for u in resident)
        else:
            out.append((k, BAD_OP))
        profile.append(memory)
    out += [(None, NEVER_COMPUTED) for v in range(g.n) if v not in computed]
    if s.objective is not None and s.objective != cost:
        out.append((None, OBJECTIVE_MISMATCH))
    if s.peak_memory is not None and s.peak_memory != peak:
        out.append((None, PEAK_MISMATCH))
    return out, peak, cost, sum(computed.values()), profile


@settings(max_examples=examples(200))
@given(st.data())
def test_verify_agrees_with_a_second_replay_on_every_violation(data):
    g = data.draw(graphs(1, 5, non_recomputable=True, costs=st.integers(0, 50)))
    ops = st.sampled_from(["compute", "free", "compute", "free", "drop"])
    nodes = st.sampled_from([*g.ids, "ghost"])
    steps = data.draw(st.lists(st.builds(Step, ops, nodes), max_size=3 * g.n))
    claims = data.draw(st.fixed_dictionaries({}, optional={
        "budget": st.integers(0, 2 * sum(g.mem)), "objective": st.integers(0, 200),
        "peak_memory": st.integers(0, sum(g.mem))}))
    s = Schedule(g.name, tuple(steps), **claims)
    r = verify(g, s)
    out, peak, cost, computes, profile = reference_verify(g, s)
    assert [(x.step, x.kind) for x in r.violations] == out
    assert (r.peak_memory, r.total_cost, r.computes, list(r.memory_profile)) == (peak, cost, computes, profile)
