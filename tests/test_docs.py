"""The documentation site builds strictly, and its worked examples run and are right."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

import remat
from remat.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


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
    example = load(DOCS / "examples" / "add_formulation.py")
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
    example = load(DOCS / "examples" / "add_backend.py")
    brute, cpsat = example.demo()
    g = example.skip_graph()
    assert brute.status == cpsat.status == remat.Status.OPTIMAL and "brute" in remat.backends.installed_backends()
    assert brute.objective == cpsat.objective == 15  # a recomputed once: 13 + 2
    assert remat.verify(g, brute.schedule, 12).valid
    below = remat.solve(g, 11, backend="brute", time_limit=30)  # under min_budget (c with its input b: 12)
    assert below.status == remat.Status.INFEASIBLE and remat.min_budget(g) == 12
    # At a limit the search proves nothing: an incumbent is FEASIBLE, no schedule is UNKNOWN.
    big = remat.generators.linear(3)
    limited = remat.solve(big, int(0.8 * remat.no_remat_peak(big)), backend=example.BruteForceBackend(),
                          time_limit=0.5)
    assert limited.status in (remat.Status.FEASIBLE, remat.Status.UNKNOWN)
