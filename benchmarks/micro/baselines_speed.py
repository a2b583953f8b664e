"""The baselines before and after the near-linear rewrite, in the same run: seconds and TDI.

For every graph and budget (90/70/50% of the no-remat peak) each heuristic runs
in its old form (the code before the rewrite, kept below as ``old_*``) and its
new one (:mod:`remat.heuristics.baselines`); a row gives both times, their
ratio and both TDIs (cost over the total cost, in %; ``over`` marks a schedule
above the budget, which chen-sqrt does not look at). Every new schedule is
checked by :func:`remat.verify.verify`. New runs stop at ``--new-cap`` seconds (``none``), old runs at ``--old-cap``
(old chen-greedy looks at its deadline only between thresholds, old chen-sqrt
never: it runs to the end) and are skipped on graphs over ``--old-max-nodes``.
``greedy-eviction/exh`` is the new exhaustive rule (``sample=None``, the old
rule's very sequence). The last lines time how far past a deadline half a
second away each new heuristic returns on the largest graph.

    python benchmarks/micro/baselines_speed.py --out benchmarks/results/baselines_speed.md
    python benchmarks/micro/baselines_speed.py --quick   # the 1k-node graphs only
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any, Callable, Sequence


from remat.generators import from_spec
from remat.graph import Graph, no_remat_peak
from remat.heuristics import baselines as new
from remat.testing import reference_checkpoint_schedule as old_checkpoint_schedule
from remat.testing import reference_greedy_eviction as old_greedy_eviction
from remat.verify import verify

Sequence_ = list[int]

TRANSFORMER = "transformer:layers={},d=1024,heads=16,seq=2048,batch=2,vocab=32000"
GRAPHS = (TRANSFORMER.format(14), TRANSFORMER.format(160), "random_layered:n=1000", "random_layered:n=5000",
          TRANSFORMER.format(1408))
QUICK = (GRAPHS[0], GRAPHS[2])
FRACS = (0.9, 0.7, 0.5)

# ------------------------------------------------------------------ the code before the rewrite (for comparison)
# (forward_part, articulation_points, chen_greedy_checkpoints and peak_and_cost did not change: the new module's)
# ------------------------------------------------------------ the executors
def old_chen_sqrt(graph: Graph, budget: int | None = None, *, articulation: bool = False,
              deadline: float | None = None) -> Sequence_ | None:
    cands = new.articulation_points(graph) if articulation else new.forward_part(graph)
    k = max(1, math.isqrt(len(cands)))
    return old_checkpoint_schedule(graph, [v for i, v in enumerate(cands) if (i + 1) % k == 0])


def old_chen_greedy(graph: Graph, budget: int | None = None, *, articulation: bool = False,
                steps: int = 16, deadline: float | None = None) -> Sequence_ | None:
    fwd = new.forward_part(graph)
    lo = max(1, max(graph.mem[v] for v in fwd))
    hi = max(lo, sum(graph.mem[v] for v in fwd))
    thresholds = sorted({int(lo * (hi / lo) ** (i / max(1, steps - 1))) for i in range(steps)})
    best: tuple[Any, ...] | None = None
    seen: set[tuple[int, ...]] = set()
    for th in thresholds:
        if old__past(deadline):
            break
        ckpts = tuple(new.chen_greedy_checkpoints(graph, th, articulation=articulation))
        if ckpts in seen:
            continue
        seen.add(ckpts)
        seq = old_checkpoint_schedule(graph, ckpts)
        if seq is None:
            continue
        peak, cost = new.peak_and_cost(graph, seq)
        if budget is not None and peak > budget:
            continue
        key = (cost, peak) if budget is not None else (peak, cost)
        if best is None or key < best[0]:
            best = (key, seq)
    return None if best is None else best[1]


def old__past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline




OLD: dict[str, Callable[..., Any]] = {
    "chen-sqrt": lambda g, b, d: old_chen_sqrt(g, b, deadline=d),
    "chen-sqrt-ap": lambda g, b, d: old_chen_sqrt(g, b, articulation=True, deadline=d),
    "greedy-eviction": lambda g, b, d: old_greedy_eviction(g, b, deadline=d),
    "chen-greedy": lambda g, b, d: old_chen_greedy(g, b, deadline=d),
    "chen-greedy-ap": lambda g, b, d: old_chen_greedy(g, b, articulation=True, deadline=d),
}
NEW: dict[str, Callable[..., Any]] = {
    "chen-sqrt": lambda g, b, d: new.chen_sqrt(g, b, deadline=d),
    "chen-sqrt-ap": lambda g, b, d: new.chen_sqrt(g, b, articulation=True, deadline=d),
    "greedy-eviction": lambda g, b, d: new.greedy_eviction(g, b, deadline=d),
    "greedy-eviction/exh": lambda g, b, d: new.greedy_eviction(g, b, deadline=d, sample=None),
    "chen-greedy": lambda g, b, d: new.chen_greedy(g, b, deadline=d),
    "chen-greedy-ap": lambda g, b, d: new.chen_greedy(g, b, articulation=True, deadline=d),
}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _tdi(graph: Graph, seq: Sequence[int] | None, budget: int) -> str:
    if seq is None:
        return "none"
    peak, cost = new.peak_and_cost(graph, seq)
    return f"{100 * (cost / graph.total_cost - 1):.3f}" + ("" if peak <= budget else " over")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 1k-node graphs only")
    ap.add_argument("--old-cap", type=float, default=20.0, help="seconds for each old run (default 20)")
    ap.add_argument("--new-cap", type=float, default=60.0, help="deadline of each new run (default 60)")
    ap.add_argument("--old-max-nodes", type=int, default=20000, help="skip the old code above this size")
    ap.add_argument("--out", help="also write the table to this markdown file")
    args = ap.parse_args()
    lines = ["| graph | nodes | budget | heuristic | old s | new s | old / new | old TDI % | new TDI % |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    graphs = QUICK if args.quick else GRAPHS
    largest = None
    for spec in graphs:
        g = from_spec(spec)
        largest = (spec, g)
        peak = no_remat_peak(g)
        short = spec.replace(",d=1024,heads=16,seq=2048,batch=2,vocab=32000", ",...")
        for frac in FRACS:
            budget = int(frac * peak)
            for name, fn in NEW.items():
                if name == "greedy-eviction/exh" and g.n > args.old_max_nodes:
                    continue
                t_new, seq = _timed(lambda: fn(g, budget, time.perf_counter() + args.new_cap))  # noqa: B023
                if seq is not None:
                    rep = verify(g, new.baseline_schedule(g, seq))
                    assert rep.valid, (spec, name, rep.violations[:1])
                old_fn = OLD.get(name)
                if old_fn is None or g.n > args.old_max_nodes:
                    t_old, old_tdi, ratio = "-", "-", "-"
                else:
                    cap = time.perf_counter() + args.old_cap
                    t, old_seq = _timed(lambda: old_fn(g, budget, cap))  # noqa: B023
                    cut = t > args.old_cap
                    t_old = f"{t:.2f}" + (" (cut)" if cut else "")
                    old_tdi = _tdi(g, old_seq, budget) + (" (cut)" if cut else "")
                    ratio = f"{t / max(t_new, 1e-6):.1f}" + ("+" if cut else "")
                row = (f"| {short} | {g.n} | {round(100 * frac)}% | {name} | {t_old} | {t_new:.2f} | {ratio} | "
                       f"{old_tdi} | {_tdi(g, seq, budget)} |")
                lines.append(row)
                print(row, flush=True)
                _write(args, lines)
    if largest is not None:
        spec, g = largest
        budget = int(0.5 * no_remat_peak(g))
        lines += ["", f"Deadline 0.5 s ahead on {g.n} nodes at 50%: seconds past it when each returns.", "",
                  "| heuristic | past the deadline s | result |", "|---|---:|---|"]
        print("\n".join(lines[-4:]), flush=True)
        for name, fn in NEW.items():
            if name == "greedy-eviction/exh":
                continue
            deadline = time.perf_counter() + 0.5
            _, seq = _timed(lambda: fn(g, budget, deadline))  # noqa: B023
            over = time.perf_counter() - deadline
            row = f"| {name} | {over:.3f} | {'none' if seq is None else 'a schedule'} |"
            lines.append(row)
            print(row, flush=True)
    _write(args, lines)


def _write(args: argparse.Namespace, lines: list[str]) -> None:
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("# Baselines: old vs new (benchmarks/micro/baselines_speed.py)\n\n"
                     f"`python benchmarks/micro/baselines_speed.py {' '.join(sys.argv[1:])}`\n\n"
                     "Times are one run each on a shared machine: read the ratios, not the seconds.\n\n"
                     + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
