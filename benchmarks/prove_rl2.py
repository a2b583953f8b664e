"""Prove the paper model's optimum on RL2 at 132,156 bytes (the given order, 2 threads, up to 300 s).

    python benchmarks/prove_rl2.py [PAPER_DIR]

Prints status, TDI%, cost, seconds to the best schedule and wall seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import remat

paper = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/graphs/paper")
graph = remat.load_graph(paper / "rl2_random_layered_n250.json")
r = remat.solve(graph, 132_156, threads=2, time_limit=300, order="given")
print(f"RL2 132,156: {r.status.value}, TDI {r.tdi:.4f}%, cost {r.objective:,}, "
      f"best at {r.time_to_best:.1f} s, wall {r.wall_time:.1f} s")
