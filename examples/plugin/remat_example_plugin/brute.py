"""A backend in one file: exhaustive search over the IR, for tiny models.

It reads only the solver-neutral model (:mod:`remat.ir`), never
the graph, and needs no solver package, so it is an independent check of a
formulation and of the CP-SAT backend on models small enough to enumerate.

The search sets the objective's variables first (cheapest values first), then
the rest in an order that lets each constraint be checked as soon as all its
variables are set; the memory cumulative is checked on the parts of intervals
already certain (demands are >= 0, so an overload can only grow); an integer that only appears in switched-off
constraints and absent intervals is set to its lower bound instead of being
enumerated; and a branch whose objective cannot beat the incumbent is cut.
A complete search proves its answer (OPTIMAL or INFEASIBLE); at the time
limit an incumbent is FEASIBLE, never OPTIMAL.

Run it: ``python examples/plugin/remat_example_plugin/brute.py``; installed with its package
(``pip install examples/plugin``), remat finds it as ``--backend brute`` through its entry point.
"""

from __future__ import annotations

import time
from typing import ClassVar

import remat
import remat.backends
from remat.backends import RawResult, SolveOptions, register_backend
from remat.ir import BoolVar, Clause, Cumulative, Interval, Linear, Model, Not, Var
from remat.status import Status


class BruteForceBackend:
    """Exhaustive search (``backend="brute"`` once registered).

    Without propagation or learning it is for tiny models only: Moccasin on
    graphs of three or four nodes proves in well under a second, but proving
    infeasibility at six nodes already takes minutes.
    """

    name = "brute"
    # every IR construct natively (remat.backends.CONSTRUCTS): solve_model hands it the model as it is
    features: ClassVar[frozenset[str]] = frozenset({"cumulative", "intervals", "enforced-linear", "clauses",
                                                    "domains"})

    @classmethod
    def is_available(cls) -> bool:
        return True  # pure Python: nothing to import

    def solve(self, model: Model, options: SolveOptions) -> RawResult:
        t0 = time.perf_counter()
        deadline = None if options.time_limit is None else t0 + options.time_limit
        domains = {v: (0, 1) for v in model.bool_vars}
        domains.update({v: v.values or tuple(range(v.lb, v.ub + 1)) for v in model.int_vars})
        order = _search_order(model, domains)
        depth = {v: k for k, v in enumerate(order)}

        checks: list[list] = [[] for _ in order]  # checks[k]: what can be decided once order[k] is set
        users: dict[Var, list] = {v: [] for v in order}  # what each integer's value matters to
        cumulatives = [c for c in model.constraints if isinstance(c, Cumulative)]
        for c in model.constraints:
            if isinstance(c, (Linear, Clause)):
                checks[max(depth[v] for v in _scope(c))].append(c)
                for v, _ in getattr(c, "terms", ()):
                    users[v].append(c)
        for itv in model.intervals:
            checks[max(depth[v] for v in _scope(itv))].append(itv)
            users[itv.start].append(itv)
            users[itv.end].append(itv)
        objective = model.objective.terms if model.objective else ()
        offset = model.objective.offset if model.objective else 0
        for v, _ in objective:
            users[v].append("objective")

        values: dict[Var, int] = {}
        best: list = [None, None]  # objective, assignment
        nodes = [0]
        timed_out = [False]

        def holds(c) -> bool:
            if isinstance(c, Interval):
                absent = c.presence is not None and not values[c.presence]
                return absent or values[c.end] - values[c.start] >= c.min_size
            if not all(_lit(x, values) for x in c.enforce):
                return True
            if isinstance(c, Clause):
                return any(_lit(x, values) for x in c.literals)
            total = sum(coef * values[v] for v, coef in c.terms)
            return (c.lb is None or total >= c.lb) and (c.ub is None or total <= c.ub)

        def bounds(v: Var) -> tuple[int, int]:
            return (values[v], values[v]) if v in values else (domains[v][0], domains[v][-1])

        def memory_ok() -> bool:
            # Each present interval surely covers [latest start, earliest end): its compulsory part.
            for cum in cumulatives:
                events = []
                for itv, demand in zip(cum.intervals, cum.demands):
                    if itv.presence is not None and not values.get(itv.presence, 0):
                        continue  # absent, or not known to be present yet
                    (s_lo, s_hi), (e_lo, _) = bounds(itv.start), bounds(itv.end)
                    e_lo = max(e_lo, s_lo + itv.min_size)
                    if s_hi < e_lo:
                        events += [(s_hi, demand), (e_lo, -demand)]
                load = 0
                for _, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts at one time
                    load += delta
                    if load > cum.capacity:
                        return False
            return True

        def dont_care(v: Var) -> bool:
            for u in users[v]:
                if u == "objective":
                    return False
                if isinstance(u, Interval):
                    if u.presence is None or values.get(u.presence, 1):
                        return False
                elif not any(_var(x) in values and not _lit(x, values) for x in u.enforce):
                    return False  # not switched off (yet)
            return True

        def lower_bound() -> int:
            return offset + sum(c * values[v] if v in values else min(c * domains[v][0], c * domains[v][-1])
                                for v, c in objective)

        def search(k: int) -> None:
            nodes[0] += 1
            if deadline is not None and nodes[0] % 2000 == 0 and time.perf_counter() > deadline:
                timed_out[0] = True
            if timed_out[0] or (best[0] is not None and lower_bound() >= best[0]):
                return
            if k == len(order):
                best[0], best[1] = lower_bound(), dict(values)
                return
            v = order[k]
            choices = domains[v][:1] if isinstance(v, remat.ir.IntVar) and dont_care(v) else domains[v]
            for val in choices:
                values[v] = val
                if all(holds(c) for c in checks[k]) and memory_ok():
                    search(k + 1)
            del values[v]

        search(0)
        wall = time.perf_counter() - t0
        if best[1] is None:
            status = Status.UNKNOWN if timed_out[0] else Status.INFEASIBLE
        else:
            status = Status.FEASIBLE if timed_out[0] else Status.OPTIMAL
        bound = best[0] if status == Status.OPTIMAL else None
        return RawResult(status=status, values=best[1], objective=best[0], bound=bound, wall_time=wall,
                         message=f"{nodes[0]} search nodes")


def _scope(c) -> list[Var]:
    if isinstance(c, Interval):
        return _interval_vars(c)
    vs = [v for v, _ in c.terms] if isinstance(c, Linear) else [_var(x) for x in c.literals]
    return vs + [_var(x) for x in c.enforce]


def _search_order(model: Model, domains: dict[Var, tuple[int, ...]]) -> list[Var]:
    """The objective's variables first (so the bound cuts early), then greedily the variable that
    completes the most constraints, ties to the smallest domain: constraints are checked as early as
    possible, which is what cuts the tree.
    """
    scopes = [set(_scope(c)) for c in [*model.intervals, *model.constraints] if not isinstance(c, Cumulative)]
    touching: dict[Var, list[set]] = {v: [] for v in domains}
    for sc in scopes:
        for v in sc:
            touching[v].append(sc)
    order = list(dict.fromkeys(v for v, _ in model.objective.terms)) if model.objective else []
    chosen: set[Var] = set(order)
    rest = [v for v in [*model.bool_vars, *model.int_vars] if v not in chosen]
    while rest:
        def score(v: Var) -> tuple:
            completes = sum(1 for sc in touching[v] if sc - chosen == {v})
            shared = sum(1 for sc in touching[v] if sc & chosen)
            return (-completes, -shared, len(domains[v]))
        v = min(rest, key=score)
        rest.remove(v)
        chosen.add(v)
        order.append(v)
    return order


def _var(lit: BoolVar | Not) -> BoolVar:
    return lit.var if isinstance(lit, Not) else lit


def _lit(lit: BoolVar | Not, values: dict[Var, int]) -> bool:
    return not values[lit.var] if isinstance(lit, Not) else bool(values[lit])


def _interval_vars(itv: Interval) -> list[Var]:
    return [itv.start, itv.end] + ([itv.presence] if itv.presence is not None else [])


def skip_graph() -> remat.Graph:
    """Four nodes with a skip connection: within 12 bytes, ``a`` must be computed twice."""
    return remat.Graph.from_edges([("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")], name="skip4",
                                  cost={"a": 2, "b": 5, "c": 5, "d": 1}, mem={"a": 4, "b": 8, "c": 4, "d": 1})


def demo() -> tuple[remat.Result, remat.Result]:
    if "brute" not in remat.backends.backend_names():  # run as a script, the package not installed
        register_backend("brute", BruteForceBackend)
    g = skip_graph()
    budget = 12  # the no-remat peak is 16
    brute = remat.solve(g, budget, backend="brute", time_limit=60)
    cpsat = remat.solve(g, budget, backend="cpsat", time_limit=10, threads=1)
    for r in (brute, cpsat):
        print(f"{r.backend:6s} {r.status.value:8s} cost {r.objective} peak {r.peak_memory} "
              f"computes {r.schedule.computes} ({r.wall_time:.2f}s)")
    return brute, cpsat


if __name__ == "__main__":
    demo()
