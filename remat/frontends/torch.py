"""PyTorch in and out: extract a training graph, execute a schedule, measure its memory.

Three steps, each a function:

* :func:`trace` exports the functionalized joint forward + backward graph of
  ``loss_fn(model(*inputs), *targets)`` with AOTAutograd
  (``aot_export_joint_with_descriptors``) and turns it into a
  :class:`remat.Graph` whose nodes own tensor *storage*;
* :func:`rematerialize` turns a schedule of that graph into a
  ``torch.fx.GraphModule`` that runs it;
* :func:`measure_memory` runs a module and reports the peak of live tensor
  storage (what the verifier predicts) and the allocator's peak.

The memory model (see ``docs/torch.md``)
    A graph node is an operator output that owns storage. Views, ``detach``
    and ``getitem`` own none: they are folded into the node that does and
    re-emitted next to each reader when a schedule runs. An operator that
    returns several tensors (batch norm, layer norm, dropout, max pooling,
    ``convolution_backward``) becomes one node per output tensor: the first
    carries the operator's cost, each further one costs 0 and depends on the
    earlier ones and on the operator's inputs, and a schedule runs them as one
    group. Parameters, buffers, inputs and the loss tangent are pinned memory
    outside the problem (``Traced.pinned``). The loss, the parameter
    gradients and the updated buffers are read by a final node ``output``,
    so they stay resident to the end, unless ``consume_grads=True``: then
    each gradient is handed to a callback as soon as it exists.

Random operators (dropout) are marked non-recomputable: computing them again
would draw new random numbers.
"""

from __future__ import annotations

import contextlib
import operator
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import networkx as nx

from remat.frontends import FrontendError
from remat.graph import Graph
from remat.schedule import Schedule, schedule_from_computes
from remat.verify import verify

from remat.frontends._torch import _nbytes, _require_torch, _storage, _tensors, fx, torch, tree_map
from remat.frontends.torch_memory import _TRACKERS, MemoryMeasurement, measure_memory, time_module

OUTPUT = "output"
FORWARD = "forward"  # in graphs split for torch.compile: reads the forward outputs; the cut (torch_compile)
COST_MODELS = ("flops+bytes", "time")
BYTE_WEIGHT = 10  # FLOP-equivalents per byte moved in the default cost model (see docs/torch.md)

__all__ = ["COST_MODELS", "MemoryMeasurement", "Traced", "backend", "executed_schedule", "measure_memory",
           "rematerialize", "time_module", "trace"]


def backend(*args: Any, **kwargs: Any) -> Any:
    """A ``torch.compile`` backend running remat's schedule: see :func:`remat.frontends.torch_compile.backend`."""
    from remat.frontends.torch_compile import backend as _backend

    return _backend(*args, **kwargs)


# --------------------------------------------------------------------- trace
@dataclass(frozen=True)
class _Member:
    """Where a graph node comes from: fx node ``fx`` (its output ``k`` for multi-output operators)."""

    fx: str
    k: int | None = None


@dataclass(frozen=True)
class Traced:
    """A traced model: the remat graph plus what is needed to run schedules of it.

    ``joint`` is the flat joint graph module, ``forward(*placeholders)``;
    ``placeholders`` describes each of its inputs as ``(kind, key)`` with kind
    ``param``, ``buffer``, ``input`` or ``tangent``; ``returns`` describes each
    output as ``(kind, key)`` with kind ``loss``, ``grad``, ``buffer`` or
    ``None``. ``pinned`` gives the bytes of parameters, buffers, inputs and
    tangents, which stay resident outside the problem.
    """

    graph: Graph
    joint: Any
    placeholders: tuple[tuple[str, Any], ...]
    returns: tuple[tuple[str | None, Any], ...]
    pinned: Mapping[str, int]
    cost_model: str
    consume_grads: bool
    extraction_time: float
    members: Mapping[str, _Member] = field(repr=False)
    groups: Mapping[str, tuple[str, ...]] = field(repr=False)  # primary id -> all member ids, in order
    n_forward: int = 0  # split for torch.compile: the first n returns are forward outputs, read by FORWARD

    def args(self, model: Any, *inputs: Any, targets: Sequence[Any] = ()) -> list[Any]:
        """The flat argument list of ``joint`` (and of rematerialized modules) for real tensors.

        Parameters and buffers are looked up in ``model`` by name; the tangent
        of the loss is 1.
        """
        _require_torch()
        return _joint_args(self.placeholders, self.joint, model, [*inputs, *targets])

    def unpack(self, outputs: Sequence[Any]) -> dict[str, Any]:
        """Name the outputs of a run: ``{"loss": t, "grads": {param: t}, "buffers": {name: t}}``."""
        res: dict[str, Any] = {"loss": None, "grads": {}, "buffers": {}}
        for (kind, key), val in zip(self.returns, outputs):
            if kind == "loss":
                res["loss"] = val
            elif kind == "grad":
                res["grads"][key] = val
            elif kind == "buffer":
                res["buffers"][key] = val
        return res


class _LossWrapper(torch.nn.Module if torch is not None else object):  # type: ignore[misc]
    def __init__(self, model: Any, loss_fn: Callable[..., Any] | None, n_inputs: int) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn
        self.n_inputs = n_inputs

    def forward(self, *args: Any) -> Any:
        out = self.model(*args[: self.n_inputs])
        return out if self.loss_fn is None else self.loss_fn(out, *args[self.n_inputs:])


def _desc_kind(desc: Any) -> tuple[str | None, Any]:
    name = type(desc).__name__
    if name == "ParamAOTInput":
        return "param", desc.target
    if name == "BufferAOTInput":
        return "buffer", desc.target
    if name == "PlainAOTInput":
        return "input", desc.idx
    if name == "TangentAOTInput":
        return "tangent", None
    if name == "PlainAOTOutput":
        return "loss", desc.idx
    if name == "GradAOTOutput":
        return "grad", _desc_kind(desc.grad_of)[1]
    if name == "InputMutationAOTOutput":
        return "buffer", _desc_kind(desc.mutated_input)[1]
    return None, None


def _strip(key: Any) -> Any:
    return key[len("model."):] if isinstance(key, str) and key.startswith("model.") else key


def trace(model: Any, *example_inputs: Any, loss_fn: Callable[..., Any] | None = None,
          targets: Sequence[Any] = (), cost: str = "flops+bytes", consume_grads: bool = False,
          repeats: int = 5, name: str | None = None) -> Traced:
    """Extract the joint forward + backward graph of ``loss_fn(model(*example_inputs), *targets)``.

    Parameters
    ----------
    model : torch.nn.Module
        Built normally, or under ``FakeTensorMode`` (with fake inputs) for
        models too large to instantiate; not on the meta device, which drops
        the backward.
    loss_fn : callable, optional
        Maps the model's output (and ``targets``) to a scalar loss; without
        it the model must return the loss.
    cost : ``"flops+bytes"`` or ``"time"``
        ``flops+bytes`` (default): FLOPs from ``torch.utils.flop_counter``
        plus ``BYTE_WEIGHT`` x bytes read and written. ``time``: the median of
        ``repeats`` timed runs of each operator in nanoseconds (real tensors only).
    consume_grads : bool
        Hand each parameter gradient to a callback as soon as it is computed
        instead of keeping all of them to the end.

    Examples
    --------
    >>> import torch
    >>> t = trace(torch.nn.Linear(4, 2), torch.randn(3, 4), loss_fn=lambda y: y.square().sum())
    >>> t.graph.n > 3, t.pinned["param"], t.graph.ids[-1]
    (True, 40, 'output')
    """
    _require_torch()
    from torch._functorch.aot_autograd import aot_export_joint_with_descriptors
    from torch._subclasses.fake_tensor import FakeTensor

    if cost not in COST_MODELS:
        raise FrontendError(f"unknown cost model {cost!r}; choose one of {', '.join(COST_MODELS)}")
    if not isinstance(model, torch.nn.Module):
        raise FrontendError(f"expected a torch.nn.Module, got {type(model).__name__}")
    for t in [*example_inputs, *targets]:
        if isinstance(t, torch.Tensor) and t.device.type == "meta":
            raise FrontendError("inputs are on the meta device, which drops the backward: build under FakeTensorMode")
    fake = any(isinstance(t, FakeTensor) for t in [*model.parameters(), *model.buffers(), *example_inputs, *targets])
    if cost == "time" and fake:
        raise FrontendError("cost='time' needs real tensors; this model was traced under FakeTensorMode")
    wrapper = _LossWrapper(model, loss_fn, len(example_inputs))
    t0 = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            joint = aot_export_joint_with_descriptors(stack, wrapper, tuple(example_inputs) + tuple(targets))
    except Exception as exc:  # the tracer raises many kinds; one line names the failure
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise FrontendError(f"could not trace {type(model).__name__}: {type(exc).__name__}: {first}") from None
    flat_gm = _flat_module(joint.graph_module)
    extraction_time = time.perf_counter() - t0

    places = tuple((k, _strip(v)) for k, v in (_desc_kind(n.meta.get("desc"))
                                              for n in flat_gm.graph.find_nodes(op="placeholder")))
    out_node = flat_gm.graph.find_nodes(op="output")[0]
    out_descs = out_node.meta.get("desc") or [None] * len(out_node.args[0])
    rets = tuple((k, _strip(v)) for k, v in (_desc_kind(d) if d is not None else (None, None) for d in out_descs))
    loss_nodes = [a for (k, _), a in zip(rets, out_node.args[0]) if k == "loss"]
    if len(loss_nodes) != 1 or not isinstance(loss_nodes[0], fx.Node) or loss_nodes[0].meta["val"].numel() != 1:
        raise FrontendError("the model (with loss_fn) must return one scalar loss")

    times = sizes = None
    if not fake:  # one real run: storage sizes as allocated (a kernel may return a view of a larger buffer)
        args = _joint_args(places, flat_gm, model, [*example_inputs, *targets])
        times, sizes = _run_real(flat_gm, args, repeats if cost == "time" else 1)
    graph, members, groups, pinned = _analyse(flat_gm, places, rets, cost=cost, times=times, sizes=sizes,
                                              consume_grads=consume_grads,
                                              name=name or type(model).__name__)
    return Traced(graph=graph, joint=flat_gm, placeholders=places, returns=rets, pinned=pinned,
                  cost_model=cost, consume_grads=consume_grads, extraction_time=extraction_time,
                  members=members, groups=groups)


def _flat_module(gm: Any) -> Any:
    """A copy of ``gm`` whose forward takes the placeholders as plain positional arguments."""
    g = fx.Graph()
    out = g.graph_copy(gm.graph, {}, return_output_node=True)
    if isinstance(out, tuple):
        out_val, old_out = out
        new_out = g.output(out_val)
        new_out.meta = dict(old_out.meta)
    return fx.GraphModule(gm, g)


def _joint_args(places: Sequence[tuple[str, Any]], joint: Any, model: Any, plain: Sequence[Any]) -> list[Any]:
    out = []
    for (kind, key), node in zip(places, joint.graph.find_nodes(op="placeholder")):
        try:
            if kind == "param":
                out.append(model.get_parameter(key).detach())
            elif kind == "buffer":
                out.append(model.get_buffer(key).detach().clone())
            elif kind == "input":
                out.append(plain[key])
            else:
                val = node.meta["val"]
                out.append(torch.ones(val.shape, dtype=val.dtype))
        except (AttributeError, IndexError):
            raise FrontendError(f"model and inputs do not match the traced graph: no {kind} {key!r}") from None
    return out


def _is_random(target: Any) -> bool:
    tags = getattr(target, "tags", ())
    return torch.Tag.nondeterministic_seeded in tags


def _flops(node: Any) -> int:
    from torch.utils.flop_counter import flop_registry

    packet = getattr(node.target, "overloadpacket", None)
    formula = flop_registry.get(packet)
    if formula is None:
        return 0
    args, kwargs = tree_map(lambda a: a.meta.get("val") if isinstance(a, fx.Node) else a, (node.args, node.kwargs))
    try:
        return int(formula(*args, out_val=node.meta.get("val"), **kwargs))
    except Exception:  # a formula that cannot read these arguments counts no FLOPs
        return 0


def _bytes_moved(node: Any) -> int:
    ins = [t for a in node.all_input_nodes for t in _tensors(a.meta.get("val"))]
    return sum(t.numel() * t.element_size() for t in ins + _tensors(node.meta.get("val")))


def _analyse(gm: Any, places: tuple, rets: tuple, *, cost: str, times: Mapping[str, float] | None,
             sizes: Mapping[str, list[int]] | None, consume_grads: bool, name: str, n_forward: int = 0):
    owner: dict[Any, str | None] = {}  # storage -> graph id, None when pinned
    pinned: dict[str, int] = {"param": 0, "buffer": 0, "input": 0, "tangent": 0}
    alias: set[str] = set()  # fx nodes that own no storage
    members: dict[str, _Member] = {}
    groups: dict[str, tuple[str, ...]] = {}
    preds: dict[str, set[str]] = {}
    costs: dict[str, int | float] = {}
    mem: dict[str, int] = {}
    labels: dict[str, str] = {}
    rec: dict[str, bool] = {}
    order: list[str] = []
    deps_cache: dict[str, frozenset[str]] = {}

    def deps(a: Any) -> frozenset[str]:
        """Graph ids whose storage must be resident to produce fx value ``a``."""
        if a.name in deps_cache:
            return deps_cache[a.name]
        if a.op == "placeholder":
            res: frozenset[str] = frozenset()
        elif a.name in alias:
            res = frozenset().union(*(deps(b) for b in a.all_input_nodes)) if a.all_input_nodes else frozenset()
            for t in _tensors(a.meta.get("val")):
                o = owner.get(_storage(t))
                if o is not None:
                    res |= {o}
        elif a.target is operator.getitem:  # output of a multi-output operator
            res = frozenset({f"{a.args[0].name}.{a.args[1]}"})
        else:
            res = frozenset({a.name})
        deps_cache[a.name] = res
        return res

    for (kind, _), n in zip(places, gm.graph.find_nodes(op="placeholder")):
        for t in _tensors(n.meta.get("val")):
            if _storage(t) not in owner:
                owner[_storage(t)] = None
                pinned[kind or "input"] = pinned.get(kind or "input", 0) + _nbytes(t)

    def add(gid: str, fx_node: Any, k: int | None, c: int | float, m: int, ps: set[str], random: bool) -> None:
        members[gid] = _Member(fx_node.name, k)
        costs[gid], mem[gid], preds[gid] = c, m, ps
        tag = "bwd" if fx_node.meta.get("partitioner_tag") == "is_backward" else "fwd"
        labels[gid] = f"{fx_node.target}{'' if k is None else f'[{k}]'} ({tag})"
        rec[gid] = not random
        order.append(gid)

    for n in gm.graph.nodes:
        if n.op != "call_function":
            if n.op == "get_attr":
                raise FrontendError(f"graph constant {n.target!r} is not supported")
            continue
        val = n.meta.get("val")
        if n.target is operator.getitem and n.args[0].name not in alias:
            continue  # an output of a multi-output operator, registered with it
        outs = _tensors(val)
        if not outs:
            raise FrontendError(f"operator {n.target} returns no tensor; it is not supported")
        known = [_storage(t) in owner for t in outs]
        if n.target is operator.getitem or (outs and all(known)):
            alias.add(n.name)
            continue
        if any(known):
            raise FrontendError(f"operator {n.target} returns both views and new tensors; it is not supported")
        in_deps = frozenset().union(*(deps(a) for a in n.all_input_nodes)) if n.all_input_nodes else frozenset()
        if cost == "time":
            c: int | float = max(1, round(times[n.name] * 1e9)) if times else 1
        else:
            c = _flops(n) + BYTE_WEIGHT * _bytes_moved(n)
        random = _is_random(n.target)
        real = sizes.get(n.name) if sizes else None
        if isinstance(val, torch.Tensor):
            add(n.name, n, None, c, real[0] if real else _nbytes(val), set(in_deps), random)
            owner[_storage(val)] = n.name
            continue
        ids = []
        for k, t in enumerate(val):
            if not isinstance(t, torch.Tensor):
                continue
            gid = f"{n.name}.{k}"
            m = real[len(ids)] if real and len(real) == len(outs) else _nbytes(t)
            add(gid, n, k, c if not ids else 0, m, set(in_deps) | set(ids), random)
            owner[_storage(t)] = gid
            ids.append(gid)
        groups[ids[0]] = tuple(ids)

    out_node = gm.graph.find_nodes(op="output")[0]
    final: set[str] = set()
    forward: set[str] = set()  # with n_forward: what node FORWARD reads (the forward module's outputs)
    for i, ((kind, _), a) in enumerate(zip(rets, out_node.args[0])):
        if not isinstance(a, fx.Node):
            continue
        d = deps(a)
        if i < n_forward:
            forward |= d
            continue
        if kind == "grad" and consume_grads:
            for g in d:  # handing a gradient over is a side effect: once, with its whole group
                group = next((ids for ids in groups.values() if g in ids), (g,))
                for m in group:
                    rec[m] = False
            continue
        final |= d
    costs[OUTPUT], mem[OUTPUT], preds[OUTPUT], labels[OUTPUT], rec[OUTPUT] = 0, 0, final, "output", False
    order.append(OUTPUT)
    if n_forward:  # right after the last node it reads: forward outputs exist before any later node runs
        at = max((order.index(d) for d in forward), default=-1) + 1
        costs[FORWARD], mem[FORWARD], preds[FORWARD] = 0, 0, forward
        labels[FORWARD], rec[FORWARD] = "forward outputs", False
        order.insert(at, FORWARD)

    # A multi-output operator runs as one (executed_schedule): another order could compute its
    # outputs apart, so the graph keeps the traced order.
    G = nx.DiGraph(name=name, fixed_order=any(len(ids) > 1 for ids in groups.values()))
    for gid in order:
        G.add_node(gid, cost=costs[gid], mem=mem[gid], name=labels[gid], recomputable=rec[gid])
    for gid in order:
        G.add_edges_from((p, gid) for p in preds[gid])
    graph = Graph.from_networkx(G, order=order, name=name)
    return graph, members, groups, pinned


def _run_real(gm: Any, args: Sequence[Any], repeats: int) -> tuple[dict[str, float], dict[str, list[int]]]:
    """Run the joint graph ``repeats`` times: median seconds and storage bytes of each operator."""
    samples: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {}

    class Timer(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            t = time.perf_counter()
            out = super().run_node(n)
            if n.op == "call_function":
                samples.setdefault(n.name, []).append(time.perf_counter() - t)
                sizes[n.name] = [_nbytes(v) for v in _tensors(out)]
            return out

    with torch.no_grad(), torch.random.fork_rng():
        for _ in range(max(1, repeats)):
            Timer(gm).run(*args)
    return {k: statistics.median(v) for k, v in samples.items()}, sizes


# --------------------------------------------------------------- rematerialize
def executed_schedule(traced: Traced, schedule: Schedule) -> Schedule:
    """The schedule that :func:`rematerialize` runs for ``schedule``.

    Operators with several outputs run as one group: each computation of the
    group's first node computes all of them, and a lone recomputation of a
    later output is dropped (it reads the group's latest run instead). Frees
    come right after the last read, as ``torch.fx`` frees values.

    >>> import torch
    >>> from remat.schedule import no_remat_schedule
    >>> t = trace(torch.nn.LayerNorm(4), torch.randn(2, 4), loss_fn=lambda y: y.sum())
    >>> s = no_remat_schedule(t.graph)
    >>> executed_schedule(t, s).computes == s.computes
    True
    """
    g = traced.graph
    report = verify(g, schedule.with_claims(budget=None, objective=None, peak_memory=None))
    if not report.valid:
        raise FrontendError(f"schedule is not valid for graph {g.name!r}: {report.violations[0]}")
    secondary = {m for ids in traced.groups.values() for m in ids[1:]}
    computes: list[int] = []
    for nid in schedule.computes:
        if nid in secondary:
            continue
        computes.extend(g.index[m] for m in traced.groups.get(nid, (nid,)))
    return schedule_from_computes(g, computes)


class _GradSink(torch.nn.Module if torch is not None else object):  # type: ignore[misc]
    def __init__(self, on_grad: Callable[[str, Any], None] | None) -> None:
        super().__init__()
        self.grads: dict[str, Any] = {}
        self.on_grad = on_grad

    def forward(self, name: str, grad: Any) -> None:
        for tracker in _TRACKERS:  # the caller owns it from now on, like a parameter
            tracker.pinned.add(_storage(grad))
            tracker.live.pop(_storage(grad), None)
        if self.on_grad is None:
            self.grads[name] = grad
        else:
            self.on_grad(name, grad)


def rematerialize(traced: Traced, schedule: Schedule, *,
                  on_grad: Callable[[str, Any], None] | None = None) -> Any:
    """A ``torch.fx.GraphModule`` that runs ``schedule``: same inputs and outputs as ``traced.joint``.

    Each compute step is a copy of its operator wired to the latest copy of
    its inputs; views are re-emitted next to each reader; fx frees each value
    after its last use. With ``consume_grads``, each gradient is passed to
    ``on_grad(param_name, tensor)`` when computed (default: kept in
    ``module.grad_sink.grads``) and its output slot is None.

    Examples
    --------
    >>> import torch
    >>> from remat.schedule import no_remat_schedule
    >>> m = torch.nn.Linear(4, 2)
    >>> x = torch.randn(3, 4)
    >>> t = trace(m, x, loss_fn=lambda y: y.square().sum())
    >>> gm = rematerialize(t, no_remat_schedule(t.graph))
    >>> out = t.unpack(gm(*t.args(m, x)))
    >>> torch.allclose(out["loss"], m(x).square().sum())
    True
    """
    _require_torch()
    plan = executed_schedule(traced, schedule)
    src = {n.name: n for n in traced.joint.graph.nodes}
    new = fx.Graph()
    ph: dict[str, Any] = {}
    for n in traced.joint.graph.find_nodes(op="placeholder"):
        p = new.placeholder(n.name)
        p.meta = dict(n.meta)
        ph[n.name] = p
    latest: dict[str, Any] = {}
    member_of_fx = {(m.fx, m.k): gid for gid, m in traced.members.items()}
    grad_slots: dict[str, list[tuple[int, Any]]] = {}  # owner id -> [(output slot, fx value)]
    out_node = traced.joint.graph.find_nodes(op="output")[0]
    if traced.consume_grads:
        for slot, ((kind, key), a) in enumerate(zip(traced.returns, out_node.args[0])):
            if kind == "grad" and isinstance(a, fx.Node):
                owners = _value_deps(a, traced, member_of_fx)
                if len(owners) != 1:
                    raise FrontendError(f"gradient of {key!r} is not owned by one node")
                grad_slots.setdefault(next(iter(owners)), []).append((slot, a))

    def resolve(a: Any, cache: dict[str, Any]) -> Any:
        if a.op == "placeholder":
            return ph[a.name]
        if a.name in cache:
            return cache[a.name]
        if a.op == "call_function" and a.name not in traced.members and (a.name, None) not in member_of_fx:
            if a.target is operator.getitem and (a.args[0].name, a.args[1]) in member_of_fx:
                return latest[member_of_fx[(a.args[0].name, a.args[1])]]
            copy = new.node_copy(a, lambda b: resolve(b, cache))  # a view: emitted for this reader
            cache[a.name] = copy
            return copy
        return latest[a.name]

    done_grads: set[str] = set()
    at_cut: dict[int, Any] = {}  # output slot -> its value when FORWARD runs
    cut = None
    for nid in plan.computes:
        if nid == FORWARD:  # the forward outputs as they are now; every node emitted so far is forward
            cache = {}
            at_cut = {i: resolve(a, cache) for i, a in enumerate(out_node.args[0][:traced.n_forward])
                      if isinstance(a, fx.Node)}
            cut = next(reversed(new.nodes), None)
            continue
        if nid == OUTPUT:
            cache: dict[str, Any] = {}
            consumed = {slot for slots in grad_slots.values() for slot, _ in slots}
            vals = [None if (i in consumed or not isinstance(a, fx.Node))
                    else at_cut[i] if i in at_cut else resolve(a, cache)
                    for i, a in enumerate(out_node.args[0])]
            o = new.output(vals)
            o.meta = dict(out_node.meta)
            continue
        m = traced.members[nid]
        if m.k is not None and nid not in traced.groups:
            continue  # emitted with its group
        cache = {}
        op = new.node_copy(src[m.fx], lambda b: resolve(b, cache))  # noqa: B023
        if m.k is None:
            latest[nid] = op
        else:
            for gid in traced.groups[nid]:
                k = traced.members[gid].k
                latest[gid] = item = new.call_function(operator.getitem, (op, k))
                if isinstance(op.meta.get("val"), (tuple, list)):
                    item.meta["val"] = op.meta["val"][k]
        for gid in traced.groups.get(nid, (nid,)):
            for slot, a in grad_slots.get(gid, ()):
                if slot not in done_grads:
                    done_grads.add(slot)
                    new.call_module("grad_sink", (str(traced.returns[slot][1]), resolve(a, {})))
    root = torch.nn.Module()
    if traced.consume_grads:
        root.grad_sink = _GradSink(on_grad)
    new.lint()
    gm = fx.GraphModule(root, new)
    gm.meta["remat_schedule"] = plan
    if traced.n_forward:  # nodes up to the cut run in the forward module, the rest in the backward one
        region = "forward" if cut is not None else "backward"
        for n in new.nodes:
            if n.op == "call_function":
                n.meta["remat_region"] = region
            if n is cut:
                region = "backward"
    return gm


def _value_deps(a: Any, traced: Traced, member_of_fx: Mapping[tuple[str, int | None], str]) -> set[str]:
    if a.op == "placeholder":
        return set()
    if (a.name, None) in member_of_fx:
        return {a.name}
    if a.target is operator.getitem and (a.args[0].name, a.args[1]) in member_of_fx:
        return {member_of_fx[(a.args[0].name, a.args[1])]}
    return set().union(*(_value_deps(b, traced, member_of_fx) for b in a.all_input_nodes))
