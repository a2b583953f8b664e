"""HiGHS (``--backend highs``, alias ``highs-direct``): the linearized model handed to highspy as arrays.

The backend declares no IR construct, so :func:`remat.backends.solve_model`
hands it the full linearization (:func:`remat.backends.linearize.linearize`):
integer and binary columns, plain rows, the objective. They go to
``highspy.Highs`` as column bounds, integrality, costs and a row-wise sparse
matrix, without a modelling layer (Pyomo's model building is Python work per
variable and row outside HiGHS's time limit; ``benchmarks/micro/highs_routes.py``
ratios this route against ``pyomo:highs`` and ``pyomo:appsi_highs``, which
stay reachable). Statuses: OPTIMAL only when HiGHS proved the gap closed (an
absolute gap below 1 is a proof, the objective being integer), an incumbent
at a limit is FEASIBLE, none is UNKNOWN. The warm start is a MIP start;
incumbents, bounds and Ctrl-C go through
:class:`~remat.backends.highs_watch.HighsWatch`; a model whose numbers exceed
:data:`~remat.backends.milp_common.MAX_MAGNITUDE` is declined; the rounded
solution is re-checked. Extra options (``SolveOptions.extra``) are HiGHS
option names; an unknown one is an error.

>>> from remat.ir import Linear, Model
>>> m = Model("two of three"); xs = [m.bool_var(f"x{i}") for i in range(3)]
>>> m.add(Linear(tuple((x, 1) for x in xs), lb=2)); m.minimize([(x, k + 1) for k, x in enumerate(xs)])
>>> raw = HighsBackend().solve(m, SolveOptions(time_limit=10))
>>> raw.status.value, raw.objective, [raw.values[x] for x in xs]
('optimal', 3.0, [1, 1, 0])
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any, ClassVar

import numpy as np

from remat.backends.base import RawResult, SolveOptions, model_constructs, module_available
from remat.backends.highs_watch import HighsWatch
from remat.backends.linearize import bounds
from remat.backends.milp_common import check_highs_options, check_magnitude, milp_result, reset_highs_threads
from remat.ir import Model, Var
from remat.status import Status


class HighsBackend:
    """Solve linearized IR models with highspy (``--backend highs``)."""

    name = "highs"
    features: ClassVar[frozenset[str]] = frozenset({"hints", "progress"})  # no construct: fully linearized

    def __init__(self) -> None:
        import highspy  # noqa: F401  (imported when the backend is made, before a solve's clock starts)

    @classmethod
    def is_available(cls) -> bool:
        return module_available("highspy") and module_available("pyomo")  # pyomo: silencing HiGHS's banner

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        if model_constructs(model) - self.features:  # called directly with an IR model: lower it first
            from remat.backends.pipeline import solve_model

            return solve_model(self, model, options)
        import highspy

        t0 = time.perf_counter()
        check_magnitude(self.name, model)
        if options.extra:
            check_highs_options(dict(options.extra), self.name)
        reset_highs_threads()
        highs, columns = _highs_model(model, options)
        if options.hint:
            _mip_start(highs, columns, options.hint)
        if options.time_limit is not None:
            highs.setOptionValue("time_limit", max(1e-3, t0 + options.time_limit - time.perf_counter()))
        watch = HighsWatch(options.on_progress, t0)
        with watch.catching_ctrl_c() if watch.attach(highs) else nullcontext():
            highs.run()
        model_status = highs.getModelStatus()
        has_solution = highs.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        if model_status == highspy.HighsModelStatus.kOptimal and has_solution:
            status = Status.OPTIMAL
        elif model_status == highspy.HighsModelStatus.kInfeasible:
            status = Status.INFEASIBLE
        else:
            status = Status.FEASIBLE if has_solution else Status.UNKNOWN
        values = None
        if status.has_schedule:
            col_value = highs.getSolution().col_value
            values = {v: col_value[k] for v, k in columns.items()}
        bound = highs.getInfo().mip_dual_bound if status != Status.INFEASIBLE else None
        return milp_result(model, status, values, bound, highs.modelStatusToString(model_status), t0, watch)


def _highs_model(milp: Model, options: SolveOptions) -> tuple[Any, dict[Var, int]]:
    """A ``highspy.Highs`` holding the linearized ``milp`` (silent unless ``options.log``), and each variable's
    column."""
    import highspy
    from pyomo.common.tee import capture_output

    with capture_output(capture_fd=True):  # the constructor prints HiGHS's banner
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", bool(options.log))
    highs.setOptionValue("threads", options.threads or 2)
    highs.setOptionValue("random_seed", options.seed)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 1 - 1e-6)  # integer objective: a gap below 1 is a proof
    for key, value in options.extra.items():
        highs.setOptionValue(key, value)
    variables = list(milp.int_vars) + list(milp.bool_vars)
    columns = {v: k for k, v in enumerate(variables)}
    n = len(variables)
    domains = [bounds(v) for v in variables]
    lower = np.array([lo for lo, _ in domains], dtype=float)
    upper = np.array([hi for _, hi in domains], dtype=float)
    cost = np.zeros(n)
    offset = 0.0
    if milp.objective is not None:
        for var, coef in milp.objective.terms:
            cost[columns[var]] += coef
        offset = float(milp.objective.offset)
    highs.addVars(n, lower, upper)
    everything = np.arange(n, dtype=np.int32)
    highs.changeColsCost(n, everything, cost)
    highs.changeColsIntegrality(n, everything, np.full(n, highspy.HighsVarType.kInteger))
    highs.changeObjectiveOffset(offset)
    row_lower, row_upper, starts, index, value = [], [], [], [], []
    for row in milp.constraints:
        row_lower.append(-highspy.kHighsInf if row.lb is None else row.lb)  # type: ignore[union-attr]
        row_upper.append(highspy.kHighsInf if row.ub is None else row.ub)  # type: ignore[union-attr]
        starts.append(len(index))
        for var, coef in row.terms:  # type: ignore[union-attr]
            index.append(columns[var])
            value.append(coef)
    highs.addRows(len(row_lower), np.array(row_lower, float), np.array(row_upper, float), len(index),
                  np.array(starts, np.int32), np.array(index, np.int32), np.array(value, float))
    return highs, columns


def _mip_start(highs: Any, columns: dict[Var, int], start: dict[Var, int]) -> None:
    """Hand HiGHS a (possibly partial) MIP start; it completes missing entries itself."""
    known = [(columns[v], float(x)) for v, x in start.items() if v in columns]
    if known:
        index, value = zip(*known)
        highs.setSolution(len(index), np.array(index, np.int32), np.array(value, float))


__all__ = ["HighsBackend"]
