"""Heuristics: fast schedules with no proof, behind one protocol.

A heuristic maps a graph and a budget to a *compute sequence* (node indices
in execution order; :func:`remat.schedule.schedule_from_computes` adds the
frees), possibly over the budget when it found nothing better (a best effort,
which a two-phase backend can start from), or ``None``. It stops at
``deadline`` (a :func:`time.perf_counter` value) with what it has.

* :mod:`remat.heuristics.baselines`: the classic ones (checkpoint-all,
  Chen et al.'s sqrt and greedy, DTR-style greedy eviction);
* :mod:`remat.heuristics.staged`: plans for the stage-restricted model
  (greedy portfolio, annealing, ruin and repair), ``staged-plan``;
* :mod:`remat.heuristics.ordering`: a topological order with less memory
  above the budget, ``low-memory-order`` (as a sequence: each node once);
* :mod:`remat.heuristics.sinks`: greedy eviction with the large sinks (weight
  gradients) moved to where they need no eviction, ``greedy-sinks``.

The solve pipeline runs :data:`PORTFOLIO` first (:func:`remat.stages.warm_start`),
verifies every sequence, and keeps the cheapest that fits as the floor of the
result and the solver's warm start. ``remat.solve(graph, budget,
formulation="greedy-eviction")`` runs one heuristic alone.

>>> from remat.generators import unet
>>> from remat.graph import no_remat_peak
>>> g = unet(2)
>>> seq = get_heuristic("greedy-eviction").run(g, int(0.9 * no_remat_peak(g)))
>>> sorted(set(seq)) == list(range(g.n))
True
"""

from remat.heuristics.base import (FunctionHeuristic, Heuristic, WarmStartInterrupted, get_heuristic, heuristic_names,
                                   is_heuristic, register_heuristic)
from remat.heuristics.baselines import BASELINES
from remat.heuristics.ordering import low_memory_sequence
from remat.heuristics.cut_plan import cut_plan_sequence
from remat.heuristics.sinks import late_sinks_sequence
from remat.heuristics.staged import staged_plan_sequence

for _name, _fn in BASELINES.items():
    register_heuristic(FunctionHeuristic(_name, _fn))
register_heuristic(FunctionHeuristic("cut-plan", cut_plan_sequence, seeded=True))
register_heuristic(FunctionHeuristic("staged-plan", staged_plan_sequence, seeded=True))
register_heuristic(FunctionHeuristic("low-memory-order", low_memory_sequence, seeded=True))
register_heuristic(FunctionHeuristic("greedy-sinks", late_sinks_sequence, reorders=True))

PORTFOLIO: tuple[str, ...] = ("checkpoint-all", "greedy-eviction-eq", "greedy-eviction", "greedy-sinks", "chen-sqrt-ap",
                              "chen-sqrt", "chen-greedy-ap", "chen-greedy", "cut-plan", "staged-plan")
"""The warm-start portfolio: the pipeline runs them in this order within the start's share of the
time limit (:class:`remat.timebudget.TimeBudget`), the ones likeliest to give the cheapest schedule
on training graphs first (``greedy-eviction-eq`` before ``greedy-eviction``: on large dense graphs
the exact rule can spend the whole share and find nothing; ``greedy-sinks`` after them, as it
runs them again in other orders), the threshold sweeps last;
``cut-plan`` (whose cut bound the pipeline keeps: it may prove the best schedule optimal, or
that none fits) and ``staged-plan`` get their own shares."""

__all__ = ["PORTFOLIO", "FunctionHeuristic", "Heuristic", "WarmStartInterrupted", "get_heuristic", "heuristic_names",
           "is_heuristic", "register_heuristic"]
