"""Order strategies: which models of the graph a solve runs, in which order of first computations.

Each strategy composes :func:`remat.stages.run_model` and returns the
attempts it made; :func:`remat.solve.assemble` picks the result from them and
the warm start. A model solved in another order than the graph's is no longer
the paper's model: nothing it proves carries over to the graph, except a
schedule at the total cost being optimal (assemble applies that rule).

* ``given``: the paper's model, first computations in the graph's order.
* ``memory``: search a topological order with less memory above the budget
  (:func:`remat.heuristics.ordering.low_memory_order`), solve the model in it;
  when that gives nothing, or proves its optimum with time left, the given
  order gets the rest, started from the best schedule so far.
* ``auto`` (the default with a time limit): the given order for
  :data:`remat.timebudget.GIVEN_SHARE` of the limit with the full search only
  (its job is proofs), or until that search stalls; unless that settles it,
  ``memory`` for the rest.

>>> from remat.generators import random_layered
>>> from remat.graph import no_remat_peak
>>> import remat
>>> g = random_layered(40, seed=3)
>>> r = remat.solve(g, int(0.8 * no_remat_peak(g)), time_limit=20)
>>> r.order, r.status.value  # settled in the given order's share of the time
('given', 'optimal')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from remat.backends import features_of
from remat.graph import Graph
from remat.heuristics import ordering
from remat.result import Attempt, Start
from remat.stages import Live, Problem, at_total_cost, run_model, warm_start
from remat.status import Status
from remat.timebudget import TimeBudget


@dataclass(frozen=True)
class Outcome:
    """What a strategy did: its attempts (in the order made), the seconds its order search took,
    and whether Ctrl-C cut it short."""

    attempts: tuple[Attempt, ...]
    order_time: float = 0.0
    interrupted: bool = False
    starts: tuple[Start, ...] = ()  # warm starts run in other orders: their schedules count too


def given(problem: Problem, start: Start, clock: TimeBudget, live: Live) -> Outcome:
    """The paper's model in the graph's own order, for the whole time."""
    return Outcome((run_model(problem, problem.graph, "given", start, clock, live, bound_first=True),))


def auto(problem: Problem, start: Start, clock: TimeBudget, live: Live) -> Outcome:
    """The given order first (proofs), then the memory order for the rest unless that settled it."""
    options = dict(problem.backend_options)
    if "neighbourhood-search" in features_of(problem.backend) and not {"lns", "lns_after"} & options.keys():
        # this phase is for proofs: no neighbourhood search (it proves nothing), and a stall ends it
        stall, not_before = clock.given_stall()
        options.update(lns=False, stop_after_stall=stall, stall_not_before=not_before)
    first = run_model(problem, problem.graph, "given", start, clock.given_first(), live, backend_options=options)
    if first.settled or first.interrupted or clock.expired():
        return Outcome((first,))
    try:
        rest = memory(problem, _with_offer(start, first), clock, live, previous=first)
    except KeyboardInterrupt:  # in the order search: the given order's result stands
        return Outcome((first,), interrupted=True)
    return replace(rest, attempts=(first, *rest.attempts))


def memory(problem: Problem, start: Start, clock: TimeBudget, live: Live,
           previous: Attempt | None = None) -> Outcome:
    """The model in a low-memory order; the given order for the time it leaves unused.

    ``previous`` is a given-order attempt already made (under ``auto``): the given order then
    resumes from its best schedule instead of starting over."""
    graph = problem.graph
    search = clock.order_search()
    order = ordering.low_memory_order(graph, problem.budget, seed=problem.seed, deadline=search.deadline,
                             on_tick=lambda: live.event(None))
    order_time = search.clock() - search.started
    if order == list(range(graph.n)):  # no better order: the given order's solve, its proofs standing
        return Outcome(_given_again(problem, start, clock, live, previous), order_time)
    reordered: Graph = graph.reordered(order)
    own = warm_start(problem, clock, live, graph=reordered) if problem.warm_start else Start(None)
    if at_total_cost(graph, own.best):  # a heuristic in this order recomputes nothing: unbeatable
        return Outcome((), order_time, own.interrupted, (own,))
    attempt = run_model(problem, reordered, "memory", _merged(own, start), clock, live)
    attempts = (attempt,)
    gave_nothing = attempt.candidate is None or attempt.status == Status.OPTIMAL
    unbeatable = at_total_cost(graph, attempt.candidate)
    if not unbeatable and not attempt.interrupted and gave_nothing and clock.worth_resuming():
        attempts += _given_again(problem, _with_offer(start, attempt), clock, live, previous)
    return Outcome(attempts, order_time, attempt.interrupted, (own,))


def _given_again(problem: Problem, start: Start, clock: TimeBudget, live: Live,
                 previous: Attempt | None) -> tuple[Attempt, ...]:
    """The given order for the time left; under ``auto``, only when worth resuming, from the
    previous attempt's schedule (the start's offers carry it)."""
    if previous is not None and not clock.worth_resuming():
        return ()
    return (run_model(problem, problem.graph, "given", start, clock, live),)


def _merged(first: Start, then: Start) -> Start:
    """Both starts' offers, ``first``'s before ``then``'s; the cheaper best."""
    bests = [s.best for s in (first, then) if s.best is not None]
    return Start(min(bests, key=lambda c: c.cost) if bests else None, first.offers + then.offers,
                 first.seconds + then.seconds, first.interrupted or then.interrupted, first.started_at)


def _with_offer(start: Start, attempt: Attempt) -> Start:
    """``start`` with ``attempt``'s schedule offered first as a hint, when it is cheaper than the start's."""
    found = attempt.candidate
    if found is None or (start.best is not None and start.best.cost <= found.cost):
        return start
    return replace(start, offers=(found, *start.offers))


STRATEGIES = {"given": given, "memory": memory, "auto": auto}
"""Order name -> strategy (:data:`remat.stages.ORDERS`)."""

__all__ = ["STRATEGIES", "Outcome", "auto", "given", "memory"]
