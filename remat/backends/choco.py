"""Choco (``--backend choco``, extra ``remat[choco]``): the IR translated natively through pychoco.

Choco is a second CP solver beside CP-SAT, with its own propagators and
search, so a result that holds under both comes from the model, not from one
solver. Every construct is native:

* an :class:`~remat.ir.IntVar` is a Choco integer variable (an explicit value
  set an enumerated domain), a :class:`~remat.ir.BoolVar` a Boolean variable,
  ``Not(b)`` its negation view;
* a :class:`~remat.ir.Linear` is a ``scalar`` constraint; enforcement literals
  half-reify it (``implied_by``), several of them through their conjunction;
* a :class:`~remat.ir.Clause` is one SAT clause over the literals and the
  negated enforcement literals;
* an :class:`~remat.ir.Interval` is a Choco task ``start + duration = end'``
  whose end ``end'`` equals the IR end when the interval is present; the
  :class:`~remat.ir.Cumulative` is Choco's ``cumulative`` over those tasks.
  An absent interval is taken out of the cumulative in one of two ways
  (option ``optional``): ``"height"`` (the default) multiplies its height by
  the presence literal, ``"duration"`` forces its duration to 0 (the task is
  then discarded). ``benchmarks/micro/choco_optional.py`` measures the two
  (``docs/backends.md``), which chose the default;
* the objective is one integer variable tied to the IR's linear objective and
  minimised.

The warm start (``SolveOptions.hint``) is a search hint; when it satisfies the
model (re-checked with :func:`remat.ir.violations`) it is also the first
incumbent, and the search is asked for a strictly cheaper one, so a search
that ends without one proves the warm start optimal. Each new incumbent is
reported to ``on_progress``. Statuses: OPTIMAL when the search completed with
an incumbent, INFEASIBLE when it completed without one, FEASIBLE when the time
limit stopped it with an incumbent, UNKNOWN otherwise. Choco searches on one
thread here (``threads`` is not used) and reports no bound before the end.

Choco's integers are 32-bit: a model whose numbers (bounds, coefficients,
capacities, the objective's range) reach 2**31 is declined with a
BackendError pointing to ``cpsat``.

This module imports pychoco only inside ``solve``.

>>> from remat.ir import Linear, Model
>>> m = Model("two of three"); xs = [m.bool_var(f"x{i}") for i in range(3)]
>>> m.add(Linear(tuple((x, 1) for x in xs), lb=2)); m.minimize([(x, k + 1) for k, x in enumerate(xs)])
>>> raw = ChocoBackend().solve(m, SolveOptions(time_limit=10))
>>> raw.status.value, raw.objective, [raw.values[x] for x in xs]
('optimal', 3.0, [1, 1, 0])
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from remat.backends.base import CONSTRUCTS, Progress, RawResult, SolveOptions, module_available
from remat.backends.linearize import activity, bounds
from remat.errors import BackendError
from remat.ir import BoolVar, Clause, Cumulative, Interval, Linear, Literal, Model, Not, Var, evaluate, violations
from remat.status import Status

LIMIT = 2**31 - 1  # Choco's int
OPTIONAL = ("height", "duration")


class ChocoBackend:
    """Solve IR models with Choco (``--backend choco``)."""

    name = "choco"
    features: ClassVar[frozenset[str]] = CONSTRUCTS | {"hints", "progress"}

    def __init__(self) -> None:
        import pychoco  # noqa: F401  (imported when the backend is made, before a solve's clock starts)

    @classmethod
    def is_available(cls) -> bool:
        return module_available("pychoco")

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        """Solve ``model``; option ``optional`` (``"duration"`` or ``"height"``, see the module doc)."""
        t0 = time.perf_counter()
        extra = dict(options.extra)
        optional = extra.pop("optional", "height")
        if optional not in OPTIONAL or extra:
            bad = f"optional={optional!r}" if optional not in OPTIONAL else f"{next(iter(extra))}"
            raise BackendError(f"choco: invalid option {bad} (options: optional={' or '.join(OPTIONAL)})")
        check_range(model)
        hint_fits = _fits(model, options.hint)
        best_values = dict(options.hint) if hint_fits else None  # type: ignore[arg-type]
        best_objective = None
        if hint_fits and model.objective is not None:
            best_objective = float(evaluate(model.objective.terms, best_values) + model.objective.offset)  # type: ignore[arg-type]
        time_to_best = 0.0 if hint_fits else None
        if hint_fits and model.objective is None:  # a satisfaction problem the warm start already solves
            return _result(best_values, None, True, t0, 0.0, "the warm start satisfies the model")
        translation = _Translation(model, optional, best_objective)
        solver = translation.cm.get_solver()
        for v, x in (options.hint or {}).items():
            native = translation.native.get(v)
            if native is not None:
                solver.add_hint(native, int(x))
        if options.time_limit is not None:
            left = t0 + options.time_limit - time.perf_counter()
            if left <= 0:
                return _result(best_values, best_objective, False, t0, time_to_best, "time limit before the search")
            solver.limit_time(f"{left:.3f}s")
        interrupted = False
        try:
            while solver.solve():
                best_values = {v: int(x.get_value()) for v, x in translation.native.items()}
                best_objective = None if model.objective is None else float(
                    evaluate(model.objective.terms, best_values) + model.objective.offset)
                time_to_best = time.perf_counter() - t0
                if options.on_progress is not None:
                    options.on_progress(Progress(time_to_best, best_objective, None))
                if model.objective is None:
                    break
        except KeyboardInterrupt:  # seen when Choco returns (at its next incumbent or at the end)
            interrupted = True
        state = solver.get_search_state()
        complete = not interrupted and (state == "TERMINATED" or (model.objective is None and best_values is not None))
        raw = _result(best_values, best_objective, complete, t0, time_to_best, state)
        raw.interrupted = interrupted
        return raw


def _result(values: dict[Var, int] | None, objective: float | None, complete: bool, t0: float,
            time_to_best: float | None, message: str) -> RawResult:
    if values is not None:
        status = Status.OPTIMAL if complete else Status.FEASIBLE
    else:
        status = Status.INFEASIBLE if complete else Status.UNKNOWN
    bound = objective if status == Status.OPTIMAL else None
    return RawResult(status, None if values is None else dict(values), objective, bound, time.perf_counter() - t0,
                     time_to_best, message)


def _fits(model: Model, hint: dict[Var, int] | None) -> bool:
    if not hint or any(v not in hint for v in model.int_vars + model.bool_vars):  # type: ignore[operator]
        return False
    return not violations(model, hint)


def check_range(model: Model) -> None:
    """Decline a model with numbers Choco's 32-bit integers cannot hold (one-line BackendError)."""
    worst = max((max(abs(v.lb), abs(v.ub)) for v in model.int_vars), default=0)
    for c in model.constraints:
        if isinstance(c, Linear):
            lo, hi = activity(c.terms)
            worst = max(worst, -lo, hi, max((abs(k) for _, k in c.terms), default=0), abs(c.lb or 0), abs(c.ub or 0))
        elif isinstance(c, Cumulative):
            worst = max(worst, c.capacity, sum(c.demands))
    if model.objective is not None:  # its offset stays outside Choco
        lo, hi = activity(model.objective.terms)
        worst = max(worst, -lo, hi)
    if worst > LIMIT:
        raise BackendError(f"choco: the model has numbers up to {worst:.3g}, beyond Choco's 32-bit integers "
                           f"(2**31); use --backend cpsat, which is exact to 64 bits")


class _Translation:
    """The Choco model of an IR model; ``native`` maps every IR variable to its Choco variable."""

    def __init__(self, model: Model, optional: str, hint_objective: float | None):
        from pychoco import Model as ChocoModel

        self.cm = cm = ChocoModel(model.name)
        self.native: dict[Var, Any] = {}
        self._negations: dict[BoolVar, Any] = {}
        for v in model.int_vars:
            self.native[v] = cm.intvar(list(v.values), name=v.name) if v.values is not None \
                else cm.intvar(v.lb, v.ub, name=v.name)
        for b in model.bool_vars:
            self.native[b] = cm.boolvar(name=b.name) if b.fixed is None else cm.boolvar(bool(b.fixed), name=b.name)
        for itv in model.intervals:
            self._size(itv)
        for c in model.constraints:
            if isinstance(c, Linear):
                self._linear(c)
            elif isinstance(c, Clause):
                self._clause(c.literals, c.enforce)
            elif isinstance(c, Cumulative):
                self._cumulative(c, optional)
            else:  # pragma: no cover - the IR is closed
                raise TypeError(f"choco: unsupported constraint {type(c).__name__}")
        if model.objective is not None:
            terms = model.objective.terms
            lo, hi = activity(terms)
            offset = model.objective.offset
            if hint_objective is not None:  # the warm start is the incumbent: ask for a cheaper one
                hi = min(hi, int(hint_objective) - offset - 1)
            obj = cm.intvar(lo, max(lo, hi), name="objective")  # the objective less its offset
            if hi < lo:
                self._clause((), ())  # nothing cheaper than the warm start exists
            cm.scalar([self.native[v] for v, _ in terms] + [obj], [k for _, k in terms] + [-1], "=", 0).post()
            cm.set_objective(obj, maximize=False)

    def lit(self, x: Literal) -> Any:
        if isinstance(x, Not):
            if x.var not in self._negations:
                self._negations[x.var] = ~self.native[x.var]
            return self._negations[x.var]
        return self.native[x]

    def _guard(self, enforce: tuple[Literal, ...]) -> Any:
        """One Boolean that is true exactly when every enforcement literal is (None when there is none)."""
        if not enforce:
            return None
        if len(enforce) == 1:
            return self.lit(enforce[0])
        both = self.cm.boolvar()
        self.cm.add_clauses_bool_and_array_eq_var([self.lit(x) for x in enforce], both)
        return both

    def _post(self, constraint: Any, enforce: tuple[Literal, ...]) -> None:
        guard = self._guard(enforce)
        if guard is None:
            constraint.post()
        else:
            constraint.implied_by(guard)

    def _linear(self, c: Linear) -> None:
        if not c.terms:
            if (c.lb is not None and c.lb > 0) or (c.ub is not None and c.ub < 0):
                self._clause((), c.enforce)
            return
        xs = [self.native[v] for v, _ in c.terms]
        ks = [k for _, k in c.terms]
        if c.lb is not None and c.lb == c.ub:
            self._post(self.cm.scalar(xs, ks, "=", c.lb), c.enforce)
            return
        lo, hi = activity(c.terms)
        if c.lb is not None and c.lb > lo:
            self._post(self.cm.scalar(xs, ks, ">=", c.lb), c.enforce)
        if c.ub is not None and c.ub < hi:
            self._post(self.cm.scalar(xs, ks, "<=", c.ub), c.enforce)

    def _clause(self, literals: tuple[Literal, ...], enforce: tuple[Literal, ...]) -> None:
        lits = list(literals) + [x.var if isinstance(x, Not) else Not(x) for x in enforce]
        pos = [self.native[x] for x in lits if not isinstance(x, Not)]
        neg = [self.native[x.var] for x in lits if isinstance(x, Not)]
        if not pos and not neg:
            pos = [self.cm.boolvar(False)]  # the empty clause: no solution
        self.cm.add_clauses(pos, neg)

    def _size(self, itv: Interval) -> None:
        """``present -> end - start >= min_size``."""
        lo, _ = bounds(itv.end)
        if lo - bounds(itv.start)[1] >= itv.min_size:
            return  # the domains imply it
        enforce = () if itv.presence is None else (itv.presence,)
        self._post(self.cm.scalar([self.native[itv.end], self.native[itv.start]], [1, -1], ">=", itv.min_size),
                   enforce)

    def _cumulative(self, c: Cumulative, optional: str) -> None:
        cm = self.cm
        tasks, heights = [], []
        for itv, d in zip(c.intervals, c.demands):
            if d == 0:
                continue
            s, e = self.native[itv.start], self.native[itv.end]
            horizon = max(itv.end.ub - itv.start.lb, itv.min_size, 0)
            if itv.presence is None:
                duration = cm.intvar(max(itv.min_size, 0), horizon)
                tasks.append(cm.task(s, duration, e))
                heights.append(cm.intvar(d, d))
                continue
            p = self.native[itv.presence]
            duration = cm.intvar(0, horizon)
            end = cm.intvar(itv.start.lb, max(itv.start.ub, itv.end.ub))
            tasks.append(cm.task(s, duration, end))
            cm.arithm(end, "=", e).implied_by(p)
            if optional == "duration":
                cm.arithm(duration, "=", 0).implied_by(self.lit(Not(itv.presence)))
                heights.append(cm.intvar(d, d))
            else:
                heights.append(p * d)
        if tasks:
            cm.cumulative(tasks, heights, cm.intvar(c.capacity, c.capacity)).post()


__all__ = ["ChocoBackend", "LIMIT", "check_range"]
