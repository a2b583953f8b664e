"""``remat.solve``: graph + budget -> verified :class:`~remat.result.Result`.

A short composition of the stages of :mod:`remat.stages`::

    clock   = TimeBudget(time_limit)               # every share of the limit: remat.timebudget
    problem = prepare(graph, budget, ...)
    start   = warm_start(problem, clock, live)     # the heuristics: first incumbent, the floor
    outcome = STRATEGIES[problem.order](problem, start, clock, live)   # models, per order
    result  = assemble(problem, start, outcome, clock)

The result is the cheapest verified schedule of all: never dearer than the
best heuristic schedule the warm start found. Its claims are what was
proven: OPTIMAL only for the paper's model solved to the end in the graph's
order (or a schedule at the total cost, which nothing can beat); the bound
only from models in the graph's order. A schedule that fails verification
raises :class:`~remat.errors.VerificationFailed`: a bug, never handed out.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Sequence

from remat.backends import Backend, Progress
from remat.formulations import Formulation
from remat.heuristics import Heuristic
from remat.result import Attempt, Candidate, Result, Start
from remat import stages
from remat.stages import ORDERS, Live, Problem, at_total_cost, claimed_bound, prepare, run_heuristic, within
from remat.status import Status
from remat.strategies import STRATEGIES, Outcome
from remat.timebudget import TimeBudget


def solve(graph: Any, budget: int, *, backend: "str | Backend" = "cpsat",
          formulation: "str | Formulation | Heuristic" = "moccasin", time_limit: float | None = None,
          threads: int | None = None, max_copies: int = 2, seed: int = 0, hint: Sequence[int] | None = None,
          warm_start: bool = True, lower_bound: bool | None = None,
          on_progress: Callable[[Progress], None] | None = None, log: bool = False,
          backend_options: dict[str, Any] | None = None, order: str = "auto", **formulation_options: Any) -> Result:
    """Find a minimum-cost schedule of ``graph`` within ``budget`` bytes.

    Parameters
    ----------
    graph, budget : Graph, int
        The graph; the budget in bytes (:func:`remat.budget.parse_budget` reads "90%" of the peak).
    backend : str or Backend
        ``"cpsat"`` (default), ``"highs"``, ``"pyomo:NAME"``, or a backend object.
    formulation : str, Formulation or Heuristic
        ``"moccasin"`` (default), another model, or a heuristic (``"greedy-eviction"``...) run alone.
    time_limit : float, optional
        Seconds for the whole call, kept by every phase (:mod:`remat.timebudget`).
    threads, seed, max_copies : int
        Solver threads, random seed, computations per node the model allows (C, default 2).
    hint : sequence of int, optional
        A compute sequence (node indices) to warm-start from instead of the heuristics.
    warm_start, lower_bound : bool
        Run the heuristics first (default; their best schedule is the floor of the result). Bound
        the optimum with the formulation's relaxation before the search: always (True), never
        (False), or by default (None) where it may pay (:func:`remat.stages.run_model`).
    on_progress : callable, optional
        Gets :class:`~remat.backends.Progress` events: best incumbent, bound, seconds from the call.
    log, backend_options, order, **formulation_options
        The backend's own log; its parameters; ``"auto"`` (default), ``"given"`` or ``"memory"``
        (:mod:`remat.strategies`); options of the formulation's ``build``.

    Returns
    -------
    Result
        Its schedule, if any, has passed :func:`remat.verify.verify` at ``budget``.

    Raises
    ------
    BudgetError, FormulationError, BackendError
        Bad arguments (a one-line message).

    Examples
    --------
    >>> from remat.generators import unet
    >>> from remat.graph import no_remat_peak
    >>> r = solve(unet(depth=2), int(0.9 * no_remat_peak(unet(depth=2))), time_limit=30)
    >>> r.status.value, r.report.valid, r.peak_memory <= r.budget
    ('optimal', True, True)
    """
    clock = TimeBudget(time_limit)
    problem = prepare(graph, budget, formulation=formulation, backend=backend, order=order, time_limit=time_limit,
                      hint=hint, threads=threads, seed=seed, max_copies=max_copies, warm_start=warm_start,
                      lower_bound=lower_bound, log=log, backend_options=dict(backend_options or {}),
                      formulation_options=formulation_options)
    live = Live(on_progress, clock, problem.graph.total_cost)
    if problem.backend is None:
        return assemble(problem, run_heuristic(problem, clock, live), Outcome(()), clock)
    start = stages.warm_start(problem, clock, live) if problem.warm_start and problem.hint is None else Start(None)
    return assemble(problem, start, _models(problem, start, clock, live), clock)


def _models(problem: Problem, start: Start, clock: TimeBudget, live: Live) -> Outcome:
    """The order strategy's models, unless the start is final (interrupted, or unbeatable); a Ctrl-C
    outside a backend (which keeps its incumbent itself) leaves the start's schedule standing."""
    if start.interrupted or stages.settled(problem.graph, start):
        return Outcome((), interrupted=start.interrupted)
    try:
        return STRATEGIES[problem.order](problem, start, clock, live)
    except KeyboardInterrupt:
        if start.best is None:
            raise
        return Outcome((), interrupted=True)


def assemble(problem: Problem, start: Start, outcome: Outcome, clock: TimeBudget) -> Result:
    """The result, built once: the cheapest verified schedule of the attempts and the warm starts
    (ties go to a model in the given order, then to any model, then to a heuristic), with the
    claims that hold for the graph."""
    graph = problem.graph
    attempts = outcome.attempts
    chosen = _cheapest(start, outcome)
    attempt = _attempt_of(chosen, attempts)
    bound = _bound(graph, attempts, chosen, start.bound)
    status, reason = _status(problem, chosen, attempt, attempts, start.bound)
    if status == Status.OPTIMAL and chosen is not None:
        bound = chosen.cost
    head = attempt or (attempts[-1] if attempts else None)
    reached, began = _first_reached(chosen, start, outcome)
    interrupted = outcome.interrupted or start.interrupted or any(a.interrupted for a in attempts)
    return Result(status=status, schedule=None if chosen is None else chosen.schedule.with_claims(status=status.value),
                  objective=None if chosen is None else chosen.cost, bound=None if status == Status.INFEASIBLE
                  else bound, wall_time=clock.elapsed(), report=None if chosen is None else chosen.report,
                  budget=problem.budget, graph=graph.name, formulation=problem.formulation.name,
                  backend=problem.backend_name, time_to_best=reached,
                  build_time=sum(a.build_time for a in attempts), model_size=head.model_size if head else {},
                  message=_message(problem, chosen, head, start, attempts), total_cost=graph.total_cost,
                  time_to_first=_first(start, attempts), warm_start=head.warm_start if head else None,
                  hint_time=start.seconds + sum(a.hint_time for a in attempts), interrupted=interrupted,
                  unproven_reason=reason if status == Status.FEASIBLE else "",
                  bound_time=sum(a.bound_time for a in attempts), order=chosen.order if chosen else "given",
                  order_time=outcome.order_time, started_at=began,
                  settled=attempt is not None and attempt.settled, source="" if chosen is None else chosen.source,
                  lowest_peak=None if chosen is not None else _lowest_peak(start, outcome), **_model_outcome(attempts))


def _cheapest(start: Start, outcome: Outcome) -> Candidate | None:
    ranked = [(a.candidate, 0 if a.order == "given" else 1) for a in outcome.attempts if a.candidate is not None]
    ranked += [(s.best, 2) for s in (start, *outcome.starts) if s.best is not None]
    return min(ranked, key=lambda cr: (cr[0].cost, cr[1]))[0] if ranked else None


def _lowest_peak(start: Start, outcome: Outcome) -> int | None:
    """The lowest peak of the verified schedules over the budget (the heuristics' best efforts)."""
    return min((c.report.peak_memory for s in (start, *outcome.starts) for c in s.offers), default=None)


def _model_outcome(attempts: Sequence[Attempt]) -> dict[str, Any]:
    """The paper's model's own best (the given order's attempts), reported beside the result."""
    given = [a for a in attempts if a.order == "given"]
    if not given:
        return {}
    found = [a for a in given if a.candidate is not None]
    if not found:
        return {"model_objective": None, "model_status": given[-1].status}
    best = min(found, key=lambda a: (a.candidate.cost, a.status != Status.OPTIMAL))  # type: ignore[union-attr]
    return {"model_objective": best.candidate.cost, "model_status": best.status}  # type: ignore[union-attr]


def _first_reached(chosen: Candidate | None, start: Start, outcome: Outcome) -> tuple[float | None, float]:
    """When the returned cost was first reached, and when the stage that reached it began (seconds
    from the call): a heuristic and a model can reach the same cost, the heuristic first."""
    if chosen is None:
        return None, 0.0
    stages = [(c, s.started_at) for s in (start, *outcome.starts) for c in s.offers]
    stages += [(a.candidate, a.started_at) for a in outcome.attempts if a.candidate is not None]
    first, began = min(((c, t) for c, t in stages if c.fits and c.cost <= chosen.cost), key=lambda ct: ct[0].found_at)
    return first.found_at, began


def _attempt_of(chosen: Candidate | None, attempts: Sequence[Attempt]) -> Attempt | None:
    return next((a for a in reversed(attempts) if chosen is not None and a.candidate is chosen), None)


def _bound(graph: Any, attempts: Sequence[Attempt], chosen: Candidate | None, cut: float | None) -> float:
    """The best lower bound proven: the total cost (every schedule computes every node) or the cut
    bound (every schedule in any order), raised by what models in the graph's order proved, unless
    the schedule returned is cheaper than that (a schedule outside the paper's model: another order,
    or more copies), whose bound that is not."""
    model = max((a.bound for a in attempts if a.bound is not None), default=None)
    return claimed_bound(max(graph.total_cost, cut or 0), model, None if chosen is None else chosen.cost)


def _status(problem: Problem, chosen: Candidate | None, attempt: Attempt | None,
            attempts: Sequence[Attempt], cut: float | None) -> tuple[Status, str]:
    """The status the result can claim, and why it is not OPTIMAL when it has a schedule."""
    if chosen is None:
        proven = cut == math.inf or any(a.status == Status.INFEASIBLE and a.settled and a.order == "given"
                                         for a in attempts)
        return (Status.INFEASIBLE if proven else Status.UNKNOWN), ""
    if at_total_cost(problem.graph, chosen) or within(cut, chosen) or _at_model_bound(chosen, attempts) or (
            attempt is not None and attempt.order == "given" and attempt.status == Status.OPTIMAL):
        return Status.OPTIMAL, ""
    if attempt is None:
        name = chosen.source.removeprefix("heuristic ")
        if problem.backend is None:
            return Status.FEASIBLE, f"{name} is a heuristic: nothing proven"
        if any(a.settled and a.status == Status.INFEASIBLE and a.order == "given" for a in attempts):
            why = (f"the model (at most {problem.max_copies} computations per node) has no schedule within the "
                   f"budget; the heuristic {name}'s fits")
        elif any(a.status == Status.OPTIMAL and a.order == "given" for a in attempts):
            why = f"the heuristic {name}'s schedule, cheaper than the model's optimum: it leaves the model"
        else:
            why = f"the heuristic {name}'s schedule: the solver found none cheaper in the time"
        return Status.FEASIBLE, why + _more_copies(chosen, name, attempts, problem.max_copies)
    if attempt.order != "given":
        why = ("optimal in the memory order; the order is a heuristic, nothing proven for the graph"
               if attempt.status == Status.OPTIMAL else attempt.unproven_reason)
        return Status.FEASIBLE, why
    return Status.FEASIBLE, attempt.unproven_reason


def _more_copies(chosen: Candidate, name: str, attempts: Sequence[Attempt], max_copies: int) -> str:
    """Advice when the model in the given order could not start from the heuristic's schedule
    because it computes a node more often than the model's C: a larger C can, where the schedule's
    first computations follow the graph's order (node indices) as the model's do."""
    copies = max(Counter(chosen.computes).values(), default=0)
    given = [a for a in attempts if a.order == "given"]
    firsts = list(dict.fromkeys(chosen.computes))
    if copies <= max_copies or not given or firsts != sorted(firsts) or any(a.warm_start == name for a in given):
        return ""
    return (f"; it computes a node {copies} times, the model at most {max_copies}: with max_copies={copies} "
            f"(--max-copies {copies}) the model starts from it")


def _at_model_bound(chosen: Candidate, attempts: Sequence[Attempt]) -> bool:
    """Whether ``chosen`` costs what the paper's model (the given order) was proven to cost at
    least: no schedule of the model is cheaper. One cheaper than that leaves the model, and
    nothing is proven for it."""
    bound = max((a.bound for a in attempts if a.order == "given" and a.bound is not None), default=None)
    return bound is not None and chosen.fits and math.isclose(chosen.cost, bound, rel_tol=1e-9)


def _message(problem: Problem, chosen: Candidate | None, head: Attempt | None, start: Start,
             attempts: Sequence[Attempt]) -> str:
    name = problem.formulation.name
    if problem.backend is None and chosen is None and start.offers:
        return f"{name}'s schedule peaks at {start.offers[0].report.peak_memory:,} bytes, over the budget"
    if problem.backend is None:
        return name if chosen is not None else f"{name} found no schedule within the budget"
    if head is None:
        return "interrupted during the warm start" if start.interrupted else ""
    if head.order == "given" and any(a.order == "memory" and a.candidate is not None for a in attempts):
        return f"the given order costs no more than the memory order. {head.message}".strip()
    return head.message


def _first(start: Start, attempts: Sequence[Attempt]) -> float | None:
    times = [c.found_at for c in start.offers if c.fits] + [a.time_to_first for a in attempts
                                                            if a.time_to_first is not None]
    return min(times) if times else None


__all__ = ["ORDERS", "Result", "assemble", "solve"]
