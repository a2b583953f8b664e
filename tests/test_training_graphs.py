"""The op-level training graph set of benchmarks/graphs/training and its grid (issue 19).

The committed graphs are `remat extract` outputs of benchmarks/training_models.py;
extracting the smallest again (with torch) must give the same graph, so that
the committed files cannot drift silently from the models and the extractor.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from remat.bench.spec import load_grid
from remat.generators import from_spec
from remat.graph import load_graph, no_remat_peak

ROOT = Path(__file__).resolve().parents[1]
GRAPHS = ROOT / "benchmarks" / "graphs" / "training"
GRID = ROOT / "benchmarks" / "grids" / "training.toml"


def _script():
    path = ROOT / "benchmarks" / "extract_training_graphs.py"
    spec = importlib.util.spec_from_file_location("_extract_training_graphs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _summary(g):
    return {"n": g.n, "edges": g.num_edges, "total_mem": sum(g.mem), "total_cost": g.total_cost,
            "peak": no_remat_peak(g), "non_recomputable": sum(not r for r in g.recomputable)}


def test_the_committed_graphs_are_the_scripts_models():
    """One file per model of the extraction script, each a valid graph of 200 to 1,000 nodes named after it."""
    names = set(_script().MODELS)
    assert {p.stem for p in GRAPHS.glob("*.json")} == names
    for name in names:
        g = load_graph(GRAPHS / f"{name}.json")
        assert g.name == name
        assert 200 <= g.n <= 1000, (name, g.n)


@pytest.mark.parametrize(("prefix", "operators"), [
    ("resnet", ["convolution.", "_native_batch_norm_legit", "relu.", "max_pool2d", "convolution_backward."]),
    ("bert", ["embedding.", "native_layer_norm.", "gelu.", "native_dropout.", "_scaled_dot_product", "tanh."]),
    ("gpt2", ["embedding.", "native_layer_norm.", "gelu.", "_scaled_dot_product", "_log_softmax."]),
])
def test_each_family_has_its_operators(prefix, operators):
    """The graphs are what their names say: ResNets have convolutions, batch norm, ReLU; BERT layer norm,
    GELU, dropout and attention; GPT-2 layer norm, GELU, attention and the LM head's log-softmax.
    ResNet-56's CIFAR stem has no max pooling, so that operator is looked for in ResNet-18 only."""
    files = sorted(GRAPHS.glob(f"{prefix}*.json"))
    assert len(files) == 2
    for path in files:
        labels = " ".join(load_graph(path).labels)
        for op in operators:
            if op == "max_pool2d" and path.stem == "resnet56":
                continue
            assert f"aten.{op}" in labels, (path.stem, op)
        if prefix == "gpt2":  # no dropout: GPT-2 as usually fine-tuned
            assert "aten.native_dropout." not in labels


def test_the_grid_runs_the_set_at_80_and_50_percent_for_60_s():
    """Eight graphs of 200 to 1,000 nodes (the six files and two Llama-style generator specs), a small and a
    large one per family; the default solve beside greedy eviction; paths resolve from any folder."""
    grid = load_grid(GRID)
    assert grid.budgets == ("80%", "50%")
    assert grid.time_limits == (60.0,) and grid.threads == 2
    assert grid.formulations[0] == "moccasin" and "greedy-eviction" in grid.formulations
    assert not grid.options and not grid.backend_options and not grid.variants  # the default solve
    files = [Path(g) for g in grid.graphs if g.endswith(".json")]
    assert sorted(p.resolve() for p in files) == sorted(GRAPHS.glob("*.json"))
    specs = [g for g in grid.graphs if g.startswith("transformer:")]
    assert len(specs) == 2 and len(files) + len(specs) == len(grid.graphs)
    sizes = sorted(from_spec(s).n for s in specs)
    assert 200 <= sizes[0] <= 300 and 800 <= sizes[1] <= 1000


def test_extracting_the_smallest_model_again_gives_the_committed_graph(tmp_path):
    """`remat extract` of bert_mini now: the same node and edge counts, total size and cost, no-remat peak and
    recomputability as the committed file (FLOP+byte costs are deterministic: tolerance none)."""
    pytest.importorskip("torch")
    script = _script()
    committed = load_graph(GRAPHS / "bert_mini.json")
    fresh = load_graph(script.extract("bert_mini", tmp_path))
    assert _summary(fresh) == _summary(committed)
    assert fresh.ids == committed.ids and fresh.preds == committed.preds
