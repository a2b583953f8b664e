"""PyTorch loop, end to end: extract -> solve at 100/80/60% -> execute -> measure memory and time.

For the three test models (tests/test_torch_frontend.py) and a GPT-2-small-
shaped block stack (12 blocks, d=768, 12 heads, MLP 4x, batch 2 x 128 tokens;
traced under FakeTensorMode, executed with real weights), prints one markdown row per
budget: nodes, edges, extraction time, the verifier's predicted peak of the
executed schedule, the measured live-storage peak, the allocator's peak, the
solver's TDI, and the measured slowdown: median CPU time (one thread) of the
rematerialized module / that of the no-remat module, both run here,
alternating, in this process.

    python benchmarks/torch_models.py --time-limit 120 --repeats 5   # all four (about 8 minutes)
    python benchmarks/torch_models.py --models cnn --fracs 0.6 --max-copies 3

The figures of the last run, with their discussion, are in docs/torch.md.

Peaks are bytes of activations and gradients, not counting pinned memory
(parameters, inputs: the `pinned` column). The GPT-2 stack hands gradients
over as soon as they are computed (``consume_grads``): kept to the end they
are as large as the parameters and no budget below 100% would be feasible.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import remat  # noqa: E402
from remat.frontends.torch import measure_memory, rematerialize, time_module, trace  # noqa: E402
from remat.schedule import no_remat_schedule  # noqa: E402
from tests.test_torch_frontend import MLP, Block, GPT2Stack, SmallCNN  # noqa: E402


def square_mean(out):
    return out.square().mean()


def models(layers: int, batch: int, seq: int, dropout: float):
    """name -> (factory, inputs factory, targets factory, loss_fn, trace options)."""
    return {
        "mlp": (MLP, lambda: torch.randn(512, 32), lambda: (torch.randint(0, 10, (512,)),), F.cross_entropy, {}),
        "cnn": (SmallCNN, lambda: torch.randn(8, 3, 32, 32), lambda: (torch.randint(0, 10, (8,)),),
                F.cross_entropy, {}),
        "block": (Block, lambda: torch.randn(8, 32, 32), lambda: (torch.randn(8, 32, 32),), F.mse_loss, {}),
        "gpt2": (lambda: GPT2Stack(layers, p=dropout), lambda: torch.randn(batch, seq, 768), lambda: (), square_mean,
                 {"consume_grads": True, "fake": True}),
    }


def run_model(name, spec, fracs, time_limit, threads, repeats, max_copies):
    factory, make_x, make_y, loss_fn, opts = spec
    opts = dict(opts)
    fake = opts.pop("fake", False)
    torch.manual_seed(0)
    if fake:
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode():
            t = trace(factory(), make_x(), targets=make_y(), loss_fn=loss_fn, **opts)
        torch.manual_seed(0)
    model = factory().train()
    x, ys = make_x(), make_y()
    if not fake:
        t = trace(model, x, targets=ys, loss_fn=loss_fn, **opts)
    g = t.graph
    args = t.args(model, x, targets=ys)
    sink = {"on_grad": lambda k, grad: None} if t.consume_grads else {}
    base = rematerialize(t, no_remat_schedule(g), **sink)
    peak = remat.no_remat_peak(g)
    pinned = sum(t.pinned.values())
    rows = []
    for frac in fracs:
        budget = int(frac * peak)
        t0 = time.perf_counter()
        r = remat.solve(g, budget, time_limit=time_limit, threads=threads, max_copies=max_copies)
        solve_s = time.perf_counter() - t0
        if r.schedule is None:
            rows.append(f"| {name} | {g.n} | {g.num_edges} | {t.extraction_time:.2f} | {pinned:,} | {100 * frac:.0f}% "
                        f"| {r.status.value} ({solve_s:.0f}s) | - | - | - | - | - |")
            print(rows[-1], flush=True)
            continue
        gm = rematerialize(t, r.schedule, **sink)
        predicted = remat.verify(g, gm.meta["remat_schedule"]).peak_memory
        m = measure_memory(gm, *args)
        slow = interleaved_ratio(gm, base, args, repeats)
        mark = "" if m.live_peak == predicted else " (!)"
        rows.append(f"| {name} | {g.n} | {g.num_edges} | {t.extraction_time:.2f} | {pinned:,} | {100 * frac:.0f}% "
                    f"| {r.status.value} ({solve_s:.0f}s) | {predicted:,} | {m.live_peak:,}{mark} "
                    f"| {m.allocator_peak:,} | {r.tdi:.2f} | {slow:.2f}x |")
        print(rows[-1], flush=True)
    return rows


def interleaved_ratio(gm, base, args, repeats):
    """Median CPU time of ``gm`` / that of ``base`` on one thread, runs alternating after a warm-up each.

    CPU time of this process, not wall time: the machines this runs on are
    shared, and other load moves wall times by a factor of two.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a, b = [], []
        time_module(gm, *args, repeats=1), time_module(base, *args, repeats=1)
        for _ in range(repeats):
            a.append(time_module(gm, *args, repeats=1, clock=time.process_time))
            b.append(time_module(base, *args, repeats=1, clock=time.process_time))
    finally:
        torch.set_num_threads(threads)
    return statistics.median(a) / statistics.median(b)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mlp,cnn,block,gpt2")
    p.add_argument("--layers", type=int, default=12, help="GPT-2 blocks (default 12, as GPT-2 small)")
    p.add_argument("--dropout", type=float, default=0.0, help="GPT-2 dropout (default 0, as nanoGPT trains it)")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--fracs", default="1.0,0.8,0.6")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--max-copies", type=int, default=2, help="Moccasin's C (infeasible means: with C copies)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    specs = models(a.layers, a.batch, a.seq, a.dropout)
    fracs = [float(f) for f in a.fracs.split(",")]
    print("| model | nodes | edges | extract s | pinned B | budget | status (solve) | predicted peak B "
          "| measured live B | allocator B | TDI % | slowdown |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in a.models.split(","):
        run_model(name, specs[name], fracs, a.time_limit, a.threads, a.repeats, a.max_copies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
