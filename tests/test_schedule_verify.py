"""Schedules, their file format and the verifier, on graphs small enough to check by hand."""

from __future__ import annotations

import json

import pytest

from remat.errors import ScheduleFormatError
from remat.graph import Graph
from remat.schedule import Schedule, Step, load_schedule, no_remat_schedule, schedule_from_computes
from remat.verify import (ALREADY_RESIDENT, MISSING_INPUT, NEVER_COMPUTED, NOT_RECOMPUTABLE, NOT_RESIDENT,
                          OBJECTIVE_MISMATCH, OVER_BUDGET, PEAK_MISMATCH, UNKNOWN_NODE, verify)

# a -> b -> c, and a -> c (a skip connection)
SKIP = Graph.from_edges([("a", "b"), ("b", "c"), ("a", "c")], cost={"a": 1, "b": 10, "c": 100},
                        mem={"a": 1, "b": 2, "c": 4}, name="skip")


def steps(*pairs):
    return tuple(Step(op, v) for op, v in pairs)


def test_earliest_frees():
    s = no_remat_schedule(SKIP)
    assert [(x.op, x.node) for x in s.steps] == [
        ("compute", "a"), ("compute", "b"), ("compute", "c"), ("free", "a"), ("free", "b"), ("free", "c")]


def test_recomputation_frees_before_the_next_copy():
    g = Graph.from_edges([("a", "b"), ("b", "c"), ("a", "c")], cost={"a": 1, "b": 1, "c": 1},
                         mem={"a": 1, "b": 1, "c": 1})
    s = schedule_from_computes(g, [0, 1, 0, 2])
    assert [(x.op, x.node) for x in s.steps] == [
        ("compute", "a"), ("compute", "b"), ("free", "a"), ("compute", "a"), ("compute", "c"),
        ("free", "a"), ("free", "b"), ("free", "c")]
    r = verify(g, s)
    assert r.valid and r.total_cost == 4 and r.peak_memory == 3


def test_valid_schedule_report():
    r = verify(SKIP, no_remat_schedule(SKIP), budget=7)
    assert r.valid and r.peak_memory == 7 and r.total_cost == 111 and r.computes == 3


def test_over_budget_reports_the_step():
    r = verify(SKIP, no_remat_schedule(SKIP), budget=6)
    assert [(v.step, v.kind) for v in r.violations] == [(2, OVER_BUDGET)]


def test_missing_input():
    r = verify(SKIP, Schedule("skip", steps(("compute", "a"), ("compute", "c"))))
    assert (1, MISSING_INPUT) in [(v.step, v.kind) for v in r.violations]
    assert NEVER_COMPUTED in r.kinds()


def test_compute_while_resident_and_free_while_absent():
    r = verify(SKIP, Schedule("skip", steps(("compute", "a"), ("compute", "a"), ("free", "b"))))
    assert [(v.step, v.kind) for v in r.violations if v.step is not None] == [(1, ALREADY_RESIDENT), (2, NOT_RESIDENT)]


def test_unknown_node_and_wrong_claims():
    s = no_remat_schedule(SKIP).with_claims(objective=110, peak_memory=8)
    s = Schedule(s.graph, s.steps + (Step("free", "zz"),), objective=110, peak_memory=8)
    assert {UNKNOWN_NODE, OBJECTIVE_MISMATCH, PEAK_MISMATCH} <= verify(SKIP, s).kinds()


def test_non_recomputable_node_computed_twice():
    g = Graph(SKIP.name, SKIP.ids, SKIP.cost, SKIP.mem, SKIP.preds, recomputable=(False, True, True))
    s = schedule_from_computes(g, [0, 1, 0, 2])
    assert NOT_RECOMPUTABLE in verify(g, s).kinds()


def test_file_round_trip_is_exactly_the_documented_format(tmp_path):
    s = no_remat_schedule(SKIP).with_claims(budget=7, objective=111, peak_memory=7, status="optimal")
    path = tmp_path / "s.json"
    s.save(path)
    data = json.loads(path.read_text())
    assert set(data) == {"format", "graph", "budget", "objective", "peak_memory", "status", "steps"}
    assert data["format"] == "remat-schedule/1" and data["steps"][0] == {"op": "compute", "node": "a"}
    assert load_schedule(path) == s
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


@pytest.mark.parametrize("data, words", [
    ([], "object"), ({"format": "other"}, "format"),
    ({"format": "remat-schedule/1", "graph": "g", "steps": [{"op": "run", "node": "a"}]}, "step #0"),
    ({"format": "remat-schedule/1", "graph": "g", "steps": [], "status": "great"}, "status"),
    ({"format": "remat-schedule/1", "graph": "g", "steps": [], "budget": "10"}, "budget"),
])
def test_bad_schedule_files(tmp_path, data, words):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ScheduleFormatError, match=words):
        load_schedule(path)
