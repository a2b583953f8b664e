"""The torch.compile backend: training through remat's schedule equals eager training, or it refuses.

References are eager PyTorch (the same model trained without compile, same
seeds) and the independent verifier; never the backend itself.
"""

from __future__ import annotations

import copy
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import remat  # noqa: E402
from remat.frontends import FrontendError  # noqa: E402
from remat.frontends import torch as remat_torch  # noqa: E402
from remat.frontends.torch import backend  # noqa: E402
from remat.frontends.torch_compile import RematFallbackWarning  # noqa: E402


# ------------------------------------------------------------------ models
class CNN(nn.Module):
    """A stem and a residual block with batch norm (train mode: running statistics update)."""

    def __init__(self, c: int = 6) -> None:
        super().__init__()
        self.stem, self.bn0 = nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, 5)

    def forward(self, x):
        h = F.relu(self.bn0(self.stem(x)))
        h = F.relu(h + self.bn1(self.conv1(h)))
        return self.fc(h.mean((2, 3)))


class Decoder(nn.Module):
    """Token embedding, one pre-norm causal attention block with dropout, an MLP, a head."""

    def __init__(self, vocab: int = 16, d: int = 16, p: float = 0.3) -> None:
        super().__init__()
        self.emb, self.ln1, self.ln2 = nn.Embedding(vocab, d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2, self.head = nn.Linear(d, 4 * d), nn.Linear(4 * d, d), nn.Linear(d, vocab)
        self.drop = nn.Dropout(p)

    def forward(self, tok):
        h = self.emb(tok)
        q, k, v = self.qkv(self.ln1(h)).chunk(3, dim=-1)
        att = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
        mask = torch.ones(tok.shape[1], tok.shape[1], dtype=torch.bool).tril()
        att = self.drop(att.masked_fill(~mask, float("-inf")).softmax(-1))
        h = h + self.drop(self.proj(att @ v))
        h = h + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(h)))))
        return self.head(h)


def _cnn_batch(step: int):
    g = torch.Generator().manual_seed(step)
    return torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 5, (4,), generator=g)


def _dec_batch(step: int):
    g = torch.Generator().manual_seed(step)
    tok = torch.randint(0, 16, (2, 8), generator=g)
    return tok, torch.randint(0, 16, (2, 8), generator=g)


def _loss(model, x, y):
    out = model(x)
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def _train_and_compare(make, batch, b, steps: int = 3, dynamic: bool = False):
    """Train a model compiled with ``b`` and an eager copy side by side; compare after each step."""
    torch.manual_seed(0)
    eager = make().train()
    compiled_model = copy.deepcopy(eager)
    compiled = torch.compile(compiled_model, backend=b, dynamic=dynamic)
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, compiled_model)]
    for step in range(steps):
        x, y = batch(step)
        losses = []
        for m, opt in zip((eager, compiled), opts):
            torch.manual_seed(100 + step)  # the same dropout masks, if drawn in the same order
            loss = _loss(m, x, y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.detach())
        torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
        for (name, p), q in zip(eager.named_parameters(), compiled_model.parameters()):
            torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6, msg=f"parameter {name} after step {step}")
        for (name, p), q in zip(eager.named_buffers(), compiled_model.buffers()):
            torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6, msg=f"buffer {name} after step {step}")


def _solved(b):
    recs = [r for r in b.records if r.source in ("solve", "cache")]
    assert recs, [r.reason for r in b.records]
    for r in recs:  # the verifier, not the backend, says the schedule fits
        rep = remat.verify(r.graph, r.schedule, r.budget)
        assert rep.valid and rep.peak_memory <= r.budget
    return recs


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("REMAT_CACHE_DIR", str(tmp_path / "cache"))
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


# ------------------------------------------------------------------ correctness
def test_cnn_with_batch_norm_trains_like_eager_and_recomputes():
    """At 70% the schedule recomputes batch norm in the backward, reading running statistics that the
    forward has updated (they do not enter its normalized output): parameters and buffers still match."""
    b = backend(budget=0.7, time_limit=10)
    _train_and_compare(CNN, _cnn_batch, b)
    recs = _solved(b)
    assert len(recs) == 1  # one graph, compiled once, reused for 3 steps
    assert recs[0].recompute_cost > 0  # the budget made it recompute: the test exercises remat
    assert recs[0].predicted_peak < recs[0].no_remat_peak
    g, computes = recs[0].graph, recs[0].schedule.computes
    assert any(computes.count(i) > 1 for i in g.ids if "batch_norm" in str(g.labels[g.index[i]]))


def test_decoder_with_dropout_trains_like_eager():
    b = backend(budget=0.8, time_limit=10)
    _train_and_compare(Decoder, _dec_batch, b)
    recs = _solved(b)
    assert any(r.recompute_cost > 0 for r in recs)


def test_dropout_is_never_recomputed(monkeypatch):
    """Random operators are not recomputable; were they (patched here), the masks would differ from eager."""
    b = backend(budget=0.8, time_limit=10)
    _train_and_compare(Decoder, _dec_batch, b, steps=1)
    g = _solved(b)[0].graph
    random = [i for i, lab in zip(g.ids, g.labels) if "dropout" in str(lab) and "backward" not in str(lab)]
    assert random and all(not g.recomputable[g.index[i]] for i in random)
    computes = _solved(b)[0].schedule.computes
    assert all(computes.count(i) == 1 for i in random)


def test_recomputing_dropout_would_be_caught(monkeypatch):
    """The comparison above can fail: with random operators marked recomputable, a solve that recomputes
    a dropout draws a fresh mask, and training no longer equals eager."""
    monkeypatch.setattr(remat_torch, "_is_random", lambda target: False)
    b = backend(budget=0.8, time_limit=10)
    with pytest.raises(AssertionError):
        _train_and_compare(Decoder, _dec_batch, b, steps=1)
    rec = _solved(b)[0]
    assert any(rec.schedule.computes.count(i) > 1 for i, lab in zip(rec.graph.ids, rec.graph.labels)
               if "native_dropout" in str(lab) and "backward" not in str(lab))


# ------------------------------------------------------------------ fallback
def test_no_schedule_within_the_budget_falls_back_with_one_warning():
    b = backend(budget=1, time_limit=5)  # one byte: nothing fits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _train_and_compare(CNN, _cnn_batch, b, steps=2)
    ours = [w for w in caught if issubclass(w.category, RematFallbackWarning)]
    assert len(ours) == 1 and "no schedule within 1 bytes" in str(ours[0].message)
    assert [r.source for r in b.records] == ["fallback"]


def test_symbolic_shapes_fall_back_with_one_warning():
    b = backend(budget=0.8, time_limit=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _train_and_compare(CNN, _cnn_batch, b, steps=1, dynamic=True)
    ours = [w for w in caught if issubclass(w.category, RematFallbackWarning)]
    assert len(ours) == 1 and "symbolic shapes" in str(ours[0].message)


def test_aliased_forward_outputs_fall_back():
    class Alias(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            h = self.lin(x)
            return h, h.view(-1)

    b = backend(budget=0.9, time_limit=5)
    m = torch.compile(Alias(), backend=b, dynamic=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a, v = m(torch.randn(3, 4))
        (a.sum() + v.sum()).backward()
    ours = [w for w in caught if issubclass(w.category, RematFallbackWarning)]
    assert [r.source for r in b.records] == ["fallback"] and "share storage" in b.records[0].reason
    assert len(ours) == 1 and "aliasing" in str(ours[0].message)
    torch.testing.assert_close(v, a.reshape(-1))  # PyTorch's partition still computes it


def test_bad_options_are_one_line_errors():
    with pytest.raises(FrontendError, match="fraction"):
        backend(budget=1.5)
    with pytest.raises(FrontendError, match="inner compiler"):
        backend(inner="tvm")


# ------------------------------------------------------------------ cache
def test_second_compile_hits_the_cache_without_solving(monkeypatch):
    b1 = backend(budget=0.75, time_limit=10)
    _train_and_compare(CNN, _cnn_batch, b1, steps=1)
    assert [r.source for r in b1.records] == ["solve"]
    torch._dynamo.reset()

    def no_solve(*a, **k):
        raise AssertionError("solved again")

    monkeypatch.setattr(remat, "solve", no_solve)
    b2 = backend(budget=0.75, time_limit=10)
    _train_and_compare(CNN, _cnn_batch, b2, steps=2)
    assert [r.source for r in b2.records] == ["cache"]
    assert b2.records[0].key == b1.records[0].key
    assert b2.records[0].schedule.computes == b1.records[0].schedule.computes

    torch._dynamo.reset()  # another budget is another key: it solves (and the patched solve says so)
    b3 = backend(budget=0.7, time_limit=10)
    with pytest.warns(RematFallbackWarning, match="solved again"):
        _train_and_compare(CNN, _cnn_batch, b3, steps=1)
    assert b3.records[0].key != b1.records[0].key


def test_each_graph_of_a_graph_break_is_solved_on_its_own():
    class Broken(CNN):
        def forward(self, x):
            h = F.relu(self.bn0(self.stem(x)))
            torch._dynamo.graph_break()
            h = F.relu(h + self.bn1(self.conv1(h)))
            return self.fc(h.mean((2, 3)))

    b = backend(budget=1.0, time_limit=10)  # the small first graph has no slack for recomputation
    _train_and_compare(Broken, _cnn_batch, b, steps=2)
    assert len(_solved(b)) >= 2 and len({r.key for r in b.records}) == len(b.records)


def test_new_shapes_solve_the_new_graph():
    b = backend(budget=0.9, time_limit=10)
    torch.manual_seed(0)
    m = torch.compile(CNN().train(), backend=b, dynamic=False)
    for shape in ((4, 3, 8, 8), (2, 3, 6, 6)):
        m(torch.randn(*shape)).sum().backward()
    recs = _solved(b)
    assert [r.source for r in recs] == ["solve", "solve"] and recs[0].key != recs[1].key


# ------------------------------------------------------------------ PyTorch's slot
def _pytorch_partitioner():
    from torch._dynamo.backends.common import aot_autograd
    from torch._functorch.partitioners import min_cut_rematerialization_partition
    from torch._inductor.decomposition import select_decomp_table

    from remat.frontends.torch_compile import _boxed_eager

    return aot_autograd(fw_compiler=_boxed_eager, bw_compiler=_boxed_eager, decompositions=select_decomp_table(),
                        partition_fn=min_cut_rematerialization_partition)


def test_knapsack_in_pytorchs_slot_decides_within_pytorchs_limit():
    import torch._functorch.config as fc
    from torch._functorch._activation_checkpointing import knapsack

    from remat.frontends.torch_knapsack import RematKnapsack

    solver = RematKnapsack(time_limit=6)
    with fc.patch(activation_memory_budget=0.3, activation_memory_budget_solver=solver):
        _train_and_compare(CNN, _cnn_batch, _pytorch_partitioner(), steps=3)
    assert solver.decisions and all("fallback" not in d for d in solver.decisions)
    for d in solver.decisions:  # a partition of the candidates, within PyTorch's limit
        assert sorted(d["saved"] + d["recomputed"]) == list(range(len(d["memory"])))
        assert sum(d["memory"][i] for i in d["saved"]) <= d["max_memory"] + 1e-9
    assert any(d["recomputed"] for d in solver.decisions)
    assert knapsack.dp_knapsack is not None  # PyTorch's own solver stays importable beside ours


def test_one_log_line_per_graph():
    import logging

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger, handler = logging.getLogger("remat.torch_compile"), Keep(level=logging.INFO)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        b = backend(budget=0.9, time_limit=10)
        _train_and_compare(Decoder, _dec_batch, b, steps=1)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    rec = b.records[0]
    assert len(lines) == 1 and f"budget {rec.budget} of no-remat peak {rec.no_remat_peak} bytes" in lines[0]
    assert f"predicted peak {rec.predicted_peak}" in lines[0] and "solve (optimal" in lines[0]
