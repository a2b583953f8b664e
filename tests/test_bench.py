"""``remat bench``: grids from flags and TOML, variants, the data folder, the hard timeout, the time and
memory columns, executors that agree, the three output files and ``remat bench report``."""

from __future__ import annotations

import csv
import os
import time

import pytest

from remat.bench import BenchSpecError, Grid, expand, grid_from_mapping, load_grid, markdown_table, run_grid
from remat.bench import plot_pareto, read_csv, read_reference, rows_table, select_variants, write_csv
from remat.cli import main
from remat.generators import linear
from remat.graph import Graph, no_remat_peak
from remat.testing import staged_optimum as brute_force

# A 5-node graph (2-layer chain, training graph) whose optimum brute force can check at every budget.
SMALL = "linear:depth=2"


def solved(rows):
    return [(r["graph"], r["budget"], r["status"], r["objective"]) for r in rows]


@pytest.fixture(scope="module")
def small_grid():
    return Grid(graphs=(SMALL, "random_layered:n=12,seed=4"), budgets=("100%", "85%", "0.7"), time_limits=(20,),
                threads=1)


@pytest.fixture(scope="module")
def serial_rows(small_grid):
    return run_grid(expand(small_grid), executor="serial")


def plugin(tmp_path, name: str, body: str) -> str:
    """A plugin file the case process imports before solving; it may wrap ``remat.solve``."""
    path = tmp_path / f"{name}.py"
    path.write_text("import os, subprocess, sys, time\nimport remat\n_solve = remat.solve\n" + body)
    return str(path)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is not running
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def test_grid_expands_in_a_fixed_order_with_budgets_in_bytes():
    g = linear(2)
    cases = expand(Grid(graphs=(SMALL,), budgets=("90%", "1000"), time_limits=(1, 2), seeds=(0, 1)))
    assert len(cases) == 2 * 2 * 2
    assert [c.budget for c in cases[:4]] == [no_remat_peak(g) * 9 // 10] * 4
    assert [(c.time_limit, c.seed) for c in cases[:4]] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert cases[-1].budget == 1000


def test_bench_rows_match_brute_force(serial_rows):
    g = linear(2)
    rows = [r for r in serial_rows if r["graph"] == SMALL]
    assert len(rows) == 3
    for r in rows:
        expected = brute_force(g, r["budget"])
        if expected is None:
            assert r["status"] == "infeasible"
        else:
            assert r["status"] == "optimal" and r["objective"] == expected
            assert r["peak_memory"] <= r["budget"]
            assert r["tdi"] == pytest.approx(100 * (expected / g.total_cost - 1))


def test_local_process_pool_agrees_with_serial(small_grid, serial_rows):
    rows = run_grid(expand(small_grid), executor="local", workers=2)
    assert solved(rows) == solved(serial_rows)
    inline = run_grid(expand(small_grid), executor="local", workers=2, isolate=False)
    assert solved(inline) == solved(serial_rows)


def test_rows_time_the_call_and_report_the_case_process_memory(serial_rows):
    for r in serial_rows:
        assert r["call_time"] >= r["wall_time"] - 0.05  # timed from outside the solve
        assert r["overrun"] == pytest.approx(r["call_time"] - r["time_limit"], abs=1e-3)
        assert r["limit_held"] == "yes" and r["error"] == ""
        assert 20 < r["peak_rss_mb"] < 2000
    inline = run_grid(expand(Grid(graphs=(SMALL,), budgets=("100%",), time_limits=(5,), threads=1)),
                      executor="serial", isolate=False)
    assert inline[0]["status"] == "optimal" and inline[0]["peak_rss_mb"] == ""  # not measured in a shared process


def test_a_case_that_overruns_is_killed_with_everything_it_started(tmp_path):
    pids = tmp_path / "pids"
    hang = plugin(tmp_path, "hang", f"""
def hang(*args, **kwargs):
    child = subprocess.Popen(["sleep", "600"])
    open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(600)
remat.solve = hang
""")
    grid = Grid(graphs=(SMALL,), budgets=("100%",), time_limits=(1,), threads=1, imports=(hang,))
    t0 = time.perf_counter()
    row, = run_grid(expand(grid), executor="serial", kill_margin=1.5)
    took = time.perf_counter() - t0
    assert row["status"] == "killed" and "hard timeout" in row["error"] and row["limit_held"] == "no"
    assert 2.5 <= row["wall_time"] <= took + 0.005 < 30  # the row rounds to hundredths
    assert row["graph"] == SMALL and row["budget"] == no_remat_peak(linear(2))
    solver, grandchild = map(int, pids.read_text().split())
    deadline = time.time() + 5
    while (alive(solver) or alive(grandchild)) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(solver) and not alive(grandchild)
    assert "killed at" in markdown_table([row])


def test_the_overrun_column_is_measured_by_the_bench_not_taken_from_the_solve(tmp_path):
    late = plugin(tmp_path, "late", """
def late(*args, **kwargs):
    time.sleep(2.5)  # a phase the solve's own clock does not see
    return _solve(*args, **kwargs)
remat.solve = late
""")
    grid = Grid(graphs=(SMALL,), budgets=("100%",), time_limits=(1,), threads=1, imports=(late,))
    row, = run_grid(expand(grid), executor="serial", kill_margin=20)
    assert row["status"] == "optimal" and row["wall_time"] < 1.5
    assert row["call_time"] >= 2.5 and row["overrun"] >= 1.5 and row["limit_held"] == "no"


def test_peak_rss_is_the_case_process_peak(tmp_path):
    fat = plugin(tmp_path, "fat", """
def fat(*args, **kwargs):
    block = bytearray(300 << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    return _solve(*args, **kwargs)
remat.solve = fat
""")
    grid = Grid(graphs=(SMALL,), budgets=("100%",), time_limits=(5,), threads=1)
    ballast = bytearray(400 << 20)  # a large parent: its cases must not report its peak as theirs
    ballast[::4096] = b"x" * len(ballast[::4096])
    plain, = run_grid(expand(grid), executor="serial")
    heavy, = run_grid(expand(Grid(**{**grid.__dict__, "imports": (fat,)})), executor="serial")
    del ballast
    assert heavy["status"] == plain["status"] == "optimal"
    assert heavy["peak_rss_mb"] - plain["peak_rss_mb"] >= 250


def test_a_crashing_case_process_is_an_error_row(tmp_path):
    crash = plugin(tmp_path, "crash", "os._exit(7)\n")
    row, = run_grid(expand(Grid(graphs=(SMALL,), budgets=("100%",), time_limits=(5,), threads=1,
                                imports=(crash,))), executor="serial")
    assert row["status"] == "error" and "exited with code 7" in row["error"]


def test_variants_are_an_axis_with_their_options_merged_over_the_grid(tmp_path):
    # a layered graph at 90%: a model to solve (no heuristic proven optimal), so each variant's warm start shows
    (tmp_path / "grid.toml").write_text('graphs = ["random_layered:n=16,seed=1"]\nbudgets = ["90%"]\n'
                                        'time_limits = [5]\n'
                                        'threads = 1\noptions = {warm_start = false, order = "given"}\n'
                                        '[variants.base]\n[variants.nolns]\nbackend_options = {lns = false}\n'
                                        '[variants.warm]\noptions = {warm_start = true}\n')
    grid = load_grid(tmp_path / "grid.toml")
    cases = expand(grid)
    assert [c.variant for c in cases] == ["base", "nolns", "warm"]
    assert dict(cases[0].options) == {"warm_start": False, "order": "given"} and cases[0].backend_options == ()
    assert dict(cases[1].backend_options) == {"lns": False}
    assert dict(cases[2].options) == {"warm_start": True, "order": "given"}  # the variant's own value wins
    assert [c.variant for c in expand(select_variants(grid, ["warm", "base"]))] == ["warm", "base"]
    with pytest.raises(BenchSpecError, match="unknown variant 'nope'; the grid's variants: base, nolns, warm"):
        select_variants(grid, ["nope"])
    rows = run_grid(cases, executor="serial", isolate=False)
    assert [r["variant"] for r in rows] == ["base", "nolns", "warm"]
    assert {r["status"] for r in rows} == {"optimal"} and rows[2]["warm_start"] and not rows[0]["warm_start"]
    assert markdown_table(rows).splitlines()[0] == \
        "| graph | budget | moccasin/cpsat 5s base | moccasin/cpsat 5s nolns | moccasin/cpsat 5s warm |"


def test_graph_names_are_looked_up_in_the_data_folder(tmp_path, monkeypatch):
    g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 1}, mem={"a": 1, "b": 1}, name="ab")
    g.save(tmp_path / "tiny.json")
    monkeypatch.delenv("REMAT_DATA_DIR", raising=False)
    cases = expand(Grid(graphs=("tiny",), budgets=("100%",)), tmp_path)
    assert cases[0].graph == str((tmp_path / "tiny.json").resolve())
    row, = run_grid(cases, executor="serial", isolate=False)
    assert row["graph"] == "tiny" and row["status"] == "optimal"
    with pytest.raises(BenchSpecError, match="graph 'tinny' not found.*tinny.json in the data folder"):
        expand(Grid(graphs=("tinny",)), tmp_path)
    monkeypatch.setenv("REMAT_DATA_DIR", str(tmp_path))
    from remat.bench import data_dir
    assert data_dir() == tmp_path and data_dir(tmp_path / "..") == tmp_path / ".."


def test_a_real_dask_cluster_agrees_with_local(small_grid, serial_rows):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        rows = run_grid(expand(small_grid), executor="dask", address=cluster.scheduler_address)
    assert solved(rows) == solved(serial_rows)


def test_failed_case_is_a_row_not_a_crash():
    rows = run_grid(expand(Grid(graphs=(SMALL,), budgets=("100%",), formulations=("no-such-model",))),
                    executor="serial")
    assert rows[0]["status"] == "error" and "no-such-model" in rows[0]["error"]


def test_writers_produce_csv_markdown_and_png(tmp_path, serial_rows):
    write_csv(serial_rows, tmp_path / "r.csv")
    with open(tmp_path / "r.csv") as fh:
        back = list(csv.DictReader(fh))
    assert [(r["graph"], int(r["budget"]), r["status"]) for r in back] == \
        [(r["graph"], r["budget"], r["status"]) for r in serial_rows]
    table = markdown_table(serial_rows).splitlines()
    assert table[0].startswith("| graph | budget | moccasin/cpsat 20s")
    assert len(table) == 2 + 6  # header, rule, one line per (graph, budget)
    plot_pareto(serial_rows, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_round_trip_keeps_numbers(tmp_path, serial_rows):
    write_csv(serial_rows, tmp_path / "r.csv")
    back = read_csv(tmp_path / "r.csv")
    assert [(r["budget"], r["objective"], r["tdi"], r["variant"]) for r in back] == \
        [(r["budget"], r["objective"], r["tdi"], r["variant"]) for r in serial_rows]
    assert markdown_table(back) == markdown_table(serial_rows)


def test_grid_from_toml_resolves_paths_relative_to_the_file(tmp_path):
    g = Graph.from_edges([("a", "b")], cost={"a": 1, "b": 1}, mem={"a": 1, "b": 1}, name="ab")
    (tmp_path / "graphs").mkdir()
    g.save(tmp_path / "graphs" / "ab.json")
    (tmp_path / "grid.toml").write_text('graphs = ["graphs/ab.json", "unet:depth=2"]\nbudgets = "100%"\n'
                                        "time_limits = [5]\nthreads = 1\n[backend_options]\nrandom_seed = 3\n")
    grid = load_grid(tmp_path / "grid.toml")
    assert grid.budgets == ("100%",) and grid.backend_options == {"random_seed": 3}
    assert [c.graph for c in expand(grid)] == [str(tmp_path / "graphs" / "ab.json"), "unet:depth=2"]


@pytest.mark.parametrize("data, words", [
    ({}, "missing 'graphs'"), ({"graphs": ["x"], "budget": "9"}, "unknown key 'budget'"),
    ({"graphs": ["x"], "threads": 0}, "threads"), ({"graphs": ["x"], "seeds": ["a"]}, "seeds"),
    ({"graphs": ["x"], "options": 3}, "options"),
    ({"graphs": ["x"], "variants": {"v": {"lns": 1}}}, "unknown key 'lns'"),
    ({"graphs": ["x"], "variants": {"v": 3}}, "variant 'v' must be a table"),
    ({"graphs": ["x"], "variants": {}}, "variants"),
    ({"graphs": ["x"], "kill_margin": 0}, "kill_margin"), ({"graphs": ["x"], "imports": [3]}, "imports")])
def test_bad_grid_mapping_is_a_one_line_error(data, words):
    with pytest.raises(BenchSpecError, match=words):
        grid_from_mapping(data)


def test_cli_bench_writes_three_files_and_exits_0(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text(f'graphs = ["{SMALL}"]\nbudgets = ["100%", "90%"]\ntime_limits = [10]\n')
    code = main(["bench", "--grid", str(grid), "--executor", "serial", "--threads", "1", "-o", str(tmp_path / "o"),
                 "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"results.csv", "results.md", "pareto.png", "meta.json"}
    assert "| linear:depth=2 |" in out


def test_cli_bench_runs_several_grids_into_one_folder(tmp_path, capsys):
    (tmp_path / "a.toml").write_text(f'graphs = ["{SMALL}"]\nbudgets = ["100%"]\ntime_limits = [5]\n')
    (tmp_path / "b.toml").write_text('graphs = ["linear:depth=3"]\nbudgets = ["100%"]\ntime_limits = [7]\n'
                                     'kill_margin = 12\n[variants.nolns]\nbackend_options = {lns = false}\n')
    code = main(["bench", "--grid", str(tmp_path / "a.toml"), "--grid", str(tmp_path / "b.toml"), "--executor",
                 "serial", "--threads", "1", "-o", str(tmp_path / "o"), "--quiet", "--no-plot"])
    assert code == 0
    rows = read_csv(tmp_path / "o")
    assert [(r["graph"], r["time_limit"], r["variant"], r["status"]) for r in rows] == [
        (SMALL, 5.0, "", "optimal"), ("linear:depth=3", 7.0, "nolns", "optimal")]
    meta = __import__("json").loads((tmp_path / "o" / "meta.json").read_text())
    assert [g["kill_margin"] for g in meta["grids"]] == [30.0, 12.0] and meta["cpus"] >= 1


def test_cli_report_prints_the_tables_from_the_csvs(tmp_path, capsys, serial_rows):
    write_csv(serial_rows, tmp_path / "results.csv")
    assert main(["bench", "report", str(tmp_path), "-o", str(tmp_path / "t.md")]) == 0
    out = capsys.readouterr().out
    assert out.strip() == markdown_table(serial_rows) == (tmp_path / "t.md").read_text().strip()
    assert main(["bench", "report", str(tmp_path / "results.csv"), "--layout", "rows"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + len(serial_rows) and "overrun s" in lines[0] and "peak RSS MB" in lines[0]


def test_the_gap_layout_sets_the_model_beside_greedy_eviction_and_its_bound(tmp_path, capsys):
    def row(formulation, objective, bound, budget="50%"):
        return {"graph": "g", "budget_spec": budget, "formulation": formulation, "total_cost": 200,
                "objective": objective, "bound": bound, "status": "feasible", "order": "given"}
    rows = [row("greedy-eviction", 220, 200), row("moccasin", 218, 210),    # 9% vs 10%, gap 4 points: no
            row("greedy-eviction", 220, 200, "80%"), row("moccasin", 210, 209, "80%"),   # 5% vs 10%: yes
            row("greedy-eviction", "", "", "60%"), row("moccasin", 204, 203, "60%")]     # no greedy, gap 0.5: yes
    write_csv(rows, tmp_path / "results.csv")
    assert main(["bench", "report", str(tmp_path), "--layout", "gap"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| graph | budget | greedy-eviction TDI % | TDI % | status | bound TDI % | gap")
    assert lines[2] == "| g | 50% | 10.000 | 9.000 | feasible | 5.000 | 4.00 | no |"
    assert lines[3] == "| g | 80% | 10.000 | 5.000 | feasible | 4.500 | 0.50 | yes |"
    assert lines[4] == "| g | 60% | none | 2.000 | feasible | 1.500 | 0.50 | yes |"


def test_rows_table_joins_reference_figures_targets_and_a_baseline(tmp_path):
    def row(variant, status, tdi, wall, ttb):
        return {"graph": "g", "budget": 90, "budget_spec": "90%", "variant": variant, "formulation": "m",
                "backend": "b", "time_limit": 10.0, "seed": 0, "status": status, "tdi": tdi, "peak_memory": 88,
                "peak_frac": 0.88, "time_to_best": ttb, "wall_time": wall, "overrun": wall - 10, "order": "given",
                "peak_rss_mb": 100.0, "error": ""}
    (tmp_path / "ref.csv").write_text("graph,budget_spec,paper,target_status,target_tdi,target_seconds\n"
                                      "g,90%,0.8 / 9.3,,0.9,5\n")
    ref = read_reference(tmp_path / "ref.csv")
    rows = [row("base", "optimal", 0.8, 4.0, 2.0), row("slow", "feasible", 0.8, 10.0, 8.0),
            row("worse", "feasible", 1.6, 2.0, 1.0)]
    lines = rows_table(rows, reference=ref, baseline="base").splitlines()
    assert lines[0].endswith("| status | paper | met | wall / base | TDI / base |")
    assert [line.split(" | ")[-4:] for line in lines[2:]] == [
        ["0.8 / 9.3", "yes", "1.00", "1.00 |"], ["0.8 / 9.3", "no", "2.50", "1.00 |"],
        ["0.8 / 9.3", "no", "0.50", "2.00 |"]]


@pytest.mark.parametrize("argv, words", [
    (["bench"], "at least one GRAPH"), (["bench", "nope.json"], "nope.json"),
    (["bench", "report"], "at least one result folder"), (["bench", "report", "nowhere"], "cannot read"),
    (["bench", SMALL, "--reference", "r.csv"], "belong to 'remat bench report"),
    (["bench", SMALL, "--variants", "x"], "unknown variant 'x'"),
    (["bench", "no_such_graph", "--data-dir", "."], "no_such_graph.json in the data folder"),
    (["bench", SMALL, "--budgets", "lots"], "budget"), (["bench", SMALL, "--time-limits", "-1"], "positive"),
    (["bench", SMALL, "--address", "tcp://127.0.0.1:1"], "--executor dask"),
    (["bench", SMALL, "--option", "oops"], "KEY=VALUE")])
def test_cli_bench_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, words):
    code = main(argv + ["-o", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and err.count("\n") == 1
