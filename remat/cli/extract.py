"""``remat extract``: trace a PyTorch model from an importable module into a graph file."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from remat.cli.common import echo
from remat.frontends import FrontendError
from remat.graph import min_budget, no_remat_peak

LOSSES = ("auto", "sum", "mean")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="trace a PyTorch model's training graph into a graph file (needs torch)",
                       description="Call FACTORY() from MODULE to build a torch.nn.Module, trace the joint "
                                   "forward + backward for inputs of the given shapes, and write the graph.")
    p.add_argument("target", metavar="MODULE:FACTORY", help="e.g. mypkg.models:make_model (cwd is importable)")
    p.add_argument("--input-shape", action="append", required=True, metavar="SHAPE[:DTYPE]", dest="shapes",
                   help="one per model input, e.g. 8,3,224,224 or 8,128:int64 (floats random, integers zero)")
    p.add_argument("--loss", choices=LOSSES, default="auto",
                   help="loss of the output: auto (the output if scalar, else its sum), sum or mean")
    p.add_argument("--cost", default="flops+bytes", choices=("flops+bytes", "time"),
                   help="cost model (default flops+bytes; time measures each operator)")
    p.add_argument("--consume-grads", action="store_true", help="gradients leave as soon as computed")
    p.add_argument("--fake", action="store_true", help="build model and inputs under FakeTensorMode (large models)")
    p.add_argument("--name", help="graph name (default: the model's class name)")
    p.add_argument("-o", "--output", required=True, metavar="GRAPH.json", help="where to write the graph")
    p.set_defaults(func=run)


def parse_shape(text: str, torch: Any) -> tuple[tuple[int, ...], Any]:
    """``"8,3,32,32"`` or ``"8x128:int64"`` -> (shape, dtype)."""
    dims, _, dtype_name = text.partition(":")
    try:
        shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise FrontendError(f"--input-shape {text!r}: expected comma-separated integers like 8,3,32,32") from None
    if not shape or any(d < 0 for d in shape):
        raise FrontendError(f"--input-shape {text!r}: expected comma-separated non-negative integers")
    dtype = getattr(torch, dtype_name or "float32", None)
    if not isinstance(dtype, torch.dtype):
        raise FrontendError(f"--input-shape {text!r}: unknown dtype {dtype_name!r}")
    return shape, dtype


def load_factory(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise FrontendError(f"expected MODULE:FACTORY, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's module
        raise FrontendError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise FrontendError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise FrontendError(f"{target!r} is not callable")
    return obj


def make_loss(mode: str) -> Any:
    def loss(out: Any) -> Any:
        if isinstance(out, (tuple, list)):
            out = out[0]
        if mode == "auto" and out.numel() == 1:
            return out.reshape(())
        return out.float().mean() if mode == "mean" else out.float().sum()

    return loss


def run(args: argparse.Namespace) -> int:
    from remat.frontends import torch as frontend

    if frontend.torch is None:
        raise FrontendError("remat extract needs PyTorch: pip install 'remat[torch]'")
    torch = frontend.torch
    specs = [parse_shape(s, torch) for s in args.shapes]
    factory = load_factory(args.target)

    def build() -> tuple[Any, list[Any]]:
        try:
            model = factory()
        except Exception as exc:
            raise FrontendError(f"{args.target}() failed: {type(exc).__name__}: {exc}") from None
        inputs = [torch.randn(shape, dtype=dtype) if dtype.is_floating_point else torch.zeros(shape, dtype=dtype)
                  for shape, dtype in specs]
        return model, inputs

    if args.fake:
        from torch._subclasses.fake_tensor import FakeTensorMode

        with FakeTensorMode():
            model, inputs = build()
            traced = frontend.trace(model, *inputs, loss_fn=make_loss(args.loss), cost=args.cost,
                                    consume_grads=args.consume_grads, name=args.name)
    else:
        model, inputs = build()
        if hasattr(model, "train"):
            model.train()
        traced = frontend.trace(model, *inputs, loss_fn=make_loss(args.loss), cost=args.cost,
                                consume_grads=args.consume_grads, name=args.name)
    g = traced.graph
    g.save(args.output)
    peak = no_remat_peak(g)
    pinned = ", ".join(f"{k} {v:,}" for k, v in traced.pinned.items())
    echo(f"graph       {g.name} ({traced.cost_model} costs)")
    echo(f"nodes       {g.n}")
    echo(f"edges       {g.num_edges}")
    echo(f"extraction  {traced.extraction_time:.2f}s")
    echo(f"pinned      {pinned} bytes (outside the problem)")
    echo(f"no-remat peak  {peak:,} bytes; min_budget {min_budget(g):,} bytes")
    echo(f"wrote {args.output}")
    return 0
