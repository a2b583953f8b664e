"""Lower bounds on the optimum of the default model, to say how far an unproven schedule can be from it.

:func:`gap_lower_bound` solves the gap relaxation of
:mod:`remat.formulations.moccasin_bound` (stage-restricted Moccasin, C = 2)
with any backend; HiGHS by default, whose cuts close it where CP-SAT's search
stalls. The bound is valid whatever the solver's status: at a time limit it
is the solver's own bound on the relaxation. :func:`relaxation_bound` is the
step :func:`remat.solve.solve` takes with a formulation's relaxation.
:func:`split_gap_bound` bounds graphs whose relaxation is too large to solve
whole, by a Lagrangian decomposition into relaxations of fewer stages.

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
from remat.formulations.ir import Model, Var
from remat.formulations.moccasin_bound import Relaxation, constraint_stages, gap_relaxation
from remat.formulations.scaling import scale_costs
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
                    threads: int = 2, share: float = 1.0, rounds: int = 1) -> LowerBound:
    """A lower bound on the optimal cost of ``graph`` within ``budget`` (default solve: stage-restricted
    Moccasin, C = 2), from the gap relaxation at the stages above ``share`` x ``budget`` without
    recomputation. ``backend``: default :func:`default_bound_backend`.

    ``rounds > 1``: after each solve, rows at the recomputations of its solution (memory when they
    happen; see :mod:`remat.formulations.moccasin_bound`) are added and the relaxation is solved again,
    up to ``rounds`` solves in ``time_limit``, until a solution adds no new row. Every row is valid, so
    every round's bound is: the best is returned, with the last round's status.

    >>> from remat.generators import random_layered
    >>> from remat.graph import no_remat_peak
    >>> g = random_layered(40, seed=3); budget = int(0.85 * no_remat_peak(g))
    >>> once = gap_lower_bound(g, budget, backend="cpsat", time_limit=30)
    >>> again = gap_lower_bound(g, budget, backend="cpsat", time_limit=60, rounds=4)
    >>> once.value <= again.value
    True
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    pairs: set[tuple[int, int]] = set()
    best = None
    for done in range(rounds):
        relaxed = gap_relaxation(graph, budget, share=share, recompute_rows=pairs)
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        status, bound, values = _solve_relaxation(relaxed.model, backend, left, threads)
        if status == Status.INFEASIBLE:
            best = math.inf
            break
        best = max(best or 0, bound or 0)
        new = set() if values is None else set(relaxed.recomputations(values)) - pairs
        if not new or (deadline is not None and time.perf_counter() >= deadline):
            break
        pairs |= new
    value = math.inf if best == math.inf else max(graph.total_cost, (best or 0) * relaxed.cost_unit)
    return LowerBound(value, graph.total_cost, status, time.perf_counter() - t0, len(relaxed.stages),
                      relaxed.exact_costs)


def split_gap_bound(graph: Graph, budget: int, *, parts: int = 8, steps: int = 8, backend: str | None = None,
                    time_limit: float | None = 600.0, threads: int = 2, share: float = 1.0) -> LowerBound:
    """A lower bound like :func:`gap_lower_bound`'s, from the gap relaxation split into ``parts``
    relaxations over disjoint runs of the constraint stages, each small enough to solve.

    Why it is valid: a schedule satisfies every part (each is the gap relaxation at fewer stages), and
    in each part it recomputes at most the nodes it really recomputes (a recomputation before every
    stage of a part sets none of its literals). So if each node's cost ``c[v]`` is split into shares
    ``c[v, k] >= 0`` with ``sum(c[v, k] for k) = c[v]``, and part ``k`` charges ``c[v, k]`` for
    recomputing ``v``, the parts' optimal charges add up to at most the schedule's recomputation cost:
    their sum plus the total cost bounds the optimum from below, whatever the split. A part stopped by
    its time limit counts with its solver's bound.

    The split is improved over ``steps`` by subgradient steps on the Lagrangian dual: a node that some
    parts recompute and others not moves cost share toward the parts that recompute it (the parts that
    did not then pay for nothing they use, and the bound rises where they agree). Each part also gains
    the rows at the recomputations of its solutions, as in :func:`gap_lower_bound`. The best step's sum
    is returned; ``status`` is FEASIBLE (a bound, not the relaxation's optimum) or INFEASIBLE.
    ``time_limit`` covers every part of every step.

    >>> from remat.generators import linear
    >>> from remat.graph import no_remat_peak
    >>> g = linear(6); budget = no_remat_peak(g) - 1024
    >>> whole = gap_lower_bound(g, budget, backend="cpsat", time_limit=10)
    >>> split = split_gap_bound(g, budget, parts=2, steps=3, backend="cpsat", time_limit=30)
    >>> g.total_cost <= split.value <= whole.value
    True
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    stages = constraint_stages(graph, budget, share)
    parts = max(1, min(parts, len(stages)))
    runs = [stages[len(stages) * k // parts: len(stages) * (k + 1) // parts] for k in range(parts)]
    pairs: list[set[tuple[int, int]]] = [set() for _ in runs]  # rows at recomputations, per part
    relaxations = [gap_relaxation(graph, budget, stages=run) for run in runs]
    costs = scale_costs(graph.cost)
    unit = relaxations[0].cost_unit
    offset = sum(costs.values)
    # weight[v][k]: part k's share of v's cost, over the parts where v has literals; first in proportion
    # to their number
    weight: dict[int, dict[int, float]] = {}
    for k, relaxed in enumerate(relaxations):
        for v, xs in relaxed.recomputed.items():
            weight.setdefault(v, {})[k] = len(xs)
    for v, w in weight.items():
        weight[v] = {k: x / sum(w.values()) for k, x in w.items()}
    best = float(offset)
    for step in range(steps):
        total, used, grew = float(offset), [], False
        for k, run in enumerate(runs):
            relaxed = gap_relaxation(graph, budget, stages=run, recompute_rows=pairs[k]) if step else relaxations[k]
            _charge(relaxed, _split(costs.values, weight, k), offset)
            left = None if deadline is None else (deadline - time.perf_counter()) / (parts * (steps - step) - k)
            status, bound, values = _solve_relaxation(relaxed.model, backend, left, threads)
            if status == Status.INFEASIBLE:
                return LowerBound(math.inf, graph.total_cost, status, time.perf_counter() - t0, len(stages),
                                  costs.exact)
            total += max(0, (bound or offset) - offset)
            used.append(None if values is None else
                        {v for v, xs in relaxed.recomputed.items() if any(values.get(x) for x in xs)})
            new = set() if values is None else set(relaxed.recomputations(values)) - pairs[k]
            grew = grew or bool(new)
            pairs[k] |= new
        best = max(best, total)
        if not _move_shares(weight, used, 0.5 / math.sqrt(step + 1)) and not grew:
            break  # the parts agree on every node and gain no row: no further step can move
        if deadline is not None and time.perf_counter() >= deadline:
            break
    value = max(graph.total_cost, best * unit)
    return LowerBound(value, graph.total_cost, Status.FEASIBLE, time.perf_counter() - t0, len(stages), costs.exact)


def _split(costs: list[int], weight: dict[int, dict[int, float]], k: int) -> dict[int, int]:
    """Part ``k``'s integer shares of the node costs: ``weight`` rounded so that each node's shares over
    its parts add up to its cost exactly (the largest remainders round up).

    >>> _split([10], {0: {0: 0.24, 1: 0.76}}, 0), _split([10], {0: {0: 0.24, 1: 0.76}}, 1)
    ({0: 2}, {0: 8})
    """
    shares = {}
    for v, w in weight.items():
        if k not in w:
            continue
        raw = {j: costs[v] * x for j, x in w.items()}
        whole = {j: math.floor(x) for j, x in raw.items()}
        order = sorted(w, key=lambda j: (whole[j] - raw[j], j))
        for j in order[:costs[v] - sum(whole.values())]:
            whole[j] += 1
        shares[v] = whole[k]
    return shares


def _charge(relaxed: Relaxation, shares: dict[int, int], offset: int) -> None:
    """Make ``relaxed`` charge ``shares[v]`` for recomputing ``v`` (its offset stays the total cost)."""
    relaxed.model.minimize([(x, shares.get(v, 0)) for v, xs in relaxed.recomputed.items() for x in xs], offset=offset)


def _move_shares(weight: dict[int, dict[int, float]], used: list[set[int] | None], step: float) -> bool:
    """One subgradient step: each node's shares move by ``step`` x (recomputed in the part - the mean
    over its parts with a solution), clipped at 0 and renormalised. False when no parts disagree.

    >>> weight = {0: {0: 0.5, 1: 0.5}}
    >>> _move_shares(weight, [{0}, set()], 0.2), weight
    (True, {0: {0: 0.6, 1: 0.4}})
    """
    moved = False
    for v, w in weight.items():
        seen = [k for k in w if used[k] is not None]
        x = {k: float(v in used[k]) for k in seen}  # type: ignore[operator]
        if len(set(x.values())) < 2:
            continue
        moved = True
        mean = sum(x.values()) / len(seen)
        for k in seen:
            w[k] = max(0.0, w[k] + step * (x[k] - mean))
        total = sum(w.values())
        weight[v] = {k: y / total for k, y in w.items()}
    return moved


def default_bound_backend() -> str:
    """HiGHS where it is installed (its cuts close the gap relaxation fast; handed over without Pyomo,
    whose model building is slow on relaxations this large), else CP-SAT."""
    return "highs-direct" if is_available("highs-direct") else "cpsat"


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
    status, bound, _ = _solve_relaxation(model, backend, time_limit, threads)
    return status, bound


def _solve_relaxation(model: Model, backend: str | None, time_limit: float | None,
                      threads: int | None) -> tuple[Status, int | None, dict[Var, int] | None]:
    """:func:`relaxation_bound`'s status and bound, and the solver's values (None without a solution)."""
    backend = backend or default_bound_backend()
    extra = {"lns": False} if backend == "cpsat" else {}
    raw = get_backend(backend).solve(model, SolveOptions(time_limit=time_limit, threads=threads, extra=extra))
    if raw.status == Status.OPTIMAL and raw.objective is not None:
        return raw.status, round(raw.objective), raw.values
    if raw.status != Status.INFEASIBLE and raw.bound is not None and math.isfinite(raw.bound):
        return raw.status, math.ceil(raw.bound - 1e-6), raw.values
    return raw.status, None, raw.values
