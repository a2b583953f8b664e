"""Pictures of schedules: memory over the computations, retention intervals, Pareto curves.

The data behind each picture comes from a replay (:func:`memory_trace`,
:func:`retention_intervals`), so what is drawn is what the verifier measured,
not what a solver claimed. Drawing needs matplotlib (``pip install
"remat[plot]"``); it is imported only when a picture is drawn, and files are
written with the Agg backend, so no display is needed.

>>> from remat.generators import linear
>>> from remat.schedule import schedule_from_computes
>>> g = linear(2)
>>> s = schedule_from_computes(g, list(range(g.n)))
>>> t = memory_trace(g, s)
>>> len(t.memory) == g.n, t.recompute.count(True)
(True, 0)
>>> fig = plot_memory(g, s, budget=3000)
>>> [line.get_label() for line in fig.axes[0].get_lines()]
['memory', 'budget 3,000 B']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from remat.errors import RematError, ScheduleFormatError
from remat.graph import Graph
from remat.schedule import Schedule
from remat.verify import BAD_OP, MISSING_INPUT, NOT_RESIDENT, UNKNOWN_NODE, ALREADY_RESIDENT, verify

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg", ".pdf")
KINDS = ("memory", "gantt")
_BROKEN = {UNKNOWN_NODE, MISSING_INPUT, ALREADY_RESIDENT, NOT_RESIDENT, BAD_OP}  # replay is meaningless


class PlotError(RematError):
    """A picture cannot be drawn: matplotlib missing, an unknown output format or kind."""


@dataclass(frozen=True)
class MemoryTrace:
    """Memory while each computation runs, from a replay of the schedule.

    ``memory[k]`` is the number of bytes resident during the ``k``-th
    computation (inputs, the new output and everything kept for later), the
    quantity a budget bounds; ``recompute[k]`` is true when that computation
    is not the node's first.

    Parameters
    ----------
    node : tuple of str
        The node computed by each computation.
    memory : tuple of int
        Bytes resident during each computation.
    recompute : tuple of bool
        True where the computation is a recomputation.
    """

    node: tuple[str, ...]
    memory: tuple[int, ...]
    recompute: tuple[bool, ...]

    @property
    def peak(self) -> int:
        """The highest memory of any computation (0 for no computation)."""
        return max(self.memory, default=0)


@dataclass(frozen=True)
class Retention:
    """One retention interval: ``node`` is resident over computations ``[start, end)``.

    Parameters
    ----------
    node : str
        The node whose output is resident.
    start, end : int
        The computation that makes it resident, and one past the last computation it stays for.
    recompute : bool
        True when the interval starts with a recomputation.
    """

    node: str
    start: int
    end: int
    recompute: bool


def _replay(graph: Graph, schedule: Schedule):
    if schedule.graph != graph.name:
        raise ScheduleFormatError(f"schedule is for graph {schedule.graph!r}, not {graph.name!r}")
    report = verify(graph, schedule, budget=None)
    broken = [v for v in report.violations if v.kind in _BROKEN]
    if broken:
        raise ScheduleFormatError(f"schedule does not replay on graph {graph.name!r}: {broken[0]}")
    return report


def memory_trace(graph: Graph, schedule: Schedule) -> MemoryTrace:
    """Replay ``schedule`` and return the memory during each of its computations.

    A schedule over some budget replays fine and can be drawn: the picture shows
    where it goes over.

    Parameters
    ----------
    graph : Graph
    schedule : Schedule
        A schedule of ``graph`` (same name).

    Returns
    -------
    MemoryTrace
        One entry per compute step, from the verifier's replay.

    Raises
    ------
    ScheduleFormatError
        When the schedule is for another graph or does not replay (unknown node,
        missing input, computing a resident node, freeing one that is not, an
        unknown op).

    Examples
    --------
    >>> from remat.graph import Graph
    >>> from remat.schedule import schedule_from_computes
    >>> g = Graph.from_edges([("a", "b"), ("b", "c"), ("a", "c")],
    ...                      cost={"a": 1, "b": 1, "c": 1}, mem={"a": 4, "b": 2, "c": 1})
    >>> t = memory_trace(g, schedule_from_computes(g, [0, 1, 2]))
    >>> t.node, t.memory, t.peak
    (('a', 'b', 'c'), (4, 6, 7), 7)
    >>> memory_trace(g, schedule_from_computes(g, [0, 1, 0, 2])).recompute
    (False, False, True, False)
    >>> memory_trace(g, schedule_from_computes(g, [0, 2, 1]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    remat.errors.ScheduleFormatError: schedule does not replay on graph 'graph': step 1: missing-input: ...
    """
    report = _replay(graph, schedule)
    nodes, memory, recompute = [], [], []
    seen: set[str] = set()
    for step, after in zip(schedule.steps, report.memory_profile):
        if step.op == "compute":
            nodes.append(step.node)
            memory.append(after)
            recompute.append(step.node in seen)
            seen.add(step.node)
    return MemoryTrace(tuple(nodes), tuple(memory), tuple(recompute))


def retention_intervals(graph: Graph, schedule: Schedule) -> list[Retention]:
    """Each computation's tensor and the computations it stays resident for.

    Computation ``k`` occupies slot ``[k, k+1)``; a tensor computed at ``k``
    and freed after computation ``j`` is resident over ``[k, j+1)``; one never
    freed stays to the end.

    Parameters
    ----------
    graph : Graph
    schedule : Schedule
        A schedule of ``graph`` (same name).

    Returns
    -------
    list of Retention
        One interval per computation, by start, then node id.

    Raises
    ------
    ScheduleFormatError
        When the schedule is for another graph or does not replay (as :func:`memory_trace`).

    Examples
    --------
    >>> from remat.graph import Graph
    >>> from remat.schedule import schedule_from_computes
    >>> g = Graph.from_edges([("a", "b"), ("b", "c"), ("a", "c")],
    ...                      cost={"a": 1, "b": 1, "c": 1}, mem={"a": 4, "b": 2, "c": 1})
    >>> [(r.node, r.start, r.end) for r in retention_intervals(g, schedule_from_computes(g, [0, 1, 2]))]
    [('a', 0, 3), ('b', 1, 3), ('c', 2, 3)]
    """
    _replay(graph, schedule)
    open_: dict[str, tuple[int, bool]] = {}
    seen: set[str] = set()
    out: list[Retention] = []
    k = 0
    for step in schedule.steps:
        if step.op == "compute":
            open_[step.node] = (k, step.node in seen)
            seen.add(step.node)
            k += 1
        else:
            start, again = open_.pop(step.node)
            out.append(Retention(step.node, start, k, again))
    out.extend(Retention(v, start, k, again) for v, (start, again) in open_.items())
    return sorted(out, key=lambda r: (r.start, r.node))


# ------------------------------------------------------------------ drawing
def _axes(ax: "Axes | None", size: tuple[float, float]) -> "tuple[Figure, Axes]":
    if ax is not None:
        return ax.figure, ax
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError('drawing needs matplotlib: pip install "remat[plot]"') from None
    # A bare Figure on an Agg canvas: no pyplot, no global backend, no display needed.
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _bytes_axis(axis: Any) -> None:
    from matplotlib.ticker import EngFormatter
    axis.set_major_formatter(EngFormatter(unit="B"))


def plot_memory(graph: Graph, schedule: Schedule, budget: int | None = None, *, ax: "Axes | None" = None,
                label: str = "memory", color: str | None = None) -> "Figure":
    """Memory during each computation, the budget as a dashed line, recomputations marked.

    Pass ``ax`` to draw several schedules on one axes (each call adds its own
    trace; a budget already drawn is not drawn again).

    Parameters
    ----------
    graph : Graph
    schedule : Schedule
        A schedule of ``graph``.
    budget : int, optional
        The budget line in bytes; default the schedule's own claim, none if it has none.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure (Agg canvas, no display needed).
    label : str, optional
        Legend label of this trace.
    color : str, optional
        Matplotlib color of this trace; default the axes' next color.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.

    Raises
    ------
    ScheduleFormatError
        When the schedule does not replay on ``graph`` (see :func:`memory_trace`).
    PlotError
        When matplotlib is not installed.

    Examples
    --------
    >>> from remat.generators import linear
    >>> from remat.schedule import schedule_from_computes
    >>> g = linear(2)
    >>> fig = plot_memory(g, schedule_from_computes(g, list(range(g.n))), label="no remat")
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_lines()[0].get_label()
    ('computation', 'no remat')
    """
    trace = memory_trace(graph, schedule)
    budget = schedule.budget if budget is None else budget
    overlay = ax is not None and bool(ax.get_lines())
    fig, ax = _axes(ax, (8, 3.6))
    x = range(1, len(trace.memory) + 1)
    (line,) = ax.step(x, trace.memory, where="mid", label=label, color=color, linewidth=1.4)
    ax.fill_between(x, trace.memory, step="mid", alpha=0.15, color=line.get_color())
    again = [(k + 1, m) for k, (m, r) in enumerate(zip(trace.memory, trace.recompute)) if r]
    if again:
        marked = any(c.get_label().startswith("recomputation") for c in ax.collections)
        ax.scatter(*zip(*again), marker="v", color="tab:red", zorder=3,
                   label=None if marked else "recomputation")
    if budget is not None and not any(getattr(h, "_remat_budget", None) == budget for h in ax.get_lines()):
        b = ax.axhline(budget, color="black", linestyle="--", linewidth=1, label=f"budget {budget:,} B")
        b._remat_budget = budget  # type: ignore[attr-defined]
    ax.set_xlabel("computation")
    ax.set_ylabel("resident memory")
    _bytes_axis(ax.yaxis)
    top = max([trace.peak, budget or 0] + [max(line.get_ydata(), default=0) for line in ax.get_lines()])
    ax.set_ylim(0, 1.1 * top or 1)
    ax.set_xlim(0.5, max([len(trace.memory)] + [len(line.get_xdata()) for line in ax.get_lines()]) + 0.5)
    ax.set_title(f"{graph.name}: memory during each computation" if overlay
                 else f"{graph.name}: {len(trace.memory)} computations, peak {trace.peak:,} B")
    ax.legend(loc="lower right", fontsize="small", framealpha=0.9)
    return fig


def plot_gantt(graph: Graph, schedule: Schedule, *, ax: "Axes | None" = None) -> "Figure":
    """Retention intervals: one row per node (graph order), one bar per computation's tensor.

    First computations are blue, recomputations orange; a bar spans the
    computations during which the tensor is resident.

    Parameters
    ----------
    graph : Graph
    schedule : Schedule
        A schedule of ``graph``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure sized to the number of nodes.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ScheduleFormatError
        When the schedule does not replay on ``graph`` (see :func:`retention_intervals`).
    PlotError
        When matplotlib is not installed.

    Examples
    --------
    >>> from remat.generators import linear
    >>> from remat.schedule import schedule_from_computes
    >>> g = linear(2)
    >>> fig = plot_gantt(g, schedule_from_computes(g, list(range(g.n))))
    >>> len(fig.axes[0].patches) == g.n   # one bar per computation
    True
    """
    bars = retention_intervals(graph, schedule)
    rows = {v: i for i, v in enumerate(graph.ids)}
    fig, ax = _axes(ax, (8, max(2.5, 0.18 * graph.n + 1)))
    for again, color, name in ((False, "tab:blue", "first computation"), (True, "tab:orange", "recomputation")):
        spans = [r for r in bars if r.recompute is again]
        if spans:
            ax.barh([rows[r.node] for r in spans], [r.end - r.start for r in spans],
                    left=[r.start for r in spans], height=0.7, color=color, label=name)
    ax.set_yticks(range(graph.n), labels=graph.ids, fontsize="x-small" if graph.n > 30 else "small")
    ax.set_ylim(graph.n - 0.4, -0.6)
    ax.set_xlabel("computation")
    ax.set_xlim(0, max((r.end for r in bars), default=1))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(f"{graph.name}: retention intervals")
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)  # training graphs leave that corner empty
    return fig


def plot_pareto(budgets: Sequence[int], tdis: Sequence[float | None], *, peak: int | None = None,
                optimal: Sequence[bool] | None = None, ax: "Axes | None" = None, label: str | None = None) -> "Figure":
    """Compute overhead (TDI %) against memory budget, one point per solve.

    ``tdis[k]`` is None where no schedule was found (infeasible or a limit);
    those budgets are marked on the x axis. With ``peak`` the x axis is in
    percent of the no-remat peak. ``optimal[k]`` false draws a hollow marker
    (an incumbent without proof).

    Parameters
    ----------
    budgets : sequence of int
        Budgets in bytes, one per solve.
    tdis : sequence of float or None
        The total duration increase in percent at each budget, None for no schedule.
    peak : int, optional
        The no-remat peak in bytes; with it the x axis is in percent of it.
    optimal : sequence of bool, optional
        Whether each point is proven optimal; default all.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (to compare several curves); default a new figure.
    label : str, optional
        Legend label of this curve.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    PlotError
        When the sequences differ in length, or matplotlib is not installed.

    Examples
    --------
    >>> fig = plot_pareto([80, 90, 100], [5.0, 1.0, 0.0], peak=100)
    >>> fig.axes[0].get_xlabel()
    'budget (% of no-remat peak)'
    >>> plot_pareto([80, 90], [1.0])
    Traceback (most recent call last):
    ...
    remat.plot.PlotError: plot_pareto: budgets, tdis (and optimal) must have the same length
    """
    if len(budgets) != len(tdis) or (optimal is not None and len(optimal) != len(budgets)):
        raise PlotError("plot_pareto: budgets, tdis (and optimal) must have the same length")
    fig, ax = _axes(ax, (6, 3.6))
    scale = (lambda b: 100 * b / peak) if peak else (lambda b: b)
    pts = sorted((scale(b), t, True if optimal is None else bool(o))
                 for b, t, o in zip(budgets, tdis, optimal if optimal is not None else [True] * len(budgets)))
    found = [(x, t, o) for x, t, o in pts if t is not None]
    (line,) = ax.plot([x for x, _, _ in found], [t for _, t, _ in found], "-", label=label, linewidth=1.2)
    c = line.get_color()
    ax.scatter([x for x, _, o in found if o], [t for _, t, o in found if o], color=c, zorder=3)
    hollow = [(x, t) for x, t, o in found if not o]
    if hollow:
        ax.scatter(*zip(*hollow), facecolors="white", edgecolors=c, zorder=3, label="not proven optimal")
    none = [x for x, t, _ in pts if t is None]
    if none:
        ax.scatter(none, [0] * len(none), marker="x", color="tab:red", zorder=3, clip_on=False, label="no schedule")
    ax.set_xlabel("budget (% of no-remat peak)" if peak else "budget")
    if not peak:
        _bytes_axis(ax.xaxis)
    ax.set_ylabel("TDI (%)")
    ax.set_ylim(bottom=min(0, *(t for _, t, _ in found)) if found else 0)
    ax.grid(alpha=0.3)
    if label or hollow or none:
        ax.legend(fontsize="small")
    return fig


def check_output(path: str | Path) -> Path:
    """``path`` as a Path if a picture can be written there, else :class:`PlotError` naming why.

    Checked before a long solve, so that a bad output path fails at once.

    Parameters
    ----------
    path : str or Path
        The picture file to write.

    Returns
    -------
    Path

    Raises
    ------
    PlotError
        When the suffix is not ``.png``, ``.svg`` or ``.pdf``, or the folder does not exist.

    Examples
    --------
    >>> check_output("fig.txt")
    Traceback (most recent call last):
    ...
    remat.plot.PlotError: cannot write 'fig.txt': the file name must end in .png, .svg, .pdf
    """
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise PlotError(f"cannot write {str(p)!r}: the file name must end in {', '.join(FORMATS)}")
    if not p.parent.is_dir():
        raise PlotError(f"cannot write {str(p)!r}: folder {str(p.parent)!r} does not exist")
    return p


def save(fig: "Figure", path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path``; the format comes from the suffix (``.png``, ``.svg``, ``.pdf``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure from :func:`plot_memory`, :func:`plot_gantt` or :func:`plot_pareto`.
    path : str or Path
        The file to write.
    dpi : int, optional
        Resolution of a ``.png``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    PlotError
        When ``path`` fails :func:`check_output` (wrong suffix, missing folder).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = plot_pareto([80, 100], [2.0, 0.0], peak=100)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(fig, pathlib.Path(tmp, "pareto.svg")).stat().st_size > 0
    True
    """
    p = check_output(path)
    fig.savefig(p, dpi=dpi)
    return p
