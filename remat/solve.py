"""``remat.solve``: graph + budget -> verified Result.

The pipeline: formulation builds the IR, the backend solves it, the
formulation decodes the values to a compute sequence, the shared schedule
builder adds the frees, and the independent verifier replays the schedule.
A schedule that fails verification raises :class:`VerificationFailed`: it is a
bug, never handed out.

Warm start: by default the formulation's own warm start (when it has one,
``Built.info["warm_start"]``) and the cheapest baseline schedule
(:mod:`remat.baselines`) that fits the budget and that the formulation can
express compete; the cheaper fitting one is handed to the backend as a hint
(an over-budget own start when nothing fits: a two-phase backend minimises the
peak from it). A baseline given as the formulation (``"chen-sqrt"``, ...) runs
directly, without a backend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from remat.backends import Backend, Progress, SolveOptions, get_backend
from remat.errors import BudgetError, FormulationError, VerificationFailed
from remat.formulations import Formulation, WarmStartInterrupted, get_formulation
from remat.ir import Linear
from remat.graph import Graph
from remat.ordering import ORDERS
from remat.schedule import Schedule, schedule_from_computes
from remat.status import Status
from remat.verify import Report, verify


@dataclass
class Result:
    """What a solve returns. ``objective`` and ``bound`` are in the graph's cost unit."""

    status: Status
    schedule: Schedule | None
    objective: float | int | None
    bound: float | None
    wall_time: float
    report: Report | None
    budget: int
    graph: str
    formulation: str
    backend: str
    time_to_best: float | None = None
    build_time: float = 0.0
    model_size: dict[str, int] = field(default_factory=dict)
    message: str = ""
    total_cost: float | int = 0
    time_to_first: float | None = None  # seconds from the backend's start to its first incumbent
    warm_start: str | None = None  # the baseline (or "hint") handed to the backend
    hint_time: float = 0.0  # seconds spent finding and encoding the warm start
    interrupted: bool = False  # stopped by Ctrl-C: the schedule, if any, is the best incumbent so far
    unproven_reason: str = ""  # why a schedule is FEASIBLE rather than OPTIMAL, in words
    bound_time: float = 0.0  # seconds spent on the formulation's relaxation (``lower_bound``)
    order: str = "given"  # the order of first computations the model followed (see remat.ordering)
    order_time: float = 0.0  # seconds spent searching an order (remat.solve_orders)
    started_at: float = 0.0  # seconds from the call to the start of the solve this result is from
    settled: bool = False  # the backend proved its model optimal or infeasible (costs rounded when inexact)

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / objective; 0 when proven optimal."""
        if self.status == Status.OPTIMAL:
            return 0.0
        if self.objective is None or self.bound is None or not self.objective:
            return None
        return max(0.0, (self.objective - self.bound) / self.objective)

    @property
    def tdi(self) -> float | None:
        """Total duration increase in percent: 100 x (objective / total cost - 1)."""
        if self.objective is None or not self.total_cost:
            return None if self.objective is None else 0.0
        return 100.0 * (self.objective / self.total_cost - 1.0)

    @property
    def peak_memory(self) -> int | None:
        return None if self.report is None else self.report.peak_memory


def solve(graph: Graph, budget: int, *, backend: "str | Backend" = "cpsat",
          formulation: "str | Formulation" = "moccasin", time_limit: float | None = None,
          threads: int | None = None, max_copies: int = 2, seed: int = 0,
          hint: Sequence[int] | None = None, warm_start: bool = True, lower_bound: bool = False,
          on_progress: Callable[[Progress], None] | None = None, log: bool = False,
          backend_options: dict[str, Any] | None = None, order: str = "auto",
          **formulation_options: Any) -> Result:
    """Find a minimum-cost schedule of ``graph`` within ``budget`` bytes.

    ``hint`` is a compute sequence (node indices) to warm-start from; with
    ``warm_start`` and no hint, the cheapest fitting baseline schedule that the
    formulation can encode is used (see :func:`best_warm_start`).
    ``lower_bound`` (default off): before the backend runs, solve the
    formulation's relaxation (``Built.info["relaxation"]``, when it has one)
    for a share :data:`RELAXATION_SHARE` of the time left, at most
    :data:`RELAXATION_MAX_SECONDS`, and add "objective >= its bound" to the
    model: a valid row that lets the backend stop as soon as its incumbent
    meets it (docs/performance.md measures when that pays).
    ``on_progress`` receives each new incumbent and bound in the graph's cost
    unit, ``elapsed`` counted from the start of the solve.
    ``formulation`` may also name a baseline; it then runs without a backend.
    ``order`` (:data:`remat.ordering.ORDERS`): ``"given"`` solves the paper's
    model, first computations in the graph's order; ``"memory"`` first looks
    for an order with less memory above the budget and solves the model in
    that order; ``"auto"`` (the default) is ``"given"`` without a time limit,
    and with one gives the given order the first 60% and, unless that settles
    it, the memory order the rest: see :mod:`remat.solve_orders`.

    >>> from remat.generators import unet
    >>> g = unet(depth=2)
    >>> from remat.graph import no_remat_peak
    >>> r = solve(g, int(0.9 * no_remat_peak(g)), time_limit=30)
    >>> r.status.value, r.report.valid, r.peak_memory <= r.budget
    ('optimal', True, True)
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise BudgetError(f"budget must be a non-negative integer number of bytes, got {budget!r}")
    form = get_formulation(formulation)
    if order not in ORDERS:
        raise FormulationError(f"unknown order {order!r}: expected one of {', '.join(ORDERS)}")
    chooses_order = getattr(form, "chooses_order", False)
    if order == "auto" and (time_limit is None or chooses_order or graph.fixed_order or hasattr(form, "schedule")):
        order = "given"  # nothing to split, or no order to search
    if order != "given":
        if chooses_order:
            raise FormulationError(f"formulation {form.name!r} chooses its own order: order={order!r} does not apply")
        if graph.fixed_order:
            raise FormulationError(f"graph {graph.name!r} fixes its order (graph.fixed_order: multi-output "
                                   f"operators run as one): order={order!r} does not apply")
        from remat.solve_orders import solve_given_then_memory, solve_in_memory_order

        options = dict(hint=hint, on_progress=on_progress, backend=backend, formulation=form, threads=threads,
                       max_copies=max_copies, seed=seed, warm_start=warm_start, lower_bound=lower_bound, log=log,
                       backend_options=backend_options, **formulation_options)
        if order == "auto":
            return solve_given_then_memory(graph, budget, time_limit=time_limit, **options)  # type: ignore[arg-type]
        return solve_in_memory_order(graph, budget, order=order, time_limit=time_limit, **options)
    if hasattr(form, "schedule"):
        return _run_heuristic(form, graph, budget, max_copies=max_copies, **formulation_options)
    solver = get_backend(backend)
    t0 = time.perf_counter()
    built = form.build(graph, budget, max_copies=max_copies, **formulation_options)
    build_time = time.perf_counter() - t0

    t_hint = time.perf_counter()
    hint_values = None
    hint_name = None
    if hint is not None:
        hint_values = built.encode(hint)
        hint_name = "hint" if hint_values is not None else None
    elif warm_start:
        # The formulation's own heuristic first, when it has one; the baselines then get a tenth of
        # the time limit (they stop between baselines), a fiftieth when the own start already fits:
        # on random layered graphs of 1000 nodes none of them fits, and they would use it all.
        try:
            own = built.info["warm_start"](time_limit=time_limit) if "warm_start" in built.info else None
        except WarmStartInterrupted as stop:
            return _interrupted_warm_start(graph, budget, stop.sequence, t0, form.name,
                                           getattr(solver, "name", type(solver).__name__))
        share = 0.02 if own is not None and own[1] else 0.1
        deadline = None if time_limit is None else time.perf_counter() + share * max(0.0, time_limit - build_time)
        hint_name, hint_values = best_warm_start(graph, budget, built.encode, deadline=deadline)
        if own is not None:
            hint_name, hint_values = _own_warm_start(graph, built, own, hint_name, hint_values)
    hint_time = time.perf_counter() - t_hint
    relaxed_bound, bound_time = None, 0.0
    if lower_bound and "relaxation" in built.info:
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        relaxed_bound, bound_time = _bound_from_relaxation(built, left, threads)
        if relaxed_bound is not None and on_progress is not None:
            on_progress(Progress(time.perf_counter() - t0, None, relaxed_bound * built.cost_unit))
    unit = built.cost_unit
    first: list[float] = []

    setup = time.perf_counter() - t0  # progress counts from the start of the solve, like the bound's event

    def scaled_progress(p: Progress) -> None:
        if p.objective is not None and not first:
            first.append(p.elapsed)
        if on_progress is not None:
            on_progress(Progress(setup + p.elapsed, None if p.objective is None else p.objective * unit,
                                 None if p.bound is None else p.bound * unit))

    remaining = None if time_limit is None else max(0.0, time_limit - build_time - hint_time - bound_time)
    raw = solver.solve(built.model, SolveOptions(time_limit=remaining, threads=threads, seed=seed,
                                                 hint=hint_values, on_progress=scaled_progress, log=log,
                                                 extra=dict(backend_options or {})))
    status = raw.status
    schedule = report = None
    objective = None
    reason = "time limit reached: best verified incumbent" if status == Status.FEASIBLE else ""
    if raw.interrupted:
        reason = "interrupted: best verified incumbent so far"
    if status.has_schedule:
        if not built.exact_costs and status == Status.OPTIMAL:
            status = Status.FEASIBLE  # optimal only for the rounded costs; see remat.formulations.scaling
            reason = "optimal for the costs rounded to integers, not proven for the true costs"
        computes = built.decode(raw.values)  # type: ignore[arg-type]
        draft = schedule_from_computes(graph, computes)
        report = verify(graph, draft, budget)
        schedule = _with_replayed_claims(draft, report, status)
        if not report.valid:
            raise VerificationFailed(f"{form.name}/{getattr(solver, 'name', solver)} returned an invalid schedule: "
                                     + "; ".join(map(str, report.violations[:3])))
        objective = report.total_cost
    bound = None if raw.bound is None else raw.bound * unit
    if relaxed_bound is not None and status != Status.INFEASIBLE:
        bound = max(bound or 0, relaxed_bound * unit)
    if bound is not None and not built.exact_costs:
        bound = graph.total_cost  # a bound on the rounded costs says nothing exact; this one always holds
    if status != Status.INFEASIBLE:  # every schedule computes every node: total_cost is always a bound
        bound = graph.total_cost if bound is None else max(bound, graph.total_cost)
    if bound is not None and objective is not None and status == Status.OPTIMAL:
        bound = objective
    return Result(status=status, schedule=schedule, objective=objective, bound=bound,
                  wall_time=time.perf_counter() - t0, report=report, budget=budget, graph=graph.name,
                  formulation=form.name, backend=getattr(solver, "name", type(solver).__name__),
                  time_to_best=raw.time_to_best, build_time=build_time, model_size=built.model.size(),
                  message=raw.message, total_cost=graph.total_cost,
                  time_to_first=first[0] if first else raw.time_to_best, warm_start=hint_name,
                  interrupted=raw.interrupted, unproven_reason=reason if status == Status.FEASIBLE else "",
                  hint_time=hint_time, bound_time=bound_time,
                  settled=raw.status in (Status.OPTIMAL, Status.INFEASIBLE) and not raw.interrupted)


# The relaxation step (``lower_bound``) takes at most this share of the time left, and this long ...
RELAXATION_SHARE = 0.5
RELAXATION_MAX_SECONDS = 60.0
# ... and is skipped when the relaxation has more variables and rows than this per second of that
# time: HiGHS would not close it (RL2 at 132,156: 18,400, proven in 3.7 s; generated 500-node graphs at
# 90%: 100,000 and more, about 100 s each). Chosen when the relaxation went through Pyomo, whose
# translation (12 s per 36,000) no time limit covers; it now goes to highs-direct (under a second).
RELAXATION_ITEMS_PER_SECOND = 5000


def _bound_from_relaxation(built: Any, time_left: float | None, threads: int | None) -> tuple[int | None, float]:
    """Solve the formulation's relaxation and add "objective >= its bound" to ``built.model``.

    Returns the bound (model units; None when the relaxation gave none, or was too large for the
    time: :data:`RELAXATION_ITEMS_PER_SECOND`) and the seconds spent. The row removes no
    schedule: the relaxation's optimum is at most the model's (see the formulation).
    """
    from remat.bounds import relaxation_bound

    t0 = time.perf_counter()
    limit = (RELAXATION_MAX_SECONDS if time_left is None
             else max(0.0, min(RELAXATION_MAX_SECONDS, RELAXATION_SHARE * time_left)))
    objective = built.model.objective
    relaxation = built.info["relaxation"]() if objective is not None and limit > 0 else None
    if relaxation is None or sum(relaxation.size().values()) > RELAXATION_ITEMS_PER_SECOND * limit:
        return None, time.perf_counter() - t0
    _, bound = relaxation_bound(relaxation, time_limit=limit, threads=threads)
    if bound is not None and bound > objective.offset:
        built.model.add(Linear(objective.terms, lb=bound - objective.offset))
    else:
        bound = None
    return bound, time.perf_counter() - t0


def _interrupted_warm_start(graph: Graph, budget: int, sequence: Sequence[int], t0: float, formulation: str,
                            backend: str) -> Result:
    """Ctrl-C during the formulation's warm start, which had a sequence within the budget: that
    sequence, verified, is the result (FEASIBLE, interrupted); the backend never ran."""
    draft = schedule_from_computes(graph, sequence)
    report = verify(graph, draft, budget)
    if not report.valid:
        raise VerificationFailed(f"{formulation}: the warm start's schedule is invalid: "
                                 + "; ".join(map(str, report.violations[:3])))
    wall = time.perf_counter() - t0
    return Result(status=Status.FEASIBLE, schedule=_with_replayed_claims(draft, report, Status.FEASIBLE),
                  objective=report.total_cost, bound=graph.total_cost, wall_time=wall, report=report,
                  budget=budget, graph=graph.name, formulation=formulation, backend=backend, time_to_best=wall,
                  total_cost=graph.total_cost, warm_start="formulation", interrupted=True, hint_time=wall,
                  message="interrupted during the warm start",
                  unproven_reason="interrupted during the warm start: its best schedule so far")


def _with_replayed_claims(schedule: Schedule, report: Report, status: Status) -> Schedule:
    """The schedule as shipped: its claims are what the verifier's replay measured, so the
    report of that replay is the report of the shipped file."""
    return schedule.with_claims(budget=report.budget, objective=report.total_cost,
                                peak_memory=report.peak_memory, status=status.value)


def best_warm_start(graph: Graph, budget: int, encode: Callable[[Sequence[int]], Any], *,
                    deadline: float | None = None) -> tuple[str | None, Any]:
    """The cheapest baseline schedule within ``budget`` that ``encode`` accepts, as
    ``(baseline name, encoded values)``; ``(None, None)`` when there is none.

    >>> from remat.generators import unet
    >>> from remat.formulations import get_formulation
    >>> from remat.graph import no_remat_peak
    >>> g = unet(2)
    >>> built = get_formulation("moccasin").build(g, no_remat_peak(g))
    >>> best_warm_start(g, no_remat_peak(g), built.encode)[0]
    'checkpoint-all'
    """
    from remat.baselines import fitting_baselines

    for name, schedule in fitting_baselines(graph, budget, deadline=deadline):
        values = encode([graph.index[v] for v in schedule.computes])
        if values is not None:
            return name, values
    return None, None


def _run_heuristic(form: Any, graph: Graph, budget: int, **options: Any) -> Result:
    """A baseline as a solve: its schedule is verified like any other; a schedule that computes
    every node once is optimal (every node must be computed), others are feasible."""
    t0 = time.perf_counter()
    schedule = form.schedule(graph, budget, **options)
    wall = time.perf_counter() - t0
    report = None if schedule is None else verify(graph, schedule, budget)
    common = dict(budget=budget, graph=graph.name, formulation=form.name, backend="none",
                  total_cost=graph.total_cost, wall_time=wall)
    if report is None or not report.valid:
        why = (f"{form.name} found no schedule within the budget" if report is None
               else f"{form.name}'s schedule peaks at {report.peak_memory:,} bytes, over the budget")
        return Result(status=Status.UNKNOWN, schedule=None, objective=None, bound=graph.total_cost, report=None,
                      message=why, **common)  # type: ignore[arg-type]
    status = Status.OPTIMAL if report.total_cost == graph.total_cost else Status.FEASIBLE
    schedule = _with_replayed_claims(schedule, report, status)
    return Result(status=status, schedule=schedule, objective=report.total_cost, bound=graph.total_cost,
                  report=report, time_to_best=wall, time_to_first=wall, message=form.name,
                  unproven_reason="" if status == Status.OPTIMAL else f"{form.name} is a heuristic: nothing proven",
                  **common)  # type: ignore[arg-type]


def _own_warm_start(graph: Graph, built: Any, own_start: tuple[Sequence[int], bool], name: str | None,
                    values: Any) -> tuple[str | None, Any]:
    """The formulation's own warm start (``built.info["warm_start"]``'s ``(sequence, fits)``) when it
    beats the baseline's: cheaper and within the budget, or the only start there is (an over-budget
    start is what a two-phase backend minimises the peak from)."""
    sequence, fits = own_start
    own = built.encode(sequence)
    if own is None:
        return name, values
    if values is None or (fits and sum(graph.cost[v] for v in sequence)
                          < sum(graph.cost[v] for v in built.decode(values))):
        return ("formulation" if fits else "formulation (over budget)"), own
    return name, values
