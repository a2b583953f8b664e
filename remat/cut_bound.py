"""The cut bound: a lower bound on the cost of *every* schedule of a graph within a budget.

The argument, at one node ``x`` (the *cut*). Take any schedule, in any order,
with any number of recomputations, and look at the moment ``x`` is first
computed. Every ancestor of ``x`` has been computed by then. Memory at that
moment holds ``x``'s output and its inputs, and it is within the budget. An
ancestor ``v`` that some descendant of ``x`` reads is *needed after the cut*:
it is either resident at the cut, or computed again after it, which costs
``cost[v]`` on top of its first computation. A recomputation after the cut
reads the inputs of ``v``: they are needed after the cut too. So the extra
cost of the schedule is at least the optimum of

    minimise   sum(cost[v] * r[v])                       over the ancestors v of x
    subject to keep[v] + r[v] >= 1                        v needed after the cut
               keep[u] + r[u] >= r[v]                     u an input of v
               sum(mem[v] * keep[v]) <= budget - mem[x]   the inputs of x kept
               r[v] = 0                                   v not recomputable

a knapsack with a closure: which tensors to hold across the cut, and what
the rest costs to rebuild. Its LP relaxation, and any bound a MILP solver
proves on it, is a lower bound too. Nothing in it depends on the order, on
the number of copies, or on a formulation, so it bounds every schedule the
library can return; the best cut over a few candidates is taken. On training
graphs the cut at the loss, where every saved activation waits for the
backward pass, is the tight one.

The ``keep`` set of the solution is also a plan: hold those tensors across
the cut, rebuild the rest on demand (:func:`remat.heuristics.cut_plan`).

>>> from remat.generators import linear
>>> from remat.graph import no_remat_peak
>>> g = linear(6)                       # six layers of 1024 bytes, cost 10 each
>>> b = cut_lower_bound(g, no_remat_peak(g) - 1024, time_limit=10)
>>> b.value - g.total_cost              # one activation is rebuilt: the cheapest forward layer
10
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from remat.backends import SolveOptions, default_bound_backend, get_backend, solve_model
from remat.formulations.scaling import COST_RESOLUTION, scale_costs
from remat.graph import Graph, no_remat_profile
from remat.ir import BuildTimeout, Linear, Model, build_deadline
from remat.status import Status

CANDIDATE_CUTS = 3
"""Cuts solved as MILPs: the candidates whose needed-after-the-cut memory most exceeds the budget."""

SCREEN_WORK = 2_000_000
"""Nodes + edges walked to screen candidate cuts (each candidate walks the graph once)."""

MEMORY_RESOLUTION = 10**6
"""The memory row counts in units of at most a millionth of the sizes in play (rounded down)."""


@dataclass(frozen=True)
class Cut:
    """The tensors in play at cut ``node``: its ancestors, those needed after it, and their memory."""

    node: int
    ancestors: tuple[int, ...]
    needed: tuple[int, ...]
    excess: int  # memory of the needed tensors, x and its inputs, over the budget


@dataclass(frozen=True)
class CutBound:
    """``value`` bounds from below the cost of every schedule within the budget (``inf``: none fits).

    ``keep`` is the tensors the best cut's solution holds across it (the plan of
    :func:`remat.heuristics.cut_plan`), ``node`` that cut (None when no cut was solved).
    Non-integral costs are rounded down for the solver, so the value stays a bound.

    >>> CutBound(value=120, total_cost=100, status=Status.OPTIMAL, wall_time=0.0).tdi
    20.0
    """

    value: float
    total_cost: float
    status: Status
    wall_time: float
    node: int | None = None
    keep: tuple[int, ...] = ()

    def proves_optimal(self, cost: float | int) -> bool:
        """Whether a schedule of ``cost`` is optimal by this bound (floating-point sums of
        non-integral costs compared with a relative tolerance of 1e-9)."""
        return meets(cost, self.value)

    @property
    def tdi(self) -> float:
        """The bound as a total duration increase, percent of the total cost."""
        return 100.0 * (self.value - self.total_cost) / self.total_cost if self.total_cost else 0.0


def meets(cost: float | int, bound: float) -> bool:
    """Whether ``cost`` is at most ``bound`` (a lower bound: the cost is then optimal), float sums of
    non-integral costs compared with a relative tolerance of 1e-9.

    >>> meets(0.1 + 0.2, 0.3), meets(31, 30)
    (True, False)
    """
    return cost <= bound or math.isclose(cost, bound, rel_tol=1e-9)


def cut_at(graph: Graph, x: int, budget: int) -> Cut:
    """The ancestors of ``x``, those a descendant of ``x`` reads, and how far holding them all
    (with ``x`` and its inputs) exceeds ``budget``. Linear in nodes + edges.

    >>> from remat.generators import linear
    >>> g = linear(2)                   # f0 f1 loss grad_f1 grad_f0
    >>> c = cut_at(g, g.index["loss"], 0)
    >>> [g.ids[v] for v in c.needed]    # grad_f1 reads f0 and f1 (and the loss itself)
    ['f0', 'f1']
    """
    preds, succs, mem = graph.preds, graph.succs, graph.mem
    ancestors = reachable(preds, x)
    after = reachable(succs, x)
    needed = tuple(v for v in ancestors if any(w in after for w in succs[v]))
    held = set(needed) | set(preds[x])
    return Cut(x, tuple(sorted(ancestors)), needed, sum(mem[v] for v in held) + mem[x] - budget)


def reachable(links: tuple[tuple[int, ...], ...], x: int) -> set[int]:
    """Nodes reachable from ``x`` along ``links`` (``graph.preds``: its ancestors; ``graph.succs``: its
    descendants), ``x`` excluded.

    >>> from remat.generators import linear
    >>> g = linear(2)
    >>> sorted(g.ids[v] for v in reachable(g.preds, g.index["loss"]))
    ['f0', 'f1']
    """
    seen: set[int] = set()
    stack = list(links[x])
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(links[v])
    return seen


def candidate_cuts(graph: Graph, budget: int, most: int = CANDIDATE_CUTS, screen: int | None = None,
                   deadline: float | None = None) -> list[Cut]:
    """The ``most`` cuts whose needed tensors most exceed ``budget``, among the ``screen`` nodes
    where the graph's order without recomputation holds the most memory (their memory bounds a
    cut's from above; default :data:`SCREEN_WORK` over nodes + edges, 4 to 64 nodes), as many as
    ``deadline`` allows. Cuts that exceed nothing bound nothing and are left out.

    >>> from remat.generators import linear
    >>> g = linear(4)
    >>> [g.ids[c.node] for c in candidate_cuts(g, 3 * 1024, most=1)]   # its inputs f3 and loss held too
    ['grad_f3']
    """
    if screen is None:
        screen = max(4, min(64, SCREEN_WORK // (graph.n + graph.num_edges + 1)))
    profile = no_remat_profile(graph)
    ranked = sorted(range(graph.n), key=lambda v: -profile[v])[:screen]
    cuts = []
    for x in ranked:
        if profile[x] <= budget or (cuts and deadline is not None and time.perf_counter() > deadline):
            break  # ranked by memory: no later node exceeds the budget either
        cut = cut_at(graph, x, budget)
        if cut.excess > 0:
            cuts.append(cut)
    return sorted(cuts, key=lambda c: -c.excess)[:most]


@dataclass(frozen=True)
class CutModel:
    """The MILP of one cut; ``keep[i]`` is the variable of ``cut.ancestors[i]``."""

    model: Model
    cut: Cut
    keep: tuple
    cost_unit: float | int


def cut_model(graph: Graph, budget: int, cut: Cut) -> CutModel | None:
    """The cut's MILP (see the module), or None when the cut alone proves no schedule fits
    (its forced tensors exceed the budget).

    >>> from remat.generators import linear
    >>> g = linear(3)
    >>> cm = cut_model(g, 4 * 1024, cut_at(g, g.index["loss"], 4 * 1024))
    >>> cm.model.size()["bool_vars"]    # keep and rebuild for f0, f1, f2
    6
    """
    preds, mem, rec = graph.preds, graph.mem, graph.recomputable
    anc = cut.ancestors
    costs = scale_costs([graph.cost[v] for v in anc] or [0])
    top = max([graph.cost[v] for v in anc] or [0])
    units = costs.values if costs.exact else tuple(math.floor(graph.cost[v] / top * COST_RESOLUTION) for v in anc)
    inputs, needed = set(preds[cut.node]), set(cut.needed)
    forced = [v for v in anc if v in inputs or (v in needed and not rec[v])]
    room = budget - mem[cut.node] - sum(mem[v] for v in forced)
    if room < 0:
        return None
    m = Model(f"cut at {graph.ids[cut.node]}")
    keep = {v: m.bool_var(f"keep[{graph.ids[v]}]") for v in anc}
    again = {v: m.bool_var(f"rebuild[{graph.ids[v]}]") for v in anc if rec[v]}
    for v in forced:
        m.add(Linear(((keep[v], 1),), lb=1))
    for v in cut.needed:
        m.add(Linear(((keep[v], 1),) + (((again[v], 1),) if v in again else ()), lb=1))
    for v, r in again.items():
        for u in preds[v]:
            terms = [(keep[u], 1), (r, -1)] + ([(again[u], 1)] if u in again else [])
            m.add(Linear(tuple(terms), lb=0))
    held = set(forced)
    free = [v for v in anc if v not in held]
    # sizes in units of q, rounded down (room too): every schedule's choice still fits, so the bound holds,
    # and a floating-point MILP solver resolves the row exactly
    q = max(1, sum(mem[v] for v in free) // MEMORY_RESOLUTION)
    row = tuple((keep[v], mem[v] // q) for v in free if mem[v] // q)
    if sum(k for _, k in row) > room // q:  # else everything fits: no row
        m.add(Linear(row, ub=room // q))
    unit_of = dict(zip(anc, units))  # rounded down: still a lower bound
    m.minimize([(r, unit_of[v]) for v, r in again.items() if unit_of[v]])
    return CutModel(m, cut, tuple(keep[v] for v in anc), costs.unit)


def cut_lower_bound(graph: Graph, budget: int, *, time_limit: float | None = 10.0, backend: str | None = None,
                    threads: int | None = None, cuts: int = CANDIDATE_CUTS) -> CutBound:
    """The best cut bound over the candidate cuts (:func:`candidate_cuts`), each a MILP, within
    ``time_limit``. Valid for every schedule of ``graph`` within ``budget``,
    whatever the solver's status (at a limit it is the solver's own bound).

    Parameters
    ----------
    graph, budget : Graph, int
    time_limit : float, optional
        Seconds for all cuts together (the likeliest gets all of it, the next what it leaves if
        that is more than twice what the last took); None for no limit.
    backend : str, optional
        A backend that takes linear rows over Booleans; default :func:`remat.backends.default_bound_backend`.
    threads : int, optional
        Solver threads.
    cuts : int
        How many candidate cuts to solve.

    Returns
    -------
    CutBound
        At least the total cost; ``inf`` when a cut proves that no schedule fits.

    Examples
    --------
    >>> from remat.generators import linear
    >>> g = linear(4)
    >>> cut_lower_bound(g, 10**9).value == g.total_cost    # everything fits: nothing to rebuild
    True
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    best = CutBound(graph.total_cost, graph.total_cost, Status.OPTIMAL, 0.0)
    found = candidate_cuts(graph, budget, cuts, deadline=deadline)
    took = 0.0
    for cut in found:  # the likeliest first, with all the time left: MILP solvers stop early when they can
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 2 * took:
            break  # the next cut would likely not finish, and the caller has uses for the time
        began = time.perf_counter()
        bound = solve_cut(graph, budget, cut, left, backend, threads)
        took = time.perf_counter() - began
        if bound.value > best.value:
            best = bound
        if math.isinf(best.value):
            break
    return CutBound(best.value, graph.total_cost, best.status, time.perf_counter() - t0, best.node, best.keep)


def solve_cut(graph: Graph, budget: int, cut: Cut, time_limit: float | None, backend: str | None = None,
              threads: int | None = None) -> CutBound:
    """The bound of one cut (its MILP within ``time_limit`` seconds) and the solution's ``keep``.

    >>> from remat.generators import linear
    >>> g = linear(3)
    >>> solve_cut(g, 3 * 1024, cut_at(g, g.index["loss"], 3 * 1024), 10).value - g.total_cost   # f0 or f1
    10
    """
    total = graph.total_cost
    try:
        with build_deadline(None if time_limit is None else time.perf_counter() + time_limit):
            built = cut_model(graph, budget, cut)
    except BuildTimeout:
        return CutBound(total, total, Status.UNKNOWN, 0.0)
    if built is None:
        return CutBound(math.inf, total, Status.INFEASIBLE, 0.0, cut.node)
    name = backend or default_bound_backend()
    extra = {"lns": False} if name == "cpsat" else {}
    raw = solve_model(get_backend(name), built.model, SolveOptions(time_limit=time_limit, threads=threads,
                                                                   extra=extra))
    if raw.interrupted:
        raise KeyboardInterrupt  # the solver caught a Ctrl-C: the caller's to handle
    if raw.status == Status.INFEASIBLE:
        return CutBound(math.inf, total, raw.status, 0.0, cut.node)
    if raw.status == Status.OPTIMAL and raw.objective is not None:
        units = round(raw.objective)
    elif raw.bound is not None and math.isfinite(raw.bound):
        units = max(0, math.ceil(raw.bound - 1e-6))
    else:
        units = 0
    keep: tuple[int, ...] = ()
    if raw.values is not None:
        keep = tuple(v for v, var in zip(cut.ancestors, built.keep) if raw.values.get(var, 0) > 0.5)
    return CutBound(total + units * built.cost_unit, total, raw.status, 0.0, cut.node, keep)
