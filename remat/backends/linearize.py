"""Reductions that lower the IR to a mixed-integer linear program.

The MILP backends solve the very model CP-SAT solves. Where the IR uses a
construct a MILP lacks, an explicit reduction rewrites it, cvxpy-style. Each
reduction has

* ``apply(model) -> (model', data)``: a new IR model without the construct;
* ``invert(values', data) -> values``: a solution of ``model'`` mapped back;
* ``lift(values, data) -> values'``: a solution of ``model`` mapped forward
  (how a warm start reaches the MILP).

:func:`linearize` chains them in this order; the result holds only integer
and Boolean variables without explicit value sets, un-enforced
:class:`~remat.ir.Linear` rows and the objective.

1. :class:`CumulativeToPairs`: the load of a cumulative can only rise where
   an interval starts, so it is checked at interval starts only. For each
   ordered pair (i, j) of positive-demand intervals whose domains let i be
   resident when j starts, a binary ``z[i,j] >= [p_i & p_j & s_i <= s_j <
   e_i]`` and, unless the variable bounds settle which starts first, an order
   binary ``a[i,j] -> s_i > s_j``; then ``d_j p_j + sum_i d_i z[i,j] <=
   capacity``. A pair whose demands alone exceed the capacity gets no ``z``
   (it may not overlap), and a start whose possible load fits anyway gets no
   row at all.
2. :class:`IntervalsToLinear`: ``p -> end - start >= min_size``.
3. :class:`DomainsToOneHot`: a variable with an explicit value set ``V``
   becomes ``x = sum_k V_k y_k`` with ``sum_k y_k = 1`` over binaries ``y``.
4. :class:`EnforcedToBigM`: ``(l_1 & ... & l_k) -> lb <= a.x <= ub`` becomes
   ``a.x <= ub + M (k - sum l)`` with the tightest ``M`` the variable bounds
   allow, ``M = max(a.x) - ub`` (and the mirror for ``lb``); a side that the
   bounds already imply is dropped. A clause becomes ``sum of its literals +
   sum of (1 - enforcement literals) >= 1``; ``not b`` is ``1 - b``.

Size: with ``N`` intervals of positive demand, step 1 adds at most ``2 N (N - 1)``
binaries and rows plus ``N`` memory rows, i.e. ``O(N^2)``, against
``O(N H)`` for a time-indexed form over a horizon ``H``. Step 3 adds one
binary per value of each explicit domain. For the Moccasin model (``n``
nodes, ``C`` copies, ``E`` edges, ``N <= n C``, ``H = n(n+1)/2`` or ``n^2`` events) that is
``O(n^2 C^2)`` pair binaries, ``O(C n^2)`` one-hot binaries and the IR's own
``O(E C^2)`` cover literals; see ``docs/linearization.md``.

>>> from remat.ir import Model, Interval, Cumulative
>>> m = Model("two")
>>> s = [m.int_var(0, 3, f"s{k}") for k in range(2)]
>>> e = [m.int_var(1, 4, f"e{k}") for k in range(2)]
>>> itv = [m.interval(s[k], e[k], None, f"i{k}", min_size=1) for k in range(2)]
>>> m.add(Cumulative(tuple(itv), (1, 1), 1))
>>> lin = linearize(m)
>>> lin.size()["binaries"], all(isinstance(c, Linear) and not c.enforce for c in lin.model.constraints)
(2, True)
>>> lin.invert(lin.lift({s[0]: 0, e[0]: 1, s[1]: 1, e[1]: 2})) == {s[0]: 0, e[0]: 1, s[1]: 1, e[1]: 2}
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from remat.ir import (BoolVar, Clause, Constraint, Cumulative, Interval, IntVar, Linear, Literal, Model,
                                   Not, Objective, Terms, Var, negate)

Values = dict[Var, int]


class Reduction(Protocol):
    removes: frozenset[str]  # the constructs (remat.backends.base.CONSTRUCTS) it rewrites away
    needs_gone: frozenset[str]  # constructs an earlier reduction of the chain must have removed

    def apply(self, model: Model) -> tuple[Model, Any]: ...

    def invert(self, values: Values, data: Any) -> Values: ...

    def lift(self, values: Values, data: Any) -> Values: ...


def bounds(var: Var) -> tuple[int, int]:
    """The bounds of a variable: ``[lb, ub]`` of an IntVar, ``[0, 1]`` of a BoolVar (or its fixed value)."""
    if isinstance(var, BoolVar):
        return (0, 1) if var.fixed is None else (int(var.fixed), int(var.fixed))
    return var.lb, var.ub


def activity(terms: Terms) -> tuple[int, int]:
    """Smallest and largest value of ``sum(coef * var)`` over the variables' bounds."""
    lo = hi = 0
    for v, c in terms:
        a, b = bounds(v)
        lo += min(c * a, c * b)
        hi += max(c * a, c * b)
    return lo, hi


def _copy(model: Model, *, constraints: list[Constraint] | None = None,
          intervals: list[Interval] | None = None) -> Model:
    return Model(model.name, list(model.int_vars), list(model.bool_vars),
                 list(model.intervals) if intervals is None else intervals,
                 list(model.constraints) if constraints is None else constraints, model.objective)


def _drop(values: Values, aux: set[Var]) -> Values:
    return {v: x for v, x in values.items() if v not in aux}


# ----------------------------------------------------------------- 1. cumulative
@dataclass(frozen=True)
class _Pair:
    """Interval i may be resident when interval j starts; z/a are None when not needed."""

    si: IntVar
    ei: IntVar
    pi: BoolVar | None
    sj: IntVar
    pj: BoolVar | None
    z: BoolVar | None
    a: BoolVar | None


@dataclass
class _PairData:
    aux: set[Var] = field(default_factory=set)
    pairs: list[_Pair] = field(default_factory=list)


class CumulativeToPairs:
    """Each cumulative becomes pairwise overlap binaries checked at interval starts (see the module doc)."""

    removes = frozenset({"cumulative"})
    needs_gone: frozenset[str] = frozenset()

    def apply(self, model: Model) -> tuple[Model, _PairData]:
        out = _copy(model, constraints=[])
        data = _PairData()
        for c in model.constraints:
            if isinstance(c, Cumulative):
                self._lower(out, c, data)
            else:
                out.add(c)
        return out, data

    def _lower(self, out: Model, c: Cumulative, data: _PairData) -> None:
        cap = c.capacity
        items = [(itv, d) for itv, d in zip(c.intervals, c.demands) if d > 0]
        for itv, d in items:
            if d > cap:  # can never be present
                out.add(Clause((), enforce=_present(itv)))
        items = [(itv, d) for itv, d in items if d <= cap]
        for j, dj in items:
            sj = j.start
            covering = [(i, di) for i, di in items if i is not j
                        and i.start.lb <= sj.ub and i.end.ub > sj.lb]
            if dj + sum(di for _, di in covering) <= cap:
                continue  # the load at j's start fits whatever happens
            mem_terms: list[tuple[Var, int]] = [] if j.presence is None else [(j.presence, dj)]
            for i, di in covering:
                z = None
                if di + dj <= cap:
                    z = out.bool_var(f"z[{i.name}@{j.name}]")
                    data.aux.add(z)
                    mem_terms.append((z, di))
                guard = tuple(negate(x) for x in (z,) if x is not None) + _present(i) + _present(j)
                starts_before = i.start.ub <= sj.lb  # s_i <= s_j for sure
                ends_after = i.end.lb > sj.ub  # e_i > s_j for sure
                a = None
                if starts_before and ends_after:  # i covers j's start whenever both are present
                    out.add(Clause((), enforce=guard))
                elif starts_before:
                    out.add(Linear(((i.end, 1), (sj, -1)), ub=0, enforce=guard))
                elif ends_after:
                    out.add(Linear(((i.start, 1), (sj, -1)), lb=1, enforce=guard))
                else:
                    a = out.bool_var(f"after[{i.name}@{j.name}]")
                    data.aux.add(a)
                    out.add(Linear(((i.start, 1), (sj, -1)), lb=1, enforce=(a,)))
                    out.add(Linear(((i.end, 1), (sj, -1)), ub=0, enforce=(Not(a),) + guard))
                data.pairs.append(_Pair(i.start, i.end, i.presence, sj, j.presence, z, a))
            mem_ub = cap - (dj if j.presence is None else 0)
            out.add(Linear(tuple(mem_terms), ub=mem_ub))

    def invert(self, values: Values, data: _PairData) -> Values:
        return _drop(values, data.aux)

    def lift(self, values: Values, data: _PairData) -> Values:
        out = dict(values)
        for p in data.pairs:
            si, sj = values[p.si], values[p.sj]
            both = (p.pi is None or values[p.pi]) and (p.pj is None or values[p.pj])
            if p.z is not None:
                out[p.z] = int(bool(both and si <= sj < values[p.ei]))
            if p.a is not None:
                out[p.a] = int(si > sj)
        return out


def _present(itv: Interval) -> tuple[Literal, ...]:
    return () if itv.presence is None else (itv.presence,)


# ----------------------------------------------------------------- 2. intervals
class IntervalsToLinear:
    """An interval keeps only its size constraint ``presence -> end - start >= min_size``."""

    removes = frozenset({"intervals"})
    needs_gone = frozenset({"cumulative"})  # a cumulative refers to its intervals

    def apply(self, model: Model) -> tuple[Model, None]:
        out = _copy(model, intervals=[])
        for itv in model.intervals:
            out.add(Linear(((itv.end, 1), (itv.start, -1)), lb=itv.min_size, enforce=_present(itv)))
        return out, None

    def invert(self, values: Values, data: None) -> Values:
        return values

    def lift(self, values: Values, data: None) -> Values:
        return values


# ----------------------------------------------------------------- 3. domains
@dataclass
class _OneHotData:
    renamed: dict[IntVar, IntVar] = field(default_factory=dict)  # original -> plain
    onehot: dict[IntVar, tuple[tuple[int, BoolVar], ...]] = field(default_factory=dict)  # original -> (value, y)


class DomainsToOneHot:
    """An explicit value set becomes a one-hot choice over binaries (contiguous sets need none)."""

    removes = frozenset({"domains"})
    needs_gone = frozenset({"cumulative", "intervals"})  # it renames variables that intervals refer to

    def apply(self, model: Model) -> tuple[Model, _OneHotData]:
        data = _OneHotData()
        out = Model(model.name, [], list(model.bool_vars))
        for v in model.int_vars:
            if v.values is None or len(v.values) == v.ub - v.lb + 1:
                out.int_vars.append(v)
                continue
            plain = out.int_var(v.lb, v.ub, v.name)
            ys = tuple((val, out.bool_var(f"{v.name}=={val}")) for val in v.values)
            data.renamed[v] = plain
            data.onehot[v] = ys
            out.add(Linear(tuple((y, 1) for _, y in ys), lb=1, ub=1))
            out.add(Linear(((plain, 1),) + tuple((y, -val) for val, y in ys), lb=0, ub=0))
        rn = data.renamed
        for c in model.constraints:
            if isinstance(c, Linear):
                out.add(Linear(tuple((rn.get(v, v), k) for v, k in c.terms), c.lb, c.ub, c.enforce) if rn else c)
            elif isinstance(c, Clause):
                out.add(c)
            else:
                raise TypeError(f"DomainsToOneHot runs after the cumulative and interval reductions, got {c!r}")
        if model.intervals:
            raise TypeError("DomainsToOneHot runs after IntervalsToLinear")
        if model.objective is not None:
            out.objective = Objective(tuple((rn.get(v, v), k) for v, k in model.objective.terms),
                                      model.objective.offset)
        return out, data

    def invert(self, values: Values, data: _OneHotData) -> Values:
        out = dict(values)
        for orig, plain in data.renamed.items():
            out[orig] = out.pop(plain)
            for _, y in data.onehot[orig]:
                out.pop(y, None)
        return out

    def lift(self, values: Values, data: _OneHotData) -> Values:
        out = dict(values)
        for orig, plain in data.renamed.items():
            val = out.pop(orig)
            out[plain] = val
            for k, y in data.onehot[orig]:
                out[y] = int(val == k)
        return out


# ----------------------------------------------------------------- 4. big-M
class EnforcedToBigM:
    """Enforced linear constraints and clauses become plain rows (see the module doc)."""

    removes = frozenset({"enforced-linear", "clauses"})
    needs_gone = frozenset({"cumulative"})

    def apply(self, model: Model) -> tuple[Model, set[Var]]:
        out = _copy(model, constraints=[])
        self.dummies: set[Var] = set()
        for c in model.constraints:
            if isinstance(c, Linear):
                self._linear(out, c)
            elif isinstance(c, Clause):
                terms, const = _literal_sum(c.literals + tuple(negate(x) for x in c.enforce))
                self._row(out, terms, lb=1 - const, ub=None)
            else:
                raise TypeError(f"EnforcedToBigM runs last, got {type(c).__name__}")
        return out, self.dummies

    def _linear(self, out: Model, c: Linear) -> None:
        if not c.enforce:
            if c.terms and all(k for _, k in c.terms) and len({v for v, _ in c.terms}) == len(c.terms):
                out.add(c)  # already a plain row (most rows of a relaxation): no copy
            else:
                self._row(out, c.terms, c.lb, c.ub)
            return
        terms = _merge(c.terms)
        lo, hi = activity(terms)
        # sum of the enforcement literals' negations: 0 exactly when the constraint is enforced
        slack_terms, slack_const = _literal_sum(tuple(negate(x) for x in c.enforce))
        if c.ub is not None and hi > c.ub:  # a.x - M * slack <= ub, M = max(a.x) - ub
            big_m = hi - c.ub
            self._row(out, terms + tuple((v, -big_m * k) for v, k in slack_terms), None, c.ub + big_m * slack_const)
        if c.lb is not None and lo < c.lb:  # a.x + M * slack >= lb, M = lb - min(a.x)
            big_m = c.lb - lo
            self._row(out, terms + tuple((v, big_m * k) for v, k in slack_terms), c.lb - big_m * slack_const, None)

    def _row(self, out: Model, terms: Terms, lb: int | None, ub: int | None) -> None:
        terms = _merge(terms)
        if not terms:
            if (lb is not None and lb > 0) or (ub is not None and ub < 0):
                # a constant row that fails: an explicit infeasible row, for the solver to report
                dummy = out.int_var(0, 0, "infeasible")
                self.dummies.add(dummy)
                out.add(Linear(((dummy, 1),), lb=1))
            return
        out.add(Linear(terms, lb, ub))

    def invert(self, values: Values, data: set[Var]) -> Values:
        return _drop(values, data)

    def lift(self, values: Values, data: set[Var]) -> Values:
        return {**values, **{v: 0 for v in data}}


def _literal_sum(lits: Sequence[Literal]) -> tuple[Terms, int]:
    """``sum of literal values`` as linear terms plus a constant (``not b`` is ``1 - b``)."""
    terms: list[tuple[Var, int]] = []
    const = 0
    for x in lits:
        if isinstance(x, Not):
            terms.append((x.var, -1))
            const += 1
        else:
            terms.append((x, 1))
    return tuple(terms), const


def _merge(terms: Terms) -> Terms:
    acc: dict[Var, int] = {}
    for v, k in terms:
        acc[v] = acc.get(v, 0) + k
    return tuple((v, k) for v, k in acc.items() if k)


# ----------------------------------------------------------------- the chain
CHAIN: tuple[type, ...] = (CumulativeToPairs, IntervalsToLinear, DomainsToOneHot, EnforcedToBigM)


@dataclass
class Linearized:
    """A MILP in IR form plus the reductions that made it, to map solutions both ways."""

    model: Model
    steps: list[tuple[Any, Any]]

    def invert(self, values: Values) -> Values:
        """A solution of the MILP as a solution of the original IR model."""
        for reduction, data in reversed(self.steps):
            values = reduction.invert(values, data)
        return values

    def lift(self, values: Values) -> Values:
        """A full assignment of the original model (a warm start) as one of the MILP."""
        for reduction, data in self.steps:
            values = reduction.lift(values, data)
        return values

    def size(self) -> dict[str, int]:
        """``variables``, ``binaries``, ``integers``, ``constraints`` (rows) and ``nonzeros``."""
        m = self.model
        return {"variables": len(m.int_vars) + len(m.bool_vars), "binaries": len(m.bool_vars),
                "integers": len(m.int_vars), "constraints": len(m.constraints),
                "nonzeros": sum(len(c.terms) for c in m.constraints if isinstance(c, Linear))}


def linearize(model: Model) -> Linearized:
    """Lower an IR model to a MILP through :data:`CHAIN`; see the module doc for the reductions and sizes."""
    return reduce(model, frozenset())


def chain_for(missing: frozenset[str]) -> tuple[type, ...]:
    """The reductions of :data:`CHAIN` that remove the constructs in ``missing`` (and those they need
    removed first), in chain order.

    >>> [r.__name__ for r in chain_for(frozenset({"cumulative"}))]
    ['CumulativeToPairs']
    >>> [r.__name__ for r in chain_for(frozenset({"domains"}))]
    ['CumulativeToPairs', 'IntervalsToLinear', 'DomainsToOneHot']
    """
    gone = set(missing)
    while True:
        more = set().union(*(r.needs_gone for r in CHAIN if r.removes & gone)) - gone
        if not more:
            break
        gone |= more
    return tuple(r for r in CHAIN if r.removes & gone)


def reduce(model: Model, supported: frozenset[str]) -> Linearized:
    """Lower the constructs of ``model`` that are not in ``supported`` (names of
    :data:`remat.backends.base.CONSTRUCTS`), with the reductions of :data:`CHAIN`.

    Each reduction of the chain runs when the model in hand, as the reductions before it left it,
    needs it (:func:`chain_for` of its constructs outside ``supported``): a reduction may introduce
    constructs (the cumulative's becomes enforced rows and clauses), and one whose constructs are
    absent is skipped. With ``supported`` empty this is :func:`linearize`.
    """
    from remat.backends.base import model_constructs

    steps = []
    for cls in CHAIN:
        if cls not in chain_for(model_constructs(model) - supported):
            continue
        reduction = cls()
        model, data = reduction.apply(model)
        steps.append((reduction, data))
    return Linearized(model, steps)


def check_linear(values: Values, model: Model, tol: float = 1e-6) -> list[str]:
    """Rows of a linearized ``model`` that ``values`` breaks (for tests and warm-start sanity checks)."""
    bad = []
    for k, c in enumerate(model.constraints):
        total = sum(coef * values[v] for v, coef in c.terms)  # type: ignore[union-attr]
        if (c.lb is not None and total < c.lb - tol) or (c.ub is not None and total > c.ub + tol):  # type: ignore[union-attr]
            bad.append(f"row #{k}: {total} not in [{c.lb}, {c.ub}]")  # type: ignore[union-attr]
    return bad


__all__ = ["CHAIN", "CumulativeToPairs", "DomainsToOneHot", "EnforcedToBigM", "IntervalsToLinear", "Linearized",
           "activity", "bounds", "chain_for", "check_linear", "linearize", "reduce"]
