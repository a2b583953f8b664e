"""``remat.solve``: graph + budget -> verified Result.

The pipeline: formulation builds the IR, the backend solves it, the
formulation decodes the values to a compute sequence, the shared schedule
builder adds the frees, and the independent verifier replays the schedule.
A schedule that fails verification raises :class:`VerificationFailed`: it is a
bug, never handed out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from remat.backends import Backend, Progress, SolveOptions, get_backend
from remat.errors import BudgetError, VerificationFailed
from remat.formulations import Formulation, get_formulation
from remat.graph import Graph, no_remat_peak
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
          hint: Sequence[int] | None = None, warm_start: bool = True,
          on_progress: Callable[[Progress], None] | None = None, log: bool = False,
          backend_options: dict[str, Any] | None = None, **formulation_options: Any) -> Result:
    """Find a minimum-cost schedule of ``graph`` within ``budget`` bytes.

    ``hint`` is a compute sequence (node indices) to warm-start from; with
    ``warm_start`` and no hint, the no-remat order is used when it fits.

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
    solver = get_backend(backend)
    t0 = time.perf_counter()
    built = form.build(graph, budget, max_copies=max_copies, **formulation_options)
    build_time = time.perf_counter() - t0

    if hint is None and warm_start and no_remat_peak(graph) <= budget:
        hint = list(range(graph.n))
    hint_values = built.encode(hint) if hint is not None else None
    unit = built.cost_unit

    def scaled_progress(p: Progress) -> None:
        if on_progress is not None:
            on_progress(Progress(p.elapsed, None if p.objective is None else p.objective * unit,
                                 None if p.bound is None else p.bound * unit))

    remaining = None if time_limit is None else max(0.0, time_limit - build_time)
    raw = solver.solve(built.model, SolveOptions(time_limit=remaining, threads=threads, seed=seed,
                                                 hint=hint_values, on_progress=scaled_progress, log=log,
                                                 extra=dict(backend_options or {})))
    status = raw.status
    schedule = report = None
    objective = None
    if status.has_schedule:
        if not built.exact_costs and status == Status.OPTIMAL:
            status = Status.FEASIBLE  # optimal only for the rounded costs; see remat.formulations.scaling
        computes = built.decode(raw.values)  # type: ignore[arg-type]
        draft = schedule_from_computes(graph, computes)
        replay = verify(graph, draft, budget)
        schedule = draft.with_claims(budget=budget, objective=replay.total_cost, peak_memory=replay.peak_memory,
                                     status=status.value)
        report = verify(graph, schedule)
        if not report.valid:
            raise VerificationFailed(f"{form.name}/{getattr(solver, 'name', solver)} returned an invalid schedule: "
                                     + "; ".join(map(str, report.violations[:3])))
        objective = report.total_cost
    bound = None if raw.bound is None else raw.bound * unit
    if bound is not None and objective is not None and status == Status.OPTIMAL:
        bound = objective
    return Result(status=status, schedule=schedule, objective=objective, bound=bound,
                  wall_time=time.perf_counter() - t0, report=report, budget=budget, graph=graph.name,
                  formulation=form.name, backend=getattr(solver, "name", type(solver).__name__),
                  time_to_best=raw.time_to_best, build_time=build_time, model_size=built.model.size(),
                  message=raw.message, total_cost=graph.total_cost)
