"""Fuzzing the loaders: whatever the JSON, only the library's documented errors escape.

Three sources of input: arbitrary JSON values, near-valid graph documents
(every field of every dialect, with values of every JSON type) and raw bytes.
A document that loads must give a graph that keeps the invariants and
round-trips; anything else must raise the loader's own error, in one line.
"""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from remat.budget import parse_budget
from remat.cli import main
from remat.errors import BudgetError, GraphError, ScheduleFormatError
from remat.graph import Graph, graph_from_json, load_graph
from remat.schedule import schedule_from_json
from tests.conftest import examples

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.integers(), st.floats(),
                    st.text(max_size=4), st.sampled_from(["a", "b", "0", "1", "", "NaN"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=4), inner, max_size=4)),
                           max_leaves=20)

IDS = ["a", "b", "c", 0, 1, "0"]
FIELDS = ["id", "name", "cost", "mem", "recomputable", "duration", "out_cost", "param_cost", "cost_cpu", "cost_ram"]
field_values = st.one_of(st.sampled_from(IDS), st.integers(-2, 10**13), st.floats(), st.booleans(), st.none(),
                         st.text(max_size=3), st.lists(st.integers(0, 3), max_size=2))


@st.composite
def graph_documents(draw):
    """Near-valid graph JSON: a valid document of a random dialect, then a few random mutations."""
    dialect = draw(st.sampled_from([("id", "cost", "mem"), ("name", "duration", "out_cost"),
                                    ("id", "cost_cpu", "cost_ram")]))
    ids = draw(st.lists(st.sampled_from(IDS), max_size=5, unique_by=str))
    nodes = [{dialect[0]: i, dialect[1]: draw(st.integers(0, 9)), dialect[2]: draw(st.integers(0, 9))} for i in ids]
    ends = ("0", "1") if dialect[0] == "name" else ("source", "target")
    pairs = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=6)) if ids else []
    links = [{ends[0]: u, ends[1]: v} for u, v in pairs if str(u) < str(v)]
    doc: dict = {"nodes": nodes, draw(st.sampled_from(["links", "edges"])): links}
    if ids and draw(st.booleans()):
        doc["graph"] = {"order": draw(st.permutations(ids))}
    for _ in range(draw(st.integers(0, 3))):  # mutations: a field, a node, a link or a key gets any value
        where = draw(st.sampled_from(["field", "drop-field", "node", "link", "key", "drop-key"]))
        dicts = [x for x in nodes if isinstance(x, dict)]
        if where in ("field", "drop-field") and dicts:
            target = draw(st.sampled_from(dicts))
            key = draw(st.sampled_from(FIELDS))
            if where == "field":
                target[key] = draw(field_values)
            else:
                target.pop(key, None)
        elif where == "node":
            nodes.append(draw(json_values))
        elif where == "link":
            links.append(draw(st.one_of(json_values, st.dictionaries(
                st.sampled_from(["source", "target", "0", "1"]), field_values, max_size=2))))
        elif where == "key":
            doc[draw(st.sampled_from(["nodes", "links", "edges", "graph"]))] = draw(json_values)
        else:
            doc.pop(draw(st.sampled_from(["nodes", "links", "edges", "graph"])), None)
    return doc


def check_loaded(g: Graph) -> None:
    assert g.n >= 1 and len(set(g.ids)) == g.n
    assert all(isinstance(m, int) and m >= 0 for m in g.mem)
    assert all(math.isfinite(c) and c >= 0 for c in g.cost)
    assert all(u < v for v, ps in enumerate(g.preds) for u in ps)
    assert graph_from_json(json.loads(json.dumps(g.to_json()))) == g


def load_or_error(data) -> None:
    try:
        g = graph_from_json(data)
    except GraphError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        check_loaded(g)


@settings(max_examples=examples(100))
@given(json_values)
def test_arbitrary_json_loads_or_raises_graph_error(data):
    load_or_error(data)


@settings(max_examples=examples(150))
@given(graph_documents())
def test_near_valid_graph_documents_load_or_raise_graph_error(doc):
    load_or_error(doc)


@settings(max_examples=examples(40))
@given(st.one_of(st.binary(max_size=64), st.text(max_size=64).map(str.encode),
                 graph_documents().map(lambda d: json.dumps(d).encode())))
def test_raw_bytes_through_load_graph_and_the_cli(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("fuzz") / "g.json"
    path.write_bytes(payload)
    try:
        check_loaded(load_graph(path))
        expected = 0
    except GraphError:
        expected = 2
    assert main(["info", str(path)]) == expected


@settings(max_examples=examples(100))
@given(st.one_of(json_values, st.fixed_dictionaries(
    {"format": st.just("remat-schedule/1"), "graph": st.one_of(st.just("g"), json_values),
     "steps": st.lists(st.one_of(st.fixed_dictionaries({"op": st.sampled_from(["compute", "free", "x"]),
                                                        "node": st.one_of(st.sampled_from(IDS), json_values)}),
                                 json_values), max_size=4)},
    optional={"budget": field_values, "objective": field_values, "peak_memory": field_values,
              "status": st.one_of(st.sampled_from(["optimal", "feasible", "unknown"]), json_values)})))
def test_schedule_documents_load_or_raise_schedule_format_error(data):
    try:
        s = schedule_from_json(data)
    except ScheduleFormatError as exc:
        assert "\n" not in str(exc)
    else:
        assert all(step.op in ("compute", "free") and isinstance(step.node, str) for step in s.steps)


@settings(max_examples=examples(100))
@given(st.one_of(st.text(max_size=8), st.from_regex(r"\s*[0-9.%eE+-]{0,8}\s*", fullmatch=True)),
       st.integers(0, 10**13))
def test_budget_text_parses_to_bytes_or_raises_budget_error(text, peak):
    try:
        b = parse_budget(text, peak=peak)
    except BudgetError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(b, int) and b >= 0
