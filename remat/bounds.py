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

from remat.backends import SolveOptions, default_bound_backend, get_backend, solve_model
from remat.ir import Model, Var
from remat.formulations.moccasin_bound import constraint_stages, gap_relaxation
from remat.heuristics.staged import first_computation_memory
from remat.graph import Graph, no_remat_profile
from remat.status import Status


@dataclass(frozen=True)
class LowerBound:
    """``value`` bounds the model's optimal cost from below (``inf``: no schedule fits).

    ``status`` is the relaxation solve's: OPTIMAL means ``value`` is the relaxation's optimum,
    FEASIBLE or UNKNOWN the solver's bound on it at its limit, INFEASIBLE that the model is too.
    ``exact`` is false where costs were rounded (non-integral costs): the value is then approximate.

    Parameters
    ----------
    value : float
        The lower bound on the optimal total cost (at least the graph's total cost), or ``inf``.
    total_cost : float
        The graph's total cost (no recomputation), the base of :attr:`tdi`.
    status : Status
        The relaxation solve's status.
    wall_time : float
        Seconds spent, all rounds together.
    stages : int
        The number of stages the last relaxation had memory rows at.
    exact : bool, optional
        False when non-integral costs were rounded for the solver.

    Examples
    --------
    >>> b = LowerBound(value=150.0, total_cost=100.0, status=Status.OPTIMAL, wall_time=0.0, stages=3)
    >>> b.tdi
    50.0
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
                    threads: int = 2, share: float = 1.0, rounds: int = 1, start_stages: int | None = None,
                    add_stages: int = 10) -> LowerBound:
    """A lower bound on the optimal cost of ``graph`` within ``budget`` (default solve: stage-restricted
    Moccasin, C = 2), from the gap relaxation at the stages above ``share`` x ``budget`` without
    recomputation. ``backend``: default :func:`default_bound_backend`.

    ``rounds > 1``: after each solve, rows at the recomputations of its solution (memory when they
    happen; see :mod:`remat.formulations.moccasin_bound`) are added and the relaxation is solved again,
    up to ``rounds`` solves in ``time_limit``, until a solution adds nothing. ``start_stages = k``: the
    first solve has rows only at the ``k`` stages most over the budget, and each round adds up to
    ``add_stages`` stages whose first computation is over the budget when the solution's recomputations
    are replayed (largest excess first; any stage, over the budget without recomputation or not). A
    relaxation at fewer stages is a relaxation too, so every row, every stage set and every round's
    bound is valid: the best is returned, with the last round's status. On large graphs a few dozen
    stages often give the bound of all of them in a much smaller model (docs/performance.md).

    Parameters
    ----------
    graph : Graph
    budget : int
        The memory budget in bytes.
    backend : str, optional
        A backend name (``"cpsat"``, ``"highs"``, ...); default :func:`default_bound_backend`.
    time_limit : float or None, optional
        Seconds for all rounds together; None for no limit. At the limit the best bound so far is returned.
    threads : int, optional
        Solver threads.
    share : float, optional
        Memory rows go at the stages whose no-remat memory is above ``share`` x ``budget``; positive.
    rounds : int, optional
        Relaxation solves at most; each adds rows at the previous solution's recomputations.
    start_stages : int, optional
        Start with rows at only this many stages (the most over the budget) and grow the set each round.
    add_stages : int, optional
        Stages added per round when ``start_stages`` is set.

    Returns
    -------
    LowerBound
        ``value`` is at least ``graph.total_cost``, ``inf`` when the relaxation proves no schedule fits.

    Raises
    ------
    BackendError
        When ``backend`` is unknown or not installed.
    FormulationError
        When ``share`` is not positive.

    Examples
    --------
    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(40, seed=3); budget = int(0.85 * no_remat_peak(g))
    >>> once = gap_lower_bound(g, budget, backend="cpsat", time_limit=30)
    >>> again = gap_lower_bound(g, budget, backend="cpsat", time_limit=60, rounds=4)
    >>> grown = gap_lower_bound(g, budget, backend="cpsat", time_limit=60, rounds=6, start_stages=2)
    >>> once.value <= again.value, g.total_cost <= grown.value
    (True, True)
    >>> gap_lower_bound(g, 1, backend="cpsat", time_limit=10).value   # below any node's needs
    inf
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    stages = constraint_stages(graph, budget, share)
    if start_stages is not None:
        memory = no_remat_profile(graph)
        stages = sorted(sorted(stages, key=lambda s: (-memory[s], s))[:max(1, start_stages)])
    pairs: set[tuple[int, int]] = set()
    best = None
    for _ in range(max(1, rounds)):
        relaxed = gap_relaxation(graph, budget, stages=stages, recompute_rows=pairs)
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        status, bound, values = _solve_relaxation(relaxed.model, backend, left, threads)
        if status == Status.INFEASIBLE:
            best = math.inf
            break
        best = max(best or 0, bound or 0)
        if values is None or (deadline is not None and time.perf_counter() >= deadline):
            break
        recomputations = relaxed.recomputations(values)
        new_pairs = set(recomputations) - pairs
        new_stages = [] if start_stages is None else _stages_over(graph, budget, dict(recomputations), stages,
                                                                  add_stages)
        if not new_pairs and not new_stages:
            break
        pairs |= new_pairs
        stages = sorted(set(stages) | set(new_stages))
    value = math.inf if best == math.inf else max(graph.total_cost, (best or 0) * relaxed.cost_unit)
    return LowerBound(value, graph.total_cost, status, time.perf_counter() - t0, len(relaxed.stages),
                      relaxed.exact_costs)


def _stages_over(graph: Graph, budget: int, plan: dict[int, int], stages: list[int], most: int) -> list[int]:
    """Up to ``most`` stages outside ``stages`` whose first computation is over the budget when ``plan``
    (node -> stand-in stage of its recomputation) is replayed, largest excess first."""
    memory = first_computation_memory(graph, plan)
    inside = set(stages)
    over = sorted((budget - m, s) for s, m in enumerate(memory) if m > budget and s not in inside)
    return [s for _, s in over[:most]]


def relaxation_bound(model: Model, *, backend: str | None = None, time_limit: float | None = None,
                     threads: int | None = None) -> tuple[Status, float | None]:
    """Solve a relaxation ``model`` (integer objective) and return its status and a lower bound on its
    optimum, in its own units: the optimum when OPTIMAL, the solver's bound at its limit (rounded up to
    the next integer, less a tolerance for the solver's floating point), None when there is none.

    Parameters
    ----------
    model : Model
        A minimization with an integer-valued objective (the bound is rounded up).
    backend : str, optional
        Default :func:`default_bound_backend`.
    time_limit : float, optional
        Seconds; None for no limit.
    threads : int, optional
        Solver threads; default the backend's.

    Returns
    -------
    tuple of (Status, int or None)
        The solve's status and the bound; the bound is None when the model is
        infeasible or the solver reports none.

    Raises
    ------
    BackendError
        When ``backend`` is unknown or not installed, or cannot take the model.

    Examples
    --------
    >>> from remat.ir import Model, Linear
    >>> m = Model("two of three"); xs = [m.bool_var(f"x{i}") for i in range(3)]
    >>> m.add(Linear(tuple((x, 1) for x in xs), lb=2)); m.minimize([(x, 5) for x in xs], offset=1)
    >>> relaxation_bound(m, backend="cpsat", time_limit=10)
    (<Status.OPTIMAL: 'optimal'>, 11)
    """
    status, bound, _ = _solve_relaxation(model, backend, time_limit, threads)
    return status, bound


def _solve_relaxation(model: Model, backend: str | None, time_limit: float | None,
                      threads: int | None) -> tuple[Status, int | None, dict[Var, int] | None]:
    """:func:`relaxation_bound`'s status and bound, and the solver's values (None without a solution)."""
    backend = backend or default_bound_backend()
    extra = {"lns": False} if backend == "cpsat" else {}
    raw = solve_model(get_backend(backend), model, SolveOptions(time_limit=time_limit, threads=threads, extra=extra))
    if raw.status == Status.OPTIMAL and raw.objective is not None:
        return raw.status, round(raw.objective), raw.values
    if raw.status != Status.INFEASIBLE and raw.bound is not None and math.isfinite(raw.bound):
        return raw.status, math.ceil(raw.bound - 1e-6), raw.values
    return raw.status, None, raw.values
