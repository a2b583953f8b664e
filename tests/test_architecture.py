"""The layering of docs/design: the verifier trusts nothing it checks; backends see only the IR."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx

REMAT = Path(__file__).resolve().parents[1] / "remat"


def remat_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("remat"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("remat"))
    return names


def test_the_verifier_imports_only_the_graph_and_the_schedule():
    assert remat_imports(REMAT / "verify.py") <= {"remat.graph", "remat.schedule"}


def test_backends_import_no_formulation():
    for path in (REMAT / "backends").glob("*.py"):
        formulations = {m for m in remat_imports(path) if m.startswith("remat.formulations")}
        assert not formulations, (path.name, formulations)


# ------------------------------------------------------------ imports at run time
IMPORT_GRAPH = r"""
import builtins, importlib, json, pkgutil, sys
import remat  # noqa: the package first, as every user does

edges = set()
real_import = builtins.__import__

def recording_import(name, globals=None, locals=None, fromlist=(), level=0):
    module = real_import(name, globals, locals, fromlist, level)
    importer = (globals or {}).get("__name__", "")
    if level:
        base = importer if (globals or {}).get("__path__") else importer.rpartition(".")[0]
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        name = f"{base}.{name}" if name else base
    submodules = [f"{name}.{item}" for item in fromlist or () if f"{name}.{item}" in sys.modules]
    # "from P import sub" depends on the submodule; on P itself only for P's own attributes
    targets = submodules + ([name] if len(submodules) < len(fromlist or ()) or not fromlist else [])
    for target in targets:
        if importer.startswith("remat") and target.startswith("remat") and target != importer:
            edges.add((importer, target))
    return module

builtins.__import__ = recording_import
for name in list(sys.modules):  # import everything again, from scratch, with the recorder on
    if name == "remat" or name.startswith("remat."):
        del sys.modules[name]
modules = ["remat"] + [m.name for m in pkgutil.walk_packages(remat.__path__, "remat.")
                       if m.name != "remat.__main__"]  # that one runs the CLI
for name in modules:
    importlib.import_module(name)
print(json.dumps({"modules": modules, "edges": sorted(edges)}))
"""


def _import_graph():
    done = subprocess.run([sys.executable, "-c", IMPORT_GRAPH], capture_output=True, text=True, cwd=REMAT.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_no_import_cycle_in_remat_as_modules_import_each_other_at_run_time():
    graph = nx.DiGraph(_import_graph()["edges"])
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles[:5]


def test_the_import_recorder_sees_a_cycle_when_there_is_one():
    graph = nx.DiGraph(_import_graph()["edges"])
    assert graph.has_edge("remat.solve", "remat.stages")  # the recorder sees real imports
    graph.add_edge("remat.stages", "remat.solve")  # what a hidden local import would add
    assert list(nx.simple_cycles(graph))


def test_each_module_imports_alone():
    modules = _import_graph()["modules"]
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"

    def alone(name: str) -> tuple[str, int, str]:  # a fresh interpreter: nothing imported before it
        done = subprocess.run([sys.executable, "-c", script, name], capture_output=True, text=True, cwd=REMAT.parent)
        return name, done.returncode, done.stderr.strip()[-300:]

    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [row for row in pool.map(alone, modules) if row[1] != 0]
    assert not failed, failed


def test_the_ir_imports_no_formulation_and_no_backend_at_run_time():
    edges = _import_graph()["edges"]
    assert not [t for s, t in edges if s == "remat.ir" and t.startswith(("remat.formulations", "remat.backends"))]
    assert ["remat.ir", "remat.ir"] not in edges and any(t == "remat.ir" for _, t in edges)


def test_no_function_of_the_solve_module_is_over_60_lines():
    tree = ast.parse((REMAT / "solve.py").read_text())
    long = {f.name: f.end_lineno - f.lineno + 1 for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and f.end_lineno - f.lineno + 1 > 60}
    assert not long, long
