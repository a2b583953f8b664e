"""Solves that may leave the graph's order of first computations.

``remat.solve(..., order=...)`` dispatches here for two of :data:`remat.ordering.ORDERS`:

* ``"memory"`` (:func:`solve_in_memory_order`): search an order with less memory above the
  budget, then solve the same model on the graph in that order.
* ``"auto"``, the default with a time limit (:func:`solve_given_then_memory`): the paper's model
  in the given order first; when it is not settled (proven optimal or infeasible) within
  :data:`GIVEN_SHARE` of the limit, the rest of the time goes to the memory order, and the
  cheaper verified schedule is the result.

A model solved in another order is no longer the paper's: nothing it proves carries over to the
graph except a schedule at the total cost (nothing recomputed, or only nodes of zero cost) being
optimal. Such results are reported ``feasible`` with the total cost as bound; every schedule is
replayed by :mod:`remat.verify` on the original graph.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from remat.backends import Progress, get_backend
from remat.errors import VerificationFailed
from remat.graph import Graph
from remat.status import Status
from remat.verify import verify

if TYPE_CHECKING:
    from remat.solve import Result

GIVEN_SHARE = 0.6
"""Share of the time limit the given order gets first under ``order="auto"``, with the full
search only (no neighbourhood search, which improves incumbents but proves nothing). The paper's
graphs settle within it, so the default reproduces the paper's optima: RL1 at 80%, the slowest,
needs about 2 s of search, and at half of a 5 s limit it was not settled in three runs of three;
on the generated 500- and 1000-node graphs the given order alone found its best schedules at 16 to
50 s of 60 s and 43 to 120 s of 120 s, and the memory order needs the rest (docs/performance.md,
"The default solve's order")."""

ORDER_SHARE = 0.25
"""The order search takes at most this share of its solve's time limit; it stops as soon as an
order fits the budget without recomputation."""

RESUME_SECONDS = 0.5
"""Under ``order="auto"``, when the memory order gives nothing (no better order found, or the
model infeasible in it) with more than this many seconds left, the given order gets them, warm
started from its best schedule: on graphs whose order is forced (training graphs) the rest of the
time is not lost."""

ProgressCallback = Callable[[Progress], None]


def _solve_from(graph: Graph, budget: int, t0: float, time_left: float | None, on_progress: ProgressCallback | None,
                *, proofs_hold: bool, **options: Any) -> "Result":
    """``remat.solve`` in ``graph``'s own order, started now, its progress and ``started_at``
    counted from ``t0``. Without ``proofs_hold`` (a reordered graph) the live bound is the total
    cost, the only one that holds for the original graph."""
    from remat.solve import solve

    start = time.perf_counter() - t0

    def report(p: Progress) -> None:
        if on_progress is not None:
            on_progress(Progress(start + p.elapsed, p.objective, p.bound if proofs_hold else graph.total_cost))

    result = solve(graph, budget, order="given", time_limit=time_left, on_progress=report, **options)
    result.started_at = start
    return result


def solve_given_then_memory(graph: Graph, budget: int, *, time_limit: float, hint: Sequence[int] | None = None,
                            on_progress: ProgressCallback | None = None, **options: Any) -> "Result":
    """The default solve with a time limit (``order="auto"``): the given order, then the memory order.

    The paper's model in the given order gets :data:`GIVEN_SHARE` of ``time_limit`` (a backend
    with a neighbourhood search runs its full search only, unless the caller sets ``lns`` or
    ``lns_after``). A result it settles there (``Result.settled``: proven optimal or infeasible,
    for the costs rounded to integers when they are not), or a Ctrl-C, is the answer: so the
    paper's optima are reproduced exactly. Otherwise the rest of the time goes to :func:`solve_in_memory_order`, and
    the cheaper of the two verified schedules is the result (the given order's on a tie, since its
    claims are the paper model's). ``Result.order`` says which.
    A Ctrl-C in the second phase keeps the cheaper schedule found so far (``interrupted`` set).

    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(40, seed=3)
    >>> r = solve_given_then_memory(g, int(0.8 * no_remat_peak(g)), time_limit=20)
    >>> r.order, r.status.value  # settled in the given order's share of the time
    ('given', 'optimal')
    """
    t0 = time.perf_counter()
    settling = dict(options)
    extra = dict(options.get("backend_options") or {})
    neighbourhoods = "neighbourhood-search" in getattr(get_backend(options.get("backend", "cpsat")), "features", ())
    if neighbourhoods and not {"lns", "lns_after"} & extra.keys():
        settling["backend_options"] = {**extra, "lns": False}  # this phase is for proofs
    given = _solve_from(graph, budget, t0, GIVEN_SHARE * time_limit, on_progress, proofs_hold=True, hint=hint,
                        **settling)
    left = time_limit - (time.perf_counter() - t0)
    if given.settled or given.interrupted or left <= 0:
        given.wall_time = time.perf_counter() - t0  # from the call, like started_at
        return given
    offset = time.perf_counter() - t0

    def shifted(p: Progress) -> None:
        if on_progress is not None:
            on_progress(Progress(offset + p.elapsed, p.objective, p.bound))

    try:
        result = solve_in_memory_order(graph, budget, time_limit=left, hint=hint, on_progress=shifted, given=given,
                                       **options)
    except KeyboardInterrupt:  # Ctrl-C in the order search or a warm start: the given order's result stands
        given.interrupted = True
        result = given
    if result is not given:
        result.started_at += offset
    result.wall_time = time.perf_counter() - t0
    return result


def solve_in_memory_order(graph: Graph, budget: int, *, order: str = "memory", time_limit: float | None = None,
                          hint: Sequence[int] | None = None, on_progress: ProgressCallback | None = None,
                          seed: int = 0, given: "Result | None" = None, **options: Any) -> "Result":
    """:func:`remat.solve.solve` on ``graph`` in :func:`remat.ordering.low_memory_order`'s order.

    A reordered optimum is reported ``feasible`` ("optimal in the memory order" in
    ``unproven_reason``), the bound being the total cost; only a schedule at the total cost is
    ``optimal``. The given order (its statuses standing, ``Result.order == "given"``) takes
    over when the search finds no better order; when the model is infeasible in the new order;
    and when it costs no more than the memory order's schedule. Without ``given`` (the given
    order's result, already solved by :func:`solve_given_then_memory`), that last comparison is
    made only when the memory order's optimum is proven with time left, which the given order
    then gets; with it, the given order resumes from its best schedule for the time the memory
    order leaves unused (:data:`RESUME_SECONDS`). The schedule is verified against ``graph``
    itself. The search takes at most :data:`ORDER_SHARE` of the time limit.

    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(60, seed=3)
    >>> r = solve_in_memory_order(g, int(0.8 * no_remat_peak(g)), time_limit=20)
    >>> r.order, r.report.valid, r.peak_memory <= r.budget
    ('memory', True, True)
    """
    from remat.ordering import order_for
    from remat.solve import _with_replayed_claims

    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + ORDER_SHARE * time_limit

    def searching() -> None:  # no incumbent yet: the live line shows the time pass
        if on_progress is not None:
            on_progress(Progress(time.perf_counter() - t0, None, graph.total_cost))

    reordered = order_for(graph, budget, order, seed=seed, deadline=deadline, on_tick=searching)
    order_time = time.perf_counter() - t0

    def time_left() -> float | None:
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))

    def given_resumed(first: "Result") -> "Result":
        """The given order again for the time left, from ``first``'s best schedule; the better of the two."""
        start = None if first.schedule is None else [graph.index[v] for v in first.schedule.computes]
        again = _solve_from(graph, budget, t0, time_left(), on_progress, proofs_hold=True, hint=start, seed=seed,
                            **options)
        again.interrupted = again.interrupted or first.interrupted
        cheaper = again.objective is not None and (first.objective is None or again.objective < first.objective)
        better = again.settled or cheaper
        winner, other = (again, first) if better else (first, again)
        if not winner.settled and winner.bound is not None and other.bound is not None:
            winner.bound = max(winner.bound, other.bound)  # both bound the given order's model
        return winner

    def in_given_order(why: str, result: "Result | None" = None) -> "Result":
        if result is None and given is not None and (time_left() or 0.0) > RESUME_SECONDS:
            result = given_resumed(given)  # order="auto" with time left: the given order gets it
        result = result or given or _solve_from(graph, budget, t0, time_left(), on_progress, proofs_hold=True,
                                                hint=hint, seed=seed, **options)
        result.order_time = order_time
        result.message = f"{why}. {result.message}".strip() if why else result.message
        result.wall_time = time.perf_counter() - t0
        return result

    if reordered is graph:  # no better order found: the given order's solve, its proofs standing
        return in_given_order("")
    mapped = None if hint is None else [reordered.index[graph.ids[v]] for v in hint]
    inner = _solve_from(reordered, budget, t0, time_left(), on_progress, proofs_hold=False, hint=mapped, seed=seed,
                        **options)
    inner.order, inner.order_time = order, order_time
    inner.wall_time = time.perf_counter() - t0
    if given is not None and inner.interrupted:  # Ctrl-C: whichever result wins says so
        given.interrupted = True
    if inner.status == Status.INFEASIBLE:
        return in_given_order("infeasible in the memory order: the given order's result")
    if inner.schedule is None:
        return inner if given is None or given.schedule is None else in_given_order("no schedule in the memory order")
    report = verify(graph, inner.schedule, budget)
    if not report.valid:
        raise VerificationFailed("the schedule found in the memory order is invalid for the graph: "
                                 + "; ".join(map(str, report.violations[:3])))
    inner.report = report
    if inner.status == Status.OPTIMAL and report.total_cost == graph.total_cost:
        inner.bound = inner.objective  # nothing of any cost recomputed: optimal in every order
        return inner
    rival = given
    if inner.status == Status.OPTIMAL and time_left() != 0:
        # Optimal in the memory order, with time left: that optimum can cost more than the given
        # order's, so the given order gets the rest of the time.
        if given is None:
            rival = _solve_from(graph, budget, t0, time_left(), on_progress, proofs_hold=True, seed=seed, **options)
        elif (time_left() or 0.0) > RESUME_SECONDS:
            rival = given_resumed(given)
    if rival is not None and rival.objective is not None and rival.objective <= report.total_cost:
        return in_given_order("the given order costs no more than the memory order", rival)
    if inner.status == Status.OPTIMAL:
        inner.status = Status.FEASIBLE
        inner.unproven_reason = "optimal in the memory order; the order is a heuristic, nothing proven for the graph"
    inner.bound = graph.total_cost
    inner.schedule = _with_replayed_claims(inner.schedule, report, inner.status)
    inner.wall_time = time.perf_counter() - t0
    return inner
