"""Limits and interruption: the time limit, Ctrl-C during ``remat solve``, and ``-o`` never partial.

The instance (a 150-node random layered graph at 90% of its peak) has a first
incumbent after about a second and is far from proven optimal after ten, so
a limit or a Ctrl-C lands while an incumbent exists and the proof does not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from remat.backends import backend_features, installed_backends
from remat.cli import EXIT_INTERRUPTED, main
from remat.generators import random_layered, unet
from remat.graph import no_remat_peak
from remat.heuristics.staged import warm_start_sequence
from remat.schedule import load_schedule, no_remat_schedule, write_atomic
from remat.solve import Result, solve
from remat.status import Status
from remat.verify import verify

GRAPH = random_layered(150, seed=1)
BUDGET = int(0.9 * no_remat_peak(GRAPH))


@pytest.fixture
def ctrl_c_reaches_python():
    """Ctrl-C as in a terminal, even where the test run was started with SIGINT ignored (a
    backgrounded job inherits SIG_IGN, and Python then never raises KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _sigint_as_in_a_terminal() -> None:
    """In the child: SIGINT back to its default, so that the child's Python raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _ctrl_c_at_first_incumbent(sent: list[float]):
    """A progress callback that sends this process SIGINT at the first incumbent (recorded in ``sent``)."""

    def callback(p):
        if p.objective is not None and not sent:
            sent.append(p.objective)
            os.kill(os.getpid(), signal.SIGINT)

    return callback


@pytest.mark.parametrize("backend", installed_backends())
def test_at_the_time_limit_the_best_verified_incumbent_is_returned_with_its_bound(backend):
    """Found: HiGHS stopped before its first node gave no bound; total_cost is now the floor of every bound."""
    # backends without a native cumulative spend seconds building the linearized model: a smaller graph
    g = random_layered(60, seed=1) if "cumulative" not in backend_features(backend) else GRAPH
    budget = int(0.9 * no_remat_peak(g))
    # the backend's limit (no relaxation first: it could prove the incumbent optimal before it)
    r = solve(g, budget, backend=backend, time_limit=2.0, threads=1, order="given", lower_bound=False)
    assert r.status == Status.FEASIBLE
    assert r.schedule is not None and verify(g, r.schedule, budget).valid
    assert r.schedule.status == "feasible" and r.peak_memory <= budget
    assert r.bound is not None and g.total_cost <= r.bound <= r.objective and r.gap is not None


def test_ctrl_c_in_the_api_stops_the_search_and_keeps_the_incumbent(ctrl_c_reaches_python):
    sent: list[float] = []
    interrupt_at_first_incumbent = _ctrl_c_at_first_incumbent(sent)
    r = solve(GRAPH, BUDGET, backend="cpsat", time_limit=60, threads=1, on_progress=interrupt_at_first_incumbent,
              warm_start=False)  # the first incumbent is CP-SAT's: Ctrl-C lands in the backend
    assert sent and r.interrupted and r.status == Status.FEASIBLE
    assert r.wall_time < 30  # stopped, not run to the limit (60 s)
    assert verify(GRAPH, r.schedule, BUDGET).valid


MILP_GRAPH = random_layered(60, seed=1)  # HiGHS's first incumbent after a few seconds, no proof for long
MILP_BUDGET = int(0.9 * no_remat_peak(MILP_GRAPH))
needs_highs = pytest.mark.skipif("highs" not in installed_backends(), reason="HiGHS not installed")


@needs_highs
@pytest.mark.parametrize("backend", ["highs", "pyomo:highs"])
def test_highs_reports_each_incumbent_live_and_its_time_to_best(backend):
    events = []
    r = solve(MILP_GRAPH, MILP_BUDGET, backend=backend, time_limit=8, threads=1, on_progress=events.append)
    incumbents = [p for p in events if p.objective is not None]
    assert incumbents and r.status.has_schedule
    assert incumbents[-1].objective == r.objective  # the last one reported is the one returned
    assert r.time_to_best is not None and r.time_to_best <= r.wall_time
    assert all(p.bound is None or p.bound <= p.objective for p in incumbents)


@needs_highs
@pytest.mark.parametrize("backend", ["highs", "pyomo:highs"])
def test_ctrl_c_stops_highs_and_keeps_its_incumbent(ctrl_c_reaches_python, backend):
    sent: list[float] = []
    interrupt_at_first_incumbent = _ctrl_c_at_first_incumbent(sent)
    start = warm_start_sequence(MILP_GRAPH, MILP_BUDGET)[0]  # a hint instead of the heuristics: the first
    r = solve(MILP_GRAPH, MILP_BUDGET, backend=backend, time_limit=60, threads=1, order="given", hint=start,
              on_progress=interrupt_at_first_incumbent)  # incumbent, and the Ctrl-C, are HiGHS's
    assert sent and r.interrupted and r.status == Status.FEASIBLE
    assert r.wall_time < 30  # stopped, not run to the limit (60 s)
    assert verify(MILP_GRAPH, r.schedule, MILP_BUDGET).valid
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's handler is back


def test_ctrl_c_during_the_neighbourhood_search_keeps_its_best_schedule(ctrl_c_reaches_python):
    """lns_after=0 hands over to the neighbourhood search at the first incumbent; Ctrl-C lands there,
    a second after it (a timer from the start could land in the warm start, before any incumbent)."""
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started: list[bool] = []

    def start_the_timer_at_the_first_incumbent(p):
        if p.objective is not None and not started:
            started.append(True)
            timer.start()

    try:
        r = solve(GRAPH, BUDGET, backend="cpsat", time_limit=60, threads=1, backend_options={"lns_after": 0.0},
                  on_progress=start_the_timer_at_the_first_incumbent, warm_start=False)  # the first is CP-SAT's
    finally:
        timer.cancel()
    assert r.interrupted and r.status == Status.FEASIBLE and "neighbourhoods" in r.message
    assert r.wall_time < 30
    assert verify(GRAPH, r.schedule, BUDGET).valid


def test_ctrl_c_between_two_neighbourhoods_keeps_the_best_schedule(monkeypatch):
    """Found: a Ctrl-C that landed while the next neighbourhood's model was being built (not in a
    solve) escaped the neighbourhood search as a KeyboardInterrupt. Made deterministic here: it lands
    when the second neighbourhood is chosen."""
    from remat.backends.lns import NeighbourhoodSearch

    real = NeighbourhoodSearch.neighbourhood
    calls: list[int] = []

    def interrupted_on_the_second(self, values):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, values)

    monkeypatch.setattr(NeighbourhoodSearch, "neighbourhood", interrupted_on_the_second)
    r = solve(GRAPH, BUDGET, backend="cpsat", time_limit=60, threads=1, backend_options={"lns_after": 0.0},
              warm_start=False)
    assert len(calls) == 2 and r.interrupted and r.status == Status.FEASIBLE and "neighbourhoods" in r.message
    assert r.wall_time < 30 and verify(GRAPH, r.schedule, BUDGET).valid


@pytest.mark.parametrize("backend", ["cpsat", pytest.param("highs", marks=needs_highs)])
def test_ctrl_c_during_remat_solve_writes_the_incumbent_and_exits_130(tmp_path, backend):
    """Also a test of the live line under HiGHS: Pyomo redirects descriptor 2 while HiGHS runs."""
    graph, budget = (GRAPH, BUDGET) if backend == "cpsat" else (MILP_GRAPH, MILP_BUDGET)
    graph_file, out = tmp_path / "graph.json", tmp_path / "out.json"
    graph.save(graph_file)
    proc = subprocess.Popen([sys.executable, "-m", "remat", "solve", str(graph_file), "--budget", str(budget),
                             "--backend", backend, "--threads", "1", "--time-limit", "120", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 60
        seen = False
        for line in proc.stderr:  # progress lines: "incumbent 12,345  bound ..." once one exists
            seen = re.match(r"incumbent [0-9]", line) is not None
            if seen or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert seen, "no live progress line with an incumbent on stderr"
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr and "interrupted" in stdout and "WARNING" not in stdout + stderr
    schedule = load_schedule(out)
    assert schedule.status == "feasible" and verify(graph, schedule, budget).valid


def test_ctrl_c_before_any_incumbent_exits_130_and_writes_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.json"
    no_schedule = Result(status=Status.UNKNOWN, schedule=None, objective=None, bound=None, wall_time=0.1,
                         report=None, budget=BUDGET, graph=GRAPH.name, formulation="moccasin", backend="cpsat",
                         interrupted=True)
    monkeypatch.setattr("remat.cli.solve.solve", lambda *a, **k: no_schedule)
    assert main(["solve", "--example", "unet", "-b", "90%", "-q", "-o", str(out)]) == EXIT_INTERRUPTED
    assert not out.exists() and "no schedule yet" in capsys.readouterr().out

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("remat.cli.solve.solve", ctrl_c)
    assert main(["solve", "--example", "unet", "-b", "90%", "-q", "-o", str(out)]) == EXIT_INTERRUPTED
    assert not out.exists() and capsys.readouterr().err == "remat: interrupted\n"


# ------------------------------------------------- Ctrl-C during the warm start
def _ctrl_c_at_repair_call(monkeypatch, k: int) -> list[int]:
    """Make the warm start's k-th repair (greedy variant or ruin-and-repair round) raise
    KeyboardInterrupt, as a Ctrl-C landing there would; returns the call counter."""
    from remat.heuristics import staged as moccasin_warmstart

    calls = [0]
    real = moccasin_warmstart._repair

    def repair(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(moccasin_warmstart, "_repair", repair)
    return calls


def _cost(graph, sequence) -> int:
    return sum(graph.cost[v] for v in sequence)


def test_ctrl_c_in_the_warm_start_hands_out_its_cheapest_fitting_plan(monkeypatch):
    from remat.heuristics import WarmStartInterrupted
    from remat.heuristics.staged import greedy_plan, plan_sequence, warm_start_sequence
    from remat.schedule import schedule_from_computes

    portfolio, fits = greedy_plan(GRAPH, BUDGET)  # every variant, no time limit: deterministic
    assert fits
    calls = _ctrl_c_at_repair_call(monkeypatch, 20)  # 11 greedy variants, then ruin-and-repair rounds

    with pytest.raises(WarmStartInterrupted) as stop:
        warm_start_sequence(GRAPH, BUDGET, time_limit=600, improve=True)
    assert calls[0] == 20
    report = verify(GRAPH, schedule_from_computes(GRAPH, stop.value.sequence), BUDGET)
    assert report.valid
    assert _cost(GRAPH, stop.value.sequence) <= _cost(GRAPH, plan_sequence(GRAPH.n, portfolio))


def test_ctrl_c_in_the_first_greedy_variant_has_no_plan_to_hand_out(monkeypatch):
    from remat.heuristics import WarmStartInterrupted
    from remat.heuristics.staged import warm_start_sequence

    _ctrl_c_at_repair_call(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt) as stop:
        warm_start_sequence(GRAPH, BUDGET, time_limit=600)
    assert not isinstance(stop.value, WarmStartInterrupted)


def test_ctrl_c_in_the_warm_start_of_remat_solve_writes_its_plan_and_exits_130(monkeypatch, tmp_path, capsys):
    """Found: a Ctrl-C in the warm start (up to 20 s on 1000 nodes) exited 130 with nothing written,
    even where the greedy already had a schedule within the budget."""
    from remat.backends.cpsat import CpSatBackend

    def must_not_run(*a, **k):
        raise AssertionError("the backend ran after a Ctrl-C in the warm start")

    monkeypatch.setattr(CpSatBackend, "solve", must_not_run)
    _ctrl_c_at_repair_call(monkeypatch, 3)  # in the third greedy variant: the first one's plan fits
    graph_file, out = tmp_path / "graph.json", tmp_path / "out.json"
    GRAPH.save(graph_file)
    code = main(["solve", str(graph_file), "--budget", str(BUDGET), "--time-limit", "60", "-q", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == EXIT_INTERRUPTED
    assert "interrupted (Ctrl-C): best verified incumbent so far" in printed and "status feasible" in printed
    schedule = load_schedule(out)
    assert schedule.status == "feasible" and verify(GRAPH, schedule, BUDGET).valid


# ----------------------------------------------------------------- atomic -o
@pytest.mark.parametrize("failing", ["os.fsync", "os.replace"])
def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch, failing):
    target = tmp_path / "s.json"
    target.write_text("old\n")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(failing, boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_cli_output_replaces_an_existing_file_whole_with_the_usual_mode(tmp_path, capsys):
    out = tmp_path / "s.json"
    out.write_text("x" * 100_000)
    old = os.umask(0o022)
    try:
        assert main(["solve", "--example", "unet", "-b", "100%", "-q", "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert json.loads(out.read_text())["format"] == "remat-schedule/1"
    assert out.stat().st_mode & 0o777 == 0o644  # found: mkstemp's 0600 used to leak through
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_an_unwritable_output_is_refused_before_solving(tmp_path, capsys, monkeypatch):
    def must_not_solve(*a, **k):
        raise AssertionError("solved before checking the output path")

    monkeypatch.setattr("remat.cli.solve.solve", must_not_solve)
    for bad in (tmp_path / "missing" / "s.json", tmp_path):
        assert main(["solve", "--example", "unet", "-b", "90%", "-q", "-o", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot write" in err


def test_the_schedule_written_is_the_one_verified(tmp_path, capsys):
    g = unet(3)
    path, out = tmp_path / "u.json", tmp_path / "s.json"
    g.save(path)
    assert main(["solve", str(path), "-b", "100%", "-q", "-o", str(out)]) == 0
    assert load_schedule(out).steps == no_remat_schedule(g).steps
