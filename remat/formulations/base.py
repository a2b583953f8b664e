"""What a formulation hands to a backend, and how formulations are found by name.

A formulation is any object with a ``name`` and a ``build(graph, budget,
**options) -> Built`` method. :class:`Built` carries the IR model plus the
two maps between solver values and schedules:

* ``decode(values) -> compute sequence`` (node indices); the shared
  :func:`remat.schedule.schedule_from_computes` adds the frees, so every
  formulation and backend decodes the same way;
* ``encode(compute sequence) -> values or None``: a full assignment for a warm
  start, or None when the sequence cannot be expressed in this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from remat.errors import FormulationError
from remat.ir import Linear, Model, Var
from remat.graph import Graph, min_budget


@dataclass
class Built:
    model: Model
    decode: Callable[[dict[Var, int]], list[int]]
    encode: Callable[[Sequence[int]], dict[Var, int] | None]
    cost_unit: float | int = 1  # true objective = IR objective * cost_unit
    exact_costs: bool = True
    info: dict[str, Any] = field(default_factory=dict)


class WarmStartInterrupted(KeyboardInterrupt):
    """Ctrl-C during a formulation's warm start (``Built.info["warm_start"]``) after it had found a
    compute sequence within the budget: ``sequence`` is the cheapest such one so far.

    A KeyboardInterrupt, so a caller that does not look for it stops as before;
    :func:`remat.solve` hands the sequence out, verified, as the interrupted solve's schedule.
    """

    def __init__(self, sequence: Sequence[int]) -> None:
        super().__init__("interrupted during the warm start")
        self.sequence = list(sequence)


class Formulation(Protocol):
    """``name`` and ``build``; a formulation whose model picks the order of computations itself
    may set ``chooses_order = True``, and ``solve(..., order="memory")`` then refuses it."""

    name: str

    def build(self, graph: Graph, budget: int, **options: Any) -> Built: ...


def add_min_budget_cut(model: Model, graph: Graph, budget: int) -> None:
    """Make ``model`` infeasible outright when ``budget < min_budget(graph)``.

    Some node then cannot be computed beside its inputs in any schedule, so
    the constant-false row removes no schedule; solvers otherwise prove this
    slowly by search. Every formulation calls it, so every backend sees it.
    """
    if min_budget(graph) > budget:
        never = model.int_var(0, 0, "min_budget_exceeded")
        model.add(Linear(((never, 1),), lb=1))


_REGISTRY: dict[str, Callable[[], Formulation]] = {}


def register_formulation(name: str, factory: Callable[[], Formulation]) -> None:
    """Make ``factory()`` available as ``formulation=name`` / ``--formulation name``."""
    _REGISTRY[name] = factory


def formulation_names() -> list[str]:
    return sorted(_REGISTRY)


def get_formulation(spec: "str | Formulation") -> Formulation:
    if not isinstance(spec, str):
        return spec
    try:
        return _REGISTRY[spec]()
    except KeyError:
        raise FormulationError(f"unknown formulation {spec!r}; known: {', '.join(formulation_names())}") from None
