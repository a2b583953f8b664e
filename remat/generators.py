"""Graph generators, deterministic by their arguments.

* :func:`training_graph`: the joint forward + backward graph of any forward DAG,
  Checkmate-style (each gradient node reads the gradients of its forward
  node's consumers and the forward node's inputs and output);
* :func:`linear` and :func:`unet`: Checkmate-style training graphs of any depth.

>>> g = unet(depth=2)
>>> g.n, g.num_edges
(16, 30)
"""

from __future__ import annotations

from typing import Sequence

from remat.graph import Graph


def training_graph(name: str, forward: Sequence[tuple[str, int, int, Sequence[str]]],
                   grad_cost_factor: int = 2) -> Graph:
    """Joint forward + backward graph from forward nodes ``(id, cost, mem, inputs)`` in topological order.

    A ``loss`` node reads the last forward node; each forward node ``f`` gets a
    gradient node ``grad_f`` (cost ``grad_cost_factor * cost(f)``, the size of
    ``f``'s output) that reads ``f``'s inputs, ``f`` itself and the gradient of
    every consumer of ``f`` (the loss for the last node).
    """
    cost = {f: c for f, c, _, _ in forward}
    mem = {f: m for f, _, m, _ in forward}
    edges: list[tuple[str, str]] = [(u, f) for f, _, _, ins in forward for u in ins]
    consumers: dict[str, list[str]] = {f: [] for f, *_ in forward}
    for u, f in edges:
        consumers[u].append(f)
    last = forward[-1][0]
    cost["loss"], mem["loss"] = 1, 1
    edges.append((last, "loss"))
    consumers[last].append("loss")
    order = [f for f, *_ in forward] + ["loss"]
    for f, c, _, ins in reversed(forward):
        g = f"grad_{f}"
        cost[g] = grad_cost_factor * c
        mem[g] = mem[f]
        edges.extend((u, g) for u in ins)
        edges.append((f, g))
        edges.extend(("loss" if k == "loss" else f"grad_{k}", g) for k in consumers[f])
        order.append(g)
    return Graph.from_edges(edges, cost=cost, mem=mem, name=name, order=order)


def linear(depth: int = 8, *, mem: int = 1024, cost: int = 10) -> Graph:
    """Training graph of a chain of ``depth`` equal layers (Checkmate's linear benchmark)."""
    fwd = [(f"f{i}", cost, mem, [f"f{i - 1}"] if i else []) for i in range(depth)]
    return training_graph(f"linear{depth}", fwd)


def unet(depth: int = 3, *, base_mem: int = 1 << 20, base_cost: int = 100) -> Graph:
    """Training graph of a U-Net: ``depth`` encoder levels, a bottleneck, ``depth`` decoder levels
    with skip connections; activations halve in size (and cost) per level down.

    ``unet(4)`` is the bundled example of ``remat solve --example unet``.
    """
    fwd: list[tuple[str, int, int, list[str]]] = []
    prev: list[str] = []
    for i in range(depth):
        scale = 2 ** i
        fwd.append((f"enc{i}", base_cost, base_mem // scale, prev))
        prev = [f"enc{i}"]
    fwd.append(("bottleneck", base_cost, base_mem // 2 ** depth, prev))
    prev = ["bottleneck"]
    for i in reversed(range(depth)):
        fwd.append((f"dec{i}", base_cost, base_mem // 2 ** i, prev + [f"enc{i}"]))
        prev = [f"dec{i}"]
    return training_graph(f"unet{depth}", fwd)


EXAMPLES = {"unet": lambda: unet(4), "linear": lambda: linear(8)}
