"""README's opening commands are what CI and new users run: keep them true."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    return re.findall(r"^ *\$ *(.+)$", (ROOT / "README.md").read_text(), flags=re.M)


def test_readme_opens_with_an_install_and_solve_command_and_a_test_command():
    first, second = readme_commands()[:2]
    assert first.startswith("pip install .") and "remat solve --example" in first
    assert second.startswith("pip install") and "pytest" in second


def test_ci_runs_exactly_the_readme_test_command():
    script = ROOT / ".ci" / "run"
    extracted = subprocess.run(
        ["sed", "-n", r"s/^ *\$ *\(pip install .*pytest.*\)$/\1/p", str(ROOT / "README.md")],
        capture_output=True, text=True, check=True).stdout.splitlines()[0]
    assert extracted == readme_commands()[1]
    assert "README.md" in script.read_text()
