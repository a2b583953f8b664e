"""The command line: exit codes, files, one-line errors."""

from __future__ import annotations

import json

import pytest

from remat.cli import main
from remat.generators import unet
from tests.paper import paper_graph_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def unet_file(tmp_path):
    path = tmp_path / "unet.json"
    unet(4).save(path)
    return path


def test_solve_writes_a_verified_schedule(capsys, tmp_path, unet_file):
    out_file = tmp_path / "s.json"
    code, out, _ = run(capsys, "solve", unet_file, "--budget", "80%", "-o", out_file, "--quiet")
    assert code == 0
    data = json.loads(out_file.read_text())
    assert data["format"] == "remat-schedule/1" and data["status"] == "optimal"
    assert data["peak_memory"] <= data["budget"]
    assert "TDI" in out
    assert run(capsys, "verify", unet_file, out_file)[0] == 0


def test_example_flag_solves_the_bundled_graph(capsys):
    code, out, _ = run(capsys, "solve", "--example", "unet", "--budget", "0.8", "--quiet")
    assert code == 0 and "unet4" in out


def tampered(tmp_path, unet_file, capsys, edit):
    out_file = tmp_path / "s.json"
    assert run(capsys, "solve", unet_file, "--budget", "80%", "-o", out_file, "-q")[0] == 0
    data = json.loads(out_file.read_text())
    edit(data["steps"])
    out_file.write_text(json.dumps(data))
    return out_file


def test_verify_rejects_a_removed_compute(capsys, tmp_path, unet_file):
    def drop_first_compute_with_inputs(steps):
        k = next(i for i, s in enumerate(steps) if s["op"] == "compute" and s["node"] == "enc1")
        del steps[k]
    path = tampered(tmp_path, unet_file, capsys, drop_first_compute_with_inputs)
    code, out, _ = run(capsys, "verify", unet_file, path)
    assert code == 1 and "missing-input" in out


def test_verify_rejects_two_swapped_steps(capsys, tmp_path, unet_file):
    def swap_first_two_computes(steps):
        steps[0], steps[1] = steps[1], steps[0]  # enc0, enc1: enc1 now runs before its input
    path = tampered(tmp_path, unet_file, capsys, swap_first_two_computes)
    code, out, _ = run(capsys, "verify", unet_file, path)
    assert code == 1 and "step 0: missing-input" in out


def test_infeasible_exits_3(capsys):
    code, out, _ = run(capsys, "solve", paper_graph_path("vgg16_train"), "--budget", "80%", "-q")
    assert code == 3 and "infeasible" in out


@pytest.mark.parametrize("budget", ["-5", "abc", "80%%", "1.2.3", "", "0", "0%", "0.00000001"])
def test_bad_budgets_exit_2_with_one_line(capsys, unet_file, budget):
    code, out, err = run(capsys, "solve", unet_file, f"--budget={budget}", "-q")
    assert code == 2 and err.count("\n") == 1 and "budget" in err


def test_schedule_for_another_graph_exits_2(capsys, tmp_path, unet_file):
    out_file = tmp_path / "s.json"
    run(capsys, "solve", unet_file, "--budget", "90%", "-o", out_file, "-q")
    code, _, err = run(capsys, "verify", paper_graph_path("vgg16_train"), out_file)
    assert code == 2 and "is for graph 'unet4'" in err


def test_info_prints_the_numbers(capsys):
    code, out, _ = run(capsys, "info", paper_graph_path("rl1_random_layered_n100"))
    assert code == 0 and "46,319" in out and "20,020" in out and "236" in out


def test_usage_error_is_one_line_exit_2(capsys):
    code = None
    with pytest.raises(SystemExit) as info:
        main(["solve", "--budget"])
    code = info.value.code
    assert code == 2 and capsys.readouterr().err.count("\n") == 1


def test_unproven_status_says_why(capsys, tmp_path):
    from remat.generators import linear
    from remat.graph import Graph

    floats = tmp_path / "floats.json"
    Graph.from_edges([("a", "b"), ("b", "c"), ("a", "c")], cost={"a": 0.5, "b": 1.25, "c": 2.0},
                     mem={"a": 4, "b": 4, "c": 4}, name="floats").save(floats)
    code, out, _ = run(capsys, "solve", floats, "--budget", "100%", "-q")
    assert code == 0 and "status optimal" in out  # at the total cost: nothing is cheaper, rounded or not
    chain = linear(6)
    recomputing = tmp_path / "recomputing.json"
    Graph(name="recomputing", ids=chain.ids, cost=tuple(0.5 + 0.25 * v for v in range(chain.n)), mem=chain.mem,
          preds=chain.preds).save(recomputing)
    code, out, _ = run(capsys, "solve", recomputing, "--budget", "80%", "-q", "--no-warm-start")
    assert code == 0 and "status feasible (optimal for the costs rounded" in out and "time limit" not in out
    code, out, _ = run(capsys, "solve", recomputing, "--budget", "80%", "-q")  # the cut bound, in true costs
    assert code == 0 and "status optimal" in out
    code, out, _ = run(capsys, "solve", "--example", "unet", "--budget", "90%", "--formulation", "chen-sqrt", "-q")
    assert code == 0 and "status feasible (chen-sqrt is a heuristic" in out and "time limit" not in out


@pytest.mark.parametrize("flag, called", [("--lower-bound", True), ("--no-lower-bound", False), (None, False)])
def test_lower_bound_flag_switches_the_relaxation_step(capsys, monkeypatch, flag, called):
    """Explicit flags force it; the default without a time limit (nothing to settle early) skips it."""
    import importlib

    stages = importlib.import_module("remat.stages")
    calls = []
    real = stages.lower_bound
    monkeypatch.setattr(stages, "lower_bound", lambda *a: calls.append(a) or real(*a))
    argv = ["solve", "--example", "unet", "--budget", "80%", "-q"] + ([flag] if flag else [])
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "status optimal" in out
    assert bool(calls) == called


def test_a_solve_without_a_schedule_reports_the_lowest_peak_it_reached():
    """a (10 bytes) feeds b and c, which d reads together: at 11 bytes b and c never fit beside a,
    every schedule peaks at 12 (the no-remat peak), and the result says how close it came."""
    from remat import solve
    from remat.cli.solve import summary
    from remat.graph import Graph, no_remat_peak
    from remat.result import Result
    from remat.status import Status

    g = Graph.from_edges([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")], cost=dict.fromkeys("abcd", 1),
                         mem={"a": 10, "b": 1, "c": 1, "d": 1}, name="diamond")
    r = solve(g, 11, time_limit=10, threads=1)
    assert r.schedule is None and r.status == Status.INFEASIBLE
    assert r.lowest_peak == no_remat_peak(g) == 12
    fits = solve(g, 12, time_limit=10, threads=1)
    assert fits.schedule is not None and fits.lowest_peak is None
    unknown = Result(status=Status.UNKNOWN, schedule=None, objective=None, bound=None, wall_time=1.0, report=None,
                     budget=11, graph="diamond", formulation="moccasin", backend="cpsat", lowest_peak=12)
    assert summary(unknown, 16).endswith("limit reached with no schedule; the lowest peak reached is 12 bytes "
                                         "(75.0% of the no-remat peak)")
