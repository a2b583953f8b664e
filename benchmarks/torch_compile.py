"""remat's torch.compile backend against PyTorch's activation memory budget, in one training step.

For three models built here from torch.nn (a ResNet-style CNN with batch
norm, a GPT-2-shaped decoder, a Llama-shaped decoder; each wrapped with its
cross-entropy loss, so forward, loss and backward are one Dynamo graph), runs
one training step (forward, loss, backward) with:

* ``eager``: no compile;
* ``pytorch dp|ilp|remat-knapsack @ b``: PyTorch's min-cut partitioner with
  ``activation_memory_budget = b`` (0.3, 0.5, 0.7) and its knapsack solver
  ``dp``, ``ilp`` or ours (:class:`remat.frontends.torch_knapsack.RematKnapsack`)
  in its slot; AOTAutograd with Inductor's decompositions, as under
  ``torch.compile``, and the same eager inner compiler as remat's backend;
* ``remat @ P``: remat's backend at each distinct peak P that PyTorch's runs
  reached (the budget in bytes is P minus what the step holds outside the
  graph's model, calibrated by a run at 100%).

Columns: the measured peak of the CPU allocator during the step (the
profiler's allocation events: activations, gradients and kernel scratch;
parameters, buffers and inputs are allocated before), FLOPs recomputed =
FLOPs of the compiled forward and backward modules - eager's step (both by
``torch.utils.flop_counter``'s formulas: matrix products and convolutions), the median CPU time
of the step on one thread relative to eager's (alternating runs in this
process), and whether loss and gradients equal eager's.

    python benchmarks/torch_compile.py                       # all three models, a few minutes on 2 cores
    python benchmarks/torch_compile.py --models cnn --time-limit 10

The table of the last run is in docs/torch.md.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch._functorch.config as fc
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from remat.frontends.torch_compile import _boxed_eager, backend  # noqa: E402
from remat.frontends.torch_knapsack import RematKnapsack  # noqa: E402
from remat.frontends import torch_compile  # noqa: E402
from remat.frontends.torch import _flops  # noqa: E402
from remat.frontends.torch_memory import _profiler_peak  # noqa: E402

PT_BUDGETS = (0.3, 0.5, 0.7)


# ------------------------------------------------------------------ models
class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class ResNet(nn.Module):
    """Stem (conv, BN, ReLU), ``blocks`` basic residual blocks, global average pool, linear head."""

    def __init__(self, c: int = 16, blocks: int = 3, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.Sequential(*[ResBlock(c) for _ in range(blocks)])
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class GPT2Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    """GPT-2's shape: token + learned position embeddings, pre-LayerNorm blocks, GELU MLP 4x, tied head."""

    def __init__(self, vocab: int = 256, d: int = 64, heads: int = 4, layers: int = 2, seq: int = 64) -> None:
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq, d)
        self.blocks = nn.Sequential(*[GPT2Block(d, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)

    def forward(self, idx):
        h = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        return self.ln(self.blocks(h)) @ self.tok.weight.t()


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.w, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope(x, cos, sin):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class LlamaBlock(nn.Module):
    def __init__(self, d: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, hidden, bias=False), nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = self.n1(x)
        q, k, v = (f(h).view(b, t, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, d))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    """Llama's shape: RMSNorm, rotary position embeddings, SwiGLU MLP, no biases, untied head."""

    def __init__(self, vocab: int = 256, d: int = 64, heads: int = 4, layers: int = 2, hidden: int = 172) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList([LlamaBlock(d, heads, hidden) for _ in range(layers)])
        self.norm, self.head = RMSNorm(d), nn.Linear(d, vocab, bias=False)
        self.hd = d // heads

    def forward(self, idx):
        t = idx.shape[1]
        freqs = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(t).float(), freqs)
        cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
        h = self.emb(idx)
        for blk in self.blocks:
            h = blk(h, cos, sin)
        return self.head(self.norm(h))


class WithLoss(nn.Module):
    """The model and its cross-entropy loss: forward, loss and backward are one graph."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x, y):
        out = self.model(x)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def models():
    """name -> (model factory, batch factory)."""
    g = torch.Generator().manual_seed(0)
    return {
        "ResNet (3 blocks, BN, 8x3x32x32)": (
            lambda: ResNet(), lambda: (torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g))),
        "GPT-2-shaped (2 layers, d=64, 4x64 tokens)": (
            lambda: GPT2(), lambda: (torch.randint(0, 256, (4, 64), generator=g),
                                     torch.randint(0, 256, (4, 64), generator=g))),
        "Llama-shaped (2 layers, d=64, 4x64 tokens)": (
            lambda: Llama(), lambda: (torch.randint(0, 256, (4, 64), generator=g),
                                      torch.randint(0, 256, (4, 64), generator=g))),
    }


# ------------------------------------------------------------------ measuring one step
GRAPHS: list = []  # the forward and backward modules compiled for the current configuration


def _capture(gm, example_inputs):
    GRAPHS.append(gm)
    return _boxed_eager(gm, example_inputs)


_inner = torch_compile._inner_compilers
# remat's backend records its modules too; Inductor compiles its own
torch_compile._inner_compilers = lambda inner: (_capture, _capture) if inner == "eager" else _inner(inner)


def pytorch_backend():
    from torch._dynamo.backends.common import aot_autograd
    from torch._functorch.partitioners import min_cut_rematerialization_partition
    from torch._inductor.decomposition import select_decomp_table

    return aot_autograd(fw_compiler=_capture, bw_compiler=_capture, decompositions=select_decomp_table(),
                        partition_fn=min_cut_rematerialization_partition)


def step(m, batch):
    loss = m(*batch)
    loss.backward()
    return loss.detach()


def measure(module, compiled, batch):
    """(allocator peak bytes, loss, grads) of one step, on CPU from the profiler's allocation events.

    A ``TorchDispatchMode`` cannot watch a compiled step (Dynamo runs the
    eager code under one), so the peak is the allocator's: the peak of the
    running sum of its allocations during the step, which also holds the
    scratch space kernels take and give back inside one operator.
    """
    from torch.profiler import ProfilerActivity, profile

    module.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        loss = step(compiled, batch)
    grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad(set_to_none=True)
    return _profiler_peak(prof), loss, grads


def graph_flops(graphs):
    """FLOPs of the matrix products and convolutions in the forward and backward modules that run."""
    return sum(_flops(n) for gm in graphs for n in gm.graph.nodes if n.op == "call_function")


def eager_flops(module, batch):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fm:
        step(module, batch)
    module.zero_grad(set_to_none=True)
    return fm.get_total_flops()


def cpu_time(compiled, module, batch, repeats):
    samples = []
    for _ in range(repeats):
        module.zero_grad(set_to_none=True)
        t = time.process_time()
        step(compiled, batch)
        samples.append(time.process_time() - t)
    return samples


def run(name, make, make_batch, kind, cfg, state, args):
    """One configuration, or {"error": ...} when it fails."""
    try:
        return _run(name, make, make_batch, kind, cfg, state, args)
    except Exception as exc:  # a configuration that fails is a row of the table, not the end of the run
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"... {name}: {kind} {cfg} failed: {type(exc).__name__}: {first}", file=sys.stderr, flush=True)
        return {"error": f"{type(exc).__name__}: {first[:80]}"}
    finally:
        fc.activation_memory_budget, fc.activation_memory_budget_solver = 1.0, "dp"


def _run(name, make, make_batch, kind, cfg, state, args):
    """One configuration: compile (outside the measurement), then measure one step."""
    torch._dynamo.reset()
    GRAPHS.clear()
    torch.manual_seed(0)
    module = WithLoss(make()).train()
    module.load_state_dict(state)
    batch = make_batch.batch
    extra = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "eager":
            compiled = module
        elif kind == "pytorch":
            solver, b = cfg
            slot = RematKnapsack(time_limit=args.time_limit, threads=args.threads) if solver == "remat-knapsack" \
                else solver
            patch = fc.patch(activation_memory_budget=b, activation_memory_budget_solver=slot)
            patch.__enter__()
            extra["patch"] = patch
            compiled = torch.compile(module, backend=pytorch_backend(), dynamic=False)
        else:
            inner = "inductor" if kind == "remat-inductor" else "eager"
            b = backend(budget=cfg, time_limit=args.time_limit, threads=args.threads, inner=inner,
                        decompose=kind != "remat" or args.decompose)
            extra["backend"] = b
            compiled = torch.compile(module, backend=b, dynamic=False)
        t0 = time.perf_counter()
        step(compiled, batch)  # compiles
        compile_s = time.perf_counter() - t0
        peak, loss, grads = measure(module, compiled, batch)
        flops = graph_flops(GRAPHS) if kind != "eager" else eager_flops(module, batch)
        if kind == "pytorch":
            extra["patch"].__exit__(None, None, None)
    fallbacks = [str(w.message) for w in caught if "remat" in str(w.message)]
    return {"module": module, "compiled": compiled, "peak": peak, "flops": flops, "loss": loss, "grads": grads,
            "compile_s": compile_s, "fallbacks": fallbacks, **extra}


def inductor_table(args, chosen):
    """The same schedule (of the decomposed joint graph) run by eager fx modules and compiled by Inductor."""
    print("| model | budget | inner | status | predicted peak | allocator peak | CPU time / eager-inner | compile s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (make, make_batch) in chosen:
        torch.manual_seed(0)
        state = WithLoss(make()).state_dict()
        make_batch.batch = make_batch()
        for frac in (1.0, 0.8):
            res = {k: run(name, make, make_batch, k, frac, state, args) for k in ("remat-decomp", "remat-inductor")}
            ok = {k: r for k, r in res.items() if "error" not in r}
            times = {k: [] for k in ok}
            for _ in range(args.repeats):
                for k, r in ok.items():
                    times[k] += cpu_time(r["compiled"], r["module"], make_batch.batch, 1)
            for k, r in res.items():
                if "error" in r:
                    print(f"| {name} | {frac:.0%} | {k} | failed: {r['error']} | | | | |", flush=True)
                    continue
                rec = r["backend"].records[0]
                base = statistics.median(times["remat-decomp"]) if "remat-decomp" in times else float("nan")
                print(f"| {name} | {frac:.0%} | {'inductor' if k == 'remat-inductor' else 'eager'} | "
                      f"{rec.status}{': ' + rec.reason if rec.reason else ''} | {rec.predicted_peak or 0:,} | "
                      f"{r['peak']:,} | {statistics.median(times[k]) / base:.2f}x | {r['compile_s']:.0f} |",
                      flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet,gpt2,llama", help="comma-separated: resnet, gpt2, llama")
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per remat solve")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="timed steps per configuration")
    ap.add_argument("--decompose", action="store_true",
                    help="remat's backend solves the graph after Inductor's decompositions, as PyTorch's runs do")
    ap.add_argument("--inductor", action="store_true",
                    help="instead: remat's schedules of the decomposed graph run eagerly and compiled by Inductor")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch._dynamo.config.recompile_limit = 10_000  # every configuration compiles the same forward anew
    os.environ.setdefault("REMAT_CACHE_DIR", tempfile.mkdtemp(prefix="remat-bench-cache-"))
    keys = {"resnet": 0, "gpt2": 1, "llama": 2}
    all_models = list(models().items())
    if args.inductor:
        return inductor_table(args, [all_models[keys[k]] for k in args.models.split(",")])
    print("| model | run | budget | allocator peak (bytes) | FLOPs recomputed | CPU time / eager | equal eager |")
    print("|---|---|---|---|---|---|---|")
    for key in args.models.split(","):
        name, (make, make_batch) = all_models[keys[key]]
        torch.manual_seed(0)
        state = WithLoss(make()).state_dict()
        make_batch.batch = make_batch()
        runs = [("eager", None, "-")]
        runs += [("pytorch", (s, b), f"{b}") for s in ("dp", "ilp", "remat-knapsack") for b in PT_BUDGETS]
        runs.append(("remat", 1.0, "100%"))
        results = {}
        for kind, cfg, _ in runs:
            print(f"... {name}: {kind} {cfg}", file=sys.stderr, flush=True)
            results[(kind, cfg)] = run(name, make, make_batch, kind, cfg, state, args)
        # remat at 100%: what the step holds beyond the graph's model, scratch included (calibrates budgets)
        full = results[("remat", 1.0)]
        offset = full["peak"] - full["backend"].records[0].predicted_peak
        reached = sorted({r["peak"] for (k, _), r in results.items() if k == "pytorch" and "error" not in r},
                         reverse=True)
        for p in reached:
            bud = p - offset
            for _ in range(3):  # scratch differs between schedules: lower the budget by any excess, twice at most
                if bud <= 0:
                    break
                print(f"... {name}: remat at {p} (budget {bud})", file=sys.stderr, flush=True)
                r = run(name, make, make_batch, "remat", int(bud), state, args)
                if "error" in r or r["peak"] <= p or r["backend"].records[0].source == "fallback":
                    break
                bud -= r["peak"] - p
            results[("remat", p)] = r
            runs.append(("remat", p, f"{p:,} B reached (budget {int(bud):,})"))
        eager = results[("eager", None)]
        ok = {k: r for k, r in results.items() if "error" not in r}
        times = {k: [] for k in ok}
        for _ in range(args.repeats):  # alternate configurations so that load drifts hit all alike
            for k, r in ok.items():
                times[k] += cpu_time(r["compiled"], r["module"], make_batch.batch, 1)
        t_eager = statistics.median(times[("eager", None)])
        for kind, cfg, label in runs:
            r = results[(kind, cfg)]
            run_name = "eager" if kind == "eager" else (f"pytorch {cfg[0]}" if kind == "pytorch" else "remat backend")
            if "error" in r:
                print(f"| {name} | {run_name} | {label} | failed: {r['error']} | | | |", flush=True)
                continue
            same = torch.allclose(r["loss"], eager["loss"], rtol=1e-5, atol=1e-6) and all(
                torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(r["grads"], eager["grads"]))
            note = ""
            if kind == "remat":
                rec = r["backend"].records[0]
                note = f" ({rec.status}{': ' + rec.reason if rec.reason else ''})"
            ratio = statistics.median(times[(kind, cfg)]) / t_eager
            print(f"| {name} | {run_name}{note} | {label} | {r['peak']:,} | {r['flops'] - eager['flops']:,} | "
                  f"{ratio:.2f}x | {'yes' if same else 'NO'} |", flush=True)
        for s in ("dp", "ilp", "remat-knapsack"):
            peaks = [results[("pytorch", (s, b))].get("peak") for b in PT_BUDGETS]
            mono = None not in peaks and all(a <= b for a, b in zip(peaks, peaks[1:]))
            print(f"<!-- {name}: pytorch {s} peaks at budgets {PT_BUDGETS}: {peaks}; "
                  f"{'non-decreasing' if mono else 'NOT monotone'} in the budget -->", flush=True)
        mine = [(p, results[("remat", p)].get("peak")) for p in reached if ("remat", p) in results]
        mono = all(b is not None and a is not None and b <= a for (_, a), (_, b) in zip(mine, mine[1:]))
        print(f"<!-- {name}: remat backend peaks at PyTorch's reached peaks {mine}; "
              f"{'non-increasing as the budget falls' if mono else 'NOT monotone'} -->", flush=True)


if __name__ == "__main__":
    main()
