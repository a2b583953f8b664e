"""What the MILP backends share: the precision guard, the rounded solution re-checked, HiGHS set-up.

Used by the HiGHS backend (:mod:`remat.backends.highs`), the Pyomo backends
(:mod:`remat.backends.pyomo_milp`) and the SCIP backend
(:mod:`remat.backends.scip`), which receive the model already lowered by
:func:`remat.backends.solve_model`. Imports no solver at import time.

>>> from remat.ir import Linear, Model
>>> m = Model("t"); x = m.int_var(0, 10**10, "x"); m.add(Linear(((x, 1),), ub=10**10))
>>> check_magnitude("highs", m)
Traceback (most recent call last):
...
remat.errors.BackendError: highs: the linearized model has numbers up to 1e+10 ...
"""

from __future__ import annotations

import math
import time
from typing import Any

from remat.backends.base import RawResult
from remat.backends.highs_watch import HighsWatch
from remat.backends.linearize import bounds
from remat.errors import BackendError
from remat.ir import Linear, Model, Var, evaluate, violations
from remat.status import Status

# Largest |coefficient| or |bound| of a row that a floating-point MILP solver is trusted with: one unit
# must stay far above its tolerances (HiGHS's presolve declared a feasible model with sizes near 1e12
# next to sizes of 1 'infeasible').
MAX_MAGNITUDE = 10**9


def check_magnitude(name: str, milp: Model) -> None:
    """Decline a model whose rows need more precision than a floating-point MILP solver has."""
    worst = 0
    for c in milp.constraints:
        if isinstance(c, Linear):
            worst = max(worst, max((abs(k) for _, k in c.terms), default=0), abs(c.lb or 0), abs(c.ub or 0))
    if worst > MAX_MAGNITUDE:
        raise BackendError(f"{name}: the linearized model has numbers up to {worst:.3g} (memory sizes in units of "
                           f"their gcd), beyond the {MAX_MAGNITUDE:.0e} a floating-point MILP solver resolves to "
                           f"one unit; use --backend cpsat, which is exact")


def milp_result(model: Model, status: Status, values: dict[Var, float] | None, bound: float | None, message: str,
                t0: float, watch: HighsWatch) -> RawResult:
    """A MILP solver's answer on ``model`` (a linearized model) as a RawResult: the solution rounded (a
    variable the solver left out takes its lower bound) and re-checked, so that one that holds only within
    the solver's tolerances comes back UNKNOWN, never as a schedule."""
    objective = None
    int_values = None
    if status.has_schedule:
        found = values or {}
        int_values = {v: bounds(v)[0] if found.get(v) is None else int(round(found[v]))
                      for v in model.int_vars + model.bool_vars}  # type: ignore[operator]
        broken = violations(model, int_values)
        if broken:  # a solution within the solver's tolerances that rounding does not repair
            return RawResult(status=Status.UNKNOWN, values=None, objective=None, bound=None,
                             wall_time=time.perf_counter() - t0,
                             message=f"{message}; the solver's rounded solution breaks the model: {broken[0]}")
        objective = objective_value(model, int_values)
    if bound is not None and not math.isfinite(bound):
        bound = None
    return RawResult(status=status, values=int_values, objective=objective, bound=bound,
                     wall_time=time.perf_counter() - t0, time_to_best=watch.time_to_best, message=message,
                     interrupted=watch.interrupted)


def objective_value(model: Model, values: dict[Var, int]) -> float | None:
    """The IR objective at ``values`` (None for a model without one)."""
    if model.objective is None:
        return None
    return float(evaluate(model.objective.terms, values) + model.objective.offset)


def reset_highs_threads() -> None:
    """HiGHS keeps one global thread pool per process: a solve asking for another thread count
    than the first one ends with status 'unknown' unless the pool is reset first."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


def check_highs_options(solver_options: dict[str, Any], name: str = "highs") -> None:
    """Unknown HiGHS options are an error, not silently ignored."""
    import highspy
    from pyomo.common.tee import capture_output

    with capture_output(capture_fd=True):  # HiGHS prints a banner and its own complaint
        probe = highspy.Highs()
        bad = [(k, v) for k, v in solver_options.items() if not str(probe.setOptionValue(k, v)).endswith("kOk")]
    if bad:
        raise BackendError(f"{name}: invalid option {bad[0][0]}={bad[0][1]!r}")
