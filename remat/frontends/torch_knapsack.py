"""remat's decision in PyTorch's own slot: a ``CustomKnapsackSolver`` for the min-cut partitioner.

With ``torch._functorch.config.activation_memory_budget < 1``, PyTorch's
partitioner lists the activations it would like to recompute but its
heuristics ban, and asks a knapsack solver which of them to save within the
budget; the others it allows the min-cut to recompute. Setting
``activation_memory_budget_solver = RematKnapsack(...)`` keeps PyTorch's
partitioner and swaps only that decision:

1. the joint graph becomes a :class:`remat.Graph` (the analysis of
   :mod:`remat.frontends.torch_compile`, a ``forward`` node marking the end
   of the forward part);
2. PyTorch's budget ``b`` (a fraction between "save only the inputs" and
   "save what the runtime-optimal cut saves") is read as the same fraction of
   the remat graph's range between its smallest possible budget
   (:func:`remat.min_budget`) and its no-remat peak, and solved with
   ``order="given"`` (if that budget has no schedule, halfway to the peak,
   then the peak);
3. a candidate is *recomputed* when the schedule computes it again after
   the ``forward`` node, *saved* otherwise; saved candidates beyond PyTorch's
   memory limit are dropped, least cost per byte first, so PyTorch's own
   contract (saved memory within ``max_memory``) still holds.

If the graph cannot be analysed or solved, it answers as PyTorch's ``dp``
solver would, with one warning saying why.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any

from remat.frontends import FrontendError
from remat.frontends._torch import _require_torch, fx, torch
from remat.frontends.torch import FORWARD, _value_deps
from remat.graph import min_budget, no_remat_peak

try:
    from torch._inductor.custom_graph_pass import CustomKnapsackSolver as _Base
except ImportError:  # pragma: no cover - torch absent
    _Base = object  # type: ignore[assignment,misc]


class RematKnapsack(_Base):  # type: ignore[misc,valid-type]
    """A ``torch._functorch.config.activation_memory_budget_solver`` backed by remat's model.

    Parameters
    ----------
    time_limit : float
        Seconds of solving per graph.
    threads : int
        Solver threads.

    ``decisions`` records, per call, the budget in bytes (``target``, and the
    ``budget`` solved: the next of target, halfway to the no-remat peak and
    the peak that has a schedule), the solve's status, the saved and
    recomputed candidates, PyTorch's ``memory`` list and ``max_memory``.

    Examples
    --------
    >>> import torch._functorch.config as fc
    >>> from torch._inductor.custom_graph_pass import CustomKnapsackSolver
    >>> solver = RematKnapsack(time_limit=5)
    >>> isinstance(solver, CustomKnapsackSolver), len(solver.uuid())
    (True, 64)
    >>> with fc.patch(activation_memory_budget=0.5, activation_memory_budget_solver=solver):
    ...     pass  # torch.compile(model) here partitions with remat's decisions
    """

    def __init__(self, *, time_limit: float = 10.0, threads: int = 1) -> None:
        _require_torch()
        self.time_limit, self.threads = time_limit, threads
        self.decisions: list[dict[str, Any]] = []

    def uuid(self) -> str:
        """Identifies the solver and its options for PyTorch's compile caches."""
        import remat

        doc = {"solver": "remat", "version": remat.__version__, "time_limit": self.time_limit}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()

    def __call__(self, memory: list[float], joint_graph: Any, max_memory: float, node_info: Any,
                 all_recomputable_banned_nodes: list[Any]) -> tuple[list[int], list[int]]:
        try:
            saved, recomputed = self._decide(memory, joint_graph, max_memory, node_info,
                                             all_recomputable_banned_nodes)
        except FrontendError as exc:
            warnings.warn(f"remat knapsack: answering as PyTorch's dp solver: {exc}", stacklevel=2)
            from torch._functorch._activation_checkpointing.knapsack import dp_knapsack

            _, saved, recomputed = dp_knapsack(memory, [1.0] * len(memory), max_memory)
            self.decisions.append({"fallback": str(exc)})
            return saved, recomputed
        return saved, recomputed

    def _decide(self, memory, joint_graph, max_memory, node_info, candidates):
        import remat
        from remat.frontends.torch_compile import analyse_joint

        gm = joint_graph.owning_module or fx.GraphModule(torch.nn.Module(), joint_graph)
        out = joint_graph.find_nodes(op="output")[0]
        n_fwd = 0
        for a in out.args[0]:  # forward outputs come first and do not depend on the tangents
            if isinstance(a, fx.Node) and a not in node_info.tangents_closure:
                n_fwd += 1
            else:
                break
        traced = analyse_joint(gm, n_fwd)
        g = traced.graph
        lo, hi = min_budget(g), no_remat_peak(g)
        target = int(lo + max(0.0, min(1.0, max_memory)) * (hi - lo))
        for budget in sorted({target, (target + hi) // 2, hi}):  # the nearest budget that has a schedule
            r = remat.solve(g, budget, time_limit=self.time_limit / 3, threads=self.threads, order="given")
            if r.schedule is not None and r.report is not None and r.report.valid:
                break
        else:
            raise FrontendError(f"no schedule within {hi} bytes ({r.status.value})")
        computes = r.schedule.computes
        cut = computes.index(FORWARD)
        after = set(computes[cut + 1:])
        member_of_fx = {(m.fx, m.k): gid for gid, m in traced.members.items()}
        names = {n.name: n for n in traced.joint.graph.nodes}
        saved, recomputed = [], []
        for i, node in enumerate(candidates):
            owners = _value_deps(names[node.name], traced, member_of_fx) if node.name in names else set()
            (recomputed if owners & after else saved).append(i)
        # PyTorch's contract: the saved candidates fit max_memory; drop the cheapest per byte first
        cost = {i: sum(g.cost[g.index[o]] for o in _value_deps(names[candidates[i].name], traced, member_of_fx))
                for i in saved if candidates[i].name in names}
        while saved and sum(memory[i] for i in saved) > max_memory + 1e-9:
            worst = min(saved, key=lambda i: cost.get(i, 0) / max(memory[i], 1e-12))
            saved.remove(worst)
            recomputed.append(worst)
        self.decisions.append({"target": target, "budget": budget, "status": r.status.value,
                               "saved": sorted(saved), "recomputed": sorted(recomputed),
                               "memory": list(memory), "max_memory": max_memory})
        return sorted(saved), sorted(recomputed)
