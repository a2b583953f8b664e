"""The layering of docs/design: the verifier trusts nothing it checks; backends see only the IR."""

from __future__ import annotations

import ast
from pathlib import Path

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
