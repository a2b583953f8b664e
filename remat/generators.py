"""Graph generators, deterministic by their arguments.

* :func:`training_graph`: the joint forward + backward graph of any forward DAG,
  Checkmate-style (each gradient node reads the gradients of its forward
  node's consumers and the forward node's inputs and output);
* :func:`linear` and :func:`unet`: Checkmate-style training graphs of any depth;
* :func:`random_layered`: random layered DAGs of the family the Moccasin
  paper benchmarks on (Gagrani et al. 2022, Appendix A), seeded;
* :func:`transformer`: the op-level training graph of a decoder-only
  transformer, node for node what ``remat extract --consume-grads`` gives
  for one built from ``torch.nn`` (see its docstring);
* :func:`from_spec`: any of these from a short text spec, as ``remat bench``
  takes them (``random_layered:n=500,seed=1``, ``unet:depth=4``,
  ``transformer:layers=160,d=1024,seq=2048``).

>>> g = unet(depth=2)
>>> g.n, g.num_edges
(11, 25)
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Sequence

from remat.errors import GraphError
from remat.graph import Graph
from remat.generators_transformer import transformer


def training_graph(name: str, forward: Sequence[tuple[str, int, int, Sequence[str]]],
                   grad_cost_factor: int = 2) -> Graph:
    """Joint forward + backward graph from forward nodes ``(id, cost, mem, inputs)`` in topological order.

    A ``loss`` node reads the last forward node; each forward node ``f`` gets a
    gradient node ``grad_f`` (cost ``grad_cost_factor * cost(f)``, the size of
    ``f``'s output) that reads ``f``'s inputs, ``f`` itself and the gradient of
    every consumer of ``f`` (the loss for the last node).

    Parameters
    ----------
    name : str
        The graph's name.
    forward : sequence of (str, int, int, sequence of str)
        Forward nodes ``(id, cost, mem, inputs)`` in topological order; the last
        one feeds the loss. Ids must not be ``loss`` or start with ``grad_``.
    grad_cost_factor : int, optional
        Cost of a gradient node relative to its forward node.

    Returns
    -------
    Graph
        ``2 len(forward) + 1`` nodes in the order forward, ``loss``, gradients
        from the last forward node back to the first.

    Raises
    ------
    GraphError
        When a node is listed twice, an input is listed after its consumer, or a
        cost or size is negative or not a number.
    KeyError
        When an input is not a forward node at all (``forward`` is trusted input
        from the generators, not a user file).

    Examples
    --------
    >>> g = training_graph("mlp", [("x", 1, 8, []), ("h", 2, 4, ["x"])])
    >>> g.ids
    ('x', 'h', 'loss', 'grad_h', 'grad_x')
    >>> [g.ids[u] for u in g.preds[g.index["grad_x"]]], g.cost[g.index["grad_h"]]
    (['x', 'grad_h'], 4)
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
    """Training graph of a chain of ``depth`` equal layers (Checkmate's linear benchmark).

    Parameters
    ----------
    depth : int, optional
        Number of forward layers (at least 1).
    mem : int, optional
        Output size of every layer and its gradient, in bytes.
    cost : int, optional
        Cost of a forward layer; a gradient costs twice as much.

    Returns
    -------
    Graph
        ``2 depth + 1`` nodes named ``f0 .. f{depth-1}``, ``loss``, ``grad_f{depth-1} .. grad_f0``;
        the graph is named ``linear{depth}``.

    Raises
    ------
    GraphError
        When ``mem`` or ``cost`` is negative.

    Examples
    --------
    >>> g = linear(3)
    >>> g.name, g.n, g.ids[:4]
    ('linear3', 7, ('f0', 'f1', 'f2', 'loss'))
    """
    fwd = [(f"f{i}", cost, mem, [f"f{i - 1}"] if i else []) for i in range(depth)]
    return training_graph(f"linear{depth}", fwd)


def unet(depth: int = 3, *, base_mem: int = 1 << 20, base_cost: int = 100) -> Graph:
    """Training graph of a U-Net: ``depth`` encoder levels, a bottleneck, ``depth`` decoder levels
    with skip connections; activations halve in size (and cost) per level down.

    ``unet(4)`` is the bundled example of ``remat solve --example unet``.

    Parameters
    ----------
    depth : int, optional
        Encoder (and decoder) levels.
    base_mem : int, optional
        Output size in bytes at the top level; level ``i`` has ``base_mem // 2**i``.
    base_cost : int, optional
        Cost of every forward node; a gradient costs twice as much.

    Returns
    -------
    Graph
        Forward nodes ``enc0 ..``, ``bottleneck``, ``.. dec0``, then ``loss`` and a
        gradient per forward node; the graph is named ``unet{depth}``.

    Raises
    ------
    GraphError
        When ``base_mem`` or ``base_cost`` is negative.

    Examples
    --------
    >>> g = unet(1, base_mem=8)
    >>> g.ids[:4], g.mem[:3]
    (('enc0', 'bottleneck', 'dec0', 'loss'), (8, 4, 8))
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


def random_layered(n: int = 250, *, width: float | None = None, level_variability: float = 0.75,
                   edge_density: float = 0.2, skip_density: float = 0.14, order: str = "random",
                   seed: int = 0) -> Graph:
    """A random layered DAG of ``n`` nodes, deterministic by its arguments.

    The family of the Moccasin paper's RL graphs: the generator of Gagrani et
    al. 2022 (Neural Topological Ordering, Appendix A), whose parameters the
    published files carry in their names (``..._n250_w0.43_nlv0.75_ed0.2_scd0.14``):

    * **levels**: node ``"0"`` alone (the source), then levels of sizes drawn
      uniformly from ``n/L (1 -+ level_variability)`` with ``L = ceil(sqrt(n
      (1/width - 1)))`` levels expected, then node ``"1"`` alone (the sink).
      ``width`` defaults to a draw from U(0.25, 0.5), as in the family (the
      published RL1 and RL2 have 0.27 and 0.43);
    * **level to level**: between consecutive levels of sizes a and b,
      ``int(a b edge_density + (1 - edge_density) max(a, b))`` edges, spread
      evenly over the larger level, each node linked to a contiguous window of
      the smaller level around its proportional position, so every node has
      an input and an output;
    * **skips**: ``ceil(E skip_density / (1 - skip_density))`` more edges (E the
      level-to-level count) from a random level to one at least two further
      on, between nodes at nearby relative positions (``x`` and ``x + 0.2 U``).

    Output sizes are the least of three uniform draws on 10..8180 in steps of
    10 (a law skewed to small tensors, chosen to match the size distribution of
    the published RL1 and RL2 files), durations uniform on 0..998, source and
    sink cost 0. The order is a random topological order (``order="random"``,
    uniform among the ready nodes: the published files' ``graph.order`` has the
    peaks of such orders), or level by level (``order="levels"``, a lower peak
    and harder budgets).

    Parameters
    ----------
    n : int, optional
        Number of nodes, at least 4 (the source, the sink and two levels).
    width : float, optional
        In (0, 1): larger gives fewer, wider levels; default drawn from U(0.25, 0.5).
    level_variability : float, optional
        In [0, 1]: how much level sizes vary around their mean.
    edge_density : float, optional
        In [0, 1]: the share of all level-to-level pairs linked (beyond one edge per node).
    skip_density : float, optional
        In [0, 1): the share of edges that skip at least one level.
    order : {"random", "levels"}, optional
        The node order of the graph.
    seed : int, optional
        Seeds the draws; the same arguments give the same graph.

    Returns
    -------
    Graph
        Node ids ``"0"`` .. ``str(n - 1)``, named after its parameters as the
        published files are (plus ``_s{seed}``).

    Raises
    ------
    GraphError
        When a parameter is out of its range or ``order`` is not ``"random"`` or ``"levels"``.

    Examples
    --------
    >>> g = random_layered(100, seed=1)
    >>> g.n, g == random_layered(100, seed=1), g == random_layered(100, seed=2)
    (100, True, False)
    >>> all(m % 10 == 0 and 10 <= m <= 8180 for m in g.mem)
    True
    >>> g.ids[0], g.ids[-1], g.name
    ('0', '1', 'random_layered_n100_w0.35_nlv0.75_ed0.2_scd0.14_s1')
    >>> random_layered(3)
    Traceback (most recent call last):
    remat.errors.GraphError: random_layered: n must be an integer >= 4, got 3
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 4:
        raise GraphError(f"random_layered: n must be an integer >= 4, got {n!r}")
    if width is not None and not 0 < width < 1:
        raise GraphError(f"random_layered: width must be in (0, 1), got {width!r}")
    for label, p in (("level_variability", level_variability), ("edge_density", edge_density)):
        if not 0 <= p <= 1:
            raise GraphError(f"random_layered: {label} must be in [0, 1], got {p!r}")
    if not 0 <= skip_density < 1:
        raise GraphError(f"random_layered: skip_density must be in [0, 1), got {skip_density!r}")
    if order not in ("random", "levels"):
        raise GraphError(f"random_layered: order must be 'random' or 'levels', got {order!r}")
    rng = random.Random(f"random_layered/{n}/{width}/{level_variability}/{edge_density}/{skip_density}/{seed}")
    if width is None:
        width = round(rng.uniform(0.25, 0.5), 2)
    levels = _layered_levels(n, width, level_variability, rng)
    preds: dict[int, set[int]] = {v: set() for level in levels for v in level}
    for before, after in zip(levels, levels[1:]):
        for u, v in _window_edges(before, after, edge_density, rng):
            preds[v].add(u)
    level_edges = sum(map(len, preds.values()))
    inner = len(levels) - 1  # the sink's level takes no skips, as in the family
    for _ in range(math.ceil(level_edges * skip_density / (1 - skip_density)) if inner >= 3 else 0):
        ls = rng.randrange(inner - 2)
        lt = rng.randrange(ls + 2, inner)
        xs = rng.random()
        xt = min(xs + 0.2 * rng.random(), 0.999)
        preds[levels[lt][int(xt * len(levels[lt]))]].add(levels[ls][int(xs * len(levels[ls]))])
    cost = {v: 0 if v in (0, 1) else rng.randrange(0, 999) for v in preds}
    mem = {v: 10 * min(rng.randrange(1, 819) for _ in range(3)) for v in preds}
    sequence = [v for level in levels for v in level] if order == "levels" else _random_topological_order(preds, rng)
    edges = [(u, v) for v in sequence for u in sorted(preds[v])]
    name = f"random_layered_n{n}_w{width:.2f}_nlv{level_variability:g}_ed{edge_density:g}_scd{skip_density:g}_s{seed}"
    return Graph.from_edges(edges, cost=cost, mem=mem, name=name, order=sequence)


def _layered_levels(n: int, width: float, variability: float, rng: random.Random) -> list[list[int]]:
    """Node ids by level: ``[[0], middle levels of nodes 2..n-1, [1]]`` (Gagrani et al., Algorithm 1)."""
    expected = math.ceil(math.sqrt(n * (1 / width - 1)))
    low = max(1, math.ceil(n / expected * (1 - variability)))
    high = max(low, math.floor(n / expected * (1 + variability)))
    levels, nxt = [[0]], 2
    while nxt < n:
        size = min(n - nxt, rng.randint(low, high))
        levels.append(list(range(nxt, nxt + size)))
        nxt += size
    levels.append([1])
    return levels


def _window_edges(a: list[int], b: list[int], density: float, rng: random.Random) -> list[tuple[int, int]]:
    """Edges from level ``a`` to the next level ``b`` (Gagrani et al., Algorithm 2).

    Each node of the larger level gets an even share of the edges (shares
    differ by at most one), as a window of consecutive nodes of the smaller
    level centred on its proportional position; the centres cover the smaller
    level, so no node is left without an input or an output.
    """
    large, small = (a, b) if len(a) >= len(b) else (b, a)
    total = min(len(a) * len(b), int(len(a) * len(b) * density + (1 - density) * len(large)))
    share, extra = divmod(total, len(large))
    lucky = set(rng.sample(range(len(large)), extra))
    edges = []
    for i, v in enumerate(large):
        count = share + (i in lucky)
        centre = round(i * (len(small) - 1) / (len(large) - 1)) if len(large) > 1 else 0
        start = min(max(0, centre - (count - 1) // 2), len(small) - count)
        for u in small[start:start + count]:
            edges.append((v, u) if large is a else (u, v))
    return edges


def _random_topological_order(preds: dict[int, set[int]], rng: random.Random) -> list[int]:
    """Kahn's algorithm choosing uniformly among the ready nodes."""
    waiting = {v: len(ps) for v, ps in preds.items()}
    succs: dict[int, list[int]] = {v: [] for v in preds}
    for v in sorted(preds):
        for u in sorted(preds[v]):
            succs[u].append(v)
    ready = sorted(v for v, k in waiting.items() if k == 0)
    sequence = []
    while ready:
        v = ready.pop(rng.randrange(len(ready)))
        sequence.append(v)
        for w in succs[v]:
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
    return sequence


GENERATORS: dict[str, Callable[..., Graph]] = {"random_layered": random_layered, "unet": unet, "linear": linear,
                                               "transformer": transformer}


def from_spec(spec: str) -> Graph:
    """A generated graph from ``NAME[:key=value,...]``; values are ints or floats.

    This is how ``remat bench`` and benchmark grids name generated graphs.

    Parameters
    ----------
    spec : str
        A generator name (``random_layered``, ``unet``, ``linear``,
        ``transformer``), then optionally ``:`` and comma-separated keyword
        arguments of that generator.

    Returns
    -------
    Graph

    Raises
    ------
    GraphError
        When the generator is unknown, an item is not ``key=value``, a value is
        not a number, a keyword is not the generator's, or the generator rejects
        a value.

    Examples
    --------
    >>> from_spec("linear:depth=3").n
    7
    >>> from_spec("random_layered:n=50,seed=3") == random_layered(50, seed=3)
    True
    >>> from_spec("linear:layers=3")
    Traceback (most recent call last):
    remat.errors.GraphError: generator spec 'linear:layers=3': linear() got an unexpected keyword argument 'layers'
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
