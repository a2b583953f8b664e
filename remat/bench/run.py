"""Run the cases of a grid: in this process, on a local process pool, or on a Dask cluster.

:func:`run_case` is a pure function of a :class:`~remat.bench.spec.Case`
(it loads the graph itself, so only plain data crosses process or machine
boundaries) and never raises for a failed solve: the row says ``error``.
:func:`run_grid` returns the rows in the grid's order, whatever order the
executor finishes them in.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Sequence

from remat.bench.spec import BenchSpecError, Case, resolve_graph
from remat.errors import RematError, VerificationFailed

EXECUTORS = ("local", "serial", "dask")

#: Columns of a result row, in CSV order.
COLUMNS = ("graph", "n", "edges", "budget", "budget_spec", "budget_frac", "peak_no_remat", "formulation", "backend",
           "time_limit", "threads", "seed", "options", "status", "objective", "total_cost", "tdi", "bound", "gap",
           "peak_memory", "peak_frac", "time_to_best", "solve_time", "build_time", "warm_start", "warm_start_time",
           "wall_time", "error", "bound_time", "order_time", "order")


def run_case(case: Case) -> dict[str, Any]:
    """Solve one case and return its result row (see :data:`COLUMNS`).

    Times are seconds: ``time_to_best`` from the start of the solve (model
    build and warm start included) to the best schedule; ``solve_time`` the
    backend's share of ``wall_time``.

    >>> from remat.bench.spec import Grid, expand
    >>> row = run_case(expand(Grid(graphs=("linear:depth=3",), budgets=("100%",), time_limits=(10,)))[0])
    >>> row["status"], row["tdi"], row["error"]
    ('optimal', 0.0, '')
    """
    from remat.solve import solve

    row: dict[str, Any] = {k: "" for k in COLUMNS}
    row.update(graph=case.graph, budget=case.budget, budget_spec=case.budget_spec, peak_no_remat=case.peak,
               budget_frac=round(case.budget / case.peak, 6) if case.peak else "", formulation=case.formulation,
               backend=case.backend, time_limit=case.time_limit, threads=case.threads, seed=case.seed,
               options=" ".join(f"{k}={v}" for k, v in case.options + case.backend_options))
    t0 = time.perf_counter()
    try:
        graph = resolve_graph(case.graph)
        row.update(graph=Path(case.graph).stem if case.graph.endswith(".json") else case.graph, n=graph.n,
                   edges=graph.num_edges, total_cost=graph.total_cost)
        r = solve(graph, case.budget, backend=case.backend, formulation=case.formulation,
                  time_limit=case.time_limit, threads=case.threads, seed=case.seed, max_copies=case.max_copies,
                  backend_options=dict(case.backend_options), **dict(case.options))
    except (RematError, VerificationFailed) as exc:
        row.update(status="error", error=f"{type(exc).__name__}: {exc}".replace("\n", " "),
                   wall_time=round(time.perf_counter() - t0, 3))
        return row
    # time_to_best counts from the call (Result.time_to_best does); solve_time is the backend's share
    setup = r.started_at + r.build_time + r.hint_time + r.bound_time
    row.update(status=r.status.value, objective=_num(r.objective), tdi=_num(r.tdi, 4), bound=_num(r.bound),
               gap=_num(r.gap, 6), peak_memory=_num(r.peak_memory),
               peak_frac=_num(None if r.peak_memory is None else r.peak_memory / case.peak, 6),
               time_to_best=_num(r.time_to_best, 3),
               build_time=round(r.build_time, 3), warm_start=getattr(r, "warm_start", None) or "",
               warm_start_time=round(r.hint_time, 3),
               bound_time=round(r.bound_time, 3), order_time=round(r.order_time, 3), order=r.order,
               solve_time=round(r.wall_time - setup, 3), wall_time=round(r.wall_time, 3))
    return row


def _num(x: Any, digits: int | None = None) -> Any:
    if x is None:
        return ""
    return round(x, digits) if digits is not None and isinstance(x, float) else x


def default_workers(threads: int) -> int:
    """As many concurrent solves as the CPUs allow at ``threads`` solver threads each."""
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def run_grid(cases: Sequence[Case], *, executor: str = "local", workers: int | None = None,
             address: str | None = None, on_done: Callable[[dict[str, Any]], None] | None = None
             ) -> list[dict[str, Any]]:
    """Run every case; ``on_done(row)`` is called as each finishes (for a progress bar).

    ``executor``: ``local`` (a process pool of ``workers`` processes, default
    :func:`default_workers`), ``serial`` (this process, one by one) or
    ``dask`` (a ``distributed`` cluster at ``address``; without an address, a
    local Dask cluster of ``workers`` single-threaded processes is started and
    shut down).
    """
    if executor not in EXECUTORS:
        raise BenchSpecError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if address is not None and executor != "dask":
        raise BenchSpecError("--address needs --executor dask")
    if workers is None:
        workers = default_workers(max((c.threads for c in cases), default=1))
    rows: list[dict[str, Any] | None] = [None] * len(cases)

    def done(i: int, row: dict[str, Any]) -> None:
        rows[i] = row
        if on_done is not None:
            on_done(row)

    if executor == "serial" or (executor == "local" and (workers == 1 or len(cases) <= 1)):
        for i, case in enumerate(cases):
            done(i, run_case(case))
    elif executor == "local":
        ctx = multiprocessing.get_context("spawn")  # no fork after solver threads exist
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(run_case, c): i for i, c in enumerate(cases)}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    else:
        _run_dask(cases, workers, address, done)
    return [r for r in rows if r is not None]


def _run_dask(cases: Sequence[Case], workers: int, address: str | None,
              done: Callable[[int, dict[str, Any]], None]) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError:
        raise BenchSpecError("--executor dask needs the 'distributed' package: pip install 'remat[bench]'") from None
    cluster = None
    try:
        if address is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except OSError as exc:
        raise BenchSpecError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        # pure=False: equal cases (repeated seeds aside) are still solved separately.
        futures = client.map(run_case, list(cases), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            done(index[fut.key], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

