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

>>> s = scale_sizes([4096, 8192, 0], budget=20000)
>>> s.values, s.capacity, s.unit
((1, 2, 0), 4, 4096)
>>> c = scale_costs([3, 6, 9])
>>> c.values, c.unit, c.exact
((1, 2, 3), 3, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from typing import Sequence

COST_RESOLUTION = 10**6


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
    return ScaledSizes(tuple(s // g for s in sizes), budget // g, g)


def scale_costs(costs: Sequence[float | int]) -> ScaledCosts:
    if all(float(c).is_integer() for c in costs):
        ints = [int(c) for c in costs]
        g = reduce(math.gcd, ints, 0) or 1
        return ScaledCosts(tuple(c // g for c in ints), g, True)
    unit = max(costs) / COST_RESOLUTION
    return ScaledCosts(tuple(int(round(c / unit)) for c in costs), unit, False)
