"""Solve statuses: one enum for every backend and formulation."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """``OPTIMAL`` and ``INFEASIBLE`` are proofs; ``FEASIBLE`` is an incumbent
    without proof (for instance at a time limit); ``UNKNOWN`` means a limit was
    reached with no schedule."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @property
    def has_schedule(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)
