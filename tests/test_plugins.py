"""Third-party backends and formulations are found through entry points: the example package
``examples/plugin`` (one file each) is installed into a scratch folder and used by name."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from remat.generators import linear
from remat.graph import no_remat_peak
from remat.schedule import load_schedule
from remat.verify import verify

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The example package installed with pip into a folder of its own: an environment for the
    subprocesses below, with that folder on their path."""
    target = tmp_path_factory.mktemp("site")
    # setuptools at hand: build with it; else pip fetches it, as for any source install
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation,
                           "--target", str(target), str(PLUGIN)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"pip could not install the example plugin: {done.stderr[-2000:]}")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}


def run(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "remat", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT)


def test_without_the_package_neither_name_is_known(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    graph = tmp_path / "g.json"
    linear(2).save(graph)
    done = run(env, "solve", str(graph), "--budget", "100%", "--backend", "brute", "-q")
    assert done.returncode == 2 and "unknown backend 'brute'" in done.stderr


def test_the_cli_lists_and_uses_the_installed_backend_and_formulation(installed, tmp_path):
    listing = run(installed, "backends")
    assert listing.returncode == 0 and "brute" in listing.stdout, listing.stderr
    g = linear(2)
    graph, out = tmp_path / "g.json", tmp_path / "s.json"
    g.save(graph)
    budget = no_remat_peak(g)
    done = run(installed, "solve", str(graph), "--budget", str(budget), "--backend", "brute",
               "--formulation", "reorder", "--time-limit", "30", "-q", "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status optimal" in done.stdout
    schedule = load_schedule(out)
    assert verify(g, schedule, budget).valid and sorted(schedule.computes) == sorted(g.ids)


def test_the_api_finds_both_by_name_with_no_registration_code(installed):
    script = ("import json, remat\n"
              "from remat.formulations import formulation_names\n"
              "from remat.backends import backend_names\n"
              "g = remat.Graph.from_edges([('a', 'b'), ('b', 'c'), ('a', 'c')], cost=dict(a=1, b=1, c=1),\n"
              "                           mem=dict(a=1, b=1, c=1))\n"
              "r = remat.solve(g, 3, backend='brute', formulation='reorder', time_limit=30)\n"
              "print(json.dumps([r.status.value, r.backend, r.formulation, 'reorder' in formulation_names(),\n"
              "                  'brute' in backend_names(), remat.verify(g, r.schedule, 3).valid]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=installed, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == ["optimal", "brute", "reorder", True, True, True]
