"""Any Pyomo MILP solver by name (``--backend pyomo:NAME``), on the linearized model.

The backend declares no IR construct, so :func:`remat.backends.solve_model`
hands it the full linearization (:mod:`remat.backends.linearize`), which is
built as a Pyomo ``ConcreteModel`` over indexed sets and solved:

* solvers of Pyomo's current solver API (``highs``, ``gurobi_direct``,
  ``scip_direct``, ...) through ``pyomo.contrib.solver``'s ``SolverFactory``,
  with ``time_limit``, ``threads``, a zero relative gap, ``load_solutions=False``
  and ``raise_exception_on_nonoptimal_result=False``, so a time limit is a
  result, not an exception;
* any other name (``cbc``, ``glpk``, ``cplex``, ``appsi_highs``, ...) through
  the classic ``pyomo.environ.SolverFactory`` with the solver's own option names.

``--backend highs`` is HiGHS without Pyomo (:mod:`remat.backends.highs`);
``pyomo:highs`` and ``pyomo:appsi_highs`` reach the same solver through Pyomo.
Statuses map as in the CP-SAT backend: OPTIMAL only when the solver proved
the gap closed, an incumbent at a limit is FEASIBLE, no incumbent is UNKNOWN.
A model whose rows hold numbers above :data:`MAX_MAGNITUDE` is declined with
a BackendError (a floating-point solver cannot resolve one unit there). The
IR objective has integer coefficients, so an absolute gap below 1 is a proof.
A warm start (``SolveOptions.hint``) is given to HiGHS as a MIP start
(missing entries it completes itself), or to a classic solver that accepts
``warmstart``. The solution is rounded and re-checked: one that holds only
within the solver's tolerances comes back as UNKNOWN with a message, never
as a schedule.

This module imports neither pyomo nor a solver at import time.
"""

from __future__ import annotations

import logging
import time
import warnings
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar

from remat.backends.base import RawResult, SolveOptions, model_constructs, module_available
from remat.backends.highs_watch import HighsWatch
from remat.backends.linearize import bounds
from remat.backends.milp_common import check_highs_options, check_magnitude, milp_result, reset_highs_threads
from remat.errors import BackendError
from remat.ir import Model, Var
from remat.status import Status

# Option names of classic (pyomo.environ) solvers: time limit, threads, relative MIP gap (set to 0).
LEGACY_OPTIONS: dict[str, dict[str, str]] = {
    "cbc": {"time_limit": "seconds", "threads": "threads", "mip_gap": "ratioGap"},
    "glpk": {"time_limit": "tmlim", "mip_gap": "mipgap"},
    "gurobi": {"time_limit": "TimeLimit", "threads": "Threads", "mip_gap": "MIPGap"},
    "cplex": {"time_limit": "timelimit", "threads": "threads", "mip_gap": "mipgap"},
    "xpress": {"time_limit": "maxtime", "threads": "threads", "mip_gap": "miprelstop"},
    "scip": {"time_limit": "limits/time", "mip_gap": "limits/gap"},
    "appsi_highs": {"time_limit": "time_limit", "threads": "threads", "mip_gap": "mip_rel_gap"},
}

# Pyomo's current-API solver names (pyomo.contrib.solver), known without importing pyomo.
V2_SOLVERS = frozenset({"highs", "gurobi_direct", "gurobi_persistent", "scip_direct", "scip_persistent"})
# The logger of Pyomo's HiGHS interface, which warns of the status HiGHS ends with after Ctrl-C.
HIGHS_LOGGER = "pyomo.contrib.solver.solvers.highs"


class PyomoBackend:
    """Solve linearized IR models with a Pyomo solver (``--backend pyomo:NAME``)."""

    # no construct: fully linearized; hints reach the solvers that take a MIP start (HiGHS and
    # warm-start-capable classic ones), the others ignore them
    features: ClassVar[frozenset[str]] = frozenset({"hints"})

    def __init__(self, solver: str = "highs") -> None:
        self.solver = solver
        self.name = f"pyomo:{solver}"

    @classmethod
    def is_available(cls) -> bool:
        return module_available("pyomo")

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        if model_constructs(model) - self.features:  # called directly with an IR model: lower it first
            from remat.backends.pipeline import solve_model

            return solve_model(self, model, options)
        t0 = time.perf_counter()
        check_magnitude(self.name, model)
        pm, cols = to_pyomo(model)
        start = options.hint or None
        deadline = None if options.time_limit is None else t0 + options.time_limit
        watch = HighsWatch(options.on_progress, t0)
        if self.solver in V2_SOLVERS:
            status, values, bound, message = self._solve_v2(pm, cols, start, options, deadline, watch)
        else:
            status, values, bound, message = self._solve_legacy(pm, cols, start, options, deadline)
        return milp_result(model, status, values, bound, message, t0, watch)

    # ------------------------------------------------------------ current API
    def _solve_v2(self, pm: Any, cols: dict[Var, Any], start: dict[Var, int] | None, options: SolveOptions,
                  deadline: float | None,
                  watch: HighsWatch) -> tuple[Status, dict[Var, float] | None, float | None, str]:
        from pyomo.contrib.solver.common.factory import SolverFactory
        from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition as TC

        opt = SolverFactory(self.solver)
        if not opt.available():
            raise BackendError(f"backend {self.name!r}: Pyomo reports solver {self.solver!r} as {opt.available()}")
        solver_options = dict(options.extra)
        if self.solver == "highs":
            reset_highs_threads()
            if solver_options:
                check_highs_options(solver_options, self.name)
            solver_options.setdefault("random_seed", options.seed)
        watching = False
        if hasattr(opt, "set_instance"):
            # a persistent interface: load the model now, so that the time limit counts the loading,
            # and tell it the model will not change, so that solve() does not scan it again
            opt.set_instance(pm)
            _no_auto_updates(opt)
            if self.solver == "highs":
                if start is not None:
                    _highs_mip_start(opt, cols, start)
                highs = getattr(opt, "_solver_model", None)
                watching = highs is not None and watch.attach(highs)
        kwargs: dict[str, Any] = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                      tee=options.log, rel_gap=0.0, abs_gap=1 - 1e-6,
                                      solver_options=solver_options, threads=options.threads or 2)
        if deadline is not None:
            kwargs["time_limit"] = max(0.0, deadline - time.perf_counter())
        with watch.catching_ctrl_c() if watching else nullcontext(), _without("kInterrupt", HIGHS_LOGGER):
            res = opt.solve(pm, **kwargs)  # a HiGHS stopped by Ctrl-C ends 'kInterrupt', which Pyomo warns of
        tc = res.termination_condition
        has_solution = res.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
        if tc == TC.convergenceCriteriaSatisfied and has_solution:
            status = Status.OPTIMAL
        elif tc in (TC.provenInfeasible, TC.locallyInfeasible, TC.infeasibleOrUnbounded):
            status = Status.INFEASIBLE  # every variable is bounded, so never unbounded
        else:
            status = Status.FEASIBLE if has_solution else Status.UNKNOWN
        values = None
        if status.has_schedule:
            primals = res.solution_loader.get_vars()
            values = {v: primals[x] for v, x in cols.items() if x in primals}
        bound = res.objective_bound if status != Status.INFEASIBLE else None
        return status, values, bound, str(tc.name)

    # ------------------------------------------------------------ classic API
    def _solve_legacy(self, pm: Any, cols: dict[Var, Any], start: dict[Var, int] | None, options: SolveOptions,
                      deadline: float | None) -> tuple[Status, dict[Var, float] | None, float | None, str]:
        import pyomo.environ as pyo
        from pyomo.opt import TerminationCondition as TC

        opt = pyo.SolverFactory(self.solver)
        if opt is None or not opt.available(exception_flag=False):
            raise BackendError(f"backend {self.name!r}: Pyomo cannot find solver {self.solver!r}")
        names = LEGACY_OPTIONS.get(self.solver, {})
        solver_options = dict(options.extra)
        remaining = None if deadline is None else max(0.0, deadline - time.perf_counter())
        for key, value in (("time_limit", remaining), ("threads", options.threads), ("mip_gap", 0)):
            if value is None or (key == "mip_gap" and key not in names):
                continue
            if key in names:
                solver_options[names[key]] = value
            else:
                warnings.warn(f"{self.name}: remat does not know how to pass {key} to {self.solver}; not passed",
                              stacklevel=2)
        if self.solver == "appsi_highs":
            reset_highs_threads()
        kwargs: dict[str, Any] = dict(load_solutions=False, tee=options.log, options=solver_options)
        if start is not None and opt.warm_start_capable():
            for v, x in cols.items():
                if v in start:
                    x.set_value(start[v], skip_validation=True)
            kwargs["warmstart"] = True
        res = opt.solve(pm, **kwargs)
        tc = res.solver.termination_condition
        has_solution = len(res.solution) > 0 and tc not in (TC.infeasible, TC.noSolution, TC.error)
        if tc == TC.optimal and has_solution:
            status = Status.OPTIMAL
        elif tc in (TC.infeasible, TC.infeasibleOrUnbounded):
            status = Status.INFEASIBLE
        else:
            status = Status.FEASIBLE if has_solution else Status.UNKNOWN
        values = None
        if status.has_schedule:
            with _quiet("pyomo.core"):  # a time-limited incumbent is "aborted" to Pyomo, and it warns
                pm.solutions.load_from(res)
            values = {v: x.value for v, x in cols.items() if x.value is not None}
        bound = None
        if status != Status.INFEASIBLE:
            lb = getattr(res.problem, "lower_bound", None)
            bound = float(lb) if isinstance(lb, (int, float)) else None
        return status, values, bound, str(tc)


def to_pyomo(milp: Model) -> tuple[Any, dict[Var, Any]]:
    """A Pyomo ``ConcreteModel`` of a linearized IR model, and the map from IR variables to Pyomo variables.

    >>> from remat.ir import Linear, Model
    >>> m = Model("t"); x = m.int_var(0, 9, "x"); b = m.bool_var("b")
    >>> m.add(Linear(((x, 1), (b, 5)), lb=7)); m.minimize([(x, 1), (b, 3)])
    >>> pm, cols = to_pyomo(m)
    >>> len(pm.row), cols[x].is_integer(), cols[b].is_binary()
    (1, True, True)
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    ints, bools = milp.int_vars, milp.bool_vars
    pm = pyo.ConcreteModel(name=milp.name)
    pm.I = pyo.Set(initialize=range(len(ints)), ordered=True)
    pm.B = pyo.Set(initialize=range(len(bools)), ordered=True)
    pm.x = pyo.Var(pm.I, domain=pyo.Integers, bounds=lambda _, k: (ints[k].lb, ints[k].ub))
    pm.b = pyo.Var(pm.B, domain=pyo.Binary, bounds=lambda _, k: bounds(bools[k]))
    cols: dict[Var, Any] = {v: pm.x[k] for k, v in enumerate(ints)}
    cols.update({v: pm.b[k] for k, v in enumerate(bools)})

    def expr(terms, constant=0):
        return LinearExpression(constant=constant, linear_coefs=[c for _, c in terms],
                                linear_vars=[cols[v] for v, _ in terms])

    rows = milp.constraints
    pm.R = pyo.Set(initialize=range(len(rows)), ordered=True)

    @pm.Constraint(pm.R)
    def row(_, r):
        c = rows[r]
        if c.lb is not None and c.lb == c.ub:
            return expr(c.terms) == c.lb
        return (c.lb, expr(c.terms), c.ub)

    obj = milp.objective
    pm.obj = pyo.Objective(expr=expr(obj.terms, obj.offset) if obj else 0, sense=pyo.minimize)
    return pm, cols


def _highs_mip_start(opt: Any, cols: dict[Var, Any], start: dict[Var, int]) -> bool:
    """Hand HiGHS a (possibly partial) MIP start; HiGHS completes missing integer entries itself.

    Pyomo's HiGHS interface has no warm-start argument, so this reaches its
    HiGHS object after ``set_instance``; if a Pyomo release renames it the
    solve goes on without the start.
    """
    highs = getattr(opt, "_solver_model", None)
    colmap = getattr(opt, "_pyomo_var_to_solver_var_map", None)
    if highs is None or colmap is None:
        return False
    import numpy as np

    idx, val = [], []
    for v, x in cols.items():
        k = colmap.get(id(x))
        if k is not None and v in start:
            idx.append(k)
            val.append(float(start[v]))
    if not idx:
        return False
    status = highs.setSolution(len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=np.float64))
    return str(status).endswith("kOk")


def _no_auto_updates(opt: Any) -> None:
    updates = getattr(getattr(opt, "config", None), "auto_updates", None)
    if updates is None:
        return
    for key in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints", "update_vars",
                "update_parameters", "update_named_expressions", "update_objective"):
        if key in updates:
            setattr(updates, key, False)


@contextmanager
def _without(text: str, logger: str):
    """Within the block, ``logger`` drops the records whose message holds ``text``."""
    log = logging.getLogger(logger)

    def keep(record: logging.LogRecord) -> bool:
        return text not in record.getMessage()

    log.addFilter(keep)
    try:
        yield
    finally:
        log.removeFilter(keep)


@contextmanager
def _quiet(logger: str):
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


__all__ = ["LEGACY_OPTIONS", "PyomoBackend", "V2_SOLVERS", "to_pyomo"]
