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

import json
import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import networkx as nx

from remat.errors import GraphError

Number = int | float


@dataclass(frozen=True)
class Graph:
    """An immutable compute graph, nodes in topological order.

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
        succs: list[list[int]] = [[] for _ in range(n)]
        for v, ps in enumerate(self.preds):
            for u in ps:
                if not u < v:
                    raise GraphError(f"graph {self.name!r}: edge {self.ids[u]} -> {self.ids[v]} "
                                     "goes against the node order")
                succs[u].append(v)
        object.__setattr__(self, "succs", tuple(tuple(s) for s in succs))
        object.__setattr__(self, "index", {v: i for i, v in enumerate(self.ids)})

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def num_edges(self) -> int:
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
        """A networkx DiGraph keyed by node id, with ``cost``, ``mem``, ``name`` attributes."""
        g = nx.DiGraph(name=self.name, order=list(self.ids), **({"fixed_order": True} if self.fixed_order else {}))
        for i, v in enumerate(self.ids):
            g.add_node(v, cost=self.cost[i], mem=self.mem[i], name=self.labels[i],
                       recomputable=self.recomputable[i])
        g.add_edges_from((self.ids[u], self.ids[v]) for u, v in self.edges)
        return g

    def to_json(self) -> dict[str, Any]:
        """The graph in the ``remat`` node-link dialect (round-trips through :func:`load_graph`)."""
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
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")

    # ----------------------------------------------------------- constructors
    @classmethod
    def from_networkx(cls, g: nx.DiGraph, *, cost: str = "cost", mem: str = "mem",
                      order: Sequence[Any] | None = None, name: str | None = None) -> "Graph":
        """Build from a networkx DiGraph whose nodes carry ``cost`` and ``mem`` attributes.

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
        """Build from an edge list and per-node ``cost`` / ``mem`` mappings (their keys are the nodes)."""
        nodes = [(v, {"cost": cost.get(v, MISSING), "mem": mem.get(v, MISSING)}) for v in dict.fromkeys([*cost, *mem])]
        return _build(name=name, nodes=nodes, edges=list(edges), order=order)


# ---------------------------------------------------------------- validation
def _num(node: str, fieldname: str, value: Any, *, integer: bool) -> Number:
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
    """
    fields = fields or {"cost": "cost", "mem": "mem"}
    if not isinstance(fixed_order, bool):
        raise GraphError(f"graph {name!r}: 'graph.fixed_order' must be true or false, got {fixed_order!r}")
    if not nodes:
        raise GraphError(f"graph {name!r} is empty: it has no nodes")
    ids: list[str] = []
    seen: set[str] = set()
    attrs: dict[str, dict[str, Any]] = {}
    for raw_id, a in nodes:
        vid = str(raw_id)
        if vid in seen:
            raise GraphError(f"duplicate node id {vid!r}")
        seen.add(vid)
        for key in ("cost", "mem"):
            if a[key] is MISSING:
                raise GraphError(f"node {vid!r}: missing field {fields[key]!r}")
        cost = _num(vid, fields["cost"], a["cost"], integer=False)
        mem = _num(vid, fields["mem"], a["mem"], integer=True)
        rec = a.get("recomputable", True)
        if not isinstance(rec, bool):
            raise GraphError(f"node {vid!r}: field 'recomputable' must be true or false, got {rec!r}")
        label = a.get("name")
        attrs[vid] = {"cost": cost, "mem": mem, "name": None if label is None else str(label), "rec": rec}
        ids.append(vid)
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    for raw_u, raw_v in edges:
        u, v = str(raw_u), str(raw_v)
        for end in (u, v):
            if end not in seen:
                raise GraphError(f"edge {u} -> {v}: unknown node {end!r}")
        if u == v:
            raise GraphError(f"self-loop on node {u!r}")
        g.add_edge(u, v)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = [e[0] for e in cycle] + [cycle[0][0]]
        raise GraphError(f"graph {name!r} has a cycle: {' -> '.join(path)}")
    if order is None:
        position = {v: i for i, v in enumerate(ids)}
        topo = list(nx.lexicographical_topological_sort(g, key=position.__getitem__))
    else:
        topo = [str(v) for v in order]
        if len(topo) != len(set(topo)):
            raise GraphError("order lists a node twice")
        missing = seen - set(topo)
        extra = set(topo) - seen
        if extra:
            raise GraphError(f"order names unknown node {sorted(extra)[0]!r}")
        if missing:
            raise GraphError(f"order does not list node {sorted(missing)[0]!r}")
        pos = {v: i for i, v in enumerate(topo)}
        for u, v in g.edges():
            if pos[u] > pos[v]:
                raise GraphError(f"order is not a topological order: {v!r} comes before its input {u!r}")
    index = {v: i for i, v in enumerate(topo)}
    preds = tuple(tuple(sorted(index[u] for u in g.predecessors(v))) for v in topo)
    return Graph(name=name, ids=tuple(topo), cost=tuple(attrs[v]["cost"] for v in topo),
                 mem=tuple(attrs[v]["mem"] for v in topo), preds=preds,
                 labels=tuple(attrs[v]["name"] for v in topo),
                 recomputable=tuple(attrs[v]["rec"] for v in topo), fixed_order=fixed_order)


# ------------------------------------------------------------------- loading
DIALECT_FIELDS = {
    "remat": {"id": "id", "cost": "cost", "mem": "mem"},
    "random-layered": {"id": "name", "cost": "duration", "mem": "out_cost"},
    "checkmate": {"id": "id", "cost": "cost_cpu", "mem": "cost_ram"},
}


def detect_dialect(data: Mapping[str, Any]) -> str:
    """Name the dialect of a parsed graph JSON object (see module docstring)."""
    keys: set[str] = set()
    for node in data.get("nodes", []):
        if isinstance(node, Mapping):
            keys.update(node)
    if keys & {"cost_cpu", "cost_ram"}:
        return "checkmate"
    if keys & {"duration", "out_cost"}:
        return "random-layered"
    return "remat"


def graph_from_json(data: Any, *, source: str = "<json>") -> Graph:
    """Validate and build a Graph from parsed JSON in any supported dialect."""
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
        if not isinstance(node, Mapping):
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
        if isinstance(link, Mapping) and "source" in link and "target" in link:
            edges.append((link["source"], link["target"]))
        elif isinstance(link, Mapping) and "0" in link and "1" in link:
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
    """Read a graph JSON file in any supported dialect.

    Raises :class:`~remat.errors.GraphError` with a one-line message on any problem.
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
    last use.

    >>> g = Graph.from_edges([(0, 1), (0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> no_remat_peak(g)
    15
    """
    return max(no_remat_profile(graph, order), default=0)


def no_remat_profile(graph: Graph, order: Sequence[int] | None = None) -> list[int]:
    """Memory while each node computes, each once, in ``order`` (default the graph's): the memory
    model of :func:`no_remat_peak`, step by step.

    >>> g = Graph.from_edges([(0, 1), (0, 2), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 3})
    >>> no_remat_profile(g)
    [5, 12, 15]
    >>> h = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1, 2: 1}, mem={0: 5, 1: 7, 2: 100})
    >>> no_remat_profile(h, [2, 0, 1])  # node 2, read by nobody, is freed right after it computes
    [100, 5, 12]
    """
    seq = list(range(graph.n)) if order is None else list(order)
    pos = {v: i for i, v in enumerate(seq)}
    last_use = dict(pos)  # node -> position of its last use
    for v in seq:
        for u in graph.preds[v]:
            last_use[u] = max(last_use[u], pos[v])
    live = 0
    profile = []
    dies_at: dict[int, int] = {}
    for i, v in enumerate(seq):
        live += graph.mem[v]
        profile.append(live)
        dies_at[last_use[v]] = dies_at.get(last_use[v], 0) + graph.mem[v]
        live -= dies_at.pop(i, 0)
    return profile


def min_budget(graph: Graph) -> int:
    """The smallest budget any schedule can fit: max over v of mem(v) plus its inputs' mems."""
    return max(graph.mem[v] + sum(graph.mem[u] for u in graph.preds[v]) for v in range(graph.n))
