"""The documentation site builds strictly, and its worked examples run and are right."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import remat
from remat.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PLUGIN = ROOT / "examples" / "plugin" / "remat_example_plugin"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def own_registries(monkeypatch):
    """Examples register a backend and a formulation: keep them out of the rest of the suite."""
    import remat.backends.base as backends
    import remat.formulations.base as formulations
    monkeypatch.setattr(backends, "_REGISTRY", dict(backends._REGISTRY))
    monkeypatch.setattr(formulations, "_REGISTRY", dict(formulations._REGISTRY))
    backends.is_available.cache_clear()
    yield
    backends.is_available.cache_clear()


# ------------------------------------------------------------------ the site
def test_site_builds_strictly_with_generated_cli_reference_and_pictures(tmp_path):
    pytest.importorskip("mkdocs")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(site)], cwd=ROOT, capture_output=True, text=True, timeout=240,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text()
    for name in COMMANDS:  # every subcommand, with its own usage line
        assert f"usage: remat {name}" in cli
    model = (site / "model" / "index.html").read_text()
    assert "<math" in model and "$" not in model.split("<article", 1)[1].split("</article>", 1)[0]
    for picture in ("memory", "gantt", "pareto"):
        assert (site / "img" / f"{picture}.png").read_bytes().startswith(b"\x89PNG")
    api = (site / "api" / "index.html").read_text()
    assert "remat.solve" in api and "&gt;&gt;&gt;" in api  # doctests shown as code, not as quotes
    # performance.md's tables come from the committed CSVs: one table row per CSV row, with its TDI
    perf = (site / "performance" / "index.html").read_text()
    assert "remat:bench" not in perf
    rows = list(csv.DictReader(open(RESULTS / "paper" / "results.csv")))
    table = perf.split("<table>")[1].split("</table>")[0]
    body = table.split("<tbody>")[1]
    assert body.count("<tr>") == len(rows) > 0
    for row, tr in zip(rows, body.split("<tr>")[1:]):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr)
        assert cells[0] == row["graph"] and cells[3] == (f"{float(row['tdi']):.3f}" if row["tdi"] else "-")
    assert (site / "research" / "performance-log" / "index.html").is_file()


# ------------------------------------------------------------------ the performance page
HASH = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
RESULTS = ROOT / "benchmarks" / "results"


def test_performance_page_is_short_and_names_no_commit():
    text = (DOCS / "performance.md").read_text()
    assert len(text.splitlines()) < 200
    assert HASH.findall(text) == []
    assert len(HASH.findall((DOCS / "research" / "performance-log.md").read_text())) > 20  # the check can fire


def test_performance_tables_are_generated_from_the_committed_csvs(tmp_path):
    hooks = load(DOCS / "hooks.py")
    text = (DOCS / "performance.md").read_text()
    markers = re.findall(r"<!-- remat:bench-(?:table|meta) (.*?) -->", text)
    assert markers and not any(line.startswith("|") for line in text.splitlines())  # no table by hand
    shutil.copytree(RESULTS, tmp_path / "benchmarks" / "results")
    before = hooks.bench_markers(text, tmp_path)
    rows = list(csv.DictReader(open(RESULTS / "paper" / "results.csv")))
    blocks = re.findall(r"(?m)(?:^\|.*\n?)+", before)  # the tables, in the page's order
    tables = [[line for line in block.splitlines() if line.startswith("| ")] for block in blocks]
    lines = tables[0]  # the paper's table comes first
    assert len(lines) == 1 + len(rows)  # header and one line per CSV row
    assert len(tables) == 4
    for table, folder in zip(tables[1:], ("training", "training_before", "scale")):
        cases = list(csv.DictReader(open(RESULTS / folder / "results.csv")))
        cells = {(r["graph"], r["budget_spec"]) for r in cases} if folder != "scale" else cases
        assert len(table) == 1 + len(cells), folder
    for row, line in zip(rows, lines[1:]):
        assert line.startswith(f"| {row['graph']} | ") and f"| {float(row['time_limit']):g} |" in line
    # Change the CSV: the page follows.
    path = tmp_path / "benchmarks" / "results" / "paper" / "results.csv"
    with open(path) as fh:
        data = list(csv.DictReader(fh))
    data[0].update(tdi="12.3456", status="feasible")
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    after = hooks.bench_markers(text, tmp_path)
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 1 and "| 12.346 |" in changed[0][1] and "| feasible |" in changed[0][1]
    assert "| no |" in changed[0][1]  # its target (optimal) is no longer met
    meta = re.search(r"The run: (.*?)\. The machine", before, re.S).group(1)
    assert meta.startswith(f"remat {remat.__version__}, ") and "CPUs" in meta and "load average" in meta


def test_nav_leaves_out_pages_not_written_yet(tmp_path):
    hooks = load(DOCS / "hooks.py")
    (tmp_path / "a.md").write_text("# a")
    nav = [{"A": "a.md"}, {"B": "b.md"}, {"Group": [{"A": "a.md"}, {"C": "c.md"}]}, {"Only missing": [{"D": "d.md"}]},
           {"Web": "https://example.org/x.md"}]
    assert hooks._prune(nav, tmp_path) == [{"A": "a.md"}, {"Group": [{"A": "a.md"}]},
                                           {"Web": "https://example.org/x.md"}]


def test_math_is_converted_outside_code_only():
    hooks = load(DOCS / "hooks.py")
    text = "cost $w_v$ and\n\n$$\\sum_v w_v$$\n\n```console\n$ remat solve $x$\n```\nand `$HOME`"
    out, maths = hooks.math_to_placeholders(text)
    assert len(maths) == 2 and 'display="inline"' in maths[0] and 'display="block"' in maths[1]
    assert "$ remat solve $x$" in out and "`$HOME`" in out and "w_v" not in out


def test_doctest_blocks_become_code_fences():
    fence = load(DOCS / "griffe_doctest.py").fence_doctests
    text = "Sum.\n\n>>> f(1)\n[1]\n\nMore.\n```python\n>>> kept\n```"
    assert fence(text) == "Sum.\n\n```pycon\n>>> f(1)\n[1]\n```\n\nMore.\n```python\n>>> kept\n```"


# ------------------------------------------------------------------ worked examples
def test_formulation_example_finds_an_order_within_the_budget(own_registries):
    example = load(PLUGIN / "reorder.py")
    result = example.demo()
    g = example.two_branches()
    assert result.status == remat.Status.OPTIMAL and "reorder" in remat.formulations.formulation_names()
    assert remat.verify(g, result.schedule, 12).valid
    assert result.objective == g.total_cost and sorted(result.schedule.computes) == sorted(g.ids)
    # By brute force over all orders: 12 is the least peak without recomputation, so 11 must be infeasible.
    orders = [p for p in itertools.permutations(range(g.n))
              if all(p.index(u) < p.index(v) for u, v in g.edges)]
    assert min(remat.no_remat_peak(g, p) for p in orders) == 12
    assert remat.solve(g, 11, formulation="reorder", time_limit=10, threads=1).status == remat.Status.INFEASIBLE


def test_backend_example_agrees_with_cpsat_and_maps_statuses(own_registries):
    example = load(PLUGIN / "brute.py")
    brute, cpsat = example.demo()
    g = example.skip_graph()
    assert brute.status == cpsat.status == remat.Status.OPTIMAL and "brute" in remat.backends.installed_backends()
    assert brute.objective == cpsat.objective == 15  # a recomputed once: 13 + 2
    assert remat.verify(g, brute.schedule, 12).valid
    below = remat.solve(g, 11, backend="brute", time_limit=30)  # under min_budget (c with its input b: 12)
    assert below.status == remat.Status.INFEASIBLE and remat.min_budget(g) == 12
    # At a limit the search proves nothing: an incumbent is FEASIBLE, no schedule is UNKNOWN.
    big = remat.generators.random_layered(16, seed=1)
    limited = remat.solve(big, int(0.9 * remat.no_remat_peak(big)), backend=example.BruteForceBackend(),
                          time_limit=0.5, warm_start=False, order="given")
    assert limited.status in (remat.Status.FEASIBLE, remat.Status.UNKNOWN)
