"""Live progress and Ctrl-C for a HiGHS solve, through highspy's callbacks.

Pyomo runs HiGHS synchronously and shows nothing until it returns. A
:class:`HighsWatch` subscribes to two of HiGHS's callbacks on the
``highspy.Highs`` object behind Pyomo's interface:

* a new MIP incumbent: its objective, the bound, the time (``time_to_best``);
* the MIP "interrupt" poll, which HiGHS calls often during branch and bound:
  a moved dual bound becomes a progress event (at most every
  ``bound_every`` seconds), and, after Ctrl-C, the poll asks HiGHS to stop.
  HiGHS then ends as at a time limit, with its best incumbent.

Ctrl-C is caught by a SIGINT handler installed for the solve's duration
(main thread only; elsewhere a Ctrl-C stays Python's own), because the
Python handler cannot run while HiGHS holds the main thread between polls.

>>> watch = HighsWatch(on_progress=None, t0=0.0)
>>> watch.interrupted, watch.time_to_best
(False, None)
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from remat.backends.base import Progress, ProgressCallback

INFINITE = 1e30  # HiGHS reports "no incumbent / no bound" as +-inf (kHighsInf)


class HighsWatch:
    """Forwards HiGHS's incumbents and bounds as :class:`Progress` events and stops HiGHS on Ctrl-C."""

    def __init__(self, on_progress: ProgressCallback | None, t0: float, bound_every: float = 0.5) -> None:
        self.on_progress = on_progress
        self.t0 = t0
        self.bound_every = bound_every
        self.objective: float | None = None
        self.bound: float | None = None
        self.time_to_best: float | None = None
        self.interrupted = False
        self._last_emit = -float("inf")

    def attach(self, highs: Any) -> bool:
        """Subscribe to ``highs``'s callbacks; False (and nothing watched) when this highspy has none."""
        try:
            highs.cbMipImprovingSolution.subscribe(self._on_incumbent)
            highs.cbMipInterrupt.subscribe(self._on_poll)
        except AttributeError:
            return False
        return True

    @contextmanager
    def catching_ctrl_c(self) -> Iterator[None]:
        """Within the block, Ctrl-C asks HiGHS to stop instead of raising KeyboardInterrupt."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)
        if previous is signal.SIG_IGN:  # a process told to ignore Ctrl-C keeps ignoring it
            yield
            return

        def stop(signum: int, frame: Any) -> None:
            self.interrupted = True

        signal.signal(signal.SIGINT, stop)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _on_incumbent(self, event: Any) -> None:
        value = event.data_out.objective_function_value
        if abs(value) < INFINITE:
            self.objective = float(value)
            self.time_to_best = time.perf_counter() - self.t0
            self._read_bound(event)
            self._emit()

    def _on_poll(self, event: Any) -> None:
        if self.interrupted:
            event.interrupt()
        before = self.bound
        self._read_bound(event)
        if self.bound != before and time.perf_counter() - self._last_emit >= self.bound_every:
            self._emit()

    def _read_bound(self, event: Any) -> None:
        bound = event.data_out.mip_dual_bound
        if abs(bound) < INFINITE:
            self.bound = float(bound)

    def _emit(self) -> None:
        self._last_emit = time.perf_counter()
        if self.on_progress is not None:
            self.on_progress(Progress(self._last_emit - self.t0, self.objective, self.bound))
