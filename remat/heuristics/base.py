"""The heuristic protocol and registry (:mod:`remat.heuristics` registers the built-in ones)."""

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
    reorders : bool, optional
        Whether its sequences may leave the graph's order of first computations (a solve in the
        given order, ``order="given"``, leaves such a heuristic out of its warm start); an
        attribute a heuristic may lack (False then).
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
    reorders: bool = False  # its sequences may leave the graph's order of first computations

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
