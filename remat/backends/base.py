"""The backend contract and the registry that finds backends by name.

A backend turns an IR :class:`~remat.ir.Model` into a native
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
from remat.ir import Model, Var
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


@dataclass(frozen=True)
class Registration:
    """How to make a backend, whether it is installed (checked without importing it), what it supports."""

    factory: Callable[[], Backend]
    available: Callable[[], bool]
    features: frozenset[str] = frozenset()


_REGISTRY: dict[str, Registration] = {}
_RESOLVERS: list[Callable[[str], Registration | None]] = []


def register_backend(name: str, factory: Callable[[], Backend], *, available: Callable[[], bool],
                     features: frozenset[str] = frozenset()) -> None:
    """Make a backend selectable as ``backend=name`` / ``--backend name``.

    ``features`` declared here are the single record of what the backend
    supports; its class reads them back with :func:`backend_features`.
    """
    _REGISTRY[name] = Registration(factory, available, frozenset(features))
    is_available.cache_clear()


def register_resolver(resolver: Callable[[str], Registration | None]) -> None:
    """Add a resolver for parametrised names (such as ``pyomo:cbc``): name -> Registration or None."""
    _RESOLVERS.append(resolver)
    is_available.cache_clear()


def lookup(name: str) -> Registration | None:
    """The registration of a backend name, registered or resolved; None when unknown."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    for resolver in _RESOLVERS:
        reg = resolver(name)
        if reg is not None:
            return reg
    return None


@lru_cache(maxsize=None)
def is_available(name: str) -> bool:
    """Whether backend ``name`` (registered or resolved) is installed; cached, and no solver is imported.

    >>> is_available("no-such-backend")
    False
    """
    reg = lookup(name)
    return reg is not None and bool(reg.available())


def backend_names() -> list[str]:
    """The registered names (parametrised ones such as ``pyomo:NAME`` are resolved on demand)."""
    return sorted(_REGISTRY)


def backend_features(name: str) -> frozenset[str]:
    reg = lookup(name)
    return frozenset() if reg is None else reg.features


def installed_backends() -> list[str]:
    """Registered backends whose solver is installed."""
    return [n for n in backend_names() if is_available(n)]


def get_backend(spec: "str | Backend") -> Backend:
    """A backend instance by name, or ``spec`` itself when it already is a backend object.

    >>> get_backend("nope")
    Traceback (most recent call last):
    ...
    remat.errors.BackendError: unknown backend 'nope'; installed: ...
    """
    if not isinstance(spec, str):
        if not callable(getattr(spec, "solve", None)):
            raise BackendError("a backend is a name or an object with solve(model, options), "
                               f"got {type(spec).__name__}")
        return spec
    reg = lookup(spec)
    if reg is None:
        raise BackendError(f"unknown backend {spec!r}; installed: {', '.join(installed_backends()) or 'none'}")
    if not is_available(spec):
        raise BackendError(f"backend {spec!r} is not installed; installed: {', '.join(installed_backends()) or 'none'}")
    return reg.factory()
