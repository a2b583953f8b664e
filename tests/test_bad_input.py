"""Bad input, through the API and the CLI: one line that names the problem, exit code 2, no traceback.

Every case runs in process through :func:`remat.cli.main` (fast); a few run
through ``python -m remat`` too, to cover the real entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from remat.budget import parse_budget
from remat.cli import main
from remat.errors import BudgetError, FormulationError, GraphError, RematError, ScheduleFormatError
from remat.generators import unet
from remat.graph import load_graph
from remat.schedule import load_schedule
from remat.solve import solve


def node(i, cost=1, mem=1, **extra):
    return {"id": i, "cost": cost, "mem": mem, **extra}


def link(u, v):
    return {"source": u, "target": v}


def doc(nodes, links, **graph):
    return {"directed": True, "graph": graph, "nodes": nodes, "links": links}


OK = doc([node("a"), node("b")], [link("a", "b")])

# (case id, file text, words the one-line message must contain)
BAD_GRAPHS = [
    ("not-json", "{nodes: [", "not valid JSON"),
    ("empty-file", "", "not valid JSON"),
    ("top-level-list", "[]", "top level must be a JSON object"),
    ("top-level-number", "42", "top level must be a JSON object"),
    ("missing-nodes", json.dumps({"links": []}), "missing 'nodes'"),
    ("missing-links", json.dumps({"nodes": [node("a")]}), "missing 'links'"),
    ("nodes-not-a-list", json.dumps({"nodes": {"a": 1}, "links": []}), "'nodes' must be a list"),
    ("number-as-string", json.dumps(doc([node("a", cost="5")], [])), "'cost' must be a number"),
    ("mem-as-string", json.dumps(doc([node("a", mem="5")], [])), "'mem' must be a number"),
    ("nan", json.dumps(doc([node("a", cost=float("nan"))], [])), "must be finite"),
    ("inf", json.dumps(doc([node("a", mem=float("inf"))], [])), "must be finite"),
    ("negative", json.dumps(doc([node("a", mem=-4)], [])), "must be >= 0"),
    ("fractional-bytes", json.dumps(doc([node("a", mem=2.5)], [])), "integer number of bytes"),
    ("bool-cost", json.dumps(doc([node("a", cost=True)], [])), "must be a number"),
    ("missing-cost", json.dumps(doc([{"id": "a", "mem": 1}], [])), "missing field 'cost'"),
    ("cycle", json.dumps(doc([node("a"), node("b")], [link("a", "b"), link("b", "a")])), "has a cycle"),
    ("self-loop", json.dumps(doc([node("a")], [link("a", "a")])), "self-loop"),
    ("unknown-endpoint", json.dumps(doc([node("a")], [link("a", "zz")])), "unknown node 'zz'"),
    ("duplicate-id", json.dumps(doc([node("a"), node("a")], [])), "duplicate node id 'a'"),
    ("duplicate-id-int-and-str", json.dumps(doc([node(1), node("1")], [])), "duplicate node id '1'"),
    ("empty-graph", json.dumps(doc([], [])), "empty"),
    ("order-not-topological", json.dumps(doc([node("a"), node("b")], [link("a", "b")], order=["b", "a"])),
     "not a topological order"),
    ("order-unknown-node", json.dumps(doc([node("a")], [], order=["a", "q"])), "unknown node 'q'"),
    ("bad-link", json.dumps(doc([node("a")], [{"from": "a"}])), "link #0"),
    ("bad-id-type", json.dumps(doc([{"id": [1], "cost": 1, "mem": 1}], [])), "must be a string or integer"),
]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_exit_2(code, err, *words):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("remat"), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture
def good_graph(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(OK))
    return path


# ---------------------------------------------------------------- graphs
@pytest.mark.parametrize("case, text, words", BAD_GRAPHS, ids=[c[0] for c in BAD_GRAPHS])
def test_bad_graph_files_through_the_api(tmp_path, case, text, words):
    path = tmp_path / "g.json"
    path.write_text(text)
    with pytest.raises(GraphError) as info:
        load_graph(path)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("command", ["info", "solve"])
@pytest.mark.parametrize("case, text, words", BAD_GRAPHS, ids=[c[0] for c in BAD_GRAPHS])
def test_bad_graph_files_through_the_cli(tmp_path, capsys, command, case, text, words):
    path = tmp_path / "g.json"
    path.write_text(text)
    extra = ["--budget", "90%"] if command == "solve" else []
    code, _, err = run(capsys, command, path, *extra)
    one_line_exit_2(code, err, words)


def test_unreadable_paths(tmp_path, capsys):
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    for path, words in ((tmp_path / "missing.json", "cannot read graph file"), (tmp_path, "cannot read graph file"),
                        (binary, "cannot read graph file")):
        with pytest.raises(GraphError, match=words):
            load_graph(path)
        one_line_exit_2(*run(capsys, "info", path)[::2], words)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission(tmp_path, capsys):
    path = tmp_path / "locked.json"
    path.write_text(json.dumps(OK))
    path.chmod(0)
    one_line_exit_2(*run(capsys, "info", path)[::2], "cannot read graph file", "Permission denied")


def test_too_deeply_nested_json(tmp_path, capsys):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    one_line_exit_2(*run(capsys, "info", path)[::2], "nested too deeply")


# --------------------------------------------------------------- budgets
BAD_BUDGETS = ["-5", "abc", "80%%", "1.2.3", "", " ", "0", "0%", "0.0", "nan", "inf", "1e3", "90 %", "%", "0x10"]


@pytest.mark.parametrize("budget", BAD_BUDGETS)
def test_bad_budgets(capsys, good_graph, budget):
    with pytest.raises(BudgetError):
        parse_budget(budget, peak=100)
    one_line_exit_2(*run(capsys, "solve", good_graph, f"--budget={budget}", "-q")[::2], "budget")


@pytest.mark.parametrize("budget", [-5, 1.5, True, "80%", None])
def test_bad_budget_values_in_the_api(budget):
    with pytest.raises(BudgetError, match="budget"):
        solve(unet(2), budget)  # type: ignore[arg-type]


def test_a_budget_beyond_any_solver_integer_still_solves(capsys, good_graph):
    code, out, err = run(capsys, "solve", good_graph, "--budget", str(2**70), "-q")
    assert code == 0 and "TDI 0.000%" in out, err


def test_a_zero_peak_graph_is_reported_not_divided_by(tmp_path, capsys):
    path = tmp_path / "zero.json"
    path.write_text(json.dumps(doc([node("a", mem=0), node("b", mem=0)], [link("a", "b")])))
    code, out, err = run(capsys, "solve", path, "--budget", "5", "-q")
    assert code == 0 and "Traceback" not in err and "peak 0" in out
    code, out, err = run(capsys, "info", path)  # found by the loader fuzz (thorough profile)
    assert code == 0 and "min_budget     0 bytes" in out, err


# ------------------------------------------------------- numbers too large
@pytest.mark.parametrize("field, value, words", [
    ("mem", 10**30, "output sizes too large"),
    ("cost", 10**400, "compute cost of 401 digits"),
])
def test_numbers_beyond_the_solver_range_are_refused_in_one_line(tmp_path, capsys, field, value, words):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(doc([node("a", **{field: value}), node("b")], [link("a", "b")])))
    with pytest.raises(FormulationError, match=words):  # the model is built: no heuristic ends the solve first
        solve(load_graph(path), 10**31, warm_start=False)
    one_line_exit_2(*run(capsys, "solve", path, "--budget", "100%", "--no-warm-start", "-q")[::2], words)


def test_integer_costs_beyond_2_53_are_rounded_not_overflowed(tmp_path, capsys):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc([node("a", cost=10**30), node("b", cost=3)], [link("a", "b")])))
    code, out, err = run(capsys, "solve", path, "--budget", "100%", "-q")
    assert code == 0 and "TDI 0.000%" in out, err


# ---------------------------------------------------------- other options
@pytest.mark.parametrize("argv, words", [
    (["--time-limit", "-1"], "--time-limit"), (["--time-limit", "nan"], "--time-limit"),
    (["--time-limit", "inf"], "--time-limit"), (["--threads", "0"], "--threads"),
    (["--max-copies", "0"], "--max-copies"), (["--seed", "-1"], "--seed"), (["--seed", str(2**70)], "--seed"),
    (["--backend", "nope"], "unknown backend 'nope'"), (["--formulation", "nope"], "unknown formulation 'nope'"),
])
def test_bad_options(capsys, good_graph, argv, words):
    with pytest.raises(SystemExit) as info:  # argparse errors exit from the parser
        code = main(["solve", str(good_graph), "--budget", "90%", "-q", *argv])
        raise SystemExit(code)
    one_line_exit_2(info.value.code, capsys.readouterr().err, words)


def test_graph_and_example_together_or_neither(capsys, good_graph):
    one_line_exit_2(*run(capsys, "info", good_graph, "--example", "unet")[::2], "exactly one")
    one_line_exit_2(*run(capsys, "info")[::2], "exactly one")


# ------------------------------------------------------------- schedules
def test_a_schedule_file_for_another_graph(tmp_path, capsys, good_graph):
    other, sched = tmp_path / "unet.json", tmp_path / "s.json"
    unet(2).save(other)
    assert run(capsys, "solve", other, "-b", "100%", "-q", "-o", sched)[0] == 0
    one_line_exit_2(*run(capsys, "verify", good_graph, sched)[::2], "is for graph 'unet2'")


@pytest.mark.parametrize("text, words", [
    ("nope", "not valid JSON"), ("[]", "top level must be a JSON object"),
    (json.dumps({"format": "remat-schedule/2", "graph": "g", "steps": []}), "'format'"),
    (json.dumps({"format": "remat-schedule/1", "graph": "g", "steps": [["compute", "a"]]}), "step #0"),
    (json.dumps({"format": "remat-schedule/1", "graph": 3, "steps": []}), "'graph'"),
    (json.dumps({"format": "remat-schedule/1", "graph": "g", "steps": [], "peak_memory": "7"}), "peak_memory"),
])
def test_bad_schedule_files(tmp_path, capsys, good_graph, text, words):
    sched = tmp_path / "s.json"
    sched.write_text(text)
    with pytest.raises(ScheduleFormatError, match=words):
        load_schedule(sched)
    one_line_exit_2(*run(capsys, "verify", good_graph, sched)[::2], words)


def test_unreadable_schedule_paths(tmp_path, capsys, good_graph):
    for path in (tmp_path / "missing.json", tmp_path):
        one_line_exit_2(*run(capsys, "verify", good_graph, path)[::2], "cannot read schedule file")


# ------------------------------------------------------ the real entry point
@pytest.mark.parametrize("argv, words", [
    (["info", "{missing}"], "cannot read graph file"),
    (["solve", "{bad}", "--budget", "90%"], "not valid JSON"),
    (["solve", "--example", "unet", "--budget", "1.2.3"], "budget '1.2.3'"),
    (["solve", "--example", "unet", "--budget", "90%", "-o", "{missing}/out.json"], "cannot write"),
])
def test_python_dash_m_remat_gives_one_line_and_exit_2(tmp_path, argv, words):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    argv = [a.format(missing=tmp_path / "missing", bad=bad) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "remat", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and words in proc.stderr and "Traceback" not in proc.stderr


def test_every_documented_error_is_a_rematerror_with_exit_code_2():
    import remat.errors as errors

    documented = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, RematError)]
    assert len(documented) >= 6 and all(c.exit_code == 2 for c in documented)
