"""Run the cases of a grid: each in its own process, one by one, on a local pool, or on a Dask cluster.

:func:`run_case` is a pure function of a :class:`~remat.bench.spec.Case`
(it loads the graph itself, so only plain data crosses process or machine
boundaries) and never raises for a failed solve: the row says ``error``.
:func:`run_isolated` runs it in a child process (``python -m
remat.bench.child``) that is killed, with everything it started, when it
runs ``kill_margin`` seconds past its time limit: the row then says
``killed``. The child also reports its peak resident memory.
:func:`run_grid` returns the rows in the grid's order, whatever order the
executor finishes them in.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from remat.bench.spec import BenchSpecError, Case, resolve_graph
from remat.errors import RematError, VerificationFailed

EXECUTORS = ("local", "serial", "dask")

#: Columns of a result row, in CSV order (the first 31 are those of earlier versions, unchanged).
COLUMNS = ("graph", "n", "edges", "budget", "budget_spec", "budget_frac", "peak_no_remat", "formulation", "backend",
           "time_limit", "threads", "seed", "options", "status", "objective", "total_cost", "tdi", "bound", "gap",
           "peak_memory", "peak_frac", "time_to_best", "solve_time", "build_time", "warm_start", "warm_start_time",
           "wall_time", "error", "bound_time", "order_time", "order",
           "variant", "time_to_first", "call_time", "overrun", "limit_held", "peak_rss_mb", "source", "model_status",
           "model_tdi", "lowest_peak_frac")


def limit_tolerance(time_limit: float) -> float:
    """Seconds a solve may end past its limit and still hold it: max(1 s, 2% of the limit).

    >>> limit_tolerance(10), limit_tolerance(600)
    (1.0, 12.0)
    """
    return max(1.0, 0.02 * float(time_limit))


def base_row(case: Case) -> dict[str, Any]:
    """The row's fields known before the solve (every other column empty)."""
    row: dict[str, Any] = {k: "" for k in COLUMNS}
    row.update(graph=Path(case.graph).stem if case.graph.endswith(".json") else case.graph,
               budget=case.budget, budget_spec=case.budget_spec, peak_no_remat=case.peak,
               budget_frac=round(case.budget / case.peak, 6) if case.peak else "", formulation=case.formulation,
               backend=case.backend, time_limit=case.time_limit, threads=case.threads, seed=case.seed,
               options=" ".join(f"{k}={v}" for k, v in case.options + case.backend_options), variant=case.variant)
    return row


def import_plugins(names: Sequence[str]) -> None:
    """Import each module name or ``.py`` file (a plugin registers its formulations or backends on import)."""
    for name in names:
        try:
            if name.endswith(".py"):
                key = "_remat_bench_plugin_" + Path(name).stem
                if key in sys.modules:
                    continue
                spec = importlib.util.spec_from_file_location(key, name)
                if spec is None or spec.loader is None:
                    raise ImportError(f"cannot load {name}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[key] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except (ImportError, OSError) as exc:
            raise BenchSpecError(f"cannot import {name!r}: {exc}") from None


def run_case(case: Case, *, measure_rss: bool = False) -> dict[str, Any]:
    """Solve one case with :func:`remat.solve` and return its result row (see :data:`COLUMNS`).

    Times are seconds: ``time_to_best`` from the start of the solve (model
    build and warm start included) to the best schedule; ``solve_time`` the
    backend's share of ``wall_time`` (the solve's own clock); ``call_time``
    the call to :func:`remat.solve` timed from outside it, and ``overrun``
    that minus the time limit; ``limit_held`` is ``yes`` when the overrun
    is at most :func:`limit_tolerance`. ``peak_rss_mb`` (only with
    ``measure_rss``, in a process of its own) is the process's peak
    resident memory, the interpreter and imports included.

    Parameters
    ----------
    case : Case
        One cell of a grid (:func:`remat.bench.expand`).
    measure_rss : bool
        Fill ``peak_rss_mb``; meaningful only in a fresh process.

    Returns
    -------
    dict
        One value per column; a failed solve has status ``error`` and the reason in ``error``.

    Examples
    --------
    >>> from remat.bench.spec import Grid, expand
    >>> row = run_case(expand(Grid(graphs=("linear:depth=3",), budgets=("100%",), time_limits=(10,)))[0])
    >>> row["status"], row["tdi"], row["error"], row["limit_held"]
    ('optimal', 0.0, '', 'yes')
    """
    import remat

    row = base_row(case)
    t0 = time.perf_counter()
    try:
        import_plugins(case.imports)
        graph = resolve_graph(case.graph)
        row.update(n=graph.n, edges=graph.num_edges, total_cost=graph.total_cost)
        t_call = time.perf_counter()
        r = remat.solve(graph, case.budget, backend=case.backend, formulation=case.formulation,
                        time_limit=case.time_limit, threads=case.threads, seed=case.seed,
                        max_copies=case.max_copies, backend_options=dict(case.backend_options),
                        **dict(case.options))
        call = time.perf_counter() - t_call
    except (RematError, VerificationFailed) as exc:
        row.update(status="error", error=f"{type(exc).__name__}: {exc}".replace("\n", " "),
                   wall_time=round(time.perf_counter() - t0, 3))
        return _with_rss(row, measure_rss)
    # time_to_best and time_to_first count from the call (Result's do); solve_time is the backend's share
    setup = r.started_at + r.build_time + r.hint_time + r.bound_time
    row.update(status=r.status.value, objective=_num(r.objective), tdi=_num(r.tdi, 4), bound=_num(r.bound),
               gap=_num(r.gap, 6), peak_memory=_num(r.peak_memory),
               peak_frac=_num(None if r.peak_memory is None else r.peak_memory / case.peak, 6),
               time_to_best=_num(r.time_to_best, 3), time_to_first=_num(r.time_to_first, 3), source=r.source,
               model_status="" if r.model_status is None else r.model_status.value, model_tdi=_num(r.model_tdi, 4),
               lowest_peak_frac=_num(None if r.lowest_peak is None else r.lowest_peak / case.peak, 6),
               build_time=round(r.build_time, 3), warm_start=getattr(r, "warm_start", None) or "",
               warm_start_time=round(r.hint_time, 3),
               bound_time=round(r.bound_time, 3), order_time=round(r.order_time, 3), order=r.order,
               solve_time=round(r.wall_time - setup, 3), wall_time=round(r.wall_time, 3),
               call_time=round(call, 3), overrun=round(call - case.time_limit, 3),
               limit_held="yes" if call - case.time_limit <= limit_tolerance(case.time_limit) else "no")
    return _with_rss(row, measure_rss)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux, ``VmHWM`` of ``/proc/self/status``: the high-water mark of this
    process's own memory since it was started. ``getrusage``'s ``ru_maxrss``
    is not used there, because a process started by fork and exec inherits
    the parent's peak at the exec (a 400 MiB test runner made every case
    look 400 MiB large). Elsewhere, ``ru_maxrss``.

    >>> peak_rss_mb() > 1
    True
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS, KiB elsewhere
    return round(peak / (1 << 20) if sys.platform == "darwin" else peak / 1024, 1)


def _with_rss(row: dict[str, Any], measure: bool) -> dict[str, Any]:
    if measure:
        row["peak_rss_mb"] = peak_rss_mb()
    return row


def _num(x: Any, digits: int | None = None) -> Any:
    if x is None:
        return ""
    return round(x, digits) if digits is not None and isinstance(x, float) else x


# ------------------------------------------------------------------ one case in its own process
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def case_to_json(case: Case) -> str:
    return json.dumps(dataclasses.asdict(case))


def case_from_json(text: str) -> Case:
    data = json.loads(text)
    for key in ("options", "backend_options"):
        data[key] = tuple((k, v) for k, v in data[key])
    data["imports"] = tuple(data["imports"])
    return Case(**data)


def run_isolated(case: Case, kill_margin: float | None = None) -> dict[str, Any]:
    """Run ``case`` in a child process; kill it ``kill_margin`` s after its time limit.

    The clock starts when the child is started (interpreter start and
    imports count); a killed child, and every process it started, gets
    SIGKILL and the row says ``killed``. A child that dies without a row (a
    crash, the kernel's out-of-memory killer) gives an ``error`` row with
    its exit code and the last line it wrote to stderr.

    Parameters
    ----------
    case : Case
        The case to solve.
    kill_margin : float, optional
        Seconds past ``case.time_limit`` before the child is killed (default ``case.kill_margin``).

    Returns
    -------
    dict
        The row, as :func:`run_case` makes it, with ``peak_rss_mb`` filled.
    """
    if kill_margin is None:
        kill_margin = case.kill_margin
    deadline = case.time_limit + kill_margin
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "remat.bench.child"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        out, err = proc.communicate(case_to_json(case), timeout=deadline)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        row = base_row(case)
        wall = time.perf_counter() - t0
        row.update(status="killed", wall_time=round(wall, 3), call_time=round(wall, 3),
                   overrun=round(wall - case.time_limit, 3), limit_held="no",
                   error=f"killed at {wall:.1f} s: ran past its {case.time_limit:g} s limit by more than the "
                         f"{kill_margin:g} s margin (hard timeout)")
        return row
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
    lines = out.strip().splitlines()
    if proc.returncode == 0 and lines:
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    row = base_row(case)
    last = (err.strip().splitlines() or ["no output"])[-1]
    row.update(status="error", wall_time=round(time.perf_counter() - t0, 3),
               error=f"case process exited with code {proc.returncode}: {last}")
    return row


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_running() -> None:
    """Kill every case process still running (on Ctrl-C or an error in the parent)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        _kill(proc)


def default_workers(threads: int) -> int:
    """As many concurrent solves as the CPUs allow at ``threads`` solver threads each."""
    return max(1, (os.cpu_count() or 1) // max(1, threads))


def run_grid(cases: Sequence[Case], *, executor: str = "local", workers: int | None = None,
             address: str | None = None, on_done: Callable[[dict[str, Any]], None] | None = None,
             isolate: bool = True, kill_margin: float | None = None) -> list[dict[str, Any]]:
    """Run every case; ``on_done(row)`` is called as each finishes (for a progress bar).

    Parameters
    ----------
    cases : sequence of Case
        From :func:`remat.bench.expand`.
    executor : {"local", "serial", "dask"}
        ``local``: ``workers`` cases at a time (default
        :func:`default_workers`); ``serial``: one at a time; ``dask``: on a
        ``distributed`` cluster at ``address`` (without an address, a local
        Dask cluster of ``workers`` single-threaded processes is started and
        shut down).
    workers, address, on_done
        As above.
    isolate : bool
        Run each case in its own process with a hard timeout
        (:func:`run_isolated`; the default). Without it, cases run in this
        process (``serial``) or in a reused process pool (``local``): no
        hard timeout and no ``peak_rss_mb``.
    kill_margin : float, optional
        Seconds past its time limit after which a case's process is killed
        (default: each case's own, from its grid's ``kill_margin``).

    Returns
    -------
    list of dict
        One row per case, in the order of ``cases``.

    Raises
    ------
    BenchSpecError
        Unknown executor, or ``address`` without ``executor="dask"``.
    """
    if executor not in EXECUTORS:
        raise BenchSpecError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if address is not None and executor != "dask":
        raise BenchSpecError("--address needs --executor dask")
    if workers is None:
        workers = default_workers(max((c.threads for c in cases), default=1))
    rows: list[dict[str, Any] | None] = [None] * len(cases)
    one = partial(run_isolated, kill_margin=kill_margin) if isolate else run_case

    def done(i: int, row: dict[str, Any]) -> None:
        rows[i] = row
        if on_done is not None:
            on_done(row)

    try:
        if executor == "serial" or (executor == "local" and (workers == 1 or len(cases) <= 1)):
            for i, case in enumerate(cases):
                done(i, one(case))
        elif executor == "local":
            if isolate:  # threads that each wait on a child process
                pool: Any = ThreadPoolExecutor(max_workers=workers)
            else:
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
            with pool:
                futures = {pool.submit(one, c): i for i, c in enumerate(cases)}
                for fut in as_completed(futures):
                    done(futures[fut], fut.result())
        else:
            _run_dask(cases, workers, address, done, one)
    finally:
        kill_running()
    return [r for r in rows if r is not None]


def _run_dask(cases: Sequence[Case], workers: int, address: str | None,
              done: Callable[[int, dict[str, Any]], None], one: Callable[[Case], dict[str, Any]]) -> None:
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
        futures = client.map(one, list(cases), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            done(index[fut.key], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

