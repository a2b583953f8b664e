"""Heuristics: fast schedules with no proof, behind one protocol.

A heuristic maps a graph and a budget to a *compute sequence* (node indices
in execution order; :func:`remat.schedule.schedule_from_computes` adds the
frees), possibly over the budget when it found nothing better (a best effort,
which a two-phase backend can start from), or ``None``. It stops at
``deadline`` (a :func:`time.perf_counter` value) with what it has.

* :mod:`remat.heuristics.baselines`: the classic ones (checkpoint-all,
  Chen et al.'s sqrt and greedy, DTR-style greedy eviction);
* :mod:`remat.heuristics.staged`: plans for the stage-restricted model
  (greedy portfolio, annealing, ruin and repair), ``staged-plan``;
* :mod:`remat.heuristics.ordering`: a topological order with less memory
  above the budget, ``low-memory-order`` (as a sequence: each node once).

The solve pipeline runs :data:`PORTFOLIO` first (:func:`remat.stages.warm_start`),
verifies every sequence, and keeps the cheapest that fits as the floor of the
result and the solver's warm start. ``remat.solve(graph, budget,
formulation="greedy-eviction")`` runs one heuristic alone.

>>> from remat.generators import unet
>>> from remat.graph import no_remat_peak
>>> g = unet(2)
>>> seq = get_heuristic("greedy-eviction").run(g, int(0.9 * no_remat_peak(g)))
>>> sorted(set(seq)) == list(range(g.n))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

from remat.errors import FormulationError
from remat.graph import Graph


@runtime_checkable
class Heuristic(Protocol):
    """A named schedule heuristic.

    Attributes
    ----------
    name : str
        What ``--formulation`` and ``Result.source`` call it.
    """

    name: str

    def run(self, graph: Graph, budget: int, *, deadline: float | None = None,
            seed: int = 0) -> Sequence[int] | None:
        """A compute sequence (possibly over ``budget``: a best effort), or None when it has none."""
        ...


@dataclass(frozen=True)
class FunctionHeuristic:
    """A heuristic made of a function ``fn(graph, budget, *, deadline, seed) -> sequence | None``."""

    name: str
    fn: Callable[..., Sequence[int] | None]
    seeded: bool = False  # fn takes a ``seed``

    def run(self, graph: Graph, budget: int, *, deadline: float | None = None,
            seed: int = 0) -> Sequence[int] | None:
        if self.seeded:
            return self.fn(graph, budget, deadline=deadline, seed=seed)
        return self.fn(graph, budget, deadline=deadline)


class WarmStartInterrupted(KeyboardInterrupt):
    """Ctrl-C inside a heuristic after it had found a compute sequence within the budget:
    ``sequence`` is the cheapest such one so far.

    A KeyboardInterrupt, so a caller that does not look for it stops as before;
    the solve pipeline hands the sequence out, verified, as the interrupted solve's schedule.
    """

    def __init__(self, sequence: Sequence[int]) -> None:
        super().__init__("interrupted during the warm start")
        self.sequence = list(sequence)


_REGISTRY: dict[str, Heuristic] = {}


def register_heuristic(heuristic: Heuristic) -> None:
    """Make ``heuristic`` available by its name (``get_heuristic``, ``--formulation NAME``)."""
    _REGISTRY[heuristic.name] = heuristic


def heuristic_names() -> list[str]:
    """The registered heuristics' names, sorted.

    >>> "greedy-eviction" in heuristic_names()
    True
    """
    return sorted(_REGISTRY)


def get_heuristic(spec: "str | Heuristic") -> Heuristic:
    """A heuristic by name, or ``spec`` itself when it already is one.

    Raises
    ------
    FormulationError
        For an unknown name; the message lists the known ones.
    """
    if not isinstance(spec, str):
        return spec
    try:
        return _REGISTRY[spec]
    except KeyError:
        raise FormulationError(f"unknown heuristic {spec!r}; known: {', '.join(heuristic_names())}") from None


def is_heuristic(spec: object) -> bool:
    """Whether ``spec`` names or is a heuristic (rather than a formulation)."""
    return spec in _REGISTRY if isinstance(spec, str) else isinstance(spec, Heuristic) and not hasattr(spec, "build")


def _register_builtins() -> None:
    from remat.heuristics.baselines import BASELINES
    from remat.heuristics.ordering import low_memory_sequence
    from remat.heuristics.staged import staged_plan_sequence

    for name, fn in BASELINES.items():
        register_heuristic(FunctionHeuristic(name, fn))
    register_heuristic(FunctionHeuristic("staged-plan", staged_plan_sequence, seeded=True))
    register_heuristic(FunctionHeuristic("low-memory-order", low_memory_sequence, seeded=True))


_register_builtins()

PORTFOLIO: tuple[str, ...] = ("checkpoint-all", "chen-sqrt", "chen-sqrt-ap", "greedy-eviction", "chen-greedy",
                              "chen-greedy-ap", "staged-plan")
"""The warm-start portfolio, fastest first: the pipeline runs them in this order within the
start's share of the time limit (:class:`remat.timebudget.TimeBudget`); the last gets its own share."""

__all__ = ["PORTFOLIO", "FunctionHeuristic", "Heuristic", "WarmStartInterrupted", "get_heuristic", "heuristic_names",
           "is_heuristic", "register_heuristic"]
