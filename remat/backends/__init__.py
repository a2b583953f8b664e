"""Backends: each turns the IR into a native model and solves it.

Backends are registered by name with a lazy factory, so that nothing here
imports a solver package until that solver is asked for. What each backend
supports is declared once, in its registration below.

* ``cpsat``: OR-Tools CP-SAT, the IR almost one to one;
* ``highs``: HiGHS through Pyomo, on the linearized model
  (:mod:`remat.backends.linearize`);
* ``highs-direct``: HiGHS on the same linearized model, handed to highspy
  without Pyomo (faster to build on large models);
* ``pyomo:NAME``: any Pyomo MILP solver by name, through the same linearization.

>>> "cpsat" in backend_names() and "highs" in backend_names()
True
>>> sorted(backend_features("highs") - backend_features("pyomo:glpk"))
['hints']
"""

from __future__ import annotations

import importlib
import re
import shutil
from functools import lru_cache

from remat.backends.base import (Backend, Progress, RawResult, Registration, SolveOptions, backend_features,
                                 backend_names, get_backend, installed_backends, is_available, lookup,
                                 module_available, register_backend, register_resolver)


def _lazy(module: str, cls: str, *args: str):
    return lambda: getattr(importlib.import_module(module), cls)(*args)


register_backend("cpsat", _lazy("remat.backends.cpsat", "CpSatBackend"),
                 available=lambda: module_available("ortools"),
                 features=frozenset({"cumulative", "intervals", "enforced-linear", "clauses", "hints",
                                     "progress", "mip-gap", "native-cp", "neighbourhood-search"}))

# Through the linearization every IR construct is supported; "linearized" says it is not native.
MILP_FEATURES = frozenset({"cumulative", "intervals", "enforced-linear", "clauses", "mip-gap", "linearized"})

register_backend("highs", _lazy("remat.backends.pyomo_milp", "HighsBackend"),
                 available=lambda: module_available("pyomo") and module_available("highspy"),
                 features=MILP_FEATURES | {"hints"})

# The same linearized MILP handed to highspy as arrays, without Pyomo's model building.
register_backend("highs-direct", _lazy("remat.backends.highs_direct", "HighsDirectBackend"),
                 available=lambda: module_available("highspy") and module_available("pyomo"),
                 features=MILP_FEATURES | {"hints"})

# pyomo:NAME solvers remat knows how to detect without importing them: (kind, what to look for).
PYOMO_SOLVERS: dict[str, tuple[str, str]] = {
    "highs": ("module", "highspy"), "appsi_highs": ("module", "highspy"), "cbc": ("program", "cbc"),
    "glpk": ("program", "glpsol"), "cplex": ("program", "cplex"), "scip": ("program", "scip"),
    "gurobi_direct": ("module", "gurobipy"), "scip_direct": ("module", "pyscipopt"),
}
_WARM_STARTS = frozenset({"highs", "appsi_highs", "cbc", "cplex", "gurobi"})  # accept a MIP start through remat


@lru_cache(maxsize=None)
def _pyomo_solver_available(solver: str) -> bool:
    if not module_available("pyomo"):
        return False
    kind, what = PYOMO_SOLVERS.get(solver, ("pyomo", solver))
    if kind == "module":
        return module_available(what)
    if kind == "program":
        return shutil.which(what) is not None
    import pyomo.environ as pyo  # an unknown name: ask Pyomo (this imports Pyomo, not the solver)

    opt = pyo.SolverFactory(solver)
    return opt is not None and bool(opt.available(exception_flag=False))


def _pyomo_resolver(name: str) -> Registration | None:
    m = re.fullmatch(r"pyomo:([A-Za-z][A-Za-z0-9_]*)", name)
    if m is None:
        return None
    solver = m.group(1)
    return Registration(_lazy("remat.backends.pyomo_milp", "PyomoBackend", solver),
                        available=lambda: _pyomo_solver_available(solver),
                        features=MILP_FEATURES | ({"hints"} if solver in _WARM_STARTS else set()))


register_resolver(_pyomo_resolver)

__all__ = ["Backend", "MILP_FEATURES", "PYOMO_SOLVERS", "Progress", "RawResult", "Registration", "SolveOptions",
           "backend_features", "backend_names", "get_backend", "installed_backends", "is_available", "lookup",
           "register_backend", "register_resolver"]
