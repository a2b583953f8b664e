"""``remat bench``: grids from flags and TOML, executors that agree, and the three output files."""

from __future__ import annotations

import csv

import pytest

from remat.bench import BenchSpecError, Grid, expand, grid_from_mapping, load_grid, markdown_table, run_grid
from remat.bench import plot_pareto, write_csv
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
    ({"graphs": ["x"], "options": 3}, "options")])
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
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"results.csv", "results.md", "pareto.png"}
    assert "| linear:depth=2 |" in out


@pytest.mark.parametrize("argv, words", [
    (["bench"], "at least one GRAPH"), (["bench", "nope.json"], "nope.json"),
    (["bench", SMALL, "--budgets", "lots"], "budget"), (["bench", SMALL, "--time-limits", "-1"], "positive"),
    (["bench", SMALL, "--address", "tcp://127.0.0.1:1"], "--executor dask"),
    (["bench", SMALL, "--option", "oops"], "KEY=VALUE")])
def test_cli_bench_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, words):
    code = main(argv + ["-o", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and err.count("\n") == 1
