"""Generators: deterministic by seed, the paper's size and duration ranges, valid training graphs."""

from __future__ import annotations

import json
import re
import statistics

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remat.errors import GraphError
from remat.generators import from_spec, linear, random_layered, training_graph, unet
from remat.graph import load_graph, no_remat_peak

from tests.paper import paper_graph_path


@settings(max_examples=15, deadline=None)
@given(n=st.integers(4, 120), seed=st.integers(0, 10**6), order=st.sampled_from(["random", "levels"]))
def test_random_layered_is_a_connected_dag_with_one_source_and_one_sink(n, seed, order):
    g = random_layered(n, seed=seed, order=order)
    assert g.n == n
    assert [g.ids[v] for v in range(n) if not g.preds[v]] == ["0"]
    assert [g.ids[v] for v in range(n) if not g.succs[v]] == ["1"]
    assert g.ids[0] == "0" and g.ids[-1] == "1"
    assert nx.is_weakly_connected(g.to_networkx())


@settings(max_examples=10, deadline=None)
@given(n=st.integers(4, 200), seed=st.integers(0, 10**6))
def test_random_layered_sizes_and_durations_follow_the_published_files(n, seed):
    g = random_layered(n, seed=seed)
    assert all(10 <= m <= 8180 and m % 10 == 0 for m in g.mem)
    assert all(isinstance(c, int) and 0 <= c <= 998 for c in g.cost)
    assert g.cost[g.index["0"]] == g.cost[g.index["1"]] == 0


def test_random_layered_is_deterministic_by_seed():
    a, b, c = random_layered(300, seed=7), random_layered(300, seed=7), random_layered(300, seed=8)
    assert a == b and (a.ids, a.preds, a.cost, a.mem) == (b.ids, b.preds, b.cost, b.mem)
    assert (a.preds, a.mem) != (c.preds, c.mem)


def _levels(g):
    """Longest-path level of every node (index order is topological)."""
    level = [0] * g.n
    for v in range(g.n):
        level[v] = 1 + max((level[u] for u in g.preds[v]), default=-1)
    return level


def test_random_layered_has_mostly_level_to_level_edges_and_some_skips():
    g = random_layered(500, seed=1)
    level = _levels(g)
    spans = [level[v] - level[u] for u, v in g.edges]
    one = sum(s == 1 for s in spans)
    assert 0.6 * len(spans) < one < len(spans)
    assert g.num_edges / g.n > 2  # denser than a tree, like the published RL graphs


@pytest.mark.parametrize("stem", ["rl1_random_layered_n100", "rl2_random_layered_n250"])
def test_random_layered_matches_the_published_graphs_of_its_parameters(stem):
    """Same n and width as a published RL file (read from its name): edges, sizes, durations and the
    no-remat peak of the given order agree with the file's on average over seeds."""
    published = load_graph(paper_graph_path(stem))
    params = dict(re.findall(r"_([a-z]+)([0-9.]+)", json.loads(paper_graph_path(stem).read_text())["graph"]["name"]))
    generated = [random_layered(int(params["n"]), width=float(params["w"]), seed=s) for s in range(8)]

    def mean(f):
        return statistics.mean(f(g) for g in generated)

    assert mean(lambda g: g.num_edges) == pytest.approx(published.num_edges, rel=0.15)
    assert mean(lambda g: statistics.mean(g.mem)) == pytest.approx(statistics.mean(published.mem), rel=0.15)
    upper_quartile = lambda g: statistics.quantiles(g.mem)[2]  # noqa: E731
    assert mean(upper_quartile) == pytest.approx(upper_quartile(published), rel=0.2)
    assert mean(lambda g: statistics.mean(g.cost)) == pytest.approx(statistics.mean(published.cost), rel=0.1)
    assert mean(no_remat_peak) == pytest.approx(no_remat_peak(published), rel=0.3)


def test_width_sets_the_number_of_levels():
    """L = ceil(sqrt(n (1/width - 1))) levels are expected: narrower graphs are deeper."""
    deep, shallow = (max(_levels(random_layered(400, width=w, order="levels", seed=3))) for w in (0.25, 0.5))
    assert deep > shallow
    assert random_layered(400, seed=3).name.startswith("random_layered_n400_w0.")


def test_order_is_random_topological_or_level_by_level():
    by_levels = random_layered(200, order="levels", seed=4)
    assert [int(i) for i in by_levels.ids[:-1]] == [0] + list(range(2, 200))
    shuffled = random_layered(200, seed=4)
    assert shuffled.edges != by_levels.edges or shuffled.ids != by_levels.ids
    assert sorted(shuffled.ids) == sorted(by_levels.ids) and shuffled.ids != by_levels.ids


def test_edge_density_makes_graphs_denser():
    sparse = random_layered(300, edge_density=0.1, seed=3)
    dense = random_layered(300, edge_density=0.6, seed=3)
    assert dense.num_edges > 1.5 * sparse.num_edges


@pytest.mark.parametrize("bad", [dict(n=3), dict(n=10, edge_density=1.5), dict(n=10, width=0), dict(n=10, width=1),
                                 dict(n=10, skip_density=-0.1), dict(n=10, skip_density=1),
                                 dict(n=10, level_variability=2), dict(n=10, order="dfs")])
def test_random_layered_rejects_bad_parameters_with_a_graph_error(bad):
    with pytest.raises(GraphError):
        random_layered(**bad)


@pytest.mark.parametrize("depth", [1, 2, 5, 12])
def test_linear_training_graph_shape(depth):
    g = linear(depth)
    assert g.n == 2 * depth + 1
    # every gradient reads its forward node and the next gradient (or the loss)
    for i in range(depth):
        grad = g.index[f"grad_f{i}"]
        ins = {g.ids[u] for u in g.preds[grad]}
        assert f"f{i}" in ins
        assert (f"grad_f{i + 1}" if i + 1 < depth else "loss") in ins
    assert no_remat_peak(g) >= (depth + 1) * 1024  # all activations live at the loss


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_unet_has_skip_connections_into_the_decoder(depth):
    g = unet(depth)
    assert g.n == 2 * (2 * depth + 1) + 1
    for i in range(depth):
        assert g.index[f"enc{i}"] in g.preds[g.index[f"dec{i}"]]


def test_training_graph_rejects_nothing_valid_and_keeps_order():
    g = training_graph("t", [("a", 1, 2, []), ("b", 3, 4, ["a"])])
    assert g.ids == ("a", "b", "loss", "grad_b", "grad_a")
    assert g.cost[g.index["grad_b"]] == 6


@pytest.mark.parametrize("spec, n", [("linear:depth=3", 7), ("unet:depth=2", 11), ("random_layered:n=40,seed=2", 40),
                                     ("random_layered:n=40,edge_density=0.5", 40)])
def test_from_spec_builds_the_named_generator(spec, n):
    assert from_spec(spec).n == n


@pytest.mark.parametrize("spec", ["nope:n=3", "linear:depth", "linear:depth=x", "linear:wings=3",
                                  "random_layered:n=3"])
def test_from_spec_bad_input_is_a_one_line_graph_error(spec):
    with pytest.raises(GraphError) as info:
        from_spec(spec)
    assert "\n" not in str(info.value)
