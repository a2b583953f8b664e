"""SCIP (``--backend scip``, extra ``remat[scip]``) through PySCIPOpt: a second open MILP solver.

SCIP has constraint types a plain MILP lacks, so the backend declares
``enforced-linear`` and ``clauses`` native and :func:`remat.backends.solve_model`
lowers only the rest (:mod:`remat.backends.linearize`: the cumulative to
pairwise overlap rows, the intervals to enforced size rows, explicit domains
to one-hot binaries). SCIP's own cumulative takes fixed durations only, and
the memory intervals have variable lengths, so the cumulative goes through
the shared linearization.

* an enforced :class:`~remat.ir.Linear` is one SCIP indicator constraint per
  side (``addConsIndicator``, on the literal or, with ``activeone=False``, on
  its negation); several enforcement literals are first tied to one binary
  equal to their conjunction;
* a :class:`~remat.ir.Clause` is the row ``sum of its literals >= 1`` (with
  ``1 - b`` for ``not b`` and the enforcement literals negated), which SCIP's
  presolve recognises as a logic (logicor) constraint;
* plain rows and the objective are linear.

Time limit, a zero relative gap and an absolute gap below 1 (the objective
is integer), the warm start as a partial solution that SCIP completes, each
new incumbent (with the dual bound) on ``on_progress`` through an event
handler, and statuses, bound and gap as for HiGHS: OPTIMAL only when SCIP
proved it, an incumbent at a limit FEASIBLE, none UNKNOWN. The rounded
solution is re-checked, and models beyond floating-point resolution are
declined (:mod:`remat.backends.milp_common`). SCIP solves on one thread here.

This module imports pyscipopt only inside ``solve``.

>>> from remat.ir import Linear, Model
>>> m = Model("two of three"); xs = [m.bool_var(f"x{i}") for i in range(3)]
>>> m.add(Linear(tuple((x, 1) for x in xs), lb=2)); m.minimize([(x, k + 1) for k, x in enumerate(xs)])
>>> raw = ScipBackend().solve(m, SolveOptions(time_limit=10))
>>> raw.status.value, raw.objective, [raw.values[x] for x in xs]
('optimal', 3.0, [1, 1, 0])
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from remat.backends.base import Progress, RawResult, SolveOptions, model_constructs, module_available
from remat.backends.linearize import activity, bounds
from remat.backends.milp_common import check_magnitude, milp_result
from remat.errors import BackendError
from remat.ir import Clause, Linear, Literal, Model, Not, Var, violations
from remat.status import Status


@dataclass
class _Watch:
    """What milp_result reads of a watch: when the best incumbent came, whether Ctrl-C stopped the solve."""

    time_to_best: float | None = None
    interrupted: bool = False


class ScipBackend:
    """Solve IR models with SCIP (``--backend scip``)."""

    name = "scip"
    features: ClassVar[frozenset[str]] = frozenset({"enforced-linear", "clauses", "hints", "progress"})

    def __init__(self) -> None:
        import pyscipopt  # noqa: F401  (imported when the backend is made, before a solve's clock starts)

    @classmethod
    def is_available(cls) -> bool:
        return module_available("pyscipopt")

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        """Solve ``model`` (lowered to indicator, logic and linear constraints); ``extra`` options are SCIP
        parameter names (``limits/nodes``, ...), an unknown one is an error."""
        if model_constructs(model) - self.features:  # called directly with an IR model: lower it first
            from remat.backends.pipeline import solve_model

            return solve_model(self, model, options)
        from pyscipopt import Model as ScipModel

        t0 = time.perf_counter()
        check_magnitude(self.name, model)
        scip = ScipModel(model.name)
        scip.hideOutput(not options.log)
        for key, value in options.extra.items():
            try:
                scip.setParam(key, value)
            except (KeyError, LookupError, TypeError, ValueError) as exc:
                raise BackendError(f"scip: invalid option {key}={value!r}: {exc}") from None
        scip.setParam("randomization/randomseedshift", int(options.seed))
        scip.setParam("limits/gap", 0.0)
        scip.setParam("limits/absgap", 1 - 1e-6)  # integer objective: a gap below 1 is a proof
        native = _translate(scip, model)
        start = _full_start(model, options.hint)
        if options.hint:
            sol = scip.createSol() if start is not None else scip.createPartialSol()  # SCIP completes a partial one
            for v, x in options.hint.items():
                if v in native:
                    scip.setSolVal(sol, native[v], float(x))
            scip.addSol(sol)
        watch = _Watch()
        _watch_incumbents(scip, watch, options, t0)
        left = None if options.time_limit is None else t0 + options.time_limit - time.perf_counter()
        if left is not None and left <= 0:  # no time for a search: the warm start, if it is a solution
            status = Status.UNKNOWN if start is None else Status.FEASIBLE
            return milp_result(model, status, start, None, "time limit before the search", t0, watch)
        if left is not None:
            scip.setParam("limits/time", left)
        try:
            scip.optimize()
        except KeyboardInterrupt:
            watch.interrupted = True
        code = scip.getStatus()
        has_solution = scip.getNSols() > 0
        if code == "optimal" and has_solution:
            status = Status.OPTIMAL
        elif code == "infeasible":
            status = Status.INFEASIBLE
        else:
            status = Status.FEASIBLE if has_solution else Status.UNKNOWN
        values = None
        if status.has_schedule:
            best = scip.getBestSol()
            values = {v: scip.getSolVal(best, x) for v, x in native.items()}
        elif status == Status.UNKNOWN and start is not None:  # stopped before SCIP took up the warm start
            status, values = Status.FEASIBLE, dict(start)
            watch.time_to_best = 0.0
        bound = scip.getDualbound() if status != Status.INFEASIBLE and model.objective is not None else None
        return milp_result(model, status, values, bound, code, t0, watch)


def _full_start(model: Model, hint: dict[Var, int] | None) -> dict[Var, int] | None:
    """``hint`` when it assigns every variable and satisfies ``model`` (an incumbent from the start), else None."""
    if not hint or any(v not in hint for v in model.int_vars + model.bool_vars):  # type: ignore[operator]
        return None
    return None if violations(model, hint) else hint


def _translate(scip: Any, model: Model) -> dict[Var, Any]:
    """Variables, constraints and objective of ``model`` in ``scip``; returns the map to SCIP variables."""
    from pyscipopt import quicksum

    native: dict[Var, Any] = {}
    for v in model.int_vars:
        native[v] = scip.addVar(v.name, vtype="I", lb=v.lb, ub=v.ub)
    for b in model.bool_vars:
        lo, hi = bounds(b)
        native[b] = scip.addVar(b.name, vtype="B", lb=lo, ub=hi)

    def value(x: Literal) -> Any:
        return 1 - native[x.var] if isinstance(x, Not) else native[x]

    def expr(terms) -> Any:
        return quicksum(k * native[v] for v, k in terms)

    conjunctions: dict[tuple, Any] = {}

    def guard(enforce: tuple[Literal, ...]) -> tuple[Any, bool]:
        """A binary and whether it enforces at 1 (True) or at 0 (False)."""
        if len(enforce) == 1:
            x = enforce[0]
            return (native[x.var], False) if isinstance(x, Not) else (native[x], True)
        if enforce not in conjunctions:
            both = scip.addVar(vtype="B")
            for x in enforce:
                scip.addCons(both <= value(x))
            scip.addCons(both >= quicksum(value(x) for x in enforce) - (len(enforce) - 1))
            conjunctions[enforce] = both
        return conjunctions[enforce], True

    for c in model.constraints:
        if isinstance(c, Linear):
            lo, hi = activity(c.terms)
            sides = []
            if c.ub is not None and hi > c.ub:
                sides.append(expr(c.terms) <= c.ub)
            if c.lb is not None and lo < c.lb:
                sides.append(-expr(c.terms) <= -c.lb)
            if not c.terms and sides:  # a constant row that fails
                sides = [quicksum([]) >= 1]
            for side in sides:
                if c.enforce:
                    binvar, at_one = guard(c.enforce)
                    scip.addConsIndicator(side, binvar, activeone=at_one)
                else:
                    scip.addCons(side)
        elif isinstance(c, Clause):
            lits = list(c.literals) + [x.var if isinstance(x, Not) else Not(x) for x in c.enforce]
            scip.addCons(quicksum(value(x) for x in lits) >= 1)
        else:  # pragma: no cover - solve_model lowered the rest
            raise TypeError(f"scip: unsupported constraint {type(c).__name__}")
    if model.objective is not None:
        scip.setObjective(expr(model.objective.terms) + model.objective.offset, "minimize")
    return native


def _watch_incumbents(scip: Any, watch: _Watch, options: SolveOptions, t0: float) -> None:
    """Each new best solution: its time (``time_to_best``) and, to ``on_progress``, its objective and the bound."""
    from pyscipopt import SCIP_EVENTTYPE, Eventhdlr

    class Incumbents(Eventhdlr):
        def eventinit(self) -> None:
            self.model.catchEvent(SCIP_EVENTTYPE.BESTSOLFOUND, self)

        def eventexit(self) -> None:
            self.model.dropEvent(SCIP_EVENTTYPE.BESTSOLFOUND, self)

        def eventexec(self, event: Any) -> None:
            watch.time_to_best = time.perf_counter() - t0
            if options.on_progress is not None:
                best = self.model.getBestSol()
                options.on_progress(Progress(watch.time_to_best, self.model.getSolObjVal(best),
                                             self.model.getDualbound()))

    scip.includeEventhdlr(Incumbents(), "remat-incumbents", "reports each new incumbent")


__all__ = ["ScipBackend"]
