"""A ``torch.compile`` backend that trains with remat's schedule: AOTAutograd with our own partition.

``torch.compile(model, backend=backend(budget=0.6))`` leaves the training
loop unchanged. For each graph Dynamo produces, AOTAutograd traces the joint
forward + backward graph and calls :func:`RematBackend.partition` instead of
PyTorch's partitioner:

1. the joint graph becomes a :class:`remat.Graph` by the analysis of
   :func:`remat.frontends.torch.trace`, plus a node ``forward`` (cost 0,
   size 0, not recomputable) that reads the forward outputs and sits, in the
   graph's order, right after the last node they need;
2. the graph is solved at the budget with ``order="given"``, so every
   forward node is first computed before every backward node, or the
   schedule is read from the on-disk cache (:mod:`remat.frontends.schedule_cache`);
3. the schedule runs as one fx graph (:func:`remat.frontends.torch.rematerialize`)
   cut at ``forward``: the steps before it form the forward module, the
   values resident at the cut and read after it are the saved tensors, the
   rest (recomputations included) forms the backward module.

Whatever this cannot handle (symbolic shapes, mutation, outputs aliasing
inputs or each other, operators the analysis refuses, no schedule within the
budget) falls back to PyTorch's ``min_cut_rematerialization_partition`` with
one warning that says why.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from remat.frontends import FrontendError
from remat.frontends import schedule_cache
from remat.frontends._torch import _require_torch, _storage, _tensors, fx, torch
from remat.frontends.torch import Traced, _analyse, _flat_module, rematerialize
from remat.graph import Graph, no_remat_peak
from remat.schedule import Schedule
from remat.verify import verify

log = logging.getLogger("remat.torch_compile")

INNER = ("eager", "inductor")


class RematFallbackWarning(UserWarning):
    """A graph was partitioned by PyTorch's partitioner instead of remat's schedule; the message says why."""


@dataclass
class GraphRecord:
    """What happened to one graph Dynamo produced (``RematBackend.records``).

    ``source``: ``"solve"``, ``"cache"`` or ``"fallback"`` (then ``reason``
    says why). Memory in bytes, without parameters, inputs and tangents.
    """

    nodes: int = 0
    budget: int = 0
    no_remat_peak: int = 0
    source: str = ""
    reason: str = ""
    status: str = ""
    predicted_peak: int | None = None
    recompute_cost: float | int | None = None
    total_cost: float | int | None = None
    saved_bytes: int = 0
    n_saved: int = 0
    solve_time: float = 0.0
    key: str = ""
    graph: Graph | None = field(default=None, repr=False)
    schedule: Schedule | None = field(default=None, repr=False)


class RematBackend:
    """The callable handed to ``torch.compile``; build it with :func:`backend`.

    ``records`` holds one :class:`GraphRecord` per partitioned graph, in order.
    """

    def __init__(self, *, budget: float | int, time_limit: float, threads: int, inner: str,
                 cost: str, max_copies: int, cache: bool, cache_dir: Any, solver_log: bool,
                 decompose: bool = False, solve: Callable[..., Any] | None = None) -> None:
        _require_torch()
        if inner not in INNER:
            raise FrontendError(f"unknown inner compiler {inner!r}; choose one of {', '.join(INNER)}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
            raise FrontendError(f"budget must be bytes (int > 0) or a fraction in (0, 1], got {budget!r}")
        if isinstance(budget, float) and budget > 1:
            raise FrontendError(f"a fractional budget must be in (0, 1], got {budget!r}")
        self.budget, self.time_limit, self.threads = budget, time_limit, threads
        self.inner, self.cost, self.max_copies = inner, cost, max_copies
        self.cache, self.cache_dir, self.solver_log = cache, cache_dir, solver_log
        self._solve = solve
        self.records: list[GraphRecord] = []
        from torch._dynamo.backends.common import aot_autograd

        fw, bw = _inner_compilers(inner)
        kwargs: dict[str, Any] = {"fw_compiler": fw, "bw_compiler": bw, "partition_fn": self.partition}
        self.decompose = decompose or inner == "inductor"
        if self.decompose:
            from torch._inductor.decomposition import select_decomp_table

            kwargs["decompositions"] = select_decomp_table()
        self._aot = aot_autograd(**kwargs)

    def __call__(self, gm: Any, example_inputs: Any) -> Any:
        return self._aot(gm, example_inputs)

    def options(self) -> dict[str, Any]:
        """What, besides the graph and the budget, determines the schedule (part of the cache key)."""
        import remat

        return {"time_limit": self.time_limit, "max_copies": self.max_copies, "cost": self.cost,
                "decompose": self.decompose,
                "order": "given", "remat": remat.__version__, "torch": torch.__version__}

    # ------------------------------------------------------------ partition
    def partition(self, joint_module: Any, joint_inputs: Any, *, num_fwd_outputs: int,
                  static_lifetime_input_indices: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """AOTAutograd's ``partition_fn``: split the joint graph by remat's schedule, or fall back."""
        rec = GraphRecord()
        self.records.append(rec)
        try:
            return self._partition(rec, joint_module, num_fwd_outputs)
        except Exception as exc:  # whatever goes wrong, PyTorch's partition still trains the model
            why = str(exc) if isinstance(exc, FrontendError) else \
                f"internal error: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
            rec.source, rec.reason = "fallback", why
            warnings.warn(f"remat: graph partitioned by PyTorch's min-cut partitioner: {why}",
                          RematFallbackWarning, stacklevel=2)
            log.warning("fallback: %s", why)
            from torch._functorch.partitioners import min_cut_rematerialization_partition

            return min_cut_rematerialization_partition(
                joint_module, joint_inputs, num_fwd_outputs=num_fwd_outputs,
                static_lifetime_input_indices=static_lifetime_input_indices)

    def _partition(self, rec: GraphRecord, joint_module: Any, num_fwd_outputs: int) -> tuple[Any, Any]:
        traced = analyse_joint(joint_module, num_fwd_outputs, cost=self.cost)
        g = traced.graph
        peak = no_remat_peak(g)
        budget = int(self.budget * peak) if isinstance(self.budget, float) else int(self.budget)
        rec.nodes, rec.budget, rec.no_remat_peak, rec.graph = g.n, budget, peak, g
        rec.key = schedule_cache.cache_key(g, budget, self.options())
        hit = schedule_cache.load(rec.key, g, budget, self._dir()) if self.cache else None
        if hit is not None:
            schedule, summary = hit
            rec.source, rec.status = "cache", str(summary.get("status", ""))
        else:
            schedule = self._solve_graph(rec, g, budget)
        report = verify(g, schedule.with_claims(budget=None, objective=None, peak_memory=None), budget)
        if not report.valid:  # never leaves the library unverified
            raise FrontendError(f"schedule does not verify: {report.violations[0]}")
        rec.schedule, rec.predicted_peak = schedule, report.peak_memory
        rec.total_cost = g.total_cost
        rec.recompute_cost = report.total_cost - g.total_cost
        fw, bw, saved = split(traced, schedule, num_fwd_outputs)
        rec.n_saved = len(saved)
        rec.saved_bytes = sum(int(t.untyped_storage().nbytes()) for n in saved
                              for t in _tensors(n.meta.get("val")) if n.op != "placeholder")
        log.info("graph %d: %d nodes, budget %d of no-remat peak %d bytes, %s%s, predicted peak %d, "
                 "recompute cost %s of %s, %d saved tensors (%d bytes)", len(self.records), g.n, budget,
                 peak, rec.source, f" ({rec.status}, {rec.solve_time:.1f} s)" if rec.source == "solve" else "",
                 rec.predicted_peak, rec.recompute_cost, rec.total_cost, rec.n_saved, rec.saved_bytes)
        return fw, bw

    def _dir(self) -> Any:
        from pathlib import Path

        return Path(self.cache_dir) if self.cache_dir is not None else None

    def _solve_graph(self, rec: GraphRecord, g: Graph, budget: int) -> Schedule:
        import remat

        solve = self._solve or remat.solve
        t0 = time.perf_counter()
        r = solve(g, budget, time_limit=self.time_limit, threads=self.threads, order="given",
                  max_copies=self.max_copies, log=self.solver_log)
        rec.solve_time = time.perf_counter() - t0
        rec.source, rec.status = "solve", r.status.value
        if r.schedule is None or r.report is None or not r.report.valid:
            why = r.message or r.status.value
            raise FrontendError(f"no schedule within {budget} bytes ({r.status.value}: {why})")
        if self.cache:
            schedule_cache.store(rec.key, r.schedule, {"status": r.status.value, "objective": r.objective,
                                                       "solve_time": rec.solve_time}, self._dir())
        return r.schedule


def backend(budget: float | int = 0.5, *, time_limit: float = 30.0, threads: int = 1, inner: str = "eager",
            cost: str = "flops+bytes", max_copies: int = 2, cache: bool = True, cache_dir: Any = None,
            solver_log: bool = False, decompose: bool = False) -> RematBackend:
    """A ``torch.compile`` backend that runs remat's schedule for each compiled graph.

    Parameters
    ----------
    budget : float or int
        A float in (0, 1]: that fraction of each graph's no-remat activation
        peak (parameters, inputs and tangents excluded); an int: bytes.
    time_limit : float
        Seconds of solving per graph (the best verified schedule found by
        then is used).
    threads : int
        Solver threads.
    inner : ``"eager"`` or ``"inductor"``
        What compiles the forward and backward modules: eager fx modules that
        free each value after its last use (default), or TorchInductor.
    cost : str
        The cost model of :func:`remat.frontends.torch.trace`.
    max_copies : int
        The Moccasin model's computations per node.
    cache : bool
        Load and store schedules under ``cache_dir`` (default
        :func:`remat.frontends.schedule_cache.cache_dir`, ``$REMAT_CACHE_DIR``).
    solver_log : bool
        Print the solver's progress.
    decompose : bool
        Apply Inductor's decompositions to the joint graph before the
        analysis (always with ``inner="inductor"``): more, smaller operators.

    Returns
    -------
    RematBackend
        Pass it as ``torch.compile(model, backend=...)``; its ``records``
        describe each graph it partitioned.

    Raises
    ------
    FrontendError
        Torch missing, a budget out of range or an unknown inner compiler.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> b = backend(budget=1.0, time_limit=5, cache=False)
    >>> cm = torch.compile(m, backend=b, dynamic=False)
    >>> cm(torch.randn(4, 8)).sum().backward()
    >>> b.records[0].source
    'solve'
    """
    return RematBackend(budget=budget, time_limit=time_limit, threads=threads, inner=inner, cost=cost,
                        max_copies=max_copies, cache=cache, cache_dir=cache_dir, solver_log=solver_log,
                        decompose=decompose)


# ------------------------------------------------------------------ analysis
def analyse_joint(joint_module: Any, num_fwd_outputs: int, *, cost: str = "flops+bytes") -> Traced:
    """The remat graph of AOTAutograd's joint module, with node ``forward`` reading the forward outputs.

    Raises :class:`FrontendError` (one line) for what the schedule cannot
    run: symbolic shapes, mutating operators, forward outputs that alias an
    input or each other, and whatever :func:`remat.frontends.torch.trace`
    refuses.
    """
    _require_torch()
    if cost not in ("flops+bytes",):
        raise FrontendError(f"cost model {cost!r} is not available in torch.compile (no real tensors)")
    gm = _flat_module(joint_module)
    phs = gm.graph.find_nodes(op="placeholder")
    for n in gm.graph.nodes:
        val = n.meta.get("val")
        if isinstance(val, (torch.SymInt, torch.SymFloat, torch.SymBool)) or any(
                _symbolic(t) for t in _tensors(val)):
            raise FrontendError(f"symbolic shapes at {n.name} (compile with dynamic=False)")
        if n.op == "call_function" and getattr(getattr(n.target, "_schema", None), "is_mutable", False):
            raise FrontendError(f"mutation: {n.target} at {n.name}")
        if n.op == "placeholder" and not _tensors(val):
            raise FrontendError(f"non-tensor input {n.name}")
    places = tuple(("tangent", None) if p.name.startswith("tangents") else ("input", i) for i, p in enumerate(phs))
    out = gm.graph.find_nodes(op="output")[0]
    outs = list(out.args[0])
    inputs = {_storage(t) for p in phs for t in _tensors(p.meta.get("val"))}
    seen: dict[Any, str] = {}
    for a in outs[:num_fwd_outputs]:
        if not isinstance(a, fx.Node):
            continue
        for t in _tensors(a.meta.get("val")):
            s = _storage(t)
            if s in inputs:
                raise FrontendError(f"aliasing: forward output {a.name} is a view of an input")
            if s in seen and seen[s] != a.name:
                raise FrontendError(f"aliasing: forward outputs {seen[s]} and {a.name} share storage")
            seen[s] = a.name
    rets = tuple(("forward", i) if i < num_fwd_outputs else ("grad", i) for i in range(len(outs)))
    graph, members, groups, pinned = _analyse(gm, places, rets, cost=cost, times=None, sizes=None,
                                              consume_grads=False, name="torch_compile",
                                              n_forward=num_fwd_outputs)
    return Traced(graph=graph, joint=gm, placeholders=places, returns=rets, pinned=pinned, cost_model=cost,
                  consume_grads=False, extraction_time=0.0, members=members, groups=groups,
                  n_forward=num_fwd_outputs)


def _symbolic(t: Any) -> bool:
    return any(not isinstance(d, int) for d in (*t.shape, *t.stride()))


def split(traced: Traced, schedule: Schedule, num_fwd_outputs: int) -> tuple[Any, Any, list[Any]]:
    """Run ``schedule`` as one fx graph cut at node ``forward``: (forward module, backward module, saved nodes).

    The saved nodes are the values of the forward part (inputs included)
    that the backward part reads.
    """
    from torch._functorch.partitioners import _extract_fwd_bwd_modules

    gm = rematerialize(traced, schedule)
    saved: list[Any] = []
    seen: set[Any] = set()
    for n in gm.graph.nodes:
        if n.meta.get("remat_region") == "backward":
            for a in n.all_input_nodes:
                fwd = a.meta.get("remat_region") == "forward" or (
                    a.op == "placeholder" and not a.name.startswith("tangents"))
                if fwd and a not in seen:
                    seen.add(a)
                    saved.append(a)
    out = gm.graph.find_nodes(op="output")[0]
    for a in out.args[0][num_fwd_outputs:]:  # a gradient computed in the forward part is saved too
        if isinstance(a, fx.Node) and a not in seen and (
                a.meta.get("remat_region") == "forward" or a.op == "placeholder"):
            seen.add(a)
            saved.append(a)
    _check_mutated_reads(traced, gm, saved)
    for n in gm.graph.nodes:  # pin the placement: nothing of one part may run in the other
        if n.op == "call_function":
            n.meta["partitioner_tag"] = ("must_be_in_forward" if n.meta.get("remat_region") == "forward"
                                         else "must_be_in_backward")
    fw, bw = _extract_fwd_bwd_modules(gm, saved, [], num_fwd_outputs=num_fwd_outputs)
    return fw, bw, saved


def _mutated_inputs(traced: Traced) -> set[str]:
    """Names of the placeholders whose new value is a forward output (AOTAutograd copies it back after the forward)."""
    out = traced.joint.graph.find_nodes(op="output")[0]
    phs = [p.name for p in traced.joint.graph.find_nodes(op="placeholder")]
    names = set()
    for d in (out.meta.get("desc") or [])[: traced.n_forward]:
        if type(d).__name__ == "InputMutationAOTOutput":
            idx = getattr(getattr(d, "mutated_input", None), "idx", None)
            if isinstance(idx, int) and idx < len(phs):
                names.add(phs[idx])
    return names


def _check_mutated_reads(traced: Traced, gm: Any, saved: list[Any]) -> None:
    """Backward nodes that read an input the forward mutates see its new value, not the one the forward read.

    Allowed only for batch norm in training mode, whose normalized output does
    not read the running statistics (a recomputed batch norm reads them only to
    produce new statistics, which nothing uses); those saved inputs skip
    autograd's version check. Anything else is refused.
    """
    mutated = _mutated_inputs(traced)
    if not mutated:
        return
    for n in gm.graph.nodes:
        if n.meta.get("remat_region") != "backward":
            continue
        for a in n.all_input_nodes:
            if a.op == "placeholder" and a.name in mutated:
                bn = n.target in _BN_TRAINING and len(n.args) > 5 and n.args[5] is True
                if not bn:
                    raise FrontendError(f"{n.target} in the backward reads {a.name}, which the forward mutates")
                a.meta["saved_tensor_with_no_vc_check"] = True


_BN_TRAINING = set()
if torch is not None:
    _BN_TRAINING = {torch.ops.aten._native_batch_norm_legit_functional.default}


# ------------------------------------------------------------ inner compilers
def _boxed_eager(gm: Any, example_inputs: Any) -> Any:
    """Run the fx module as it is, boxed: it clears its argument list, so inputs die after their last use."""
    from torch.fx.graph import _BoxedCodeGen

    gm.graph.set_codegen(_BoxedCodeGen())
    gm.recompile()

    def run(args: list[Any]) -> Any:
        return gm(args)

    run._boxed_call = True  # type: ignore[attr-defined]
    return run


def _inner_compilers(inner: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    if inner == "eager":
        return _boxed_eager, _boxed_eager
    from torch._inductor.compile_fx import compile_fx_inner

    return compile_fx_inner, functools.partial(compile_fx_inner, is_backward=True)
