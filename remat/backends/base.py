"""The backend contract and the registry that finds backends by name.

A backend turns an IR :class:`~remat.ir.Model` into a native model, solves it
and returns a :class:`RawResult` of plain values. It never sees the graph.

What a backend supports is declared once, on its class, as ``features``: the
IR constructs it translates natively (:data:`CONSTRUCTS`) and what else it
offers (:data:`CAPABILITIES`). :func:`remat.backends.solve_model` compares
the model's constructs with the declaration and lowers the missing ones
(:mod:`remat.backends.linearize`) before the backend sees the model. A
backend object without ``features`` is taken to translate every construct.

The registry maps a name to a backend class (or to a ``"module:Class"``
string, imported on demand). A backend's module imports no solver package:
the registry reads ``features`` and calls ``is_available()`` (which finds the
package without importing it) from the class, and the solver is imported
inside ``solve``.

>>> from remat.ir import Model, Linear
>>> m = Model("t"); b = m.bool_var("b"); m.add(Linear(((b, 1),), lb=1, enforce=(b,)))
>>> sorted(model_constructs(m))
['enforced-linear']
"""

from __future__ import annotations

import importlib
import importlib.util
from importlib.metadata import entry_points
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

from remat.errors import BackendError
from remat.ir import Clause, Cumulative, Linear, Model, Var
from remat.status import Status

#: IR constructs a backend may translate natively; :func:`remat.backends.solve_model` lowers the others.
#: ``intervals``: :class:`~remat.ir.Interval`; ``cumulative``: :class:`~remat.ir.Cumulative`;
#: ``enforced-linear``: a :class:`~remat.ir.Linear` with enforcement literals; ``clauses``:
#: :class:`~remat.ir.Clause`; ``domains``: an :class:`~remat.ir.IntVar` with an explicit value set.
CONSTRUCTS: frozenset[str] = frozenset({"intervals", "cumulative", "enforced-linear", "clauses", "domains"})

#: What else a backend may declare: ``hints`` (uses ``SolveOptions.hint`` as a first solution or search
#: hint), ``progress`` (reports incumbents and bounds to ``SolveOptions.on_progress``),
#: ``neighbourhood-search`` (its own large-neighbourhood search, option ``lns``), ``int64`` (exact
#: integer arithmetic up to 2**63: memory sizes near 1e12 are safe; floating-point MILP solvers and
#: 32-bit CP solvers decline such models instead).
CAPABILITIES: frozenset[str] = frozenset({"hints", "progress", "neighbourhood-search", "int64"})


@dataclass(frozen=True)
class Progress:
    """One progress event: a new incumbent or a better bound (IR objective units)."""

    elapsed: float
    objective: float | None
    bound: float | None


ProgressCallback = Callable[[Progress], None]


@dataclass
class SolveOptions:
    """What the pipeline tells a backend besides the model.

    ``time_limit`` (seconds, None: none), ``threads`` (None: the backend's default), ``seed``,
    ``hint`` (a full assignment of the model's variables: a warm start, possibly over the
    capacity), ``on_progress`` (called with each incumbent and bound), ``log`` (the solver's own
    log on stdout), ``extra`` (backend-specific parameters; an unknown one is an error).
    """

    time_limit: float | None = None
    threads: int | None = None
    seed: int = 0
    hint: dict[Var, int] | None = None
    on_progress: ProgressCallback | None = None
    log: bool = False
    extra: dict = field(default_factory=dict)


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
    """A solver: ``solve`` gets models holding only the constructs in ``features``."""

    name: str
    features: ClassVar[frozenset[str]]

    @classmethod
    def is_available(cls) -> bool: ...

    def solve(self, model: Model, options: SolveOptions) -> RawResult: ...


def features_of(backend: Any) -> frozenset[str]:
    """What ``backend`` (an object or a class) declares; every construct when it declares nothing.

    >>> class Mine:
    ...     def solve(self, model, options): ...
    >>> features_of(Mine()) == CONSTRUCTS
    True
    """
    declared = getattr(backend, "features", None)
    return CONSTRUCTS if declared is None else frozenset(declared)


def model_constructs(model: Model) -> frozenset[str]:
    """The :data:`CONSTRUCTS` that ``model`` uses (one pass over its constraints)."""
    used = set()
    if model.intervals:
        used.add("intervals")
    if any(v.values is not None and len(v.values) != v.ub - v.lb + 1 for v in model.int_vars):
        used.add("domains")
    for c in model.constraints:
        if isinstance(c, Linear):
            if c.enforce:
                used.add("enforced-linear")
        elif isinstance(c, Clause):
            used.add("clauses")
        elif isinstance(c, Cumulative):
            used.add("cumulative")
    return frozenset(used)


def module_available(module: str) -> bool:
    """True if ``module`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Registration:
    """A backend class (or ``"module:Class"``), the arguments it is made with, and, where the class's
    ``is_available()`` does not settle it (``pyomo:NAME``), an availability check of its own."""

    backend: "type | str"
    args: tuple = ()
    available: Callable[[], bool] | None = None

    def cls(self) -> type:
        if isinstance(self.backend, str):
            module, _, name = self.backend.partition(":")
            return getattr(importlib.import_module(module), name)
        return self.backend

    def make(self) -> Backend:
        return self.cls()(*self.args)

    def is_available(self) -> bool:
        return bool(self.available() if self.available is not None else self.cls().is_available())

    @property
    def features(self) -> frozenset[str]:
        return features_of(self.cls())


_REGISTRY: dict[str, Registration] = {}
_RESOLVERS: list[Callable[[str], Registration | None]] = []
_ALIASES: dict[str, str] = {}


def register_backend(name: str, backend: "type | str", *args: Any,
                     available: Callable[[], bool] | None = None) -> None:
    """Make a backend selectable as ``backend=name`` / ``--backend name``.

    Parameters
    ----------
    name : str
        The name users select it by.
    backend : type or str
        The backend class, or ``"module:Class"`` to import it only when it is first asked about
        (its module must import no solver package).
    *args
        Passed to the class when the backend is made.
    available : callable, optional
        Whether it is installed, checked without importing the solver; default: the class's
        ``is_available()``.

    Examples
    --------
    >>> class Mine:
    ...     name = "mine"
    ...     features = frozenset({"intervals"})
    ...     @classmethod
    ...     def is_available(cls): return True
    ...     def solve(self, model, options): ...
    >>> register_backend("mine", Mine); backend_features("mine")
    frozenset({'intervals'})
    >>> unregister_backend("mine")
    """
    _REGISTRY[name] = Registration(backend, tuple(args), available)
    is_available.cache_clear()


def unregister_backend(name: str) -> None:
    """Forget a registered name (for tests and examples)."""
    _REGISTRY.pop(name, None)
    is_available.cache_clear()


def register_alias(alias: str, name: str) -> None:
    """``alias`` selects the backend registered as ``name`` (``highs-direct`` is ``highs``)."""
    _ALIASES[alias] = name
    is_available.cache_clear()


def register_resolver(resolver: Callable[[str], Registration | None]) -> None:
    """Add a resolver for parametrised names (such as ``pyomo:cbc``): name -> Registration or None."""
    _RESOLVERS.append(resolver)
    is_available.cache_clear()


def _from_entry_points() -> dict[str, Registration]:
    """Backends that installed packages declare in the ``remat.backends`` entry-point group
    (``name = "package.module:Class"``); their modules are imported only when first asked about."""
    return {ep.name: Registration(ep.value) for ep in entry_points(group="remat.backends")}


def lookup(name: str) -> Registration | None:
    """The registration of a backend name: registered, aliased, from an installed package's entry
    point, or resolved; None when unknown."""
    name = _ALIASES.get(name, name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    plugins = _from_entry_points()
    if name in plugins:
        return plugins[name]
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
    return reg is not None and reg.is_available()


def backend_names() -> list[str]:
    """The registered and installed (entry-point) names (aliases and parametrised ones such as
    ``pyomo:NAME`` excepted)."""
    return sorted(_REGISTRY.keys() | _from_entry_points().keys())


def aliases() -> dict[str, str]:
    """Each alias and the name it stands for."""
    return dict(_ALIASES)


def backend_features(name: str) -> frozenset[str]:
    """What backend ``name`` declares on its class (empty for an unknown name); imports no solver.

    >>> "cumulative" in backend_features("cpsat"), "cumulative" in backend_features("highs")
    (True, False)
    """
    reg = lookup(name)
    return frozenset() if reg is None else reg.features


def installed_backends() -> list[str]:
    """Registered backends whose solver is installed."""
    return [n for n in backend_names() if is_available(n)]


def _known() -> str:
    installed = installed_backends()
    missing = [n for n in backend_names() if n not in installed]
    return (f"installed: {', '.join(installed) or 'none'}"
            + (f"; not installed: {', '.join(missing)}" if missing else ""))


def get_backend(spec: "str | Backend") -> Backend:
    """A backend instance by name, or ``spec`` itself when it already is a backend object.

    Parameters
    ----------
    spec : str or backend object
        A registered name, an alias, ``pyomo:NAME``, or an object with ``solve(model, options)``.

    Returns
    -------
    Backend

    Raises
    ------
    BackendError
        The name is unknown or its solver is not installed (the message lists the installed and
        the missing backends), or ``spec`` is no backend object.

    Examples
    --------
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
        raise BackendError(f"unknown backend {spec!r}; {_known()}")
    if not is_available(spec):
        raise BackendError(f"backend {spec!r} is not installed; {_known()}")
    return reg.make()
