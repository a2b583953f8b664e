"""The independent verifier: replay a schedule, check everything, trust nothing.

It imports only the graph and the schedule, never a formulation or a backend,
so a bug in a model or a decoder cannot hide behind the same bug here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from remat.graph import Graph
from remat.schedule import Schedule

# Violation kinds, stable strings (tests and tools match on them).
UNKNOWN_NODE = "unknown-node"
MISSING_INPUT = "missing-input"
ALREADY_RESIDENT = "already-resident"
NOT_RESIDENT = "not-resident"
OVER_BUDGET = "over-budget"
NEVER_COMPUTED = "never-computed"
NOT_RECOMPUTABLE = "not-recomputable"
OBJECTIVE_MISMATCH = "objective-mismatch"
PEAK_MISMATCH = "peak-mismatch"
BAD_OP = "bad-op"


@dataclass(frozen=True)
class Violation:
    """One thing wrong with a schedule: the step (None for the whole schedule), a kind
    (one of this module's constants, e.g. ``"over-budget"``) and a one-line message."""

    step: int | None  # index into schedule.steps; None for whole-schedule problems
    kind: str
    message: str

    def __str__(self) -> str:
        where = f"step {self.step}" if self.step is not None else "schedule"
        return f"{where}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class Report:
    """What a replay found. ``valid`` is true iff there are no violations.

    Parameters
    ----------
    violations : tuple of Violation
        Every problem found, in step order, then whole-schedule problems.
    peak_memory : int
        The highest memory of the replay, in bytes.
    total_cost : int or float
        The summed cost of every computation.
    computes : int
        The number of compute steps that named a known node.
    budget : int, optional
        The budget checked against, if any.
    memory_profile : tuple of int
        Memory in bytes after each step.

    Examples
    --------
    >>> from remat.graph import Graph
    >>> from remat.schedule import Schedule, Step
    >>> g = Graph.from_edges([("a", "b")], cost={"a": 2, "b": 3}, mem={"a": 4, "b": 5})
    >>> r = verify(g, Schedule(g.name, (Step("compute", "b"),)))
    >>> r.valid, sorted(r.kinds())
    (False, ['missing-input', 'never-computed'])
    >>> print(r.violations[0])
    step 0: missing-input: compute 'b' needs input 'a', which is not resident
    """

    violations: tuple[Violation, ...]
    peak_memory: int
    total_cost: float | int
    computes: int
    budget: int | None = None
    memory_profile: tuple[int, ...] = field(default=(), repr=False)  # memory after each step

    @property
    def valid(self) -> bool:
        """True when the replay found no violation."""
        return not self.violations

    def kinds(self) -> set[str]:
        """The kinds of the violations found (``{"over-budget"}``, ...)."""
        return {v.kind for v in self.violations}


def verify(graph: Graph, schedule: Schedule, budget: int | None = None) -> Report:
    """Replay ``schedule`` on ``graph`` and report every violation.

    ``budget`` defaults to the schedule's own claim; with neither, memory is
    measured but not bounded. The verifier never raises on a bad schedule: every
    problem (unknown node, missing input, over budget, a claim that does not
    match the replay, ...) is a violation in the report, so one replay names
    them all.

    Parameters
    ----------
    graph : Graph
    schedule : Schedule
        The steps to replay; its ``objective`` and ``peak_memory`` claims, when
        set, are checked against the replay.
    budget : int, optional
        Memory bound in bytes checked at every compute step.

    Returns
    -------
    Report
        The violations, the peak, the total cost and the memory after each step.

    Examples
    --------
    >>> from remat.schedule import no_remat_schedule
    >>> from remat.graph import Graph
    >>> g = Graph.from_edges([("a", "b")], cost={"a": 2, "b": 3}, mem={"a": 4, "b": 5})
    >>> r = verify(g, no_remat_schedule(g), budget=9)
    >>> r.valid, r.peak_memory, r.total_cost
    (True, 9, 5)
    >>> verify(g, no_remat_schedule(g), budget=8).kinds()
    {'over-budget'}
    """
    if budget is None:
        budget = schedule.budget
    violations: list[Violation] = []
    resident = [False] * graph.n
    computed = [0] * graph.n
    memory = 0
    peak = 0
    cost: float | int = 0
    profile = []
    lookup, preds, mem = graph.index.get, graph.preds, graph.mem  # local names: this loop runs once a step
    for k, step in enumerate(schedule.steps):
        v = lookup(step.node)
        if v is None:
            violations.append(Violation(k, UNKNOWN_NODE, f"node {step.node!r} is not in graph {graph.name!r}"))
            profile.append(memory)
            continue
        if step.op == "compute":
            for u in preds[v]:
                if not resident[u]:
                    violations.append(Violation(k, MISSING_INPUT,
                                                f"compute {step.node!r} needs input {graph.ids[u]!r}, "
                                                "which is not resident"))
            if resident[v]:
                violations.append(Violation(k, ALREADY_RESIDENT, f"compute {step.node!r} while it is already resident"))
            else:
                resident[v] = True
                memory += mem[v]
            if computed[v] and not graph.recomputable[v]:
                violations.append(Violation(k, NOT_RECOMPUTABLE, f"node {step.node!r} may be computed only once"))
            computed[v] += 1
            cost += graph.cost[v]
            if memory > peak:
                peak = memory
            if budget is not None and memory > budget:
                violations.append(Violation(k, OVER_BUDGET,
                                            f"memory {memory} exceeds budget {budget} at compute {step.node!r}"))
        elif step.op == "free":
            if not resident[v]:
                violations.append(Violation(k, NOT_RESIDENT, f"free {step.node!r} while it is not resident"))
            else:
                resident[v] = False
                memory -= mem[v]
        else:
            violations.append(Violation(k, BAD_OP, f"unknown op {step.op!r}"))
        profile.append(memory)
    for v in range(graph.n):
        if not computed[v]:
            violations.append(Violation(None, NEVER_COMPUTED, f"node {graph.ids[v]!r} is never computed"))
    if schedule.objective is not None and not _same_cost(schedule.objective, cost):
        violations.append(Violation(None, OBJECTIVE_MISMATCH,
                                    f"reported objective {schedule.objective} but the steps cost {cost}"))
    if schedule.peak_memory is not None and schedule.peak_memory != peak:
        violations.append(Violation(None, PEAK_MISMATCH,
                                    f"reported peak {schedule.peak_memory} but the replay peaks at {peak}"))
    return Report(violations=tuple(violations), peak_memory=peak, total_cost=cost,
                  computes=sum(computed), budget=budget, memory_profile=tuple(profile))


def _same_cost(claimed: float | int, cost: float | int) -> bool:
    """Integer costs must match exactly (a relative tolerance would let 1e12 + 1 pass); floats to 1e-9."""
    if isinstance(cost, int):
        return claimed == cost
    return math.isclose(claimed, cost, rel_tol=1e-9, abs_tol=1e-9)
