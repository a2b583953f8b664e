"""Greedy eviction's two ways of pricing an eviction, in the same run: TDI and seconds.

``exact`` (``greedy-eviction``) charges a candidate its cost plus that of every
evicted ancestor its recomputation would need, a walk that grows with the
evictions; ``eq`` (``greedy-eviction-eq``, DTR's equivalence classes) charges
the classes of its non-resident inputs, in near-constant time. For every graph
and budget (90/70/50% of the no-remat peak) a cell gives each rule's TDI (cost
over the total cost, in %; ``-`` when it found no schedule before
``--deadline`` seconds or got stuck) and seconds. Every schedule is checked by
:func:`remat.verify.verify` within the budget. The paper's graphs are read
from ``../shared/graphs/paper`` when that folder is there.

    python benchmarks/micro/eviction_rules.py --out benchmarks/results/eviction_rules.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from remat.generators import from_spec
from remat.graph import Graph, load_graph, no_remat_peak
from remat.heuristics.baselines import baseline_schedule, greedy_eviction
from remat.verify import verify

ROOT = Path(__file__).resolve().parents[2]
TRAINING = sorted((ROOT / "benchmarks/graphs/training").glob("*.json"))
PAPER = sorted((ROOT.parent / "shared/graphs/paper").glob("*.json"))
GENERATED = ("random_layered:n=1000,seed=0", "random_layered:n=2000,seed=0", "random_layered:n=5000,seed=0",
             "random_layered:n=20000,seed=0")
BUDGETS = (0.9, 0.7, 0.5)


def cell(graph: Graph, budget: int, classes: bool, deadline: float) -> str:
    start = time.perf_counter()
    seq = greedy_eviction(graph, budget, deadline=start + deadline, classes=classes)
    seconds = time.perf_counter() - start
    if seq is None:
        return f"- / {seconds:.1f}"
    schedule = baseline_schedule(graph, seq, budget)
    report = verify(graph, schedule, budget)
    assert report.valid and schedule.peak_memory <= budget, report.violations
    return f"{100 * (report.total_cost / graph.total_cost - 1):.3f} / {seconds:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=20.0, help="seconds per run")
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    graphs = [(p.stem, load_graph(p)) for p in (*TRAINING, *PAPER)] + [(s, from_spec(s)) for s in GENERATED]
    head = ["graph", "nodes"] + [f"{int(100 * f)}% {rule}: TDI % / s" for f in BUDGETS for rule in ("exact", "eq")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    print(lines[0], lines[1], sep="\n", flush=True)
    for name, graph in graphs:
        peak = no_remat_peak(graph)
        cells = [cell(graph, int(f * peak), classes, args.deadline) for f in BUDGETS for classes in (False, True)]
        lines.append(f"| {name} | {graph.n} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
