"""The solver-neutral model vocabulary every formulation emits and every backend reads.

A small closed set of frozen dataclasses:

* :class:`IntVar` (bounds, optionally an explicit set of allowed values) and
  :class:`BoolVar`; a :data:`Literal` is a BoolVar or its negation :class:`Not`;
* :class:`Interval`: ``[start, end)`` between two IntVars with an optional
  presence literal; ``end - start >= min_size`` when present;
* :class:`Cumulative`: the summed demand of the present intervals covering
  any time point stays within ``capacity``;
* :class:`Linear`: ``lb <= sum(coef * var) <= ub``, enforced only when all
  ``enforce`` literals are true;
* :class:`Clause`: at least one of ``literals`` is true (when all ``enforce``
  literals are true);
* :class:`Objective`: minimise ``sum(coef * var) + offset``.

Variables compare by identity, so two variables with the same name are two
variables. Everything is integer: formulations scale costs and sizes first.

>>> m = Model("tiny")
>>> x = m.int_var(0, 10, "x"); b = m.bool_var("b")
>>> m.add(Linear(((x, 1),), lb=3, enforce=(b,)))
>>> m.minimize([(x, 1)])
>>> m.size()
{'int_vars': 1, 'bool_vars': 1, 'intervals': 0, 'constraints': 1}
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Iterator, Sequence, Union


@dataclass(frozen=True, eq=False)
class IntVar:
    lb: int
    ub: int
    name: str
    values: tuple[int, ...] | None = None  # explicit domain, sorted; None means [lb, ub]


@dataclass(frozen=True, eq=False)
class BoolVar:
    name: str
    fixed: bool | None = None  # a Boolean known in advance (kept for decoding)


@dataclass(frozen=True)
class Not:
    var: BoolVar


Literal = Union[BoolVar, Not]
Var = Union[IntVar, BoolVar]
Terms = tuple[tuple[Var, int], ...]


def negate(lit: Literal) -> Literal:
    return lit.var if isinstance(lit, Not) else Not(lit)


@dataclass(frozen=True, eq=False)
class Interval:
    """``[start, end)``, present when ``presence`` is (always when it is None).

    ``group`` ties the intervals of one task together (in the Moccasin models,
    the retention intervals of one node): a large-neighbourhood search frees or
    fixes a group as a whole (:mod:`remat.backends.lns`). None: no group.
    """

    start: IntVar
    end: IntVar
    presence: BoolVar | None
    name: str
    min_size: int = 0
    group: Hashable | None = None


@dataclass(frozen=True)
class Linear:
    terms: Terms
    lb: int | None = None
    ub: int | None = None
    enforce: tuple[Literal, ...] = ()


@dataclass(frozen=True)
class Clause:
    literals: tuple[Literal, ...]
    enforce: tuple[Literal, ...] = ()


@dataclass(frozen=True)
class Cumulative:
    intervals: tuple[Interval, ...]
    demands: tuple[int, ...]
    capacity: int


Constraint = Union[Linear, Clause, Cumulative]


@dataclass(frozen=True)
class Objective:
    terms: Terms
    offset: int = 0


@dataclass
class Model:
    """A model under construction; backends only read it."""

    name: str
    int_vars: list[IntVar] = field(default_factory=list)
    bool_vars: list[BoolVar] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    objective: Objective | None = None

    def int_var(self, lb: int, ub: int, name: str, values: Iterable[int] | None = None) -> IntVar:
        vals = None
        if values is not None:
            vals = tuple(sorted(set(int(v) for v in values)))
            lb, ub = vals[0], vals[-1]
        var = IntVar(int(lb), int(ub), name, vals)
        self.int_vars.append(var)
        return var

    def bool_var(self, name: str) -> BoolVar:
        var = BoolVar(name)
        self.bool_vars.append(var)
        return var

    def interval(self, start: IntVar, end: IntVar, presence: BoolVar | None, name: str,
                 min_size: int = 0, group: Hashable | None = None) -> Interval:
        itv = Interval(start, end, presence, name, min_size, group)
        self.intervals.append(itv)
        return itv

    def add(self, constraint: Constraint) -> None:
        self.constraints.append(constraint)
        if not len(self.constraints) & DEADLINE_CHECK_MASK:
            _check_build_deadline(self)

    def minimize(self, terms: Sequence[tuple[Var, int]], offset: int = 0) -> None:
        self.objective = Objective(tuple((v, int(c)) for v, c in terms if c), int(offset))

    def size(self) -> dict[str, int]:
        """Counts used by ``remat info --formulations`` and the docs."""
        return {"int_vars": len(self.int_vars), "bool_vars": len(self.bool_vars),
                "intervals": len(self.intervals), "constraints": len(self.constraints)}


class BuildTimeout(Exception):
    """A model's construction ran past the deadline set by :func:`build_deadline`."""


DEADLINE_CHECK_MASK = 4095
"""``Model.add`` looks at the clock once per this many + 1 constraints."""

_BUILD_DEADLINE: ContextVar[float | None] = ContextVar("remat_build_deadline", default=None)


@contextmanager
def build_deadline(deadline: float | None) -> Iterator[None]:
    """Models built inside raise :class:`BuildTimeout` once ``deadline`` (a
    :func:`time.perf_counter` value; None: never) has passed, so that every formulation's
    ``build`` keeps a solve's time limit without knowing of it.

    >>> import time
    >>> m = Model("big")
    >>> with build_deadline(time.perf_counter() - 1):
    ...     for k in range(DEADLINE_CHECK_MASK + 1):
    ...         m.add(Clause(()))
    Traceback (most recent call last):
    ...
    remat.ir.BuildTimeout: time limit reached while building model 'big' (4,096 constraints so far)
    """
    token = _BUILD_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _BUILD_DEADLINE.reset(token)


def _check_build_deadline(model: Model) -> None:
    deadline = _BUILD_DEADLINE.get()
    if deadline is not None and time.perf_counter() > deadline:
        raise BuildTimeout(f"time limit reached while building model {model.name!r} "
                           f"({len(model.constraints):,} constraints so far)")


def evaluate(terms: Terms, values: dict[Var, int]) -> int:
    """Value of a linear expression under an assignment."""
    return sum(c * values[v] for v, c in terms)


def literal_value(lit: Literal, values: dict[Var, int]) -> bool:
    return (not values[lit.var]) if isinstance(lit, Not) else bool(values[lit])


def violations(model: Model, values: dict[Var, int]) -> list[str]:
    """Constraints of ``model`` that ``values`` breaks, described (empty when feasible).

    Backends and tests use it to re-check a solution or a warm start independently of any solver.

    >>> m = Model("t"); x = m.int_var(0, 5, "x")
    >>> m.add(Linear(((x, 1),), ub=2))
    >>> violations(m, {x: 3})
    ['Linear #0: 3 not in [None, 2]']
    """
    out: list[str] = []
    for v in model.int_vars:
        val = values[v]
        if not v.lb <= val <= v.ub or (v.values is not None and val not in v.values):
            out.append(f"{v.name}={val} outside its domain")
    for b in model.bool_vars:
        if values[b] not in (0, 1):
            out.append(f"{b.name}={values[b]} is not Boolean")
    present = {itv: itv.presence is None or bool(values[itv.presence]) for itv in model.intervals}
    for itv in model.intervals:
        if present[itv] and values[itv.end] - values[itv.start] < itv.min_size:
            out.append(f"{itv.name}: size {values[itv.end] - values[itv.start]} < {itv.min_size}")
    for k, c in enumerate(model.constraints):
        if isinstance(c, Linear):
            if all(literal_value(x, values) for x in c.enforce):
                total = evaluate(c.terms, values)
                if (c.lb is not None and total < c.lb) or (c.ub is not None and total > c.ub):
                    out.append(f"Linear #{k}: {total} not in [{c.lb}, {c.ub}]")
        elif isinstance(c, Clause):
            if (all(literal_value(x, values) for x in c.enforce)
                    and not any(literal_value(x, values) for x in c.literals)):
                out.append(f"Clause #{k}: no literal true")
        elif isinstance(c, Cumulative):
            active = [(values[i.start], values[i.end], d) for i, d in zip(c.intervals, c.demands) if present[i]]
            for t in sorted({s for s, _, _ in active}):
                load = sum(d for s, e, d in active if s <= t < e)
                if load > c.capacity:
                    out.append(f"Cumulative #{k}: load {load} > {c.capacity} at {t}")
                    break
    return out


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small objects.

    A model is millions of acyclic objects; the collector's full passes over
    them made building grow faster than linearly in n + edges. Reference
    counting still frees garbage.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
