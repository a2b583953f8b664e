"""Graph generators, deterministic by their arguments.

* :func:`training_graph`: the joint forward + backward graph of any forward DAG,
  Checkmate-style (each gradient node reads the gradients of its forward
  node's consumers and the forward node's inputs and output);
* :func:`linear` and :func:`unet`: Checkmate-style training graphs of any depth;
* :func:`random_layered`: random layered DAGs of the family the Moccasin
  paper benchmarks on (Gagrani et al. 2022, Appendix A), seeded;
* :func:`from_spec`: any of these from a short text spec, as ``remat bench``
  takes them (``random_layered:n=500,seed=1``, ``unet:depth=4``).

>>> g = unet(depth=2)
>>> g.n, g.num_edges
(11, 25)
"""

from __future__ import annotations

import random
from typing import Any, Callable, Sequence

from remat.errors import GraphError
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


def random_layered(n: int = 250, *, width: float = 0.43, edge_density: float = 0.2,
                   skip_density: float = 0.14, seed: int = 0) -> Graph:
    """A random layered DAG of ``n`` nodes, deterministic by its arguments.

    The family of the Moccasin paper's RL graphs (Gagrani et al. 2022,
    Appendix A; the published files are named ``..._w0.43_nlv0.75_ed0.2_scd0.14``
    and the defaults follow them). Node 0 is the source. Then come levels of
    on average ``1.5 width sqrt(n)`` nodes (each level's size drawn within
    75% of that); each node reads each node of the level before with
    probability ``edge_density`` (at least one of them) and a random node of
    each earlier level with probability ``4 skip_density / (levels before it
    - 1)``, so about ``4 skip_density`` skip connections per node. Node
    ``n - 2`` reads every node nobody else reads, and node ``n - 1`` (the
    sink, cost 0) reads it. Output sizes are uniform on 10..8180 in steps of
    10, durations on 0..998, as in the published files. Nodes are numbered
    level by level, which is the graph's order.

    >>> g = random_layered(100, seed=1)
    >>> g.n, g == random_layered(100, seed=1), g == random_layered(100, seed=2)
    (100, True, False)
    >>> all(m % 10 == 0 and 10 <= m <= 8180 for m in g.mem)
    True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 4:
        raise GraphError(f"random_layered: n must be an integer >= 4, got {n!r}")
    if not width > 0:
        raise GraphError(f"random_layered: width must be > 0, got {width!r}")
    for label, p in (("edge_density", edge_density), ("skip_density", skip_density)):
        if not 0 <= p <= 1:
            raise GraphError(f"random_layered: {label} must be in [0, 1], got {p!r}")
    rng = random.Random(f"random_layered/{n}/{width}/{edge_density}/{skip_density}/{seed}")
    mean = max(1.0, 1.5 * width * n ** 0.5)
    levels: list[list[int]] = [[0]]
    nxt = 1
    while nxt < n - 2:  # nodes n - 2 (collector) and n - 1 (sink) come last
        size = min(n - 2 - nxt, max(1, round(rng.uniform(0.25, 1.75) * mean)))
        levels.append(list(range(nxt, nxt + size)))
        nxt += size
    preds: list[set[int]] = [set() for _ in range(n)]
    for li in range(1, len(levels)):
        before = levels[li - 1]
        p_skip = min(1.0, 4 * skip_density / (li - 1)) if li > 1 else 0.0
        for v in levels[li]:
            preds[v] = {u for u in before if rng.random() < edge_density} or {rng.choice(before)}
            preds[v].update(rng.choice(levels[lj]) for lj in range(li - 1) if rng.random() < p_skip)
    read = {u for ps in preds for u in ps}
    preds[n - 2] = {u for u in range(n - 2) if u not in read} or {n - 3}
    preds[n - 1] = {n - 2}
    cost = {v: 0 if v in (0, n - 1) else rng.randrange(0, 999) for v in range(n)}
    mem = {v: 10 * rng.randrange(1, 819) for v in range(n)}
    edges = [(u, v) for v in range(n) for u in sorted(preds[v])]
    return Graph.from_edges(edges, cost=cost, mem=mem, name=f"random_layered_n{n}_s{seed}", order=range(n))


GENERATORS: dict[str, Callable[..., Graph]] = {"random_layered": random_layered, "unet": unet, "linear": linear}


def from_spec(spec: str) -> Graph:
    """A generated graph from ``NAME[:key=value,...]``; values are ints or floats.

    >>> from_spec("linear:depth=3").n
    7
    >>> from_spec("random_layered:n=50,seed=3") == random_layered(50, seed=3)
    True
    """
    name, _, rest = spec.partition(":")
    if name not in GENERATORS:
        raise GraphError(f"unknown generator {name!r} in {spec!r}; known: {', '.join(sorted(GENERATORS))}")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        key, eq, raw = item.partition("=")
        if not eq:
            raise GraphError(f"generator spec {spec!r}: expected key=value, got {item!r}")
        try:
            kwargs[key.strip()] = int(raw)
        except ValueError:
            try:
                kwargs[key.strip()] = float(raw)
            except ValueError:
                raise GraphError(f"generator spec {spec!r}: {key.strip()} must be a number, got {raw!r}") from None
    try:
        return GENERATORS[name](**kwargs)
    except TypeError as exc:
        raise GraphError(f"generator spec {spec!r}: {exc}") from None


EXAMPLES = {"unet": lambda: unet(4), "linear": lambda: linear(8)}
