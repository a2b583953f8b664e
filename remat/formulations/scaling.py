"""Integer scaling of costs and sizes, shared by every formulation.

Solvers such as CP-SAT need integers, and smaller integers help them.

* Sizes and the budget: sizes are divided by their greatest common divisor
  ``g`` and the budget becomes ``floor(budget / g)``. This is exact: a sum of
  multiples of ``g`` is at most ``budget`` iff the sum divided by ``g`` is at
  most ``floor(budget / g)``. (Rounding the budget *up*, as some published
  code does, can admit schedules over the true budget.)
* Costs: integral costs are divided by their gcd, which is exact. Non-integral
  costs are rounded to multiples of ``unit = max(cost) / 10**6``; the schedule
  returned is then optimal for the rounded costs, its true cost is recomputed
  by the verifier, and the status says so (``Scaled.exact_costs`` is false).
  A positive cost never rounds to 0 (it becomes at least one unit), so a
  recomputation is never free in the rounded model when it is not free in
  truth: with a budget at or above the no-remat peak the optimum stays TDI 0.
  Integral costs whose reduced sum exceeds ``LIMIT`` are rounded the same way;
  a cost above 1e300 is refused.
* Range: every formulation's integers must stay exact in int64 and in double
  precision, so the reduced sizes may sum to at most ``LIMIT = 2**53``
  (otherwise :class:`~remat.errors.FormulationError`), and a budget above the
  sum of all sizes is replaced by that sum (it binds nothing either way).

>>> s = scale_sizes([4096, 8192, 0, 8192], budget=20000)
>>> s.values, s.capacity, s.unit
((1, 2, 0, 2), 4, 4096)
>>> scale_costs([1e-300, 2.5, 1e-9]).values  # positive costs never round to 0
(1, 1000000, 1)
>>> c = scale_costs([3, 6, 9])
>>> c.values, c.unit, c.exact
((1, 2, 3), 3, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from typing import Sequence

from remat.errors import FormulationError

COST_RESOLUTION = 10**6
LIMIT = 2**53


@dataclass(frozen=True)
class ScaledSizes:
    values: tuple[int, ...]
    capacity: int
    unit: int


@dataclass(frozen=True)
class ScaledCosts:
    values: tuple[int, ...]
    unit: float | int  # true cost = scaled * unit (exactly so when ``exact``)
    exact: bool


def scale_sizes(sizes: Sequence[int], budget: int) -> ScaledSizes:
    g = reduce(math.gcd, sizes, 0) or 1
    values = tuple(s // g for s in sizes)
    total = sum(values)
    if total > LIMIT:
        raise FormulationError(f"output sizes too large to solve exactly: divided by their gcd {g} they sum to "
                               f"{total:.3e}, over 2**53")
    return ScaledSizes(values, min(budget // g, total), g)


def scale_costs(costs: Sequence[float | int]) -> ScaledCosts:
    top = max(costs)
    if top > 1e300:
        raise FormulationError(f"a compute cost of {len(str(int(top)))} digits is too large (at most 1e300)")
    if all(isinstance(c, int) or float(c).is_integer() for c in costs):
        ints = [int(c) for c in costs]
        g = reduce(math.gcd, ints, 0) or 1
        if sum(ints) // g <= LIMIT:
            return ScaledCosts(tuple(c // g for c in ints), g, True)
    # divide by the largest cost first, so that tiny (even subnormal) costs do not divide by zero
    values = tuple(max(1, round(c / top * COST_RESOLUTION)) if c > 0 else 0 for c in costs)
    return ScaledCosts(values, top / COST_RESOLUTION, False)
