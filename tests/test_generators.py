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
from remat.generators import from_spec, linear, random_layered, training_graph, transformer, unet
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
                                     ("random_layered:n=40,edge_density=0.5", 40),
                                     ("transformer:layers=3,d=64,heads=4,seq=8,vocab=50", 3 * 71 + 31)])
def test_from_spec_builds_the_named_generator(spec, n):
    assert from_spec(spec).n == n


@pytest.mark.parametrize("spec", ["nope:n=3", "linear:depth", "linear:depth=x", "linear:wings=3",
                                  "random_layered:n=3", "transformer:d=100,heads=3", "transformer:layers=-1",
                                  "transformer:dtype_bytes=3", "transformer:dtype_bytes=2.0",
                                  "transformer:attention_flops=2"])
def test_from_spec_bad_input_is_a_one_line_graph_error(spec):
    with pytest.raises(GraphError) as info:
        from_spec(spec)
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ transformer
def test_transformer_has_71_nodes_and_114_edges_per_layer_and_the_issue_scale():
    small = [transformer(layers=k, d=64, heads=4, seq=8, vocab=50) for k in (1, 2, 5)]
    assert [g.n for g in small] == [71 * k + 31 for k in (1, 2, 5)]
    assert [g.num_edges for g in small] == [114 * k + 41 for k in (1, 2, 5)]
    half = [transformer(layers=k, d=64, heads=4, seq=8, vocab=50, dtype_bytes=2) for k in (1, 2, 5)]
    assert [(g.n, g.num_edges) for g in half] == [(81 * k + 36, 124 * k + 46) for k in (1, 2, 5)]
    big = from_spec("transformer:layers=160,d=1024,heads=16,seq=2048,batch=2,vocab=32000")
    # the issue's extraction of this decoder: 11,392 nodes and 18,280 edges
    assert big.n == pytest.approx(11392, rel=0.001) and big.num_edges == pytest.approx(18280, rel=0.001)


@settings(max_examples=15, deadline=None)
@given(layers=st.integers(0, 4), heads=st.sampled_from([1, 2, 4]), seq=st.integers(1, 16),
       batch=st.integers(1, 3), vocab=st.integers(1, 70), ff=st.integers(1, 80),
       dtype_bytes=st.sampled_from([2, 4]), attention_flops=st.integers(0, 1))
def test_transformer_is_a_valid_training_graph(layers, heads, seq, batch, vocab, ff, dtype_bytes, attention_flops):
    g = transformer(layers=layers, d=8 * heads, heads=heads, seq=seq, batch=batch, vocab=vocab, ff=ff,
                    dtype_bytes=dtype_bytes, attention_flops=attention_flops)
    assert len(g.index) == g.n == (71 * layers + 31 if dtype_bytes == 4 else 81 * layers + 36)  # ids unique
    assert [g.ids[v] for v in range(g.n) if not g.preds[v]] == ["embed"]
    sinks = {g.ids[v] for v in range(g.n) if not g.succs[v]}
    # what has no reader: the output and every weight gradient (handed over)
    assert sinks == {"output"} | {i for i in g.ids if "grad_w" in i}
    assert sum(1 for i in g.ids if "grad_w" in i) == 7 * layers + 3  # 7 weights a layer; embedding, final norm, head
    assert [g.ids[v] for v in range(g.n) if not g.recomputable[v]] == [
        i for i in g.ids if "grad_w" in i or ".sdpa." in i or i == "output"]
    assert all(c >= 0 for c in g.cost) and all(m >= 0 for m in g.mem)
    assert no_remat_peak(g) <= sum(g.mem)


def test_transformer_scales_sizes_with_the_dtype_and_costs_with_the_flops():
    fp32, bf16 = transformer(layers=2, dtype_bytes=4, seq=64), transformer(layers=2, dtype_bytes=2, seq=64)
    model = [i for i in fp32.ids if (".attn." in i or ".mlp." in i) and not i.endswith("sdpa.1")]
    assert model and all(fp32.mem[fp32.index[i]] == 2 * bf16.mem[bf16.index[i]] for i in model)
    fp32_inside = [i for i in fp32.ids if "norm." in i and not i.endswith(("out", "grad_in", "grad_acc", "grad_w"))]
    assert fp32_inside and all(fp32.mem[fp32.index[i]] == bf16.mem[bf16.index[i]] for i in fp32_inside)
    assert fp32.mem[fp32.index["L0.attn.sdpa.1"]] == bf16.mem[bf16.index["L0.attn.sdpa.1"]]  # the log-sum-exp
    flops_only = transformer(layers=2, seq=64, byte_weight=0)
    qkv = flops_only.index["L0.attn.qkv"]
    assert flops_only.cost[qkv] == 2 * (2 * 64) * 256 * 3 * 256  # 2 x tokens x d x 3d
    with_attn = transformer(layers=2, seq=64, byte_weight=0, attention_flops=1)
    sdpa = with_attn.index["L1.attn.sdpa.0"]
    assert flops_only.cost[sdpa] == 0 and with_attn.cost[sdpa] == 4 * 2 * 4 * 64 * 64 * 64


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_transformer_matches_the_torch_extraction_of_the_same_decoder(dtype):
    """A Llama-style decoder from torch.nn, extracted as `remat extract --consume-grads` does, and the
    generator's graph of the same shape: same node and edge counts, total size and no-remat peak (tolerance:
    none, they agree exactly), and node for node the same costs, sizes, inputs and recomputability."""
    torch = pytest.importorskip("torch")
    from remat.frontends.torch import trace

    nn, F = torch.nn, torch.nn.functional

    class Layer(nn.Module):
        def __init__(self, d, heads, ff):
            super().__init__()
            self.heads, self.attn_norm, self.mlp_norm = heads, nn.RMSNorm(d), nn.RMSNorm(d)
            self.qkv, self.out = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
            self.gate, self.up = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False)
            self.down = nn.Linear(ff, d, bias=False)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2)
                       for z in self.qkv(self.attn_norm(x)).split(d, dim=-1))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
            h = self.mlp_norm(x)
            return x + self.down(F.silu(self.gate(h)) * self.up(h))

    class Decoder(nn.Module):
        def __init__(self, layers, d, heads, ff, vocab):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.layers = nn.ModuleList(Layer(d, heads, ff) for _ in range(layers))
            self.norm, self.head = nn.RMSNorm(d), nn.Linear(d, vocab, bias=False)

        def forward(self, tokens):
            x = self.embed(tokens)
            for layer in self.layers:
                x = layer(x)
            return self.head(self.norm(x))

    shape = dict(layers=3, d=48, heads=6, ff=128, vocab=50, batch=3, seq=8)
    torch.manual_seed(0)
    model = Decoder(shape["layers"], shape["d"], shape["heads"], shape["ff"], shape["vocab"]).to(getattr(torch, dtype))
    tokens = torch.randint(0, shape["vocab"], (shape["batch"], shape["seq"]))
    targets = torch.randint(0, shape["vocab"], (shape["batch"], shape["seq"]))
    extracted = trace(model, tokens, targets=(targets,), consume_grads=True,
                      loss_fn=lambda out, y: F.cross_entropy(out.view(-1, shape["vocab"]), y.view(-1))).graph
    generated = transformer(**shape, dtype_bytes=4 if dtype == "float32" else 2)
    assert (generated.n, generated.num_edges) == (extracted.n, extracted.num_edges)
    assert sum(generated.mem) == sum(extracted.mem)
    assert no_remat_peak(generated) == no_remat_peak(extracted)
    assert generated.total_cost == extracted.total_cost
    assert generated.cost == extracted.cost and generated.mem == extracted.mem
    assert generated.preds == extracted.preds and generated.recomputable == extracted.recomputable


def test_the_scale_grid_has_the_sizes_it_promises():
    """benchmarks/grids/scale.toml: transformers of about 1k, 10k, 30k and 100k nodes, random layered graphs of
    5k and 20k, at 90, 70 and 50% (issue 19)."""
    from pathlib import Path

    from remat.bench.spec import load_grid

    grid = load_grid(Path(__file__).resolve().parents[1] / "benchmarks" / "grids" / "scale.toml")
    assert grid.budgets == ("90%", "70%", "50%")
    sizes = [from_spec(spec).n for spec in grid.graphs if spec.startswith("transformer:")]
    assert [round(n, -3) for n in sizes] == [1000, 10000, 30000, 100000]
    assert [spec for spec in grid.graphs if spec.startswith("random_layered:")] == [
        "random_layered:n=5000,seed=0", "random_layered:n=20000,seed=0"]
