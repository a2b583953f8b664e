"""OR-Tools CP-SAT backend: the IR maps almost one to one onto CP-SAT.

Intervals become optional interval variables (a size variable ``end - start``
is added), the cumulative becomes ``add_cumulative``, enforced linear
constraints ``only_enforce_if``, clauses ``add_bool_or``. Each incumbent is
recorded by a solution callback; bound improvements come through
``best_bound_callback``. An incumbent at a limit is FEASIBLE, never OPTIMAL.

Two-phase start (the Moccasin paper's; option ``two_phase``, default on):
when the warm start given as a hint is over the cumulative's capacity, a
first phase minimises the peak (the capacity becomes a variable) from that
hint for at most 80% of the time limit; a schedule that fits then hints the
second phase, the real model. A first phase that proves the minimum peak
over the capacity proves the model infeasible. The optimum is unchanged.

Large-neighbourhood search (option ``lns``, default on, with a time limit and
a model whose intervals carry groups): once the full search stalls (no new
incumbent or bound for a tenth of the time) or has used ``lns_after`` (default
half) of the time without a proof, the rest of the time goes to re-solving
neighbourhoods of the incumbent (:mod:`remat.backends.lns`), each a copy of
the model with most groups fixed, hinted with the incumbent. Every
neighbourhood contains the incumbent, so the result is never worse than the
full search's; the bound is the full search's. On random layered graphs of
500 nodes the full search stalls within seconds while neighbourhoods keep
improving (docs/performance.md).

Stop on a stall (option ``stop_after_stall``, seconds, default off; only
without the neighbourhood search): the full search ends, FEASIBLE, once it
has moved neither its incumbent nor its bound for that long, though not in
its first ``stall_not_before`` seconds. The default
solve's first phase uses it to hand the rest of the time to the memory order
(:mod:`remat.strategies`).

This module imports ortools only inside ``solve``: the registry reads the
class's ``features`` without importing a solver.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, ClassVar

from remat.errors import BackendError
from remat.backends.base import CONSTRUCTS, Progress, RawResult, SolveOptions, module_available
from remat.backends.lns import NeighbourhoodSearch
from remat.ir import BoolVar, BuildTimeout, Clause, Cumulative, Linear, Model, Not, Var, paused_gc
from remat.status import Status


class CpSatBackend:
    """Solve IR models with CP-SAT (``--backend cpsat``)."""

    name = "cpsat"
    features: ClassVar[frozenset[str]] = CONSTRUCTS | {"hints", "progress", "neighbourhood-search", "int64"}

    def __init__(self) -> None:
        import ortools.sat.python.cp_model  # noqa: F401  (imported when the backend is made, before a solve's clock starts)

    @classmethod
    def is_available(cls) -> bool:
        return module_available("ortools")

    def translate(self, model: Model, *, peak_var: bool = False,
                  deadline: float | None = None) -> tuple[Any, dict[Var, Any]]:
        """Build the native CpModel; returns it and the map from IR variables to CP-SAT variables.

        With ``peak_var`` the cumulative's capacity becomes a variable between the
        capacity and the sum of the demands, mapped under the key ``"peak"``.
        A variable whose domain is a ``range`` with a step maps to the affine
        expression ``start + step * k`` over a new ``k`` in ``[0, len)``.
        """
        from ortools.sat.python import cp_model

        cp = cp_model.CpModel()
        cp.name = model.name
        native: dict[Var, Any] = {}
        for k, v in enumerate(model.int_vars):
            _check_deadline(deadline, k, model)
            if isinstance(v.values, range) and v.values.step > 1 and len(v.values) > 1:
                # An arithmetic progression is an affine image of a small interval: start + step * k.
                k = cp.new_int_var(0, len(v.values) - 1, f"{v.name}/k")
                native[v] = v.values.step * k + v.values.start
            elif v.values is not None:
                native[v] = cp.new_int_var_from_domain(cp_model.Domain.from_values(list(v.values)), v.name)
            else:
                native[v] = cp.new_int_var(v.lb, v.ub, v.name)
        for b in model.bool_vars:
            native[b] = cp.new_bool_var(b.name)

        def lit(x: BoolVar | Not) -> Any:
            return native[x.var].Not() if isinstance(x, Not) else native[x]

        intervals = {}
        for k, itv in enumerate(model.intervals):
            _check_deadline(deadline, k, model)
            s, e = native[itv.start], native[itv.end]
            size_ub = max(itv.end.ub - itv.start.lb, itv.min_size)
            size = cp.new_int_var(itv.min_size, size_ub, f"size:{itv.name}")
            if itv.presence is None:
                intervals[itv] = cp.new_interval_var(s, size, e, itv.name)
            else:
                intervals[itv] = cp.new_optional_interval_var(s, size, e, native[itv.presence], itv.name)
        weighted_sum = cp_model.LinearExpr.weighted_sum  # much faster than sum() over expressions
        for k, c in enumerate(model.constraints):
            _check_deadline(deadline, k, model)
            if isinstance(c, Linear):
                expr = weighted_sum([native[v] for v, _ in c.terms], [coef for _, coef in c.terms])
                lb = c.lb if c.lb is not None else cp_model.INT_MIN
                ub = c.ub if c.ub is not None else cp_model.INT_MAX
                ct = cp.add_linear_constraint(expr, lb, ub)
                if c.enforce:
                    ct.only_enforce_if([lit(x) for x in c.enforce])
            elif isinstance(c, Clause):
                ct = cp.add_bool_or([lit(x) for x in c.literals])
                if c.enforce:
                    ct.only_enforce_if([lit(x) for x in c.enforce])
            elif isinstance(c, Cumulative):
                capacity: Any = c.capacity
                if peak_var:
                    capacity = native["peak"] = cp.new_int_var(c.capacity, max(c.capacity, sum(c.demands)), "peak")
                cp.add_cumulative([intervals[i] for i in c.intervals], list(c.demands), capacity)
            else:  # pragma: no cover - the IR is closed
                raise TypeError(f"cpsat: unsupported constraint {type(c).__name__}")
        if model.objective is not None:
            terms = model.objective.terms
            cp.minimize(weighted_sum([native[v] for v, _ in terms], [coef for _, coef in terms])
                        + model.objective.offset)
        return cp, native

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        """Solve ``model``; see the module docstring for the two-phase start.

        Backend options (``SolveOptions.extra``): ``two_phase`` (default True),
        ``lns`` (default True), ``lns_after`` (default 0.5) and any CP-SAT
        parameter by name (``num_search_workers`` excepted).
        """
        from ortools.sat.python import cp_model

        t0 = time.perf_counter()
        extra = dict(options.extra)
        two_phase = bool(extra.pop("two_phase", True))
        lns = bool(extra.pop("lns", True))
        lns_after = float(extra.pop("lns_after", 0.5))
        stop_after_stall = float(extra.pop("stop_after_stall", 0.0))
        stall_not_before = float(extra.pop("stall_not_before", 0.0))
        hint = options.hint
        cumulative = next((c for c in model.constraints if isinstance(c, Cumulative)), None)
        phase1 = two_phase and hint is not None and cumulative is not None and not _fits(cumulative, hint)
        try:
            with paused_gc():
                cp, native = self.translate(model, peak_var=phase1,
                                            deadline=None if options.time_limit is None else t0 + options.time_limit)
        except BuildTimeout as stop:
            return RawResult(status=Status.UNKNOWN, values=None, objective=None, bound=None,
                             wall_time=time.perf_counter() - t0, message=str(stop))
        if hint:
            _add_hints(cp, native, hint)
        deadline = None if options.time_limit is None else t0 + options.time_limit

        if phase1:
            found = self._min_peak(cp, native, cumulative.capacity, options, extra, deadline,  # type: ignore[union-attr]
                                   NeighbourhoodSearch(model, seed=options.seed) if lns else None, lns_after)
            if found is False:
                return RawResult(status=Status.INFEASIBLE, values=None, objective=None, bound=None,
                                 wall_time=time.perf_counter() - t0, message="INFEASIBLE (phase 1: minimum peak)")
            cp.add(native.pop("peak") <= cumulative.capacity)  # type: ignore[union-attr]
            if found is not None:
                cp.clear_hints()
                _add_hints(cp, native, found)
            if model.objective is not None:
                cp.minimize(sum(coef * native[v] for v, coef in model.objective.terms) + model.objective.offset)
            else:
                cp.clear_objective()

        solver = cp_model.CpSolver()
        self._configure(solver, options, extra, deadline)
        recorder = _Recorder(options, t0)
        solver.best_bound_callback = recorder.on_bound
        search = NeighbourhoodSearch(model, seed=options.seed) if lns and model.objective is not None else None
        if search is not None:
            stop_rule = _stall_rule(recorder, deadline, lns_after)
        else:  # without neighbourhoods, a stall may end the search: the caller hands the time to another phase
            stop_rule = (_stall_rule(recorder, deadline, 1.0, stall=stop_after_stall, not_before=stall_not_before)
                         if stop_after_stall else None)
        code, interrupted = _solve_interruptibly(solver, cp, _callback(recorder), stop_when=stop_rule)
        lns_run = None
        if search is not None and stop_rule is not None and code == cp_model.FEASIBLE and not interrupted:
            values = _values(solver, native)
            lns_run = self._neighbourhoods(cp, native, search, values, solver.objective_value,  # type: ignore[arg-type]
                                           options, extra, deadline, recorder)  # type: ignore[arg-type]
            interrupted = lns_run.interrupted
        wall = time.perf_counter() - t0
        status = {cp_model.OPTIMAL: Status.OPTIMAL, cp_model.FEASIBLE: Status.FEASIBLE,
                  cp_model.INFEASIBLE: Status.INFEASIBLE}.get(code, Status.UNKNOWN)
        if code == cp_model.MODEL_INVALID:
            raise RuntimeError(f"cpsat: invalid model: {cp.validate()}")
        values = None
        objective = bound = None
        message = solver.status_name(code)
        if lns_run is not None:
            values, objective = lns_run.values, lns_run.objective
            bound = objective if lns_run.proven else solver.best_objective_bound
            status = Status.OPTIMAL if objective <= bound else Status.FEASIBLE
            message = (f"{'OPTIMAL' if status == Status.OPTIMAL else 'FEASIBLE'} after {lns_run.searched} "
                       f"neighbourhoods ({lns_run.improved} improved)")
        elif status.has_schedule:
            values = _values(solver, native)
            objective = solver.objective_value
            bound = solver.best_objective_bound
        elif status == Status.UNKNOWN:
            bound = solver.best_objective_bound if model.objective is not None else None
        return RawResult(status=status, values=values, objective=objective, bound=bound, wall_time=wall,
                         time_to_best=recorder.time_to_best, message=message,
                         interrupted=interrupted)

    def _neighbourhoods(self, cp: Any, native: dict, search: NeighbourhoodSearch, values: dict[Var, int],
                        objective: float, options: SolveOptions, extra: dict, deadline: float,
                        recorder: "_Recorder", target: float | None = None) -> "_LnsOutcome":
        """Large-neighbourhood search from the incumbent until the deadline (see the module docstring),
        or until the objective reaches ``target``.

        The best incumbent is never worse than the given one. A neighbourhood that frees every group
        and is solved to optimality proves the incumbent optimal, which ends the search.
        """
        from ortools.sat.python import cp_model

        sub_limit = min(5.0, max(0.5, 0.1 * (deadline - time.perf_counter())))
        out = _LnsOutcome(values, objective)
        while deadline - time.perf_counter() > 0.05:
            out.searched += 1
            try:  # a Ctrl-C while the next neighbourhood is built ends the search as one in a solve does
                free = search.neighbourhood(out.values)
                sub = cp.clone()
                for v, val in search.fixings(out.values, free).items():
                    x = native[v]
                    if isinstance(x, cp_model.IntVar):
                        sub.add(x == val)
                    else:  # start + step * k (see translate): fix k
                        sub.add(x.expression == (val - x.offset) // x.coefficient)
                sub.clear_hints()
                _add_hints(sub, native, out.values)
            except KeyboardInterrupt:
                out.interrupted = True
                break
            solver = cp_model.CpSolver()
            self._configure(solver, replace(options, seed=(options.seed + out.searched) % 2**31), extra,
                            min(deadline, time.perf_counter() + sub_limit))
            code, out.interrupted = _solve_interruptibly(solver, sub)
            better = code in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.objective_value < out.objective
            if better:
                out.values = _values(solver, native)
                out.objective = solver.objective_value
                out.improved += 1
                recorder.record(out.objective)
            out.proven = code == cp_model.OPTIMAL and len(free) == len(search.groups)
            search.feedback(improved=better, complete=code in (cp_model.OPTIMAL, cp_model.INFEASIBLE))
            if out.interrupted or out.proven or (target is not None and out.objective <= target):
                break
        return out

    @staticmethod
    def _configure(solver: Any, options: SolveOptions, extra: dict, deadline: float | None) -> None:
        params = solver.parameters
        if deadline is not None:
            params.max_time_in_seconds = max(0.0, deadline - time.perf_counter())
        params.num_workers = options.threads or 2
        params.random_seed = options.seed
        params.log_search_progress = options.log
        for key, val in extra.items():
            try:
                if isinstance(val, (list, tuple)):  # repeated fields (e.g. subsolvers) cannot be assigned
                    field = getattr(params, key)
                    field.clear()
                    field.extend(val)
                else:
                    setattr(params, key, val)
            except (AttributeError, TypeError, ValueError) as exc:  # unknown name or wrong type
                raise BackendError(f"cpsat: cannot set parameter {key}={val!r}: {exc}") from None

    def _min_peak(self, cp: Any, native: dict, capacity: int, options: SolveOptions, extra: dict,
                  deadline: float | None, search: NeighbourhoodSearch | None = None,
                  lns_after: float = 0.5) -> "dict[Var, int] | None | bool":
        """Phase 1: minimise the peak from an over-budget hint, for at most 80% of the time left
        (with a neighbourhood search once the full search stalls, as in phase 2): without a
        schedule that fits, the second phase rarely finds one on large graphs.

        Returns values that fit the capacity, None when the time ran out first,
        or False when the minimum peak is proven to exceed the capacity.
        """
        from ortools.sat.python import cp_model

        cp.minimize(native["peak"])
        solver = cp_model.CpSolver()
        phase_end = None if deadline is None else deadline - 0.2 * (deadline - time.perf_counter())
        self._configure(solver, options, extra, phase_end)
        quiet = replace(options, on_progress=None)  # a peak is no incumbent cost: no progress line
        recorder = _Recorder(quiet, time.perf_counter())
        solver.best_bound_callback = recorder.on_bound
        stop = _stall_rule(recorder, phase_end, lns_after) if search else None
        code, interrupted = _solve_interruptibly(solver, cp, _callback(recorder), stop_when=stop)
        if interrupted:  # no schedule within the budget yet: nothing to hand back
            raise KeyboardInterrupt
        if code == cp_model.INFEASIBLE or (code == cp_model.OPTIMAL and solver.value(native["peak"]) > capacity):
            return False
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        values = _values(solver, native)
        if values["peak"] > capacity and stop is not None and phase_end is not None:
            out = self._neighbourhoods(cp, native, search, values, values["peak"], quiet, extra, phase_end,  # type: ignore[arg-type]
                                       recorder, target=capacity)
            if out.interrupted:
                raise KeyboardInterrupt
            if out.proven and out.objective > capacity:
                return False
            values = out.values
        return {v: x for v, x in values.items() if v != "peak"} if values["peak"] <= capacity else None


def _values(solver: Any, native: dict) -> dict[Var, int]:
    """The solver's values of every IR variable (``native`` maps IR variables to CP-SAT expressions)."""
    return {v: int(solver.value(x)) for v, x in native.items()}


def _check_deadline(deadline: float | None, k: int, model: Model) -> None:
    """Translation keeps the time limit too: every 4096 items it looks at the clock."""
    if deadline is not None and not k & 4095 and time.perf_counter() > deadline:
        raise BuildTimeout(f"time limit reached while translating model {model.name!r} for CP-SAT")


def _stall_rule(recorder: "_Recorder", deadline: float | None, lns_after: float,
                stall: float | None = None, not_before: float = 0.0) -> Callable[[], bool] | None:
    """When a full search should stop (and hand over to the neighbourhood search): it has an
    incumbent and has moved neither it nor its bound for ``stall`` seconds (default a tenth of its
    time, at least 1 s), after its first ``not_before`` seconds; or has used ``lns_after`` of its time."""
    if deadline is None:
        return None
    begin = time.perf_counter()
    switch_at = begin + lns_after * (deadline - begin)
    stall = max(1.0, 0.1 * (deadline - begin)) if stall is None else stall
    earliest = begin + not_before

    def stalled() -> bool:
        now = time.perf_counter()
        return recorder.objective is not None and (
            now >= switch_at or (now >= earliest and now - recorder.changed >= stall))
    return stalled


def _solve_interruptibly(solver: Any, cp: Any, callback: Any = None,
                         stop_when: Callable[[], bool] | None = None) -> tuple[Any, bool]:
    """``solver.solve`` in a worker thread, so that Ctrl-C reaches Python while CP-SAT searches.

    On KeyboardInterrupt the search is stopped and its result kept (the best
    incumbent so far, status FEASIBLE or UNKNOWN); returns ``(code, interrupted)``.
    CP-SAT's own SIGINT handler is turned off: it stops as silently as a time limit.
    ``stop_when``, polled every 50 ms, stops the search the same way when it returns True.
    """
    solver.parameters.catch_sigint_signal = False
    outcome: list[Any] = []
    done = threading.Event()  # not Thread.join: a join interrupted by Ctrl-C can misreport is_alive()

    def work() -> None:
        try:
            outcome.append(solver.solve(cp, callback) if callback is not None else solver.solve(cp))
        except BaseException as exc:  # re-raised in the calling thread
            outcome.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=work, name="cpsat-search", daemon=True)
    interrupted = False
    try:
        worker.start()  # waits for the thread to start: a Ctrl-C can land here too
    except KeyboardInterrupt:
        interrupted = True
    while not done.is_set():
        try:  # every step of the loop: a Ctrl-C anywhere in it stops the search, never escapes
            if interrupted or (stop_when is not None and stop_when()):  # repeated: a stop before the start is lost
                solver.stop_search()
            done.wait(0.05)
        except KeyboardInterrupt:
            interrupted = True
    while worker.is_alive():
        try:
            worker.join()
        except KeyboardInterrupt:
            interrupted = True
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0], interrupted


def _add_hints(cp: Any, native: dict, values: dict[Var, int]) -> None:
    from ortools.sat.python import cp_model

    for v, val in values.items():
        x = native.get(v)
        if x is None:
            continue
        if isinstance(x, cp_model.IntVar):
            cp.add_hint(x, int(val))
        else:  # start + step * k (see translate): hint k
            k, rem = divmod(int(val) - x.offset, x.coefficient)
            if not rem:
                cp.add_hint(x.expression, k)


def _fits(cumulative: Cumulative, values: dict[Var, int]) -> bool:
    """Whether an assignment keeps the cumulative within its capacity (a sweep over interval ends)."""
    changes: list[tuple[int, int]] = []
    for itv, d in zip(cumulative.intervals, cumulative.demands):
        if itv.presence is None or values.get(itv.presence, 0):
            if itv.start not in values or itv.end not in values:
                return False
            changes += [(values[itv.start], d), (values[itv.end], -d)]
    load = 0
    for _, delta in sorted(changes, key=lambda c: (c[0], c[1])):  # ends before starts at the same time
        load += delta
        if load > cumulative.capacity:
            return False
    return True


@dataclass
class _LnsOutcome:
    """Where a large-neighbourhood search ended: its incumbent and what it did."""

    values: dict[Var, int]
    objective: float
    searched: int = 0
    improved: int = 0
    proven: bool = False
    interrupted: bool = False


class _Recorder:
    """Records each incumbent (time, objective) and forwards progress events; :func:`_callback` makes
    the CP-SAT solution callback that feeds it."""

    def __init__(self, options: SolveOptions, t0: float) -> None:
        self.options = options
        self.t0 = t0
        self.time_to_best: float | None = None
        self.bound: float | None = None
        self.objective: float | None = None
        self.changed = time.perf_counter()  # when the incumbent or the bound last moved

    def record(self, objective: float) -> None:
        """A new incumbent, from the search or from a neighbourhood."""
        self.changed = time.perf_counter()
        self.time_to_best = self.changed - self.t0
        self.objective = objective
        self._emit()

    def on_bound(self, bound: float) -> None:
        self.bound = bound
        self.changed = time.perf_counter()
        self._emit()

    def _emit(self) -> None:
        if self.options.on_progress is not None:
            self.options.on_progress(Progress(time.perf_counter() - self.t0, self.objective, self.bound))


def _callback(recorder: _Recorder) -> Any:
    """A ``CpSolverSolutionCallback`` that records each incumbent and its bound in ``recorder``."""
    from ortools.sat.python import cp_model

    class Callback(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            recorder.bound = self.best_objective_bound
            recorder.record(self.objective_value)

    return Callback()
