"""Formulations: each builds a solver-neutral model (:mod:`remat.ir`) from a graph."""

from remat.formulations.base import (Built, Formulation, WarmStartInterrupted, formulation_names, get_formulation,
                                     register_formulation)
from remat.formulations.moccasin import Moccasin
from remat.formulations.checkmate import Checkmate
from remat.formulations.moccasin_free import MoccasinFree

register_formulation("moccasin", Moccasin)
register_formulation("checkmate", Checkmate)
register_formulation("moccasin-free", MoccasinFree)


def _register_baselines() -> None:
    from remat.baselines import BASELINES, Baseline

    for _name in BASELINES:
        register_formulation(_name, lambda _n=_name: Baseline(_n))


_register_baselines()

__all__ = ["Built", "Checkmate", "Formulation", "Moccasin", "MoccasinFree", "WarmStartInterrupted", "formulation_names",
           "get_formulation", "register_formulation"]
