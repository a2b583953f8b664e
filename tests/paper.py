"""Access to the Moccasin paper's published graphs in ../shared (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "graphs" / "paper"


def paper_graph_path(stem: str) -> Path:
    path = PAPER_DIR / f"{stem}.json"
    if not path.exists():
        pytest.skip(f"paper graph {stem} not available at {PAPER_DIR}")
    return path
