"""Compute graphs: load, validate, normalise.

A :class:`Graph` is immutable. Its nodes are stored in a topological order
(the one the input gives, else networkx's), so node *index* ``i`` is the
``i``-th node of that order; node *ids* are the strings of the input file.

Three JSON dialects are read and detected automatically (see
``docs/formats.md``):

* ``remat``: our node-link JSON, node fields ``id``, ``cost``, ``mem`` and
  optionally ``name`` and ``recomputable``; edges under ``links`` (or
  ``edges``) as ``{"source": u, "target": v}``; optional ``graph.order``,
  and ``graph.fixed_order: true`` when that order must be kept (a traced
  program whose multi-output operators run as one).
* ``random-layered`` (the Moccasin paper's generator): node fields ``name``
  (the id), ``duration``, ``out_cost``; edges as ``{"0": u, "1": v}``;
  ``graph.order``.
* ``checkmate``: node fields ``id``, ``name`` (a label), ``cost_cpu``,
  ``cost_ram``; edges as ``{"source": u, "target": v}``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from remat.errors import GraphError

Number = int | float


@dataclass(frozen=True)
class Graph:
    """An immutable compute graph, nodes in topological order.

    Build one with :meth:`from_edges`, :meth:`from_networkx`, :func:`load_graph`
    or :func:`graph_from_json`, which validate their input and name what is
    wrong; the constructor itself takes node indices and checks only that every
    edge follows the node order.

    Parameters
    ----------
    name : str
        The graph's name; a schedule names the graph it belongs to.
    ids : tuple of str
        Node ids, in topological order: node index ``i`` is ``ids[i]``.
    cost : tuple of int or float
        Cost of computing each node (the objective sums it over computations).
    mem : tuple of int
        Size in bytes of each node's output.
    preds : tuple of tuple of int
        The input node indices of each node, each smaller than the node's own.
    labels : tuple of str or None, optional
        A display label per node (an operator name); default none.
    recomputable : tuple of bool, optional
        False where a node may be computed only once; default all true.
    fixed_order : bool, optional
        True when the node order is part of the program and solves must keep it.

    Raises
    ------
    GraphError
        When an edge goes against the node order or names a negative index.

    Examples
    --------
    >>> g = Graph.from_edges([("a", "b"), ("b", "c")], cost={"a": 1, "b": 2, "c": 3},
    ...                      mem={"a": 10, "b": 20, "c": 30}, name="chain")
    >>> g.n, g.ids, g.total_cost
    (3, ('a', 'b', 'c'), 6)
    >>> no_remat_peak(g), min_budget(g)
    (50, 50)
    """

    name: str
    ids: tuple[str, ...]
    cost: tuple[Number, ...]
    mem: tuple[int, ...]
    preds: tuple[tuple[int, ...], ...]
    labels: tuple[str | None, ...] = ()
    recomputable: tuple[bool, ...] = ()
    fixed_order: bool = False  # the order is part of the program: solves keep it (see remat.strategies)
    succs: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)
    index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not self.labels:
            object.__setattr__(self, "labels", (None,) * n)
        if not self.recomputable:
            object.__setattr__(self, "recomputable", (True,) * n)
        # The edges as arrays, sorted by source for the successor lists (numpy: sequential memory, not
        # n growing lists), kept for the memory model (see _edge_arrays).
        counts = np.fromiter(map(len, self.preds), dtype=np.int64, count=n)
        src = np.fromiter(itertools.chain.from_iterable(self.preds), dtype=np.int64, count=int(counts.sum()))
        dst = np.repeat(np.arange(n, dtype=np.int64), counts)
        wrong = (src >= dst) | (src < 0)
        if wrong.any():
            k = int(wrong.argmax())  # the first, by target then as listed
            u, v = int(src[k]), int(dst[k])
            if u < 0:
                raise GraphError(f"graph {self.name!r}: node {self.ids[v]} has an input index {u} < 0")
            raise GraphError(f"graph {self.name!r}: edge {self.ids[u]} -> {self.ids[v]} goes against the node order")
        by_source = dst[np.argsort(src, kind="stable")].tolist()
        bounds = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=n)))).tolist()
        object.__setattr__(self, "succs", tuple(tuple(by_source[a:b]) for a, b in zip(bounds, bounds[1:])))
        object.__setattr__(self, "index", dict(zip(self.ids, range(n))))
        self.__dict__["_edges_np"] = (src, dst)

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def num_edges(self) -> int:
        """Number of edges (a repeated edge of the input counts once)."""
        return sum(len(p) for p in self.preds)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """Edges as (source index, target index) pairs."""
        return [(u, v) for v, ps in enumerate(self.preds) for u in ps]

    @property
    def total_cost(self) -> Number:
        """Sum of all node costs: the objective of a schedule without recomputation."""
        return sum(self.cost)

    def to_networkx(self) -> nx.DiGraph:
        """A networkx DiGraph keyed by node id, with ``cost``, ``mem``, ``name`` attributes.

        Also ``recomputable`` per node, and ``name``, ``order`` and ``fixed_order`` as graph
        attributes; nodes are added in the graph's order, so :meth:`from_networkx` rebuilds the same graph.

        Returns
        -------
        networkx.DiGraph

        Examples
        --------
        >>> g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 2}, mem={"a": 3, "b": 4})
        >>> G = g.to_networkx()
        >>> G.nodes["b"]["mem"], Graph.from_networkx(G) == g
        (4, True)
        """
        g = nx.DiGraph(name=self.name, order=list(self.ids), **({"fixed_order": True} if self.fixed_order else {}))
        for i, v in enumerate(self.ids):
            g.add_node(v, cost=self.cost[i], mem=self.mem[i], name=self.labels[i],
                       recomputable=self.recomputable[i])
        g.add_edges_from((self.ids[u], self.ids[v]) for u, v in self.edges)
        return g

    def to_json(self) -> dict[str, Any]:
        """The graph in the ``remat`` node-link dialect (round-trips through :func:`load_graph`).

        Returns
        -------
        dict
            JSON-ready: ``nodes``, ``links`` and ``graph`` (name, order, and ``fixed_order`` when set).

        Examples
        --------
        >>> g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 2}, mem={"a": 3, "b": 4})
        >>> graph_from_json(g.to_json()) == g
        True
        """
        nodes = []
        for i, v in enumerate(self.ids):
            node: dict[str, Any] = {"id": v, "cost": self.cost[i], "mem": self.mem[i]}
            if self.labels[i] is not None:
                node["name"] = self.labels[i]
            if not self.recomputable[i]:
                node["recomputable"] = False
            nodes.append(node)
        links = [{"source": self.ids[u], "target": self.ids[v]} for u, v in self.edges]
        meta: dict[str, Any] = {"name": self.name, "order": list(self.ids)}
        if self.fixed_order:
            meta["fixed_order"] = True
        return {"directed": True, "multigraph": False, "graph": meta,
                "nodes": nodes, "links": links}

    def reordered(self, order: Sequence[int]) -> "Graph":
        """The same graph with its nodes in ``order`` (node indices, a topological order): same ids,
        costs, sizes and edges, so a schedule of one is a schedule of the other; only the order that
        order-bound models (the paper's stage restriction) follow changes.

        Parameters
        ----------
        order : sequence of int
            Every node index once, each node after its inputs.

        Returns
        -------
        Graph
            The reordered graph, with the same name.

        Raises
        ------
        GraphError
            When ``order`` does not list each node index once, or is not topological.

        Examples
        --------

        >>> g = Graph.from_edges([("a", "c"), ("b", "c")], cost={"a": 1, "b": 2, "c": 3}, mem={"a": 1, "b": 1, "c": 1})
        >>> g.reordered([1, 0, 2]).ids
        ('b', 'a', 'c')
        >>> g.reordered([2, 0, 1])
        Traceback (most recent call last):
        remat.errors.GraphError: graph 'graph': edge a -> c goes against the node order
        """
        if sorted(order) != list(range(self.n)):
            raise GraphError(f"order must list each of the {self.n} node indices once")
        position = {v: i for i, v in enumerate(order)}
        # Graph() itself rejects an edge that goes against the new order.
        return Graph(name=self.name, ids=tuple(self.ids[v] for v in order),
                     cost=tuple(self.cost[v] for v in order), mem=tuple(self.mem[v] for v in order),
                     preds=tuple(tuple(sorted(position[u] for u in self.preds[v])) for v in order),
                     labels=tuple(self.labels[v] for v in order),
                     recomputable=tuple(self.recomputable[v] for v in order), fixed_order=self.fixed_order)

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (JSON, indented); :func:`load_graph` reads it back.

        Parameters
        ----------
        path : str or Path
            The file to write; its folder must exist.

        Raises
        ------
        OSError
            When the file cannot be written.
        """
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")

    # ----------------------------------------------------------- constructors
    @classmethod
    def from_networkx(cls, g: nx.DiGraph, *, cost: str = "cost", mem: str = "mem",
                      order: Sequence[Any] | None = None, name: str | None = None) -> "Graph":
        """Build from a networkx DiGraph whose nodes carry ``cost`` and ``mem`` attributes.

        Node ids become strings; an optional ``name`` attribute becomes the label and
        ``recomputable`` is read as in the JSON dialect. The graph attribute
        ``fixed_order`` is kept.

        Parameters
        ----------
        g : networkx.DiGraph
            The graph; it must be acyclic.
        cost, mem : str, optional
            The node attributes holding each node's cost and output size in bytes.
        order : sequence, optional
            A topological order of the nodes (their networkx keys); default: of the
            nodes ready at each point, the one networkx lists first.
        name : str, optional
            The graph's name; default ``g.graph["name"]``, else ``"graph"``.

        Returns
        -------
        Graph

        Raises
        ------
        GraphError
            When ``g`` is not a simple directed graph, a node lacks a field or has a negative,
            non-finite or (for ``mem``) fractional value, ``order`` is not a topological order
            of the nodes, or the graph has a cycle (named).

        Examples
        --------
        >>> G = nx.DiGraph(); G.add_node(0, cost=1, mem=4); G.add_node(1, cost=2, mem=8)
        >>> G.add_edge(0, 1)
        >>> Graph.from_networkx(G, name="two").ids
        ('0', '1')
        """
        if not isinstance(g, nx.DiGraph) or g.is_multigraph():
            raise GraphError("expected a networkx DiGraph (not a multigraph or undirected graph)")
        nodes = [(v, {"cost": d[cost] if cost in d else MISSING, "mem": d[mem] if mem in d else MISSING,
                      "name": d.get("name"), "recomputable": d.get("recomputable", True)})
                 for v, d in g.nodes(data=True)]
        return _build(name=name or g.graph.get("name") or "graph", nodes=nodes, edges=list(g.edges()),
                      order=order, fields={"cost": cost, "mem": mem}, fixed_order=g.graph.get("fixed_order", False))

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[Any, Any]], *, cost: Mapping[Any, Number],
                   mem: Mapping[Any, int], name: str = "graph",
                   order: Sequence[Any] | None = None) -> "Graph":
        """Build from an edge list and per-node ``cost`` / ``mem`` mappings (their keys are the nodes).

        Parameters
        ----------
        edges : iterable of (node, node)
            ``(source, target)`` pairs; a repeated edge counts once.
        cost : mapping
            Node -> cost of computing it (a non-negative number).
        mem : mapping
            Node -> size of its output in bytes (a non-negative integer).
        name : str, optional
            The graph's name.
        order : sequence, optional
            A topological order of the nodes; default: of the nodes ready at each
            point, the one given first (in ``cost``, then ``mem``) comes first.

        Returns
        -------
        Graph
            Node ids are the nodes as strings.

        Raises
        ------
        GraphError
            When a node lacks a cost or a size, a value is negative, non-finite or (for
            ``mem``) fractional, an edge names an unknown node or loops on one, ``order``
            is not a topological order, or the graph has a cycle (named).

        Examples
        --------
        >>> Graph.from_edges([("x", "y")], cost={"x": 1, "y": 1}, mem={"x": 2, "y": 3}).preds
        ((), (0,))
        >>> Graph.from_edges([("x", "y"), ("y", "x")], cost={"x": 1, "y": 1}, mem={"x": 2, "y": 3})
        Traceback (most recent call last):
        remat.errors.GraphError: graph 'graph' has a cycle: x -> y -> x
        """
        nodes = [(v, {"cost": cost.get(v, MISSING), "mem": mem.get(v, MISSING)}) for v in dict.fromkeys([*cost, *mem])]
        return _build(name=name, nodes=nodes, edges=list(edges), order=order)


# ---------------------------------------------------------------- validation
def _num(node: str, fieldname: str, value: Any, *, integer: bool) -> Number:
    kind = type(value)
    if kind is int and value >= 0:  # the common cases first; anything else takes the checks below
        return value
    if kind is float and value >= 0 and math.isfinite(value) and (not integer or value.is_integer()):
        return int(value) if integer else value
    where = f"node {node!r}: field {fieldname!r}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise GraphError(f"{where} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphError(f"{where} must be finite, got {value!r}")
    if value < 0:
        raise GraphError(f"{where} must be >= 0, got {value!r}")
    if integer:
        if isinstance(value, Integral):
            return int(value)
        if float(value).is_integer():
            return int(value)
        raise GraphError(f"{where} must be an integer number of bytes, got {value!r}")
    if isinstance(value, Integral):
        return int(value)
    return float(value)


MISSING = object()  # a node field absent from the input


def _build(*, name: str, nodes: list[tuple[Any, dict[str, Any]]], edges: list[tuple[Any, Any]],
           order: Sequence[Any] | None, fields: Mapping[str, str] | None = None, fixed_order: Any = False) -> Graph:
    """Validate raw nodes ``(id, {"cost", "mem", "name", "recomputable"})``, edges and the order.

    ``fields`` maps ``cost`` and ``mem`` to the input's own field names, for error messages.
    Linear in nodes + edges (a repeated edge counts once), except the default order, which takes
    ``log n`` more: of the nodes ready at each point, the one given first comes first.
    """
    fields = fields or {"cost": "cost", "mem": "mem"}
    if not isinstance(fixed_order, bool):
        raise GraphError(f"graph {name!r}: 'graph.fixed_order' must be true or false, got {fixed_order!r}")
    if not nodes:
        raise GraphError(f"graph {name!r} is empty: it has no nodes")
    ids: list[str] = []
    position: dict[str, int] = {}  # id -> place in the input
    costs: list[Number] = []
    mems: list[int] = []
    labels: list[str | None] = []
    recs: list[bool] = []
    for raw_id, a in nodes:
        vid = str(raw_id)
        if vid in position:
            raise GraphError(f"duplicate node id {vid!r}")
        position[vid] = len(ids)
        for key in ("cost", "mem"):
            if a[key] is MISSING:
                raise GraphError(f"node {vid!r}: missing field {fields[key]!r}")
        costs.append(_num(vid, fields["cost"], a["cost"], integer=False))
        mems.append(_num(vid, fields["mem"], a["mem"], integer=True))
        rec = a.get("recomputable", True)
        if not isinstance(rec, bool):
            raise GraphError(f"node {vid!r}: field 'recomputable' must be true or false, got {rec!r}")
        label = a.get("name")
        labels.append(None if label is None else str(label))
        recs.append(rec)
        ids.append(vid)
    n = len(ids)
    succ: list[list[int]] = [[] for _ in range(n)]  # by input position, in the order edges first appear
    seen_edges: set[int] = set()
    for raw_u, raw_v in edges:
        u, v = str(raw_u), str(raw_v)
        iu, iv = position.get(u), position.get(v)
        if iu is None or iv is None:
            raise GraphError(f"edge {u} -> {v}: unknown node {u if iu is None else v!r}")
        if iu == iv:
            raise GraphError(f"self-loop on node {u!r}")
        key = iu * n + iv
        if key not in seen_edges:
            seen_edges.add(key)
            succ[iu].append(iv)
    topo_positions = _topological_positions(name, ids, succ)
    if order is None:
        topo = topo_positions
    else:
        topo_ids = [str(v) for v in order]
        if len(topo_ids) != len(set(topo_ids)):
            raise GraphError("order lists a node twice")
        extra = set(topo_ids) - position.keys()
        if extra:
            raise GraphError(f"order names unknown node {sorted(extra)[0]!r}")
        if len(topo_ids) != n:
            missing = position.keys() - set(topo_ids)
            raise GraphError(f"order does not list node {sorted(missing)[0]!r}")
        topo = [position[v] for v in topo_ids]
        place = [0] * n
        for i, p in enumerate(topo):
            place[p] = i
        for iu in range(n):
            for iv in succ[iu]:
                if place[iu] > place[iv]:
                    raise GraphError(f"order is not a topological order: {ids[iv]!r} comes before "
                                     f"its input {ids[iu]!r}")
    new_index = [0] * n
    for i, p in enumerate(topo):
        new_index[p] = i
    preds: list[list[int]] = [[] for _ in range(n)]
    for iu in range(n):
        for iv in succ[iu]:
            preds[new_index[iv]].append(new_index[iu])
    return Graph(name=name, ids=tuple(ids[p] for p in topo), cost=tuple(costs[p] for p in topo),
                 mem=tuple(mems[p] for p in topo), preds=tuple(tuple(sorted(ps)) for ps in preds),
                 labels=tuple(labels[p] for p in topo), recomputable=tuple(recs[p] for p in topo),
                 fixed_order=fixed_order)


def _topological_positions(name: str, ids: Sequence[str], succ: Sequence[Sequence[int]]) -> list[int]:
    """Kahn's algorithm, the ready node given first first; raises GraphError naming a cycle if there is one."""
    n = len(ids)
    waiting = [0] * n
    for vs in succ:
        for v in vs:
            waiting[v] += 1
    ready = [v for v in range(n) if not waiting[v]]  # sorted: a valid heap
    topo: list[int] = []
    while ready:
        u = heapq.heappop(ready)
        topo.append(u)
        for v in succ[u]:
            waiting[v] -= 1
            if not waiting[v]:
                heapq.heappush(ready, v)
    if len(topo) < n:
        raise GraphError(f"graph {name!r} has a cycle: {' -> '.join(ids[v] for v in _a_cycle(succ, waiting))}")
    return topo


def _a_cycle(succ: Sequence[Sequence[int]], waiting: Sequence[int]) -> list[int]:
    """A cycle among the nodes Kahn's algorithm left (``waiting[v] > 0``), closed: ``[a, ..., a]``.

    Each left node has an input among the left nodes, so walking from input to input repeats a node.
    """
    inputs: dict[int, int] = {}
    for u, vs in enumerate(succ):
        if waiting[u]:
            for v in vs:
                if waiting[v]:
                    inputs.setdefault(v, u)
    walk, at = [], min(inputs)
    seen: dict[int, int] = {}
    while at not in seen:
        seen[at] = len(walk)
        walk.append(at)
        at = inputs[at]
    cycle = walk[seen[at]:][::-1]  # the walk went against the edges
    first = cycle.index(min(cycle))
    cycle = cycle[first:] + cycle[:first]
    return cycle + cycle[:1]


# ------------------------------------------------------------------- loading
DIALECT_FIELDS = {
    "remat": {"id": "id", "cost": "cost", "mem": "mem"},
    "random-layered": {"id": "name", "cost": "duration", "mem": "out_cost"},
    "checkmate": {"id": "id", "cost": "cost_cpu", "mem": "cost_ram"},
}


def _is_mapping(x: Any) -> bool:
    return type(x) is dict or isinstance(x, Mapping)  # the check against the ABC is slow: parsed JSON is dicts


def detect_dialect(data: Mapping[str, Any]) -> str:
    """Name the dialect of a parsed graph JSON object (see module docstring).

    Parameters
    ----------
    data : mapping
        Parsed graph JSON.

    Returns
    -------
    str
        ``"checkmate"`` when a node has ``cost_cpu`` or ``cost_ram``,
        ``"random-layered"`` when one has ``duration`` or ``out_cost``, else ``"remat"``.

    Examples
    --------
    >>> detect_dialect({"nodes": [{"name": "0", "duration": 3, "out_cost": 10}]})
    'random-layered'
    """
    keys: set[str] = set()
    for node in data.get("nodes", []):
        if _is_mapping(node):
            keys.update(node)
    if keys & {"cost_cpu", "cost_ram"}:
        return "checkmate"
    if keys & {"duration", "out_cost"}:
        return "random-layered"
    return "remat"


def graph_from_json(data: Any, *, source: str = "<json>") -> Graph:
    """Validate and build a Graph from parsed JSON in any supported dialect.

    The dialect (``remat``, ``random-layered`` or ``checkmate``; see the module
    docstring) is detected from the node fields.

    Parameters
    ----------
    data : object
        The parsed JSON: an object with ``nodes`` and ``links`` (or ``edges``),
        optionally ``graph`` with ``name``, ``order`` and ``fixed_order``.
    source : str, optional
        Where ``data`` came from, for error messages; its stem names the graph
        when ``graph.name`` is absent.

    Returns
    -------
    Graph

    Raises
    ------
    GraphError
        When the structure is wrong (a missing or mistyped key), a node lacks a
        field or has a bad value, an edge names an unknown node, the order is not
        topological, or the graph has a cycle; the message names the node, field
        or cycle.

    Examples
    --------
    >>> g = graph_from_json({"nodes": [{"id": "a", "cost": 1, "mem": 4}, {"id": "b", "cost": 2, "mem": 8}],
    ...                      "links": [{"source": "a", "target": "b"}], "graph": {"name": "ab"}})
    >>> g.name, g.ids, g.mem
    ('ab', ('a', 'b'), (4, 8))
    >>> graph_from_json({"nodes": [{"id": "a", "cost": -1, "mem": 4}], "links": []})
    Traceback (most recent call last):
    remat.errors.GraphError: node 'a': field 'cost' must be >= 0, got -1
    """
    if not isinstance(data, Mapping):
        raise GraphError(f"{source}: top level must be a JSON object, got {type(data).__name__}")
    if "nodes" not in data:
        raise GraphError(f"{source}: missing 'nodes'")
    nodes_raw = data["nodes"]
    if not isinstance(nodes_raw, list):
        raise GraphError(f"{source}: 'nodes' must be a list")
    edge_key = "links" if "links" in data else "edges" if "edges" in data else None
    if edge_key is None:
        raise GraphError(f"{source}: missing 'links' (or 'edges')")
    links = data[edge_key]
    if not isinstance(links, list):
        raise GraphError(f"{source}: '{edge_key}' must be a list")
    meta = data.get("graph", {})
    if not isinstance(meta, Mapping):
        raise GraphError(f"{source}: 'graph' must be an object")
    dialect = detect_dialect(data)
    f = DIALECT_FIELDS[dialect]
    nodes = []
    for k, node in enumerate(nodes_raw):
        if not _is_mapping(node):
            raise GraphError(f"{source}: node #{k} must be an object")
        if f["id"] not in node:
            raise GraphError(f"node #{k}: missing field {f['id']!r}")
        vid = node[f["id"]]
        if not isinstance(vid, (str, int)) or isinstance(vid, bool):
            raise GraphError(f"node #{k}: field {f['id']!r} must be a string or integer, got {vid!r}")
        attrs = {"cost": node.get(f["cost"], MISSING), "mem": node.get(f["mem"], MISSING),
                 "recomputable": node.get("recomputable", True),
                 "name": node.get("name") if dialect != "random-layered" else None}
        nodes.append((vid, attrs))
    edges = []
    for k, link in enumerate(links):
        if _is_mapping(link) and "source" in link and "target" in link:
            edges.append((link["source"], link["target"]))
        elif _is_mapping(link) and "0" in link and "1" in link:
            edges.append((link["0"], link["1"]))
        else:
            raise GraphError(f"{source}: link #{k} needs 'source' and 'target' (or '0' and '1')")
    for u, v in edges:
        for end in (u, v):
            if not isinstance(end, (str, int)) or isinstance(end, bool):
                raise GraphError(f"{source}: edge endpoint {end!r} must be a node id")
    order = meta.get("order")
    if order is not None and not isinstance(order, list):
        raise GraphError(f"{source}: 'graph.order' must be a list of node ids")
    name = meta.get("name") or Path(source).stem
    return _build(name=str(name), nodes=nodes, edges=edges, order=order, fields=f,
                  fixed_order=meta.get("fixed_order", False))


def load_graph(path: str | Path) -> Graph:
    """Read a graph JSON file in any supported dialect (see :func:`graph_from_json`).

    Parameters
    ----------
    path : str or Path
        The JSON file.

    Returns
    -------
    Graph
        Named by ``graph.name`` in the file, else by the file's stem.

    Raises
    ------
    GraphError
        With a one-line message on any problem: the file cannot be read, is not
        valid JSON (line and column named), or is not a valid graph.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "chain.json")
    ...     Graph.from_edges([(0, 1)], cost={0: 1, 1: 1}, mem={0: 2, 1: 3}, name="chain").save(path)
    ...     load_graph(path).ids
    ('0', '1')
    >>> load_graph("no/such/file.json")
    Traceback (most recent call last):
    remat.errors.GraphError: cannot read graph file 'no/such/file.json': No such file or directory
    """
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read graph file {str(p)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GraphError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise GraphError(f"{p}: JSON nested too deeply") from None
    return graph_from_json(data, source=str(p))


# -------------------------------------------------------------- memory model
def no_remat_peak(graph: Graph, order: Sequence[int] | None = None) -> int:
    """Peak memory of computing each node once in ``order`` (node indices; default the graph's).

    The paper's memory model: while v computes, its inputs, its output and every
    tensor still needed later are resident; a tensor is freed right after its
    last use. Budgets given as fractions are fractions of this peak.

    Parameters
    ----------
    graph : Graph
    order : sequence of int, optional
        Distinct node indices, each after its inputs; default the graph's order.

    Returns
    -------
    int
        The peak in bytes (0 for an empty ``order``).

    Raises
    ------
    ValueError
        When ``order`` names an index outside the graph, lists a node twice, or
        lists a node before one of its inputs.

    Examples
    --------
    >>> g = Graph.from_edges([(0, 1), (0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> no_remat_peak(g)
    15
    """
    return max(no_remat_profile(graph, order), default=0)


def no_remat_profile(graph: Graph, order: Sequence[int] | None = None) -> list[int]:
    """Memory while each node computes, each once, in ``order`` (default the graph's): the memory
    model of :func:`no_remat_peak`, step by step.

    ``order`` lists distinct node indices, with every input of a listed node listed before it.
    Linear in nodes + edges (numpy).

    Parameters
    ----------
    graph : Graph
    order : sequence of int, optional
        Default the graph's order.

    Returns
    -------
    list of int
        ``profile[k]``: bytes resident while the ``k``-th listed node computes.

    Raises
    ------
    ValueError
        When ``order`` names an index outside the graph, lists a node twice, or
        lists a node before (or without) one of its inputs.

    Examples
    --------
    >>> g = Graph.from_edges([(0, 1), (0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> no_remat_profile(g)
    [5, 12, 15]
    >>> h = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 100})
    >>> no_remat_profile(h, [2, 0, 1])  # node 2, read by nobody, is freed right after it computes
    [100, 5, 12]
    """
    src, dst = _edge_arrays(graph)
    mem = _mem_array(graph)
    if order is None:
        seq = np.arange(graph.n)
    else:
        seq = np.asarray(order, dtype=np.int64).reshape(-1)
        if seq.size and (seq.min() < 0 or seq.max() >= graph.n):
            raise ValueError(f"order names a node index outside 0..{graph.n - 1}")
    k = seq.size
    pos = np.full(graph.n, -1, dtype=np.int64)
    pos[seq] = np.arange(k)
    if k and (pos[seq] != np.arange(k)).any():
        raise ValueError("order lists a node twice")
    read = pos[dst] >= 0  # edges into the listed nodes
    if (pos[src[read]] < 0).any() or (pos[src[read]] > pos[dst[read]]).any():
        raise ValueError("order lists a node before (or without) one of its inputs")
    last = pos.copy()  # node -> position of its last use
    np.maximum.at(last, src[read], pos[dst[read]])
    sizes = mem[seq]
    dies = np.zeros(k + 1, dtype=sizes.dtype)  # bytes freed right after each position
    np.add.at(dies, last[seq], sizes)
    freed_before = np.concatenate((np.zeros(1, dtype=sizes.dtype), np.cumsum(dies[:-1])))[:k]
    return (np.cumsum(sizes) - freed_before).tolist()


def min_budget(graph: Graph) -> int:
    """The smallest budget any schedule can fit: max over v of mem(v) plus its inputs' mems.

    Computing v needs its inputs and its output resident at once, so no budget
    below this has a schedule; solves reject such budgets up front.

    Parameters
    ----------
    graph : Graph

    Returns
    -------
    int
        The bound in bytes.

    Examples
    --------
    >>> g = Graph.from_edges([(0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> min_budget(g)
    15
    """
    src, dst = _edge_arrays(graph)
    mem = _mem_array(graph)
    need = mem.copy()
    np.add.at(need, dst, mem[src])
    return int(need.max())


def _edge_arrays(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Sources and targets of every edge, as int64 arrays, by target then as in ``graph.preds`` (cached on the
    graph: a frozen dataclass keeps no such field, so they live in its ``__dict__``, outside equality)."""
    cached = graph.__dict__.get("_edges_np")
    if cached is None:
        counts = np.fromiter((len(ps) for ps in graph.preds), dtype=np.int64, count=graph.n)
        dst = np.repeat(np.arange(graph.n, dtype=np.int64), counts)
        src = np.fromiter(itertools.chain.from_iterable(graph.preds), dtype=np.int64, count=int(counts.sum()))
        cached = graph.__dict__["_edges_np"] = (src, dst)
    return cached


def pred_csr(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """The inputs of every node as two int64 arrays (compressed rows, cached on the graph): the inputs of
    node ``v`` are ``inputs[indptr[v]:indptr[v + 1]]``, in the order of ``graph.preds[v]``.

    >>> g = Graph.from_edges([(0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> indptr, inputs = pred_csr(g)
    >>> indptr.tolist(), inputs.tolist()
    ([0, 0, 0, 2], [0, 1])
    """
    src, _ = _edge_arrays(graph)
    cached = graph.__dict__.get("_indptr_np")
    if cached is None:
        counts = np.fromiter((len(ps) for ps in graph.preds), dtype=np.int64, count=graph.n)
        cached = graph.__dict__["_indptr_np"] = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(counts)))
    return cached, src


def _mem_array(graph: Graph) -> np.ndarray:
    """Node sizes as int64, or as Python ints (dtype object) when their sum could overflow int64."""
    cached = graph.__dict__.get("_mem_np")
    if cached is None:
        exact = sum(graph.mem) < 2**62
        cached = graph.__dict__["_mem_np"] = np.array(graph.mem, dtype=np.int64 if exact else object)
    return cached
