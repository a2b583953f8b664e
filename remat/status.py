"""Solve statuses: one enum for every backend and formulation."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """How a solve ended; the value is the string the CLI and schedule files write.

    ``OPTIMAL`` and ``INFEASIBLE`` are proofs; ``FEASIBLE`` is an incumbent
    without proof (for instance at a time limit); ``UNKNOWN`` means a limit was
    reached with no schedule.

    Examples
    --------
    >>> Status("feasible"), Status.FEASIBLE.has_schedule, Status.UNKNOWN.has_schedule
    (<Status.FEASIBLE: 'feasible'>, True, False)
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @property
    def has_schedule(self) -> bool:
        """True for ``OPTIMAL`` and ``FEASIBLE``: the solve returned a (verified) schedule."""
        return self in (Status.OPTIMAL, Status.FEASIBLE)
