"""Backends: each turns the IR into a native model and solves it.

Backends are registered by name with a lazy factory, so that nothing here
imports a solver package until that solver is asked for.
"""

from __future__ import annotations

import importlib

from remat.backends.base import (Backend, Progress, RawResult, SolveOptions, backend_features, backend_names,
                                 get_backend, installed_backends, is_available, module_available,
                                 register_backend, register_resolver)


def _lazy(module: str, cls: str):
    return lambda: getattr(importlib.import_module(module), cls)()


register_backend("cpsat", _lazy("remat.backends.cpsat", "CpSatBackend"),
                 available=lambda: module_available("ortools"),
                 features=frozenset({"cumulative", "intervals", "enforced-linear", "clauses", "hints",
                                     "progress", "native-cp"}))

__all__ = ["Backend", "Progress", "RawResult", "SolveOptions", "backend_features", "backend_names", "get_backend",
           "installed_backends", "is_available", "register_backend", "register_resolver"]
