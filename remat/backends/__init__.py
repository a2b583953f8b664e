"""Backends: each turns the IR into a native model and solves it.

Each backend class declares on itself what it translates natively
(``features``, see :data:`~remat.backends.base.CONSTRUCTS`);
:func:`solve_model`, the one entry point, lowers the rest through the shared
linearization (:mod:`remat.backends.linearize`) and maps the solution back.
Classes are registered by ``"module:Class"`` and their modules import no
solver, so listing backends imports none.

* ``cpsat``: OR-Tools CP-SAT, every construct natively;
* ``choco``: Choco through pychoco, every construct natively (extra ``remat[choco]``);
* ``scip``: SCIP through PySCIPOpt, indicator and logic constraints natively, the
  cumulative and the intervals linearized (extra ``remat[scip]``);
* ``highs`` (alias ``highs-direct``): HiGHS through highspy, fully linearized;
* ``pyomo:NAME``: any Pyomo MILP solver by name, fully linearized.

>>> "cpsat" in backend_names() and "highs" in backend_names()
True
>>> sorted(backend_features("cpsat") - backend_features("highs"))
['clauses', 'cumulative', 'domains', 'enforced-linear', 'int64', 'intervals', 'neighbourhood-search']
"""

from __future__ import annotations

import re
import shutil
from functools import lru_cache

from remat.backends.base import (CAPABILITIES, CONSTRUCTS, Backend, Progress, RawResult, Registration, SolveOptions,
                                 aliases, backend_features, backend_names, features_of, get_backend,
                                 installed_backends, is_available, lookup, model_constructs, module_available,
                                 register_alias, register_backend, register_resolver, unregister_backend)
from remat.backends.pipeline import reduced_model, solve_model

register_backend("cpsat", "remat.backends.cpsat:CpSatBackend")
register_backend("highs", "remat.backends.highs:HighsBackend")
register_alias("highs-direct", "highs")  # the name of the highspy route before it became "highs"
register_backend("choco", "remat.backends.choco:ChocoBackend")
register_backend("scip", "remat.backends.scip:ScipBackend")

# pyomo:NAME solvers remat knows how to detect without importing them: (kind, what to look for).
PYOMO_SOLVERS: dict[str, tuple[str, str]] = {
    "highs": ("module", "highspy"), "appsi_highs": ("module", "highspy"), "cbc": ("program", "cbc"),
    "glpk": ("program", "glpsol"), "cplex": ("program", "cplex"), "scip": ("program", "scip"),
    "gurobi_direct": ("module", "gurobipy"), "scip_direct": ("module", "pyscipopt"),
}


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
    return Registration("remat.backends.pyomo_milp:PyomoBackend", (solver,),
                        available=lambda: _pyomo_solver_available(solver))


register_resolver(_pyomo_resolver)


def default_bound_backend() -> str:
    """HiGHS where it is installed (its cuts close the gap relaxation fast; handed over without Pyomo,
    whose model building is slow on relaxations this large), else CP-SAT.

    Returns
    -------
    str
        ``"highs"`` or ``"cpsat"``: a backend name for :func:`remat.backends.get_backend`.

    Examples
    --------
    >>> default_bound_backend() in ("highs", "cpsat")
    True
    """
    return "highs" if is_available("highs") else "cpsat"


__all__ = ["Backend", "CAPABILITIES", "CONSTRUCTS", "PYOMO_SOLVERS", "Progress", "RawResult", "Registration",
           "SolveOptions", "aliases", "backend_features", "backend_names", "default_bound_backend", "features_of",
           "get_backend",
           "installed_backends", "is_available", "lookup", "model_constructs", "reduced_model", "register_alias",
           "register_backend", "register_resolver", "solve_model", "unregister_backend"]
