"""Large-neighbourhood search over a model's grouped intervals: which variables to fix next.

Solver-neutral (it reads only the IR), so that any backend can drive it. A
formulation marks the intervals of one task with a common ``group`` (the
Moccasin models: the retention intervals of one node). A group's *hull* in an
incumbent runs from the start of its first present interval to the end of its
last: where its tensor is resident, or freed and recomputed later. A
*neighbourhood* is a set of groups left free; the start, end and presence of
every interval of every other group are fixed at the incumbent's values, and
everything else (cover literals, ungrouped variables) stays free. The
incumbent lies in every neighbourhood, so re-solving one can only keep or
improve the objective: the search never loses a schedule and never cuts off
anything for good, it only chooses where to look.

A neighbourhood is drawn around a time ``t``, in turn a *tight* one (a
cumulative's load within its largest demand of the capacity: where memory
forces the recomputations) and a uniform one: up to ``size`` groups whose hull
holds ``t``, half of them at most among those not resident at ``t`` (the
tensors the incumbent frees there), the rest among the resident ones, so that
swapping which tensor is freed is a move inside the neighbourhood. On 500
nodes about 150 tensors are resident at a tight time, too many to re-solve at
once, hence the sample. The size adapts as in CP-SAT's own LNS: a
neighbourhood solved to optimality without improving grows the next ones, one
that ran out of time shrinks them.

>>> from remat.ir import Model, Cumulative
>>> m = Model("two tasks")
>>> a, b = m.int_var(0, 0, "a"), m.int_var(5, 5, "b")
>>> ea, eb = m.int_var(1, 9, "ea"), m.int_var(6, 9, "eb")
>>> m.add(Cumulative((m.interval(a, ea, None, "A", group="A"), m.interval(b, eb, None, "B", group="B")), (1, 1), 1))
>>> search = NeighbourhoodSearch(m, seed=0, size=1)
>>> values = {a: 0, ea: 1, b: 5, eb: 6}
>>> search.tight_times(values)  # each task alone fills the capacity of 1
[0, 5]
>>> sorted(search.hulls(values).items())
[('A', (0, 1)), ('B', (5, 6))]
>>> sorted(v.name for v in search.fixings(values, {"A"}))  # A stays free, B is fixed
['b', 'eb']
>>> len(search.neighbourhood(values))
1
"""

from __future__ import annotations

import random
from typing import Hashable

from remat.ir import Cumulative, Interval, Model, Var

MIN_SIZE = 2
# Kinds of neighbourhood, drawn in turn: around a tight time, a uniform time, a recomputation's gap.
KINDS = ("tight", "uniform", "gap")


class NeighbourhoodSearch:
    """Draws neighbourhoods of ``model`` around an incumbent and adapts their width.

    ``size`` is the number of groups a neighbourhood frees (start: 30).
    """

    def __init__(self, model: Model, *, seed: int = 0, size: int = 30) -> None:
        self.groups: dict[Hashable, list[Interval]] = {}
        for itv in model.intervals:
            if itv.group is not None:
                self.groups.setdefault(itv.group, []).append(itv)
        self.cumulatives = [c for c in model.constraints if isinstance(c, Cumulative)]
        self.rng = random.Random(seed)
        self.size = size
        self.draws = 0

    def __bool__(self) -> bool:
        return bool(self.groups)

    def hulls(self, values: dict[Var, int]) -> dict[Hashable, tuple[int, int]]:
        """Each group's hull in the incumbent: first present start, last present end."""
        return _hulls(self.present(values))

    def tight_times(self, values: dict[Var, int]) -> list[int]:
        """Times at which some cumulative's load is within its largest demand of the capacity."""
        tight: set[int] = set()
        for cum in self.cumulatives:
            changes: dict[int, int] = {}
            for itv, d in zip(cum.intervals, cum.demands):
                if itv.presence is None or values.get(itv.presence, 0):
                    changes[values[itv.start]] = changes.get(values[itv.start], 0) + d
                    changes[values[itv.end]] = changes.get(values[itv.end], 0) - d
            load, margin = 0, max(cum.demands, default=0)
            for t in sorted(changes):
                load += changes[t]
                if load > cum.capacity - margin:
                    tight.add(t)
        return sorted(tight)

    def neighbourhood(self, values: dict[Var, int]) -> set[Hashable]:
        """The groups to free next, around a time ``t`` drawn by the next kind in :data:`KINDS`:
        up to ``size`` groups whose hull holds ``t``, half of them at most among those not
        resident at ``t`` (freed there, recomputed later), the rest among the resident."""
        present = self.present(values)
        hulls = _hulls(present)
        lo = min((s for s, _ in hulls.values()), default=0)
        hi = max((e for _, e in hulls.values()), default=1)
        kind = KINDS[self.draws % len(KINDS)]
        self.draws += 1
        forced: list[Hashable] = []
        tight = self.tight_times(values) if kind in ("tight", "gap") else []
        if kind == "gap":  # around a recomputation: a tight time while the group is not resident
            gaps = [(g, a[1], b[0]) for g, ivs in present.items() for a, b in zip(ivs, ivs[1:])]
            if gaps:
                g, lo, hi = self.rng.choice(gaps)
                forced = [g]
                tight = [t for t in tight if lo <= t < hi]
        t = self.rng.choice(tight) if tight else self.rng.randrange(lo, max(lo + 1, hi))
        crossing = sorted((g for g, (s, e) in hulls.items() if s <= t < e and g not in forced), key=repr)
        away = [g for g in crossing if not any(s <= t < e for s, e in present[g])]
        away_set = set(away)
        resident = [g for g in crossing if g not in away_set]
        free = set(forced[:self.size])
        free.update(self.rng.sample(away, min(len(away), max(0, self.size // 2 - len(free)))))
        free.update(self.rng.sample(resident, min(len(resident), self.size - len(free))))
        if len(free) < self.size:  # few tasks at t: the nearest hulls fill the neighbourhood
            near = sorted((g for g in hulls if g not in free),
                          key=lambda g: (max(hulls[g][0] - t, t - hulls[g][1], 0), repr(g)))
            free.update(near[:self.size - len(free)])
        return free

    def present(self, values: dict[Var, int]) -> dict[Hashable, list[tuple[int, int]]]:
        """Each group's present intervals in the incumbent, as sorted ``(start, end)`` pairs."""
        return {g: sorted((values[i.start], values[i.end]) for i in itvs
                          if i.presence is None or values.get(i.presence, 0))
                for g, itvs in self.groups.items()}

    def fixings(self, values: dict[Var, int], free: set[Hashable]) -> dict[Var, int]:
        """Values that fix the start, end and presence of every interval of every group not in ``free``."""
        fixed: dict[Var, int] = {}
        for g, itvs in self.groups.items():
            if g in free:
                continue
            for i in itvs:
                fixed[i.start], fixed[i.end] = values[i.start], values[i.end]
                if i.presence is not None:
                    fixed[i.presence] = values.get(i.presence, 0)
        return fixed

    def feedback(self, *, improved: bool, complete: bool) -> None:
        """Adapt the size: a neighbourhood searched completely in vain grows the next, a timed-out one shrinks it."""
        if improved:
            return
        grown = int(self.size * 1.25) + 1 if complete else int(self.size / 1.25)
        self.size = min(len(self.groups), max(MIN_SIZE, grown))


def _hulls(present: dict[Hashable, list[tuple[int, int]]]) -> dict[Hashable, tuple[int, int]]:
    return {g: (ivs[0][0], max(e for _, e in ivs)) for g, ivs in present.items() if ivs}
