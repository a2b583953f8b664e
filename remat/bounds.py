"""Lower bounds on the optimum of the default model, to say how far an unproven schedule can be from it.

:func:`gap_lower_bound` solves the gap relaxation of
:mod:`remat.formulations.moccasin_bound` (stage-restricted Moccasin, C = 2)
with any backend; HiGHS by default, whose cuts close it where CP-SAT's search
stalls. The bound is valid whatever the solver's status: at a time limit it
is the solver's own bound on the relaxation. :func:`relaxation_bound` is the
step :func:`remat.solve.solve` takes with a formulation's relaxation.

>>> from remat.generators import linear
>>> from remat.graph import no_remat_peak
>>> g = linear(6)
>>> bound = gap_lower_bound(g, no_remat_peak(g) - 1024, backend="cpsat", time_limit=10)
>>> bound.status.value, bound.value >= g.total_cost
('optimal', True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from remat.backends import SolveOptions, get_backend, is_available
from remat.formulations.ir import Model
from remat.formulations.moccasin_bound import gap_relaxation
from remat.graph import Graph
from remat.status import Status


@dataclass(frozen=True)
class LowerBound:
    """``value`` bounds the model's optimal cost from below (``inf``: no schedule fits).

    ``status`` is the relaxation solve's: OPTIMAL means ``value`` is the relaxation's optimum,
    FEASIBLE or UNKNOWN the solver's bound on it at its limit, INFEASIBLE that the model is too.
    ``exact`` is false where costs were rounded (non-integral costs): the value is then approximate.
    """

    value: float
    total_cost: float
    status: Status
    wall_time: float
    stages: int
    exact: bool = True

    @property
    def tdi(self) -> float:
        """The bound as a total duration increase in percent."""
        return 100.0 * (self.value / self.total_cost - 1.0) if self.total_cost else 0.0


def gap_lower_bound(graph: Graph, budget: int, *, backend: str | None = None, time_limit: float | None = 60.0,
                    threads: int = 2, share: float = 1.0) -> LowerBound:
    """A lower bound on the optimal cost of ``graph`` within ``budget`` (default solve: stage-restricted
    Moccasin, C = 2), from the gap relaxation at the stages above ``share`` x ``budget`` without
    recomputation. ``backend``: default :func:`default_bound_backend`."""
    t0 = time.perf_counter()
    relaxed = gap_relaxation(graph, budget, share=share)
    status, bound = relaxation_bound(relaxed.model, backend=backend, time_limit=time_limit, threads=threads)
    value = math.inf if status == Status.INFEASIBLE else max(graph.total_cost, (bound or 0) * relaxed.cost_unit)
    return LowerBound(value, graph.total_cost, status, time.perf_counter() - t0, len(relaxed.stages),
                      relaxed.exact_costs)


def default_bound_backend() -> str:
    """HiGHS where it is installed (its cuts close the gap relaxation fast), else CP-SAT."""
    return "highs" if is_available("highs") else "cpsat"


def relaxation_bound(model: Model, *, backend: str | None = None, time_limit: float | None = None,
                     threads: int | None = None) -> tuple[Status, float | None]:
    """Solve a relaxation ``model`` (integer objective) and return its status and a lower bound on its
    optimum, in its own units: the optimum when OPTIMAL, the solver's bound at its limit (rounded up to
    the next integer, less a tolerance for the solver's floating point), None when there is none.

    >>> from remat.formulations.ir import Model, Linear
    >>> m = Model("two of three"); xs = [m.bool_var(f"x{i}") for i in range(3)]
    >>> m.add(Linear(tuple((x, 1) for x in xs), lb=2)); m.minimize([(x, 5) for x in xs], offset=1)
    >>> relaxation_bound(m, backend="cpsat", time_limit=10)
    (<Status.OPTIMAL: 'optimal'>, 11)
    """
    backend = backend or default_bound_backend()
    extra = {"lns": False} if backend == "cpsat" else {}
    raw = get_backend(backend).solve(model, SolveOptions(time_limit=time_limit, threads=threads, extra=extra))
    if raw.status == Status.OPTIMAL and raw.objective is not None:
        return raw.status, round(raw.objective)
    if raw.status != Status.INFEASIBLE and raw.bound is not None and math.isfinite(raw.bound):
        return raw.status, math.ceil(raw.bound - 1e-6)
    return raw.status, None
