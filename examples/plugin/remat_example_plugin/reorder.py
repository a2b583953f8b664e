"""A formulation in one file: fit the budget by choosing the order, with no recomputation.

Every node is computed exactly once; the model only picks the order. Node
``v`` gets a position ``pos[v]`` in ``0..n-1``; positions are all different
because each occupies the unit interval ``[pos[v], pos[v] + 1)`` under a
cumulative of capacity 1. Its output is resident over ``[pos[v], keep[v])``,
which must outlast every reader: ``keep[v] > pos[w]`` for each edge ``v -> w``.
One more cumulative, demands the output sizes and capacity the budget, is the
memory constraint, exactly as in Moccasin. The cost is fixed (each node once),
so a solve answers: is there an order that fits, and which?

Run it: ``python examples/plugin/remat_example_plugin/reorder.py``; installed with its package
(``pip install examples/plugin``), remat finds it as ``--formulation reorder`` through its entry point.
"""

from __future__ import annotations

from typing import Any, Sequence

import remat
from remat.errors import FormulationError
from remat.formulations import Built, formulation_names, register_formulation
from remat.ir import Cumulative, Linear, Model, Var
from remat.formulations.scaling import scale_costs, scale_sizes
from remat.graph import Graph


class Reorder:
    """No recomputation, free order: ``formulation="reorder"`` once registered."""

    name = "reorder"
    chooses_order = True  # the model picks the order: solve(..., order="memory") does not apply

    def build(self, graph: Graph, budget: int, *, max_copies: int = 1, **unknown: Any) -> Built:
        if unknown:
            raise FormulationError(f"reorder: unknown option(s) {', '.join(sorted(unknown))}")
        n = graph.n
        sizes = scale_sizes(graph.mem, budget)  # exact: divide by the gcd, floor the budget
        costs = scale_costs(graph.cost)
        m = Model(f"reorder[{graph.name}, budget={budget}]")
        pos = [m.int_var(0, n - 1, f"pos[{v}]") for v in range(n)]
        nxt = [m.int_var(1, n, f"next[{v}]") for v in range(n)]
        keep = [m.int_var(1, n, f"keep[{v}]") for v in range(n)]
        slots, resident = [], []
        for v in range(n):
            m.add(Linear(((nxt[v], 1), (pos[v], -1)), lb=1, ub=1))
            slots.append(m.interval(pos[v], nxt[v], None, f"slot[{v}]", min_size=1))
            resident.append(m.interval(pos[v], keep[v], None, f"resident[{v}]", min_size=1))
        m.add(Cumulative(tuple(slots), (1,) * n, 1))  # one computation per position
        m.add(Cumulative(tuple(resident), sizes.values, sizes.capacity))  # the memory budget
        for u, v in graph.edges:
            m.add(Linear(((pos[v], 1), (pos[u], -1)), lb=1))  # inputs first
            m.add(Linear(((keep[u], 1), (pos[v], -1)), lb=1))  # ... and still resident
        m.minimize([], offset=sum(costs.values))

        def decode(values: dict[Var, int]) -> list[int]:
            return sorted(range(n), key=lambda v: values[pos[v]])

        def encode(computes: Sequence[int]) -> dict[Var, int] | None:
            if sorted(computes) != list(range(n)):
                return None  # a recomputation, or a node missing: not expressible here
            at = {v: k for k, v in enumerate(computes)}
            values: dict[Var, int] = {}
            for v in range(n):
                values[pos[v]], values[nxt[v]] = at[v], at[v] + 1
                values[keep[v]] = max([at[v]] + [at[w] for w in graph.succs[v]]) + 1
            return values

        return Built(model=m, decode=decode, encode=encode, cost_unit=costs.unit, exact_costs=costs.exact,
                     info={"positions": n})


def two_branches() -> Graph:
    """A graph whose given order is wasteful: both large tensors are made before either is reduced."""
    edges = [("in", "a1"), ("in", "b1"), ("a1", "a2"), ("b1", "b2"), ("a2", "out"), ("b2", "out")]
    cost = dict.fromkeys(["in", "a1", "b1", "a2", "b2", "out"], 1)
    mem = {"in": 1, "a1": 10, "b1": 10, "a2": 1, "b2": 1, "out": 1}
    return Graph.from_edges(edges, cost=cost, mem=mem, name="two-branches",
                            order=["in", "a1", "b1", "a2", "b2", "out"])


def demo() -> remat.Result:
    if "reorder" not in formulation_names():  # run as a script, the package not installed
        register_formulation("reorder", Reorder)
    g = two_branches()
    budget = 12  # the given order peaks at 21; a1, a2 before b1 peaks at 12
    result = remat.solve(g, budget, formulation="reorder", time_limit=10, threads=1)
    print(f"{g.name}: no-remat peak {remat.no_remat_peak(g)}, budget {budget}: {result.status.value}, "
          f"order {result.schedule.computes if result.schedule else None}, peak {result.peak_memory}")
    return result


if __name__ == "__main__":
    demo()
