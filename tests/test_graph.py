"""Loading, validating and measuring graphs."""

from __future__ import annotations

import json
import math

import networkx as nx
import pytest

from remat.errors import GraphError
from remat.graph import Graph, graph_from_json, load_graph, min_budget, no_remat_peak
from tests.paper import paper_graph_path


def ours(nodes, links, **graph):
    return {"directed": True, "graph": graph, "nodes": nodes, "links": links}


def node(i, cost=1, mem=1, **extra):
    return {"id": i, "cost": cost, "mem": mem, **extra}


DIAMOND = ours([node("a", 1, 4), node("b", 2, 3), node("c", 3, 2), node("d", 4, 1)],
               [{"source": "a", "target": "b"}, {"source": "a", "target": "c"},
                {"source": "b", "target": "d"}, {"source": "c", "target": "d"}], name="diamond")


def test_own_dialect_loads_with_ids_as_strings_in_topological_order():
    g = graph_from_json(DIAMOND)
    assert g.name == "diamond"
    assert g.ids[0] == "a" and g.ids[-1] == "d"
    assert g.cost == (1, 2, 3, 4) and g.mem == (4, 3, 2, 1)
    assert g.preds[g.index["d"]] == tuple(sorted((g.index["b"], g.index["c"])))


def test_diamond_peak_and_min_budget_by_hand():
    g = graph_from_json(DIAMOND)
    # order a b c d: at c, a (needed by c) + b (needed by d) + c = 4 + 3 + 2; at d: b + c + d = 6
    assert no_remat_peak(g) == 9
    # d needs b, c: 1 + 3 + 2 = 6; b needs a: 3 + 4 = 7; c needs a: 2 + 4 = 6
    assert min_budget(g) == 7


def test_peak_depends_on_the_order():
    g = graph_from_json(DIAMOND)
    i = g.index
    assert no_remat_peak(g, [i["a"], i["c"], i["b"], i["d"]]) == 4 + 2 + 3


def test_round_trip_through_json(tmp_path):
    g = graph_from_json(DIAMOND)
    path = tmp_path / "g.json"
    g.save(path)
    assert load_graph(path) == g


def test_random_layered_dialect_honours_graph_order():
    path = paper_graph_path("rl1_random_layered_n100")
    g = load_graph(path)
    data = json.loads(path.read_text())
    assert list(g.ids) == [str(v) for v in data["graph"]["order"]]
    assert (g.n, g.num_edges) == (100, 236)
    assert sum(g.cost) == sum(n["duration"] for n in data["nodes"])


@pytest.mark.parametrize("stem, peak", [("rl1_random_layered_n100", 46_319), ("rl2_random_layered_n250", 146_840),
                                        ("cm1_fcn8_train", 13_484_795_520)])
def test_no_remat_peak_matches_the_paper_readme(stem, peak):
    assert no_remat_peak(load_graph(paper_graph_path(stem))) == peak


def test_checkmate_dialect_keeps_layer_names_as_labels():
    g = load_graph(paper_graph_path("vgg16_train"))
    assert (g.n, g.num_edges) == (45, 87)
    assert g.labels[g.index["0"]] == "block1_conv1"
    assert min_budget(g) / no_remat_peak(g) == pytest.approx(0.831, abs=1e-3)


def test_from_networkx_and_to_networkx_agree():
    G = nx.DiGraph()
    G.add_node("x", cost=1.5, mem=8)
    G.add_node("y", cost=2, mem=16)
    G.add_edge("x", "y")
    g = Graph.from_networkx(G, name="xy")
    back = g.to_networkx()
    assert back.nodes["x"]["cost"] == 1.5 and list(back.edges) == [("x", "y")]


def err(data):
    with pytest.raises(GraphError) as info:
        graph_from_json(data)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_cycle_is_listed():
    msg = err(ours([node("a"), node("b"), node("c")], [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                                                        {"source": "c", "target": "a"}]))
    assert "cycle" in msg and all(v in msg for v in "abc")


@pytest.mark.parametrize("value, words", [(-1, ">= 0"), (math.nan, "finite"), ("3", "number"), (None, "number"),
                                          (True, "number"), (math.inf, "finite")])
def test_bad_cost_names_node_and_field(value, words):
    msg = err(ours([node("a"), node("b", cost=value)], []))
    assert "'b'" in msg and "'cost'" in msg and words in msg


def test_fractional_bytes_rejected():
    msg = err(ours([node("a", mem=2.5)], []))
    assert "'a'" in msg and "'mem'" in msg and "integer" in msg


def test_missing_field_uses_the_dialect_name():
    data = {"nodes": [{"id": 0, "cost_cpu": 1}], "links": []}
    msg = err(data)
    assert "'0'" in msg and "cost_ram" in msg


def test_unknown_edge_endpoint():
    assert "unknown node 'zz'" in err(ours([node("a")], [{"source": "a", "target": "zz"}]))


def test_duplicate_id():
    assert "duplicate node id 'a'" in err(ours([node("a"), node("a")], []))


def test_self_loop():
    assert "self-loop on node 'a'" in err(ours([node("a")], [{"source": "a", "target": "a"}]))


def test_empty_graph():
    assert "empty" in err(ours([], []))


def test_order_not_topological():
    msg = err(ours([node("a"), node("b")], [{"source": "a", "target": "b"}], order=["b", "a"]))
    assert "not a topological order" in msg and "'b'" in msg and "'a'" in msg


def test_order_missing_a_node():
    assert "does not list node 'b'" in err(ours([node("a"), node("b")], [], order=["a"]))


def test_unreadable_and_non_json_files(tmp_path):
    with pytest.raises(GraphError, match="cannot read"):
        load_graph(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(GraphError, match="not valid JSON"):
        load_graph(bad)


def test_graph_is_immutable():
    g = graph_from_json(DIAMOND)
    with pytest.raises(AttributeError):
        g.name = "other"  # type: ignore[misc]


# ------------------------------------------- the fast paths against straightforward references
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from remat.graph import no_remat_profile  # noqa: E402
from remat.testing import graphs  # noqa: E402
from tests.conftest import examples  # noqa: E402


@settings(max_examples=examples(200))
@given(st.data())
def test_loading_agrees_with_networkx_on_any_edge_list(data):
    """Random edge lists (repeats, cycles, self-loops, unknown ends allowed) with and without an order: the
    loader builds what networkx's lexicographic topological sort gives, or names the problem networkx sees."""
    n = data.draw(st.integers(1, 7))
    names = [f"v{i}" for i in data.draw(st.permutations(range(n)))]
    bad_ends = data.draw(st.booleans())  # half the lists may name an unknown node or a self-loop
    pairs = st.tuples(st.sampled_from(names + ["zz"] * bad_ends), st.sampled_from(names))
    links = data.draw(st.lists(pairs.filter(lambda e: bad_ends or e[0] != e[1]), max_size=12))
    order = data.draw(st.none() | st.permutations(names))
    doc = ours([node(v, cost=i, mem=i + 1) for i, v in enumerate(names)],
               [{"source": u, "target": v} for u, v in links], **({} if order is None else {"order": order}))
    ref = nx.DiGraph()
    ref.add_nodes_from(names)
    ref.add_edges_from(links)
    if "zz" in ref or any(u == v for u, v in links):
        assert "unknown node" in err(doc) or "self-loop" in err(doc)
        return
    if not nx.is_directed_acyclic_graph(ref):
        msg = err(doc)
        named = msg.split(": ", 1)[1].split(" -> ")
        assert "has a cycle" in msg and named[0] == named[-1]
        assert all(ref.has_edge(u, v) for u, v in zip(named, named[1:]))  # a real cycle
        return
    if order is not None and any(order.index(u) > order.index(v) for u, v in ref.edges):
        assert "not a topological order" in err(doc)
        return
    g = graph_from_json(doc)
    expect = order or list(nx.lexicographical_topological_sort(ref, key=names.index))
    assert list(g.ids) == expect
    assert {(g.ids[u], g.ids[v]) for u, v in g.edges} == set(ref.edges) and g.num_edges == ref.number_of_edges()
    assert all(list(ps) == sorted(ps) for ps in g.preds)
    assert [g.mem[g.index[v]] for v in names] == list(range(1, n + 1))


def reference_profile(g: Graph, order) -> list[int]:
    """Memory at each step, the plain way: v, its inputs and what was computed and is still read later."""
    out = []
    for i, v in enumerate(order):
        done = set(order[:i + 1])
        later = set(order[i + 1:])
        out.append(sum(g.mem[u] for u in done
                       if u == v or u in g.preds[v] or any(w in later for w in g.succs[u])))
    return out


@settings(max_examples=examples(100))
@given(st.data())
def test_memory_model_agrees_with_the_reference_in_any_topological_order(data):
    g = data.draw(graphs(1, 8))
    rank = data.draw(st.lists(st.floats(0, 1), min_size=g.n, max_size=g.n))
    order: list[int] = []
    while len(order) < g.n:  # a random topological order: of the ready nodes, the lowest rank first
        ready = [v for v in range(g.n) if v not in order and set(g.preds[v]) <= set(order)]
        order.append(min(ready, key=rank.__getitem__))
    assert no_remat_profile(g, order) == reference_profile(g, order)
    assert no_remat_peak(g, order) == max(reference_profile(g, order))
    assert min_budget(g) == max(g.mem[v] + sum(g.mem[u] for u in g.preds[v]) for v in range(g.n))


def test_memory_model_is_exact_beyond_int64():
    big = 2**70
    g = Graph.from_edges([(0, 1), (0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: big, 1: 7, 2: 3})
    assert no_remat_profile(g) == [big, big + 7, big + 10] and min_budget(g) == big + 10


def test_memory_model_rejects_orders_it_cannot_measure():
    g = graph_from_json(DIAMOND)
    for bad in ([0, 0, 1, 2, 3], [1, 0, 2, 3], [0, 4, 1, 2]):
        with pytest.raises(ValueError):
            no_remat_profile(g, bad)
