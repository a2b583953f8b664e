"""Measure a module's memory as it runs: live tensor storage (what the verifier predicts) and the
allocator's peak; and time it. Part of the torch frontend (:mod:`remat.frontends.torch`).
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from remat.frontends._torch import TorchDispatchMode, _nbytes, _require_torch, _storage, _tensors, torch

@dataclass(frozen=True)
class MemoryMeasurement:
    """Memory of one run, in bytes, not counting the arguments (pinned memory).

    ``live_peak``: the peak of live tensor storage, sampled after every
    operator (what the verifier predicts); a gradient handed to ``on_grad``
    leaves the count, as the caller owns it. ``allocator_peak``: the peak of
    the allocator's net allocations during the run (``torch.profiler`` on CPU,
    ``torch.cuda.max_memory_allocated`` on a GPU); it also holds the scratch
    space kernels allocate and free inside one operator, ``scratch``.
    """

    live_peak: int
    allocator_peak: int
    outputs: Any = field(repr=False, default=None)

    @property
    def scratch(self) -> int:
        return self.allocator_peak - self.live_peak


_TRACKERS: list["_StorageTracker"] = []  # active measurements; gradients handed over leave them


class _StorageTracker(TorchDispatchMode):
    """Counts the bytes of live storages after each operator; holds only weak references."""

    def __init__(self, pinned: set[Any]) -> None:
        super().__init__()
        self.pinned = pinned
        self.live: dict[Any, int] = {}
        self.peak = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for ref in [r for r in self.live if r.expired()]:
            del self.live[ref]  # freed; its address may be reused by a new storage
        for t in _tensors(out):
            ref = _storage(t)
            if ref not in self.pinned and ref not in self.live:
                self.live[ref] = _nbytes(t)
        self.peak = max(self.peak, sum(self.live.values()))
        return out


def measure_memory(module: Callable[..., Any], *args: Any) -> MemoryMeasurement:
    """Run ``module(*args)`` without autograd and measure its memory (see :class:`MemoryMeasurement`).

    >>> import torch
    >>> m = measure_memory(lambda x: (x + 1) * 2, torch.zeros(256))
    >>> m.live_peak   # x + 1 and its product are both live when the product is made
    2048
    """
    _require_torch()
    tensors = [t for a in args for t in _tensors(a)]
    pinned = {_storage(t) for t in tensors}
    cuda = any(t.is_cuda for t in tensors)
    tracker = _StorageTracker(pinned)
    with torch.no_grad():
        if cuda:  # pragma: no cover - no GPU in CI
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            out = _run_tracked(tracker, module, args)
            torch.cuda.synchronize()
            alloc_peak = torch.cuda.max_memory_allocated() - base
        else:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                out = _run_tracked(tracker, module, args)
            alloc_peak = _profiler_peak(prof)
    return MemoryMeasurement(live_peak=tracker.peak, allocator_peak=alloc_peak, outputs=out)


def _run_tracked(tracker: "_StorageTracker", module: Any, args: Sequence[Any]) -> Any:
    """Run ``module(*args)`` with ``tracker`` counting live storage."""
    with tracker:
        _TRACKERS.append(tracker)
        try:
            return module(*args)
        finally:
            _TRACKERS.remove(tracker)


def _profiler_peak(prof: Any) -> int:
    """Peak of the running sum of the profiler's allocation events, in time order.

    ``prof.events()`` folds allocations made inside an operator into that
    operator's totals, so the raw ``[memory]`` events are read from kineto.
    """
    raw = prof.profiler.kineto_results.events()
    events = sorted((e for e in raw if e.name() == "[memory]"), key=lambda e: e.start_ns())
    running = peak = 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return peak


def time_module(module: Callable[..., Any], *args: Any, repeats: int = 5,
                clock: Callable[[], float] = time.perf_counter) -> float:
    """Median time of ``module(*args)`` over ``repeats`` runs, without autograd (seconds of ``clock``).

    Pass ``clock=time.process_time`` (with ``torch.set_num_threads(1)``) to
    count this process's CPU time only, which other load on the machine
    disturbs far less than wall time.

    >>> time_module(lambda: None, repeats=3) >= 0
    True
    """
    samples = []
    ctx = torch.no_grad() if torch is not None else contextlib.nullcontext()
    with ctx:
        for _ in range(max(1, repeats)):
            t = clock()
            module(*args)
            samples.append(clock() - t)
    return statistics.median(samples)
