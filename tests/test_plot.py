"""Pictures: the data they draw (checked by hand), the figures, and `remat plot`."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import remat  # noqa: E402
from remat.cli import main  # noqa: E402
from remat.errors import RematError, ScheduleFormatError  # noqa: E402
from remat.graph import Graph  # noqa: E402
from remat.plot import (PlotError, memory_trace, plot_gantt, plot_memory, plot_pareto,  # noqa: E402
                        retention_intervals, save)
from remat.schedule import Schedule, Step, schedule_from_computes  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def skip4() -> Graph:
    # a -> b -> c -> d and a -> d; within 12 bytes `a` must be recomputed before d.
    return Graph.from_edges([("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")], name="skip4",
                            cost={"a": 2, "b": 5, "c": 5, "d": 1}, mem={"a": 4, "b": 8, "c": 4, "d": 1})


@pytest.fixture
def recompute_a(skip4) -> Schedule:
    steps = [("compute", "a"), ("compute", "b"), ("free", "a"), ("compute", "c"), ("free", "b"),
             ("compute", "a"), ("compute", "d"), ("free", "a"), ("free", "c"), ("free", "d")]
    return Schedule(graph="skip4", steps=tuple(Step(op, v) for op, v in steps), budget=12)


def test_memory_trace_counts_what_is_resident_during_each_computation(skip4, recompute_a):
    t = memory_trace(skip4, recompute_a)
    # a=4; a+b=12; b+c=12; c+a=8; c+a+d=9 (worked out by hand)
    assert t.node == ("a", "b", "c", "a", "d")
    assert t.memory == (4, 12, 12, 8, 9)
    assert t.recompute == (False, False, False, True, False)
    assert t.peak == 12


def test_retention_intervals_by_hand(skip4, recompute_a):
    got = [(r.node, r.start, r.end, r.recompute) for r in retention_intervals(skip4, recompute_a)]
    assert got == [("a", 0, 2, False), ("b", 1, 3, False), ("c", 2, 5, False), ("a", 3, 5, True), ("d", 4, 5, False)]


def test_trace_of_a_solved_schedule_agrees_with_the_verifier():
    g = remat.generators.unet(3)
    r = remat.solve(g, int(0.85 * remat.no_remat_peak(g)), time_limit=20, threads=1)
    t = memory_trace(g, r.schedule)
    assert t.peak == r.report.peak_memory <= r.budget
    assert len(t.memory) == len(r.schedule.computes)
    assert t.recompute.count(True) == len(r.schedule.computes) - g.n
    spans = retention_intervals(g, r.schedule)
    for k, mem in enumerate(t.memory):  # the intervals covering computation k add up to its memory
        assert sum(g.mem[g.index[s.node]] for s in spans if s.start <= k < s.end) == mem


def test_a_schedule_that_does_not_replay_is_refused(skip4):
    bad = schedule_from_computes(skip4, [0, 2, 1, 3])  # c before its input b
    with pytest.raises(ScheduleFormatError, match="missing-input"):
        memory_trace(skip4, bad)
    with pytest.raises(ScheduleFormatError, match="for graph 'other'"):
        plot_gantt(skip4, Schedule(graph="other", steps=()))


def test_memory_figure_has_budget_line_and_recomputation_marks(skip4, recompute_a, tmp_path):
    fig = plot_memory(skip4, recompute_a)
    ax = fig.axes[0]
    budget_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert [tuple(ln.get_ydata()) for ln in budget_lines] == [(12, 12)]
    marks = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [tuple(map(tuple, c.get_offsets())) for c in marks] == [((4.0, 8.0),)]  # 4th computation, 8 bytes
    out = save(fig, tmp_path / "m.png", dpi=50)
    data = out.read_bytes()
    assert data.startswith(PNG) and int.from_bytes(data[16:20], "big") == 8 * 50  # width in pixels


def test_overlaying_two_schedules_keeps_one_budget_line(skip4, recompute_a):
    fig = plot_memory(skip4, schedule_from_computes(skip4, [0, 1, 2, 3]), budget=12, label="no remat")
    plot_memory(skip4, recompute_a, ax=fig.axes[0])
    lines = fig.axes[0].get_lines()
    assert sum(ln.get_linestyle() == "--" for ln in lines) == 1
    assert max(max(ln.get_ydata()) for ln in lines) == 16  # the no-remat trace peaks at 16


def test_gantt_draws_one_bar_per_computation(skip4, recompute_a):
    ax = plot_gantt(skip4, recompute_a).axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sorted((b.get_x(), b.get_width()) for b in bars) == [(0, 2), (1, 2), (2, 3), (3, 2), (4, 1)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]


def test_pareto_marks_budgets_without_schedule_and_checks_lengths(tmp_path):
    fig = plot_pareto([70, 80, 90, 100], [None, 5.0, 1.5, 0.0], peak=100, optimal=[True, True, False, True])
    ax = fig.axes[0]
    assert list(ax.get_lines()[0].get_xdata()) == [80, 90, 100]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "no schedule" in labels and "not proven optimal" in labels
    with pytest.raises(PlotError, match="same length"):
        plot_pareto([1, 2], [1.0])
    with pytest.raises(PlotError, match="must end in"):
        save(fig, tmp_path / "p.jpeg")
    assert issubclass(PlotError, RematError)


# ------------------------------------------------------------------ CLI
def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plot_memory_and_gantt(capsys, tmp_path, skip4, recompute_a):
    graph, sched = tmp_path / "g.json", tmp_path / "s.json"
    skip4.save(graph)
    recompute_a.save(sched)
    for kind, name in (("memory", "m.png"), ("gantt", "g.svg")):
        code, out, _ = run(capsys, "plot", sched, "--graph", graph, "-o", tmp_path / name, "--kind", kind)
        assert code == 0 and name in out
    assert (tmp_path / "m.png").read_bytes().startswith(PNG)
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()[:500]


def test_cli_plot_of_a_solved_example(capsys, tmp_path):
    sched = tmp_path / "s.json"
    assert run(capsys, "solve", "--example", "linear", "--budget", "80%", "-o", sched, "--quiet")[0] == 0
    code, _, _ = run(capsys, "plot", sched, "--example", "linear", "-o", tmp_path / "m.pdf", "--budget", "0.8")
    assert code == 0 and (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("case, message", [
    ("wrong-graph", "is for graph 'skip4', not 'linear8'"),
    ("bad-suffix", "must end in .png, .svg, .pdf"),
    ("no-folder", "does not exist"),
    ("no-schedule", "cannot read schedule file"),
    ("bad-budget", "is not bytes"),
])
def test_cli_plot_bad_input_is_one_line_and_exit_2(capsys, tmp_path, skip4, recompute_a, case, message):
    graph, sched = tmp_path / "g.json", tmp_path / "s.json"
    skip4.save(graph)
    recompute_a.save(sched)
    args = {"wrong-graph": [sched, "--example", "linear", "-o", tmp_path / "x.png"],
            "bad-suffix": [sched, "--graph", graph, "-o", tmp_path / "x.txt"],
            "no-folder": [sched, "--graph", graph, "-o", tmp_path / "nope" / "x.png"],
            "no-schedule": [tmp_path / "missing.json", "--graph", graph, "-o", tmp_path / "x.png"],
            "bad-budget": [sched, "--graph", graph, "-o", tmp_path / "x.png", "--budget", "lots"]}[case]
    code, out, err = run(capsys, "plot", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()
