"""What a formulation hands to a backend, and how formulations are found by name.

A formulation (:class:`Formulation`) has a ``name``, says whether its model
chooses the order of first computations itself (``chooses_order``), and
``build(graph, budget, **options) -> Built``. :class:`Built` carries the IR
model plus what the solve pipeline may use of it, each a typed field:

* ``decode(values) -> compute sequence`` (node indices); the shared
  :func:`remat.schedule.schedule_from_computes` adds the frees, so every
  formulation and backend decodes the same way;
* ``encode(compute sequence) -> values or None``: a full assignment for a warm
  start, or None when the sequence cannot be expressed in this model;
* ``relaxation() -> Model`` (optional): a relaxation whose optimum bounds the
  model's objective from below (same units), for ``lower_bound=True``.

Warm starts are not a formulation's business: the pipeline runs the
heuristics of :mod:`remat.heuristics` and offers their sequences to
``encode``. Formulations are registered by name here, or by third-party
packages through the ``remat.formulations`` entry-point group (the value is a
class or factory with no arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, ClassVar, Protocol, Sequence, runtime_checkable

from remat.errors import FormulationError
from remat.ir import Linear, Model, Var
from remat.graph import Graph, min_budget


@dataclass
class Built:
    """A built model and its maps to and from compute sequences.

    Attributes
    ----------
    model : Model
        The IR model; the pipeline may add valid rows to it (a bound from ``relaxation``).
    decode, encode : callable
        Solver values -> compute sequence; compute sequence -> values, or None when the
        sequence is not expressible in this model.
    cost_unit : float or int
        True objective = IR objective x ``cost_unit``.
    exact_costs : bool
        False when costs were rounded to integers: a proof then holds for the rounded costs only.
    relaxation : callable or None
        ``relaxation() -> Model`` whose optimum bounds ``model``'s from below (same units).
    info : dict
        Descriptive facts for people and tests (horizon, units); the pipeline reads none of them.
    """

    model: Model
    decode: Callable[[dict[Var, int]], list[int]]
    encode: Callable[[Sequence[int]], dict[Var, int] | None]
    cost_unit: float | int = 1
    exact_costs: bool = True
    relaxation: Callable[[], Model] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Formulation(Protocol):
    """What the solve pipeline needs of a formulation.

    Attributes
    ----------
    name : str
        Its ``--formulation`` name.
    chooses_order : bool
        True when the model picks the order of first computations itself;
        ``solve(..., order="memory")`` then refuses it and ``"auto"`` keeps the given order.
    """

    name: str
    chooses_order: ClassVar[bool]

    def build(self, graph: Graph, budget: int, **options: Any) -> Built:
        """The model of ``graph`` within ``budget`` bytes; FormulationError for a bad option."""
        ...


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


def _from_entry_points() -> dict[str, Callable[[], Formulation]]:
    """Formulations that installed packages declare in the ``remat.formulations`` entry-point group."""
    return {ep.name: ep.load for ep in entry_points(group="remat.formulations")}


def formulation_names() -> list[str]:
    """Registered and installed (entry-point) formulation names, sorted.

    >>> "moccasin" in formulation_names()
    True
    """
    return sorted(_REGISTRY.keys() | _from_entry_points().keys())


def get_formulation(spec: "str | Formulation") -> Formulation:
    """A formulation by name (registered, or from an installed entry point), or ``spec`` itself.

    Raises
    ------
    FormulationError
        For an unknown name, listing the known ones.
    """
    if not isinstance(spec, str):
        return spec
    if spec in _REGISTRY:
        return _REGISTRY[spec]()
    plugin = _from_entry_points().get(spec)
    if plugin is None:
        raise FormulationError(f"unknown formulation {spec!r}; known: {', '.join(formulation_names())}")
    return plugin()()
