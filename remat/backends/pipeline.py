"""The one entry point to a backend: the model lowered to what the backend declares, solved, mapped back.

As in cvxpy's solving chain, the reductions depend on the solver: CP-SAT and
Choco translate every IR construct and get the model as it is; SCIP has
indicator and logic constraints but no cumulative over variable-length
intervals, so only the cumulative and the intervals are lowered; HiGHS gets
the full linearization (:mod:`remat.backends.linearize`). A warm start is
lifted through the same reductions, the solution inverted back and
re-checked against the original model (a solution that only holds within a
floating-point solver's tolerances comes back UNKNOWN, never as a schedule).
"""

from __future__ import annotations

import time

from remat.backends.base import Backend, RawResult, SolveOptions, features_of, model_constructs
from remat.backends.linearize import Linearized, reduce
from remat.ir import Model, violations
from remat.status import Status


def reduced_model(backend: Backend, model: Model) -> Linearized:
    """``model`` lowered to the constructs ``backend`` declares (no reduction when it declares them all).

    >>> from remat.backends import get_backend
    >>> from remat.ir import Cumulative, Model
    >>> m = Model("two"); s = [m.int_var(0, 3, f"s{k}") for k in range(2)]
    >>> e = [m.int_var(1, 4, f"e{k}") for k in range(2)]
    >>> itv = [m.interval(s[k], e[k], None, f"i{k}", min_size=1) for k in range(2)]
    >>> m.add(Cumulative(tuple(itv), (1, 1), 1))
    >>> reduced_model(get_backend("cpsat"), m).model is m
    True
    >>> [type(r).__name__ for r, _ in reduced_model(get_backend("highs"), m).steps]
    ['CumulativeToPairs', 'IntervalsToLinear', 'EnforcedToBigM']
    """
    supported = features_of(backend)
    if not model_constructs(model) - supported:
        return Linearized(model, [])
    return reduce(model, supported)


def solve_model(backend: Backend, model: Model, options: SolveOptions) -> RawResult:
    """Solve ``model`` with ``backend``, lowering the constructs it does not declare.

    Parameters
    ----------
    backend : Backend
        From :func:`~remat.backends.get_backend`, or any object with ``solve(model, options)``
        (one without ``features`` is taken to translate every construct).
    model : remat.ir.Model
        The formulation's model.
    options : SolveOptions
        Its ``hint``, a full assignment of ``model``'s variables, is lifted through the reductions.

    Returns
    -------
    RawResult
        Values of ``model``'s own variables; the objective, bound and status as the backend
        reported them (the reductions keep the objective).

    Examples
    --------
    >>> from remat.backends import get_backend
    >>> from remat.ir import Linear, Model
    >>> m = Model("t"); x = m.int_var(0, 9, "x"); b = m.bool_var("b")
    >>> m.add(Linear(((x, 1),), lb=4, enforce=(b,))); m.add(Linear(((b, 1),), lb=1)); m.minimize([(x, 1)])
    >>> raw = solve_model(get_backend("highs"), m, SolveOptions(threads=1))
    >>> raw.status.value, raw.values[x]
    ('optimal', 4)
    """
    t0 = time.perf_counter()
    lowered = reduced_model(backend, model)
    if not lowered.steps:
        return backend.solve(model, options)
    hint = None if options.hint is None else lowered.lift(options.hint)
    inner = SolveOptions(time_limit=options.time_limit, threads=options.threads, seed=options.seed, hint=hint,
                         on_progress=options.on_progress, log=options.log, extra=options.extra)
    if inner.time_limit is not None:
        inner.time_limit = max(0.0, inner.time_limit - (time.perf_counter() - t0))
    raw = backend.solve(lowered.model, inner)
    raw.wall_time = time.perf_counter() - t0
    if raw.values is None:
        return raw
    values = lowered.invert(raw.values)
    broken = violations(model, values)
    if broken:
        return RawResult(status=Status.UNKNOWN, values=None, objective=None, bound=None, wall_time=raw.wall_time,
                         time_to_best=raw.time_to_best, interrupted=raw.interrupted,
                         message=f"{raw.message}; the solution mapped back breaks the model: {broken[0]}")
    raw.values = values
    return raw


__all__ = ["reduced_model", "solve_model"]
