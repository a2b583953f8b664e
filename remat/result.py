"""The values the solve pipeline passes between its stages, and the :class:`Result` it returns.

All are frozen: a stage returns a new value instead of editing an old one.
``Candidate`` is a verified schedule with where it came from; ``Start`` is
what the warm start found; ``Attempt`` is one model solved in one order;
``Result`` is assembled once, at the end, from a ``Start`` and the attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from remat.schedule import Schedule
from remat.status import Status
from remat.verify import Report


@dataclass(frozen=True)
class Candidate:
    """A schedule replayed by the verifier, and its origin.

    Attributes
    ----------
    schedule : Schedule
        Its claims are what the replay measured.
    report : Report
        The replay on the original graph, at the solve's budget (``report.valid``: it fits).
    computes : tuple of int
        The compute sequence (node indices of the original graph).
    source : str
        A backend's name, or ``heuristic NAME``.
    found_at : float
        Seconds from the call.
    order : str
        The order of first computations it was found in (``given`` or ``memory``).
    """

    schedule: Schedule
    report: Report
    computes: tuple[int, ...]
    source: str
    found_at: float
    order: str = "given"

    @property
    def cost(self) -> float | int:
        return self.report.total_cost

    @property
    def fits(self) -> bool:
        return self.report.valid


@dataclass(frozen=True)
class Start:
    """What the warm start found: the cheapest fitting heuristic schedule (``best``) and every
    schedule it may offer a model as a hint (fitting ones cheapest first, then the rest by peak)."""

    best: Candidate | None
    offers: tuple[Candidate, ...] = ()
    seconds: float = 0.0
    interrupted: bool = False
    started_at: float = 0.0  # seconds from the call
    bound: float | None = None  # the cut bound: no schedule of the graph costs less (inf: none fits)


@dataclass(frozen=True)
class Attempt:
    """One model solved in one order of first computations.

    ``bound`` (graph cost units) holds for the graph's own problem: it is None for a model
    solved in another order, whose proofs say nothing about the graph.
    """

    order: str
    backend: str
    status: Status
    candidate: Candidate | None
    bound: float | None
    settled: bool
    interrupted: bool = False
    message: str = ""
    unproven_reason: str = ""
    warm_start: str | None = None
    started_at: float = 0.0
    build_time: float = 0.0
    hint_time: float = 0.0
    bound_time: float = 0.0
    time_to_first: float | None = None
    model_size: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """What a solve returns, built once by :func:`remat.solve.assemble`.

    Attributes
    ----------
    status : Status
        OPTIMAL only when proven (the paper's model solved to the end in the graph's order, or a
        schedule at the total cost); FEASIBLE with ``unproven_reason`` saying why not; INFEASIBLE
        proven; UNKNOWN when the limit came with no schedule.
    schedule, report : Schedule, Report or None
        The schedule and the verifier's replay of it at ``budget``.
    objective, bound : float or None
        Its cost and the best lower bound proven, in the graph's cost unit; ``gap`` and ``tdi``
        derive from them.
    source, order : str
        Where the schedule came from (a backend's name, or ``heuristic NAME``) and in which
        order of first computations (``given`` or ``memory``).
    wall_time, time_to_best, time_to_first, started_at : float
        Seconds: the whole call; from the call to the returned cost's first appearance, to the
        first schedule within the budget, to the start of the stage that found the schedule.
    build_time, hint_time, bound_time, order_time : float
        Seconds spent building models, in heuristics and hints, on the relaxation bound, on
        the order search.
    settled, interrupted : bool
        The model behind the schedule was proven optimal or infeasible; Ctrl-C stopped the solve.
    warm_start : str or None
        The schedule handed to the backend as its start.
    model_objective, model_status : float and Status, or None
        What the paper's model (the formulation in the graph's order) reached: its best cost and
        status; the returned schedule may be cheaper (a heuristic's, or the memory order's).
        ``model_tdi`` derives from them. None when no model ran in the graph's order.
    lowest_peak : int or None
        Without a schedule within the budget: the lowest peak of any schedule the solve built
        and verified (over the budget), how far from fitting it got; None otherwise.

    Examples
    --------
    >>> import remat
    >>> g = remat.generators.linear(4)
    >>> r = remat.solve(g, remat.no_remat_peak(g))
    >>> r.status.value, r.tdi, r.gap, r.source
    ('optimal', 0.0, 0.0, 'heuristic checkpoint-all')
    """

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
    time_to_first: float | None = None
    warm_start: str | None = None
    hint_time: float = 0.0
    interrupted: bool = False
    unproven_reason: str = ""
    bound_time: float = 0.0
    order: str = "given"
    order_time: float = 0.0
    started_at: float = 0.0
    settled: bool = False
    source: str = ""
    model_objective: float | int | None = None
    model_status: Status | None = None
    lowest_peak: int | None = None

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
    def model_tdi(self) -> float | None:
        """The TDI of the paper's model's best schedule (see ``model_objective``)."""
        if self.model_objective is None or not self.total_cost:
            return None
        return 100.0 * (self.model_objective / self.total_cost - 1.0)

    @property
    def peak_memory(self) -> int | None:
        return None if self.report is None else self.report.peak_memory
