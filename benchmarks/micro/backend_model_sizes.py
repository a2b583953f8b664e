"""The model each backend sees: the IR as the formulation builds it, lowered to the backend's declared constructs.

For each graph and budget, builds the Moccasin model and prints, per backend, the sizes after
:func:`remat.backends.reduced_model` (variables, constraints, and the reductions applied) as CSV.

    python benchmarks/micro/backend_model_sizes.py GRAPH... --budgets 90%,80% > sizes.csv
"""

from __future__ import annotations

import argparse
import csv
import sys

from pathlib import Path

from remat import generators
from remat.backends import get_backend, installed_backends, reduced_model
from remat.budget import parse_budget
from remat.formulations import get_formulation
from remat.graph import Graph, load_graph, no_remat_peak


def load_graph_spec(spec: str) -> Graph:
    """A graph file, or a generator spec such as ``random_layered:n=100,seed=0``."""
    if Path(spec).exists():
        return load_graph(spec)
    name, _, params = spec.partition(":")
    kwargs = {k: int(v) for k, v in (p.split("=") for p in params.split(",") if p)}
    return getattr(generators, name)(**kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("graphs", nargs="+")
    ap.add_argument("--budgets", default="90%,80%")
    ap.add_argument("--backends", default=",".join(installed_backends()))
    args = ap.parse_args()
    out = csv.writer(sys.stdout)
    out.writerow(["graph", "budget_spec", "backend", "reductions", "int_vars", "bool_vars", "intervals",
                  "constraints"])
    for spec in args.graphs:
        g = load_graph_spec(spec)
        for budget_spec in args.budgets.split(","):
            model = get_formulation("moccasin").build(g, parse_budget(budget_spec, peak=no_remat_peak(g))).model
            for name in args.backends.split(","):
                lowered = reduced_model(get_backend(name), model)
                size = lowered.model.size()
                out.writerow([g.name, budget_spec, name, "+".join(type(r).__name__ for r, _ in lowered.steps) or "none",
                              size["int_vars"], size["bool_vars"], size["intervals"], size["constraints"]])
                sys.stdout.flush()


if __name__ == "__main__":
    main()
