"""Schedules: ordered compute and free steps, and the ``remat-schedule/1`` file.

Semantics (see ``docs/formats.md``): ``compute v`` needs every input of v
resident and v not resident, and makes v resident; the memory of a compute
step counts every resident tensor including the new output; ``free v``
releases v. Schedules built here free each tensor as early as possible: right
after the last step that reads it before it is computed again.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from remat.errors import ScheduleFormatError
import numpy as np

from remat.graph import Graph, pred_csr

FORMAT = "remat-schedule/1"
STATUSES = ("optimal", "feasible")


@dataclass(frozen=True)
class Step:
    """One schedule step.

    Parameters
    ----------
    op : str
        ``"compute"`` (make the node's output resident) or ``"free"`` (release it).
    node : str
        A node id of the graph.

    Examples
    --------
    >>> Step("compute", "a")
    Step(op='compute', node='a')
    """

    op: str
    node: str


@dataclass(frozen=True)
class Schedule:
    """A sequence of steps plus the claims a ``remat-schedule/1`` file makes about it.

    ``objective``, ``peak_memory``, ``budget`` and ``status`` are claims: the
    verifier recomputes the first two and checks them.

    Parameters
    ----------
    graph : str
        The name of the graph the schedule is for.
    steps : tuple of Step
        The steps, in order.
    budget : int, optional
        The memory budget in bytes the schedule claims to fit.
    objective : int or float, optional
        The claimed total cost of its computations.
    peak_memory : int, optional
        The claimed peak memory in bytes.
    status : str, optional
        ``"optimal"`` or ``"feasible"``: what the solver proved.

    Examples
    --------
    >>> s = Schedule("g", (Step("compute", "a"), Step("free", "a")), budget=4)
    >>> s.computes, s.with_claims(objective=1).objective
    (['a'], 1)
    """

    graph: str
    steps: tuple[Step, ...]
    budget: int | None = None
    objective: float | int | None = None
    peak_memory: int | None = None
    status: str | None = None

    @property
    def computes(self) -> list[str]:
        """Node ids in compute order (a node appears once per computation)."""
        return [s.node for s in self.steps if s.op == "compute"]

    def with_claims(self, **claims: Any) -> "Schedule":
        """A copy with the given claims (``budget``, ``objective``, ``peak_memory``, ``status``) replaced."""
        return replace(self, **claims)

    def to_json(self) -> dict[str, Any]:
        """The schedule as a ``remat-schedule/1`` JSON object (what :func:`load_schedule` reads)."""
        return {"format": FORMAT, "graph": self.graph, "budget": self.budget,
                "objective": self.objective, "peak_memory": self.peak_memory,
                "status": self.status,
                "steps": [{"op": s.op, "node": s.node} for s in self.steps]}

    def save(self, path: str | Path) -> None:
        """Write the ``remat-schedule/1`` file atomically: a temporary file in the same folder, then a rename.

        Parameters
        ----------
        path : str or Path
            The file to write; its folder must exist.

        Raises
        ------
        OSError
            When the file cannot be written (the temporary file is removed).
        """
        write_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers never see a partial file."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def schedule_from_computes(graph: Graph, computes: Sequence[int], **claims: Any) -> Schedule:
    """Turn a compute sequence (node indices) into a Schedule with the earliest frees.

    Each computation of v is read by the computations of v's successors that
    come after it and before v's next computation; v is freed right after the
    last of those reads (right after its own computation if none reads it).
    The sequence is not checked: pass the result to :func:`remat.verify.verify`.

    Parameters
    ----------
    graph : Graph
    computes : sequence of int
        Node indices in compute order; a node appears once per computation.
    **claims
        ``budget``, ``objective``, ``peak_memory``, ``status``: stored on the schedule as claims.

    Returns
    -------
    Schedule
        For ``graph.name``: the computes, each followed by the frees it allows (by node index).

    Raises
    ------
    IndexError
        When ``computes`` names an index outside the graph.

    Examples
    --------
    >>> g = Graph.from_edges([(0, 1), (1, 2)], cost={0: 1, 1: 1, 2: 1}, mem={0: 1, 1: 1, 2: 1})
    >>> [(s.op, s.node) for s in schedule_from_computes(g, [0, 1, 2]).steps]
    [('compute', '0'), ('compute', '1'), ('free', '0'), ('compute', '2'), ('free', '1'), ('free', '2')]
    """
    n, positions = graph.n, np.asarray(computes, dtype=np.int64).reshape(-1)
    size = positions.size
    if size and (positions.min() < 0 or positions.max() >= n):
        bad = positions[(positions < 0) | (positions >= n)][0]
        raise IndexError(f"compute sequence names node index {bad}; graph {graph.name!r} has {n} nodes")
    # Every (reader position, input) pair, vectorised: the inputs of the node computed at each position.
    indptr, inputs = pred_csr(graph)
    counts = indptr[positions + 1] - indptr[positions]
    reader = np.repeat(np.arange(size), counts)
    first = np.repeat(indptr[positions] - (np.cumsum(counts) - counts), counts)
    read = inputs[first + np.arange(reader.size)]
    # The computation each pair reads is the input's latest one before the reader: the last
    # (node, position) key below the pair's in the sorted keys of all computations.
    by_node = np.lexsort((np.arange(size), positions))
    keys = positions[by_node] * size + by_node
    found = np.searchsorted(keys, read * size + reader) - 1
    hit = found >= 0
    hit[hit] = positions[by_node[found[hit]]] == read[hit]  # an input never computed before is read from nowhere
    last_read = np.arange(size)  # position of a computation -> last position reading it
    np.maximum.at(last_read, by_node[found[hit]], reader[hit])
    # Steps: each compute at its position, then the frees after it, by node index.
    at = np.concatenate((np.arange(size), last_read))
    kind = np.repeat(np.array([0, 1], dtype=np.int64), size)  # 0 compute, 1 free
    node = np.concatenate((positions, positions))
    events = np.lexsort((node, kind, at))
    table = _step_table(graph)
    steps = tuple(map(table.__getitem__, (2 * node[events] + kind[events]).tolist()))
    return Schedule(graph=graph.name, steps=steps, **claims)


def _step_table(graph: Graph) -> list[Step]:
    """``compute v`` at ``2 v`` and ``free v`` at ``2 v + 1``: steps are immutable, so one object per node and op
    serves every schedule of the graph (cached on it, outside its equality, like the arrays of remat.graph)."""
    table = graph.__dict__.get("_step_table")
    if table is None:
        table = graph.__dict__["_step_table"] = [Step(op, v) for v in graph.ids for op in ("compute", "free")]
    return table


def no_remat_schedule(graph: Graph, order: Iterable[int] | None = None) -> Schedule:
    """Each node once, in ``order`` (default the graph's), frees after last use.

    >>> g = Graph.from_edges([(0, 1)], cost={0: 1, 1: 1}, mem={0: 1, 1: 1})
    >>> no_remat_schedule(g).computes
    ['0', '1']
    """
    return schedule_from_computes(graph, list(range(graph.n)) if order is None else list(order))


def load_schedule(path: str | Path) -> Schedule:
    """Read a ``remat-schedule/1`` file (see ``docs/formats.md``).

    Only the format is checked; whether the steps are a valid schedule of a
    graph is the verifier's job (:func:`remat.verify.verify`).

    Parameters
    ----------
    path : str or Path
        The schedule file.

    Returns
    -------
    Schedule
        With the file's claims (budget, objective, peak memory, status).

    Raises
    ------
    ScheduleFormatError
        With a one-line message when the file cannot be read, is not valid JSON,
        or is not a ``remat-schedule/1`` object (wrong format tag, a malformed
        step, a claim of the wrong type, an unknown status, no graph name).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "s.json")
    ...     Schedule("g", (Step("compute", "a"),), budget=4).save(path)
    ...     load_schedule(path).steps
    (Step(op='compute', node='a'),)
    >>> load_schedule("no/such/schedule.json")
    Traceback (most recent call last):
    remat.errors.ScheduleFormatError: cannot read schedule file 'no/such/schedule.json': No such file or directory
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, 'strerror', None) or exc
        raise ScheduleFormatError(f"cannot read schedule file {str(p)!r}: {why}") from None
    except json.JSONDecodeError as exc:
        raise ScheduleFormatError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return schedule_from_json(data, source=str(p))


def schedule_from_json(data: Any, *, source: str = "<json>") -> Schedule:
    """A Schedule from a parsed ``remat-schedule/1`` object; ``source`` names it in errors.

    Raises :class:`~remat.errors.ScheduleFormatError` as :func:`load_schedule` does.

    >>> data = {"format": "remat-schedule/1", "graph": "g", "steps": [{"op": "compute", "node": "a"}]}
    >>> schedule_from_json(data).steps
    (Step(op='compute', node='a'),)
    >>> schedule_from_json({"format": "remat-schedule/0"})
    Traceback (most recent call last):
    remat.errors.ScheduleFormatError: <json>: 'format' must be 'remat-schedule/1', got 'remat-schedule/0'
    """
    if not isinstance(data, dict):
        raise ScheduleFormatError(f"{source}: top level must be a JSON object")
    if data.get("format") != FORMAT:
        raise ScheduleFormatError(f"{source}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list):
        raise ScheduleFormatError(f"{source}: 'steps' must be a list")
    steps = []
    for k, s in enumerate(steps_raw):
        if not isinstance(s, dict) or s.get("op") not in ("compute", "free") or not isinstance(s.get("node"), str):
            raise ScheduleFormatError(f"{source}: step #{k} must be "
                                      '{"op": "compute"|"free", "node": "<id>"}')
        steps.append(Step(s["op"], s["node"]))
    for key, kinds in (("budget", (int,)), ("peak_memory", (int,)), ("objective", (int, float))):
        val = data.get(key)
        if val is not None and (isinstance(val, bool) or not isinstance(val, kinds)
                                or (isinstance(val, float) and not math.isfinite(val))):
            raise ScheduleFormatError(f"{source}: {key!r} must be a number, got {val!r}")
    status = data.get("status")
    if status is not None and status not in STATUSES:
        raise ScheduleFormatError(f"{source}: 'status' must be one of {STATUSES}, got {status!r}")
    graph = data.get("graph")
    if not isinstance(graph, str):
        raise ScheduleFormatError(f"{source}: 'graph' must be the graph's name (a string)")
    return Schedule(graph=graph, steps=tuple(steps), budget=data.get("budget"),
                    objective=data.get("objective"), peak_memory=data.get("peak_memory"), status=status)
