"""The stages of the solve pipeline, each a function to read alone.

``remat.solve`` composes them (see :mod:`remat.solve`)::

    problem = prepare(...)                      # arguments checked, names resolved
    start   = warm_start(problem, clock, live)  # heuristics: the first incumbent, the floor
    attempt = run_model(problem, graph, "given", start, clock, live)
              #  build -> hint -> lower_bound -> search -> decode_and_verify
    result  = assemble(problem, start, attempts, clock)   # in remat.solve

Order strategies (:mod:`remat.strategies`) call :func:`run_model` once per
order; nothing here calls ``remat.solve``.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from remat.backends import Backend, Progress, RawResult, SolveOptions, get_backend, solve_model
from remat.errors import BackendError, BudgetError, FormulationError, VerificationFailed
from remat.formulations import Built, Formulation, get_formulation
from remat.graph import Graph
from remat.heuristics import PORTFOLIO, Heuristic, get_heuristic, is_heuristic
from remat.cut_bound import meets
from remat.heuristics.cut_plan import bound_and_plan
from remat.ir import BuildTimeout, Linear, build_deadline
from remat.result import Attempt, Candidate, Start
from remat.schedule import schedule_from_computes
from remat.status import Status
from remat.timebudget import TimeBudget
from remat.verify import OVER_BUDGET, verify

ORDERS = ("auto", "given", "memory")
"""Values of ``remat.solve(order=...)`` and ``remat solve --order``: the graph's own order
(``"given"``, the paper's model), a searched low-memory order (``"memory"``), or the default
``"auto"``: the given order first, the memory order when that is not settled in time
(:mod:`remat.strategies`)."""

RELAXATION_ITEMS_PER_SECOND = 20_000
"""The relaxation bound is skipped when its model has more variables and rows than this per
second of its share: HiGHS would not close it in time. Building one takes about a fifth of that
time, so a build still running after :data:`RELAXATION_BUILD_SHARE` of the share is stopped."""

RELAXATION_BUILD_SHARE = 0.25


@dataclass(frozen=True)
class Problem:
    """A solve's arguments, checked and resolved (the output of :func:`prepare`)."""

    graph: Graph
    budget: int
    formulation: Formulation | Heuristic
    backend: Backend | None
    order: str
    threads: int | None = None
    seed: int = 0
    max_copies: int = 2
    hint: tuple[int, ...] | None = None
    warm_start: bool = True
    lower_bound: bool | None = None  # None: where the pipeline expects it to pay (run_model)
    log: bool = False
    backend_options: dict[str, Any] = field(default_factory=dict)
    formulation_options: dict[str, Any] = field(default_factory=dict)

    @property
    def backend_name(self) -> str:
        return "none" if self.backend is None else getattr(self.backend, "name", type(self.backend).__name__)


class Live:
    """The live line's feed: forwards progress events with the best incumbent so far (a backend's
    incumbents can be dearer than the heuristic's floor), the best bound proven so far and elapsed
    seconds from the call.

    The bound shown is the one the result will claim (:func:`remat.solve._bound`): what holds
    for every schedule (``floor``: the total cost, raised by the cut bound once known), raised by
    the best bound a model in the given order proved while the incumbent does not leave that
    model (is not cheaper than its bound)."""

    def __init__(self, on_progress: Callable[[Progress], None] | None, clock: TimeBudget,
                 floor: float | None = None) -> None:
        self.on_progress = on_progress
        self.clock = clock
        self.best: float | int | None = None
        self.floor = floor
        self.model: float | None = None

    def proven(self, bound: float) -> None:
        """A lower bound on every schedule (the cut bound): the live bound never shows less."""
        if math.isfinite(bound) and (self.floor is None or bound > self.floor):
            self.floor = bound
            self.event(None)

    def event(self, objective: float | int | None, model_bound: float | None = None) -> None:
        """A new incumbent and/or a bound proven for the model in the given order."""
        if objective is not None and (self.best is None or objective < self.best):
            self.best = objective
        if model_bound is not None and (self.model is None or model_bound > self.model):
            self.model = model_bound
        if self.on_progress is not None:
            self.on_progress(Progress(self.clock.elapsed(), self.best, self._bound()))

    def _bound(self) -> float | None:
        return claimed_bound(self.floor, self.model, self.best)


def claimed_bound(every: float | None, model: float | None, cost: float | None) -> float | None:
    """The lower bound a result claims: ``every`` (holds for every schedule), raised by ``model``
    (proven for the model in the given order) unless the schedule's ``cost`` is below it: such a
    schedule leaves the model, whose bound says nothing about it.

    >>> claimed_bound(10, 12, 13), claimed_bound(10, 12, 11), claimed_bound(10, None, 11)
    (12, 10, 10)
    """
    if model is None or (cost is not None and cost < model):
        return every
    return model if every is None else max(every, model)


def prepare(graph: Graph, budget: int, *, formulation: "str | Formulation | Heuristic", backend: "str | Backend",
            order: str, time_limit: float | None, hint: Sequence[int] | None, **options: Any) -> Problem:
    """Check the arguments and resolve names: the order a strategy will use, the formulation or
    heuristic, the backend (None for a heuristic). Raises BudgetError or FormulationError."""
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise BudgetError(f"budget must be a non-negative integer number of bytes, got {budget!r}")
    if order not in ORDERS:
        raise FormulationError(f"unknown order {order!r}: expected one of {', '.join(ORDERS)}")
    if is_heuristic(formulation):
        heuristic = get_heuristic(formulation)  # type: ignore[arg-type]
        if options.get("formulation_options"):
            raise FormulationError(f"{heuristic.name}: unknown option(s) "
                                   f"{', '.join(sorted(options['formulation_options']))}")
        return Problem(graph, budget, heuristic, None, "given", **options)
    form = get_formulation(formulation)  # type: ignore[arg-type]
    chooses_order = bool(getattr(form, "chooses_order", False))
    if order == "auto" and (time_limit is None or chooses_order or graph.fixed_order):
        order = "given"  # nothing to split, or no order to search
    if order == "memory" and chooses_order:
        raise FormulationError(f"formulation {form.name!r} chooses its own order: order={order!r} does not apply")
    if order == "memory" and graph.fixed_order:
        raise FormulationError(f"graph {graph.name!r} fixes its order (graph.fixed_order: multi-output "
                               f"operators run as one): order={order!r} does not apply")
    # the formulation's own checks of its options, on a one-node graph: a bad option is an error even
    # where the heuristics' schedule ends the solve before any model of the graph is built
    form.build(Graph.from_edges([], cost={0: 1}, mem={0: 1}), 1, max_copies=options.get("max_copies", 2),
               **options.get("formulation_options", {}))
    return Problem(graph, budget, form, get_backend(backend), order,
                   hint=None if hint is None else tuple(hint), **options)


def verified(graph: Graph, budget: int, computes: Sequence[int], source: str, clock: TimeBudget,
             order: str = "given") -> Candidate:
    """A compute sequence replayed by the verifier. Over the budget is allowed (``fits`` False);
    any other violation is a bug in whoever produced the sequence: VerificationFailed."""
    draft = schedule_from_computes(graph, computes)
    report = verify(graph, draft, budget)
    wrong = [v for v in report.violations if v.kind != OVER_BUDGET]
    if wrong:
        raise VerificationFailed(f"{source} returned an invalid schedule: " + "; ".join(map(str, wrong[:3])))
    status = "feasible" if report.valid else "over-budget"
    schedule = draft.with_claims(budget=report.budget, objective=report.total_cost,
                                 peak_memory=report.peak_memory, status=status)
    return Candidate(schedule, report, tuple(computes), source, clock.elapsed(), order)


def warm_start(problem: Problem, clock: TimeBudget, live: Live, *, graph: Graph | None = None) -> Start:
    """Run the heuristic portfolio (:data:`remat.heuristics.PORTFOLIO`) on ``graph`` (the
    problem's, or the problem's in another order) within its shares of the time; every sequence
    is verified on the problem's graph. The cheapest that fits is the floor of the result and
    the first incumbent on the live line. Ctrl-C keeps what was found (``interrupted``);
    with nothing found it propagates."""
    graph = problem.graph if graph is None else graph
    budget, to_original = problem.budget, _index_map(graph, problem.graph)
    order = "given" if graph is problem.graph else "memory"
    started_at = clock.elapsed()
    offers: list[Candidate] = []
    interrupted = False
    fast, until_one_fits = clock.heuristics(), clock.heuristics_until_one_fits()
    bound: float | None = None

    def offer(sequence: Sequence[int], name: str) -> None:
        where = "" if order == "given" else f" ({order} order)"
        offers.append(verified(problem.graph, budget, [to_original[v] for v in sequence],
                               f"heuristic {name}{where}", clock, order))
        if offers[-1].fits:
            live.event(offers[-1].cost)

    try:
        for name in PORTFOLIO:
            fits = any(c.fits for c in offers)
            if any(at_total_cost(problem.graph, c) or within(bound, c) for c in offers) or bound == math.inf:
                break  # nothing can be cheaper, or nothing fits
            if name == "cut-plan":
                if graph is problem.graph:  # the bound holds in every order: one cut is enough
                    bound = cut_stage(problem, clock, lambda sequence: offer(sequence, "cut-plan"))
                    live.proven(bound)
                continue
            heuristic = get_heuristic(name)
            if getattr(heuristic, "reorders", False) and problem.order == "given":
                continue  # the paper's model in the graph's order: no schedule from another order
            phase = clock.staged_plan(graph.n) if name == "staged-plan" else fast if fits else until_one_fits
            if phase.expired() and offers:
                continue
            sequence = heuristic.run(graph, budget, deadline=phase.deadline, seed=problem.seed)
            if sequence is not None:
                offer(sequence, name)
    except KeyboardInterrupt as stop:
        sequence = getattr(stop, "sequence", None)
        if sequence is not None:
            offer(sequence, "staged-plan")
        if not any(c.fits for c in offers):
            raise
        interrupted = True
    fitting = sorted((c for c in offers if c.fits), key=lambda c: (c.cost, c.report.peak_memory))
    over = sorted((c for c in offers if not c.fits), key=lambda c: c.report.peak_memory)
    return Start(fitting[0] if fitting else None, tuple(fitting + over), clock.elapsed() - started_at, interrupted,
                 started_at, bound)


def cut_stage(problem: Problem, clock: TimeBudget, offer: Callable[[Sequence[int]], None]) -> float:
    """The cut bound and its plan (:mod:`remat.heuristics.cut_plan`) within the clock's
    ``cut_plan`` share; ``offer`` gets the plan's first fitting sequence and its improved one.
    Returns the bound: no schedule of the graph costs less (``inf``: none fits the budget)."""
    offered: list[Sequence[int]] = []

    def once(sequence: Sequence[int]) -> None:
        if sequence not in offered:
            offered.append(sequence)
            offer(sequence)

    graph = problem.graph
    cut, sequence = bound_and_plan(graph, problem.budget, deadline=clock.cut_plan(graph.n).deadline,
                                   seed=problem.seed, threads=problem.threads, on_plan=once)
    if sequence is not None:
        once(sequence)
    return cut.value


def run_heuristic(problem: Problem, clock: TimeBudget, live: Live) -> Start:
    """A heuristic given as the formulation, alone, within the time limit."""
    heuristic = problem.formulation
    sequence = heuristic.run(problem.graph, problem.budget, deadline=clock.deadline,  # type: ignore[union-attr]
                             seed=problem.seed)
    if sequence is None:
        return Start(None, (), clock.elapsed())
    found = verified(problem.graph, problem.budget, sequence, f"heuristic {heuristic.name}", clock)
    if found.fits:
        live.event(found.cost)
    return Start(found if found.fits else None, (found,), clock.elapsed())


BUILD_UNITS_PER_SECOND = 15_000
BUILD_BYTES_PER_UNIT = 8_000
"""A model's size in units, ``(nodes + edges) x max_copies``, and what a unit costs to build
(conservative for the Moccasin model on the scale grid's graphs, a machine under load): how
:func:`build` foresees a model it has no time or memory for."""

MODEL_MAX_BYTES = 1_500_000_000
"""No model is built whose estimated size is above this: the backend's copy of it doubles it, and
the search would not finish translating it; the heuristics' schedule is then the answer."""


def model_estimate(graph: Graph, max_copies: int) -> tuple[float, int]:
    """Seconds and bytes that building the model of ``graph`` is expected to take.

    >>> from remat.generators import linear
    >>> seconds, size = model_estimate(linear(4), 2)
    >>> 0 < seconds < 0.01 and size > 0
    True
    """
    units = (graph.n + graph.num_edges) * max(1, max_copies)
    return units / BUILD_UNITS_PER_SECOND, units * BUILD_BYTES_PER_UNIT


def build(problem: Problem, graph: Graph, clock: TimeBudget) -> tuple[Built, float]:
    """The formulation's model of ``graph`` (the problem's graph, possibly in another order).
    Raises :class:`~remat.ir.BuildTimeout` when the build runs past ``clock``'s deadline, or
    without starting when :func:`model_estimate` says it would not leave time to search it
    (building, then translating, take about as long each) or would exceed :data:`MODEL_MAX_BYTES`."""
    seconds, size = model_estimate(graph, problem.max_copies)
    if size > MODEL_MAX_BYTES:
        raise BuildTimeout(f"model not built: about {size / 1e9:.1f} GB estimated for {graph.n:,} nodes and "
                           f"{graph.num_edges:,} edges, above {MODEL_MAX_BYTES / 1e9:.1f} GB")
    if not clock.worth_searching(2 * seconds):
        raise BuildTimeout(f"model not built: about {seconds:.1f} s to build and as long to translate, "
                           f"with {clock.left():.1f} s left")
    t0 = time.perf_counter()
    with build_deadline(clock.deadline):
        built = problem.formulation.build(graph, problem.budget,  # type: ignore[union-attr]
                                          max_copies=problem.max_copies, **problem.formulation_options)
    return built, time.perf_counter() - t0


def hint(problem: Problem, built: Built, graph: Graph, start: Start) -> tuple[str | None, Any, float]:
    """The warm start handed to the backend: the caller's ``hint``, else the first of the start's
    offers (cheapest fitting first, then over-budget ones by peak, which a two-phase backend
    starts from) that the model can express. Returns its name, its values and the seconds spent."""
    t0 = time.perf_counter()
    to_graph = _index_map(problem.graph, graph)
    if problem.hint is not None:
        values = built.encode([to_graph[v] for v in problem.hint])
        return ("hint" if values is not None else None), values, time.perf_counter() - t0
    for offer in start.offers:
        values = built.encode([to_graph[v] for v in offer.computes])
        if values is not None:
            name = offer.source.removeprefix("heuristic ")
            return (name if offer.fits else f"{name} (over budget)"), values, time.perf_counter() - t0
    return None, None, time.perf_counter() - t0


def lower_bound(built: Built, share: TimeBudget, threads: int | None) -> tuple[int | None, float]:
    """Solve the formulation's relaxation within ``share`` and add "objective >= its bound" to
    ``built.model`` (a valid row: it removes no schedule). Returns the bound in model units and
    the seconds spent. The bound is None when there is none: no relaxation, one too large for
    the share (a build still running after :data:`RELAXATION_BUILD_SHARE` of it is stopped), or
    one the bound backend cannot take (numbers beyond a floating-point solver's resolution)."""
    from remat.bounds import relaxation_bound

    t0 = time.perf_counter()
    objective = built.model.objective
    if built.relaxation is None or objective is None or not share.limit:
        return None, time.perf_counter() - t0
    try:
        with build_deadline(share.started + RELAXATION_BUILD_SHARE * share.limit):
            relaxation = built.relaxation()
        if sum(relaxation.size().values()) > RELAXATION_ITEMS_PER_SECOND * share.limit:
            return None, time.perf_counter() - t0
        _, bound = relaxation_bound(relaxation, time_limit=share.left(), threads=threads)
    except (BuildTimeout, BackendError):
        return None, time.perf_counter() - t0
    if bound is None or bound <= objective.offset:
        return None, time.perf_counter() - t0
    built.model.add(Linear(objective.terms, lb=bound - objective.offset))
    return bound, time.perf_counter() - t0


def search(problem: Problem, built: Built, values: Any, clock: TimeBudget, live: Live, *, proofs_hold: bool,
           backend_options: dict[str, Any]) -> tuple[RawResult, float | None]:
    """The backend on the model for the time ``clock`` has left. Progress goes to ``live`` in graph
    cost units; without ``proofs_hold`` (another order) its bound proves nothing and is not shown.
    Returns the raw result and the time of its first incumbent (seconds from the call)."""
    unit = built.cost_unit
    first: list[float] = []

    def scaled(p: Progress) -> None:
        if p.objective is not None and not first:
            first.append(clock.elapsed())
        bound = None if p.bound is None else p.bound * unit
        live.event(None if p.objective is None else p.objective * unit, bound if proofs_hold else None)

    options = SolveOptions(time_limit=clock.left(), threads=problem.threads, seed=problem.seed, hint=values,
                           on_progress=scaled, log=problem.log, extra=backend_options)
    raw = solve_model(problem.backend, built.model, options)  # type: ignore[arg-type]
    return raw, (first[0] if first else None)


def decode_and_verify(problem: Problem, graph: Graph, built: Built, raw: RawResult, clock: TimeBudget,
                      order: str = "given") -> Candidate | None:
    """The backend's values as a verified schedule of the problem's graph; None without values.
    A schedule that does not fit is a bug: VerificationFailed."""
    if not raw.status.has_schedule:
        return None
    to_original = _index_map(graph, problem.graph)
    computes = [to_original[v] for v in built.decode(raw.values)]  # type: ignore[arg-type]
    name = f"{getattr(problem.formulation, 'name', '?')}/{problem.backend_name}"
    found = verified(problem.graph, problem.budget, computes, name, clock, order)
    if not found.fits:
        raise VerificationFailed(f"{name} returned an invalid schedule: "
                                 + "; ".join(map(str, found.report.violations[:3])))
    return found


def run_model(problem: Problem, graph: Graph, order: str, start: Start, clock: TimeBudget, live: Live, *,
                backend_options: dict[str, Any] | None = None, bound_first: bool = False) -> Attempt:
    """Build, hint, bound, search, decode and verify: one model of ``graph`` (the problem's graph
    in ``order``) within ``clock``. Only a model in the given order proves anything.

    The formulation's relaxation bounds the model before the search with ``lower_bound=True``;
    with the default ``lower_bound=None``, only with ``bound_first`` (the model has the whole
    time limit, so no other phase can settle the solve) and within a smaller share. On training
    graphs whose heuristic schedule is already the model's optimum, CP-SAT's own bound stalls
    and the relaxation is the proof."""
    proofs_hold = order == "given"
    started_at = clock.elapsed()
    try:
        built, build_time = build(problem, graph, clock)
    except BuildTimeout as stop:
        return Attempt(order=order, backend=problem.backend_name, status=Status.UNKNOWN, candidate=None, bound=None,
                       settled=False, message=str(stop), started_at=started_at,
                       build_time=clock.elapsed() - started_at)
    warm_name, values, hint_time = hint(problem, built, graph, start) if (problem.warm_start or problem.hint) \
        else (None, None, 0.0)
    if not clock.worth_searching(build_time):  # translating the model alone would overrun the limit
        return Attempt(order=order, backend=problem.backend_name, status=Status.UNKNOWN, candidate=None, bound=None,
                       settled=False, message="no time left to search the model", started_at=started_at,
                       build_time=build_time, model_size=built.model.size())
    relaxed, bound_time = None, 0.0
    if built.relaxation is not None and problem.lower_bound:
        relaxed, bound_time = lower_bound(built, clock.bound(), problem.threads)
    elif built.relaxation is not None and problem.lower_bound is None and bound_first and proofs_hold \
            and built.exact_costs and clock.limit:
        relaxed, bound_time = lower_bound(built, clock.bound_first(), problem.threads)
    if relaxed is not None and proofs_hold:
        live.event(None, relaxed * built.cost_unit)
    raw, first = search(problem, built, values, clock, live, proofs_hold=proofs_hold,
                        backend_options=dict(problem.backend_options if backend_options is None else backend_options))
    candidate = decode_and_verify(problem, graph, built, raw, clock, order)
    status, reason = _claims(raw, built)
    bound = _proven_bound(raw, built, relaxed, status, candidate) if proofs_hold else None
    return Attempt(order=order, backend=problem.backend_name, status=status, candidate=candidate, bound=bound,
                   settled=raw.status in (Status.OPTIMAL, Status.INFEASIBLE) and not raw.interrupted,
                   interrupted=raw.interrupted, message=raw.message, unproven_reason=reason, warm_start=warm_name,
                   started_at=started_at, build_time=build_time, hint_time=hint_time, bound_time=bound_time,
                   time_to_first=first, model_size=built.model.size())


def _claims(raw: RawResult, built: Built) -> tuple[Status, str]:
    """The status a model's result supports, and why it is not OPTIMAL when it has a schedule."""
    if raw.status == Status.OPTIMAL and not built.exact_costs:
        return Status.FEASIBLE, "optimal for the costs rounded to integers, not proven for the true costs"
    if raw.status != Status.FEASIBLE:
        return raw.status, ""
    if raw.interrupted:
        return raw.status, "interrupted: best verified incumbent so far"
    return raw.status, "time limit reached: best verified incumbent"


def _proven_bound(raw: RawResult, built: Built, relaxed: int | None, status: Status,
                  candidate: Candidate | None) -> float | None:
    """The lower bound a given-order model proved, in graph cost units (None: nothing proven)."""
    if status == Status.OPTIMAL and candidate is not None:
        return candidate.cost
    if not built.exact_costs or status == Status.INFEASIBLE:
        return None  # a bound on rounded costs says nothing exact
    bounds = [b * built.cost_unit for b in (raw.bound, relaxed) if b is not None]
    return max(bounds) if bounds else None


def _recomputes_nothing_of_cost(graph: Graph, computes: Sequence[int]) -> bool:
    """Whether a schedule costs exactly the total cost (exact, unlike a float sum): every schedule
    computes every node, so nothing is cheaper."""
    return all(k == 1 or graph.cost[v] == 0 for v, k in Counter(computes).items())


def within(bound: float | None, candidate: Candidate | None) -> bool:
    """Whether ``candidate`` fits and meets ``bound``, a lower bound on every schedule (the cut
    bound): then it is optimal."""
    return bound is not None and candidate is not None and candidate.fits and meets(candidate.cost, bound)


def settled(graph: Graph, start: Start) -> bool:
    """Whether the warm start leaves nothing to search: its schedule is optimal (nothing recomputed
    of any cost, or at the cut bound), or the cut bound proves that nothing fits."""
    return start.bound == math.inf or at_total_cost(graph, start.best) or within(start.bound, start.best)


def at_total_cost(graph: Graph, candidate: Candidate | None) -> bool:
    """Whether ``candidate`` is a schedule nothing can beat: it recomputes nothing of any cost."""
    return candidate is not None and candidate.fits and _recomputes_nothing_of_cost(graph, candidate.computes)


def _index_map(source: Graph, target: Graph) -> list[int]:
    """Node index in ``source`` -> index of the same node in ``target`` (the identity when they are one)."""
    if source is target:
        return list(range(source.n))
    return [target.index[v] for v in source.ids]
