"""How one solve spends its time limit: every share, in one place.

A :class:`TimeBudget` is created when ``remat.solve`` is called and passed to
every phase. A phase asks for its share by name and gets a child budget whose
deadline never passes its parent's; it checks :meth:`TimeBudget.expired` (or
hands :attr:`TimeBudget.deadline` to a loop that does) and stops with what it
has. Without a time limit the shares are the phases' own caps, or unlimited.

The shares, in the order a default solve (``order="auto"``) uses them:

=====================  ==============================================================
phase                  share
=====================  ==============================================================
warm start             :data:`HEURISTICS_SHARE` of the time left for the fast
                       heuristics (:data:`HEURISTICS_UNTIL_FIT_SHARE` while none
                       fits), then ``cut-plan`` (the cut bound and its plan) gets
                       ``min(CUT_PLAN_SECONDS_PER_NODE x n, CUT_PLAN_SHARE x limit)``
                       and ``staged-plan``
                       ``min(STAGED_SECONDS_PER_NODE x n, STAGED_SHARE x limit)``
lower bound            before a search that has the whole limit (order given),
                       :data:`BOUND_FIRST_SHARE` of the time left; before any
                       search with ``lower_bound=True``, :data:`BOUND_SHARE`; at
                       most :data:`BOUND_MAX_SECONDS` either way
given order (auto)     :data:`GIVEN_SHARE` of the limit, counted from the call, or
                       less: after :data:`GIVEN_MIN_SHARE` it stops on
                       :data:`GIVEN_STALL_SHARE` of the limit without progress
order search           :data:`ORDER_SEARCH_SHARE` of the time left
memory order           the rest; the given order resumes for the time the memory
                       order leaves unused when more than :data:`RESUME_SECONDS`
the backend            whatever its phase has left, if more than the model took
                       to build (its translation takes about as long); CP-SAT
                       splits its slice itself: the two-phase start and the
                       neighbourhood search are its options (remat.backends.cpsat)
=====================  ==============================================================

>>> clock = TimeBudget(10.0)
>>> start = clock.heuristics()
>>> round(start.limit, 3) <= 1.0 and start.deadline <= clock.deadline
True
>>> TimeBudget(None).left() is None
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

HEURISTICS_SHARE = 0.1
"""The fast heuristics of the warm-start portfolio stop when this share of the time left has passed."""

HEURISTICS_UNTIL_FIT_SHARE = 0.5
"""While none of them has a schedule within the budget, they may go on up to this share of the limit:
on graphs too large for the model in the time, the heuristics' schedule is the answer."""

CUT_PLAN_SECONDS_PER_NODE = 0.01
CUT_PLAN_SHARE = 0.3
"""``cut-plan`` (the cut bound and its plan, remat.heuristics.cut_plan): its seconds per node of the
graph, capped by this share of the limit (the per-node cap alone without a limit)."""

STAGED_SECONDS_PER_NODE = 0.02
STAGED_SHARE = 0.2
"""``staged-plan``, the last of the portfolio: its seconds per node of the graph, capped by this
share of the limit (the per-node cap alone without a limit)."""

BOUND_SHARE = 0.5
BOUND_MAX_SECONDS = 60.0
"""The relaxation bound (``lower_bound=True``): this share of the time left, at most this long."""

BOUND_FIRST_SHARE = 0.2
"""The relaxation bound before a search that has the whole limit, where the pipeline chose it (the
default ``lower_bound=None``): this share of the time left, at most :data:`BOUND_MAX_SECONDS`."""

MIN_SEARCH_SECONDS = 0.05
"""A backend is not started with less time than this left (nor with less than its model took to build)."""

GIVEN_SHARE = 0.6
"""Under ``order="auto"``, the given order (the paper's model) gets this share of the limit first.
The paper's graphs settle within it, so the default reproduces the paper's optima."""

GIVEN_STALL_SHARE = 0.02
GIVEN_MIN_SHARE = 0.15
"""... and hands over earlier, once it has had this second share of the limit, when its search
has moved neither incumbent nor bound for the first share (at least 1 s): the time to a given
quality then grows little with the limit, and proofs of a few seconds still finish."""

ORDER_SEARCH_SHARE = 0.25
"""The order search takes at most this share of the time left when it starts."""

RESUME_SECONDS = 0.5
"""The given order resumes when the memory order gives nothing with more than this many seconds left."""


@dataclass
class TimeBudget:
    """A deadline and the shares of it that phases take.

    Parameters
    ----------
    limit : float or None
        Seconds from now; None for no limit.
    clock : callable
        The clock (:func:`time.perf_counter`); tests pass a fake one.

    Attributes
    ----------
    origin : float
        Clock reading at the call that created the root budget: ``elapsed()`` counts from it,
        in every child, so that progress events and times to best are "seconds from the call".
    """

    limit: float | None
    clock: Callable[[], float] = time.perf_counter
    origin: float = field(default=-1.0)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        if self.origin < 0:
            self.origin = self.started
        if self.limit is not None:
            self.limit = max(0.0, float(self.limit))

    @property
    def deadline(self) -> float | None:
        """The clock reading at which this budget is spent; None without a limit."""
        return None if self.limit is None else self.started + self.limit

    def elapsed(self) -> float:
        """Seconds since the solve was called."""
        return self.clock() - self.origin

    def left(self) -> float | None:
        """Seconds left (never negative); None without a limit."""
        return None if self.limit is None else max(0.0, self.deadline - self.clock())  # type: ignore[operator]

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.limit is not None and self.clock() >= self.deadline  # type: ignore[operator]

    def child(self, seconds: float | None) -> "TimeBudget":
        """A budget of ``seconds`` from now (None: unlimited), cut to this budget's deadline."""
        left = self.left()
        if seconds is None:
            seconds = left
        elif left is not None:
            seconds = min(seconds, left)
        return TimeBudget(seconds, clock=self.clock, origin=self.origin)

    def fraction(self, share: float, *, at_most: float | None = None) -> "TimeBudget":
        """``share`` of the time left, at most ``at_most`` seconds (that cap alone when unlimited)."""
        left = self.left()
        seconds = at_most if left is None else share * left
        if at_most is not None and seconds is not None:
            seconds = min(seconds, at_most)
        return self.child(seconds)

    # The named shares: each phase takes its own here, so this class is the one place to read.
    def heuristics(self) -> "TimeBudget":
        """The fast heuristics of the warm start."""
        return self.fraction(HEURISTICS_SHARE)

    def heuristics_until_one_fits(self) -> "TimeBudget":
        """The fast heuristics while none has fitted the budget yet."""
        return self.fraction(HEURISTICS_UNTIL_FIT_SHARE)

    def worth_searching(self, build_seconds: float) -> bool:
        """Whether a backend is worth starting on a model that took ``build_seconds`` to build:
        translating it takes about as long, and no search stops before its translation ends."""
        left = self.left()
        return left is None or left > max(MIN_SEARCH_SECONDS, build_seconds)

    def cut_plan(self, n: int) -> "TimeBudget":
        """``cut-plan`` on a graph of ``n`` nodes."""
        cap = CUT_PLAN_SECONDS_PER_NODE * n
        return self.child(cap if self.limit is None else min(cap, CUT_PLAN_SHARE * self.limit))

    def staged_plan(self, n: int) -> "TimeBudget":
        """``staged-plan`` on a graph of ``n`` nodes."""
        cap = STAGED_SECONDS_PER_NODE * n
        return self.child(cap if self.limit is None else min(cap, STAGED_SHARE * self.limit))

    def bound(self) -> "TimeBudget":
        """The relaxation bound."""
        return self.fraction(BOUND_SHARE, at_most=BOUND_MAX_SECONDS)

    def bound_first(self) -> "TimeBudget":
        """The relaxation bound before a search that has the whole limit, where the pipeline
        chose it (``lower_bound=None``)."""
        return self.fraction(BOUND_FIRST_SHARE, at_most=BOUND_MAX_SECONDS)

    def given_first(self) -> "TimeBudget":
        """The given order's first phase under ``order="auto"``: a share of the whole limit, from the call."""
        if self.limit is None:
            return self.child(None)
        return self.child(self.origin + GIVEN_SHARE * self.limit - self.clock())

    def given_stall(self) -> tuple[float, float]:
        """Seconds without progress after which the given order's first phase hands over, and
        the seconds it has before it may."""
        return max(1.0, GIVEN_STALL_SHARE * (self.limit or 0.0)), GIVEN_MIN_SHARE * (self.limit or 0.0)

    def order_search(self) -> "TimeBudget":
        """The search for a low-memory order."""
        return self.fraction(ORDER_SEARCH_SHARE)

    def worth_resuming(self) -> bool:
        """Whether enough time is left for the given order to resume."""
        left = self.left()
        return left is None or left > RESUME_SECONDS
