"""The live progress line while a solver runs: incumbent, bound, gap, elapsed time."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from rich.console import Console

from remat.backends import Progress


def format_progress(p: Progress, total_cost: float) -> str:
    inc = "-" if p.objective is None else f"{p.objective:,.6g}"
    bound = "-" if p.bound is None else f"{p.bound:,.6g}"
    gap = "-"
    if p.objective and p.bound is not None:
        gap = f"{100 * max(0.0, p.objective - p.bound) / p.objective:.2f}%"
    tdi = "" if p.objective is None or not total_cost else f"  TDI {100 * (p.objective / total_cost - 1):.3f}%"
    return f"incumbent {inc}  bound {bound}  gap {gap}{tdi}  elapsed {p.elapsed:.1f}s"


def own_stderr() -> TextIO | None:
    """A stream of our own on standard error (a duplicate of file descriptor 2), or None where
    stderr is no file descriptor 2 (an in-process capture).

    Pyomo points descriptor 2 elsewhere while HiGHS runs, which would swallow the
    live line for the whole solve; a duplicate made before keeps the original target.
    """
    try:
        if sys.stderr.fileno() != 2:
            return None
        return os.fdopen(os.dup(2), "w", buffering=1)
    except (AttributeError, OSError, ValueError):
        return None


class LiveLine:
    """Rewrites one status line on a terminal; prints throttled lines otherwise. Use as a context manager."""

    def __init__(self, total_cost: float, enabled: bool = True) -> None:
        self._stream = own_stderr() if enabled else None
        self.console = Console(stderr=True) if self._stream is None else Console(file=self._stream)
        self.total_cost = total_cost
        self.enabled = enabled
        self._status = None
        self._last_print = 0.0
        self._last_objective: float | None = None

    def __enter__(self) -> "LiveLine":
        if self.enabled and self.console.is_terminal:
            self._status = self.console.status("solving...")
            self._status.__enter__()
        return self

    def update(self, p: Progress) -> None:
        if not self.enabled:
            return
        line = format_progress(p, self.total_cost)
        if self._status is not None:
            self._status.update(line)
        elif time.monotonic() - self._last_print >= 1.0 or p.objective != self._last_objective:
            # bound-only updates are throttled; a new incumbent is always printed (else it could
            # stay unseen until the next event, many seconds later)
            self._last_print = time.monotonic()
            self._last_objective = p.objective
            self.console.print(line, highlight=False, soft_wrap=True)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)
        if self._stream is not None:
            self._stream.close()
