"""The backend contract and the registry that finds backends by name.

A backend turns an IR :class:`~remat.formulations.ir.Model` into a native
model, solves it and returns a :class:`RawResult` of plain values. It never
sees the graph. Backends declare what they support as data (``features``),
check availability without importing their native package
(``is_available``), and import it lazily inside ``solve``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, ClassVar, Protocol, runtime_checkable

from remat.errors import BackendError
from remat.formulations.ir import Model, Var
from remat.status import Status


@dataclass(frozen=True)
class Progress:
    """One progress event: a new incumbent or a better bound (IR objective units)."""

    elapsed: float
    objective: float | None
    bound: float | None


ProgressCallback = Callable[[Progress], None]


@dataclass
class SolveOptions:
    time_limit: float | None = None
    threads: int | None = None
    seed: int = 0
    mip_gap: float = 0.0
    hint: dict[Var, int] | None = None
    on_progress: ProgressCallback | None = None
    log: bool = False
    extra: dict = field(default_factory=dict)  # backend-specific parameters


@dataclass
class RawResult:
    status: Status
    values: dict[Var, int] | None
    objective: float | None
    bound: float | None
    wall_time: float
    time_to_best: float | None = None
    message: str = ""
    interrupted: bool = False


@runtime_checkable
class Backend(Protocol):
    name: str
    features: ClassVar[frozenset[str]]

    @classmethod
    def is_available(cls) -> bool: ...

    def solve(self, model: Model, options: SolveOptions) -> RawResult: ...


def module_available(module: str) -> bool:
    """True if ``module`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


_REGISTRY: dict[str, Callable[[], Backend]] = {}
_AVAILABILITY: dict[str, Callable[[], bool]] = {}
_FEATURES: dict[str, frozenset[str]] = {}


def register_backend(name: str, factory: Callable[[], Backend], *, available: Callable[[], bool],
                     features: frozenset[str] = frozenset()) -> None:
    """Make a backend selectable as ``backend=name`` / ``--backend name``."""
    _REGISTRY[name] = factory
    _AVAILABILITY[name] = available
    _FEATURES[name] = features
    is_available.cache_clear()


@lru_cache(maxsize=None)
def is_available(name: str) -> bool:
    return name in _AVAILABILITY and bool(_AVAILABILITY[name]())


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def backend_features(name: str) -> frozenset[str]:
    return _FEATURES.get(name, frozenset())


def installed_backends() -> list[str]:
    return [n for n in backend_names() if is_available(n)]


def get_backend(spec: "str | Backend") -> Backend:
    """A backend instance by name, or ``spec`` itself when it already is a backend object."""
    if not isinstance(spec, str):
        return spec
    factory = _resolve(spec)
    if not is_available(spec):
        raise BackendError(f"backend {spec!r} is not installed; installed: {', '.join(installed_backends()) or 'none'}")
    return factory()


_RESOLVERS: list[Callable[[str], Callable[[], Backend] | None]] = []


def register_resolver(resolver: Callable[[str], Callable[[], Backend] | None]) -> None:
    """Add a resolver for parametrised names (such as ``pyomo:cbc``)."""
    _RESOLVERS.append(resolver)


def _resolve(name: str) -> Callable[[], Backend]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    for resolver in _RESOLVERS:
        factory = resolver(name)
        if factory is not None:
            return factory
    raise BackendError(f"unknown backend {name!r}; installed: {', '.join(installed_backends()) or 'none'}")
