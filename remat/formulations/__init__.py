"""Formulations: each builds a solver-neutral model (:mod:`remat.ir`) from a graph."""

from remat.formulations.base import Built, Formulation, formulation_names, get_formulation, register_formulation
from remat.formulations.moccasin import Moccasin
from remat.formulations.checkmate import Checkmate
from remat.formulations.moccasin_free import MoccasinFree

register_formulation("moccasin", Moccasin)
register_formulation("checkmate", Checkmate)
register_formulation("moccasin-free", MoccasinFree)

__all__ = ["Built", "Checkmate", "Formulation", "Moccasin", "MoccasinFree", "formulation_names",
           "get_formulation", "register_formulation"]
