"""Formulations: each builds a solver-neutral model (:mod:`remat.formulations.ir`) from a graph."""

from remat.formulations.base import Built, Formulation, formulation_names, get_formulation, register_formulation
from remat.formulations.moccasin import Moccasin

register_formulation("moccasin", Moccasin)

__all__ = ["Built", "Formulation", "Moccasin", "formulation_names", "get_formulation", "register_formulation"]
