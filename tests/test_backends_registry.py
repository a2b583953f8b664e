"""The backend registry, `remat backends`, and what the Pyomo/HiGHS backend promises about statuses and options."""

from __future__ import annotations

import subprocess
import sys

import pytest

import remat
from remat.backends import (CONSTRUCTS, Registration, SolveOptions, backend_features, backend_names, get_backend,
                            installed_backends, is_available, reduced_model, solve_model)
from remat.backends import base
from remat.cli import main
from remat.errors import BackendError
from remat.formulations import get_formulation
from remat.generators import random_layered, unet
from remat.status import Status

needs_highs = pytest.mark.skipif(not is_available("highs"), reason="pyomo/highspy not installed")


@pytest.fixture
def fake_backend(monkeypatch):
    """Register a backend called 'fake' whose availability is scripted; counts availability checks."""
    calls = []

    def register(available: bool) -> list:
        def check() -> bool:
            calls.append(1)
            return available
        monkeypatch.setitem(base._REGISTRY, "fake", Registration("remat.backends.cpsat:CpSatBackend", (), check))
        base.is_available.cache_clear()
        return calls

    yield register
    base.is_available.cache_clear()


def test_unknown_backend_is_a_one_line_error_listing_the_installed_ones():
    with pytest.raises(BackendError) as exc:
        get_backend("no-such-solver")
    msg = str(exc.value)
    assert "\n" not in msg and "unknown backend 'no-such-solver'" in msg
    missing = [n for n in backend_names() if n not in installed_backends()]
    assert msg.endswith("installed: " + ", ".join(installed_backends())
                        + (f"; not installed: {', '.join(missing)}" if missing else ""))


def test_missing_backend_says_not_installed_and_lists_the_installed_ones(fake_backend):
    fake_backend(False)
    assert "fake" in backend_names() and "fake" not in installed_backends()
    with pytest.raises(BackendError, match=r"'fake' is not installed; installed: .*cpsat.*; not installed: .*fake"):
        get_backend("fake")


def test_availability_is_cached(fake_backend):
    calls = fake_backend(True)
    assert is_available("fake") and is_available("fake")
    assert get_backend("fake") is not None
    assert len(calls) == 1


def test_pyomo_names_resolve_with_their_own_availability():
    assert is_available("pyomo:highs") == is_available("highs")
    assert not is_available("pyomo:surely_not_a_solver_xyz")
    with pytest.raises(BackendError, match=r"backend 'pyomo:surely_not_a_solver_xyz' is not installed"):
        get_backend("pyomo:surely_not_a_solver_xyz")
    with pytest.raises(BackendError, match=r"unknown backend 'pyomo:'"):
        get_backend("pyomo:")


def test_listing_and_checking_backends_imports_no_solver():
    code = ("import sys, remat.backends as b; b.installed_backends(); b.is_available('pyomo:highs'); "
            "b.is_available('pyomo:cbc'); [b.backend_features(n) for n in b.backend_names()]; "
            "print(sorted(m for m in ('ortools', 'highspy', 'pyomo', 'pychoco', 'pyscipopt') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_features_are_declared_once_on_the_class_and_read_from_it():
    from remat.backends.cpsat import CpSatBackend
    from remat.backends.highs import HighsBackend
    from remat.backends.pyomo_milp import PyomoBackend

    assert backend_features("cpsat") is CpSatBackend.features and CONSTRUCTS <= CpSatBackend.features
    assert backend_features("highs") is HighsBackend.features and not CONSTRUCTS & HighsBackend.features
    assert backend_features("pyomo:glpk") is PyomoBackend.features
    assert not any("features" in f for f in Registration.__dataclass_fields__)  # no second record


def test_backend_modules_import_without_their_solver():
    code = ("import sys; sys.modules['ortools'] = sys.modules['highspy'] = sys.modules['pyomo'] = None; "
            "import remat.backends.cpsat, remat.backends.highs, remat.backends.pyomo_milp; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_highs_direct_is_an_alias_of_highs():
    from remat.backends.highs import HighsBackend

    assert "highs-direct" not in backend_names() and is_available("highs-direct") == is_available("highs")
    if is_available("highs"):
        assert type(get_backend("highs-direct")) is HighsBackend


def _cumulative_model():
    from remat.ir import Cumulative, Model

    m = Model("two tasks, room for one")
    s = [m.int_var(0, 1, f"s{k}") for k in range(2)]
    e = [m.int_var(1, 3, f"e{k}") for k in range(2)]
    p = [m.bool_var(f"p{k}") for k in range(2)]
    itv = [m.interval(s[k], e[k], p[k], f"i{k}", min_size=2) for k in range(2)]
    m.add(Cumulative(tuple(itv), (1, 1), 1))
    # two tasks of length 2 cannot both fit in [0, 3): task 0 alone costs -3 + 2 + 1, task 1 alone 1, none 2
    m.minimize([(p[0], -3), (p[1], -2), (e[0], 1), (e[1], 1)])
    return m, s, e, p


class _Recording:
    """A backend that records the model it is handed and answers with CP-SAT."""

    def __init__(self, features):
        self.name, self.features, self.seen = "recording", frozenset(features), []

    def solve(self, model, options):
        self.seen.append(model)
        return get_backend("cpsat").solve(model, options)


@pytest.mark.parametrize("features, lowered", [
    (CONSTRUCTS, set()),
    (CONSTRUCTS - {"cumulative"}, {"CumulativeToPairs"}),
    (CONSTRUCTS - {"cumulative", "intervals"}, {"CumulativeToPairs", "IntervalsToLinear"}),
    (frozenset(), {"CumulativeToPairs", "IntervalsToLinear", "EnforcedToBigM"}),  # no explicit domain to lower
])
def test_a_backend_gets_the_model_lowered_to_what_it_declares(features, lowered):
    from remat.backends.base import model_constructs

    m, s, e, p = _cumulative_model()
    backend = _Recording(features)
    raw = solve_model(backend, m, SolveOptions(threads=1))
    (seen,) = backend.seen
    assert (seen is m) == (not lowered)
    assert {type(r).__name__ for r, _ in reduced_model(backend, m).steps} == lowered
    assert model_constructs(seen) <= features
    assert raw.status == Status.OPTIMAL and raw.objective == 0  # the same optimum, lowered or not
    assert set(raw.values) == set(m.int_vars) | set(m.bool_vars)  # mapped back: no auxiliary variable
    assert raw.values[p[0]] == 1 and raw.values[p[1]] == 0


def test_lowering_explicit_domains_lowers_what_refers_to_them_first():
    from remat.ir import Linear

    m, s, e, p = _cumulative_model()
    k = m.int_var(0, 6, "k", values=(0, 2, 6))  # an explicit value set, tied to task 0's end
    m.add(Linear(((k, 1), (e[0], -2)), lb=0, ub=0))
    backend = _Recording(CONSTRUCTS - {"domains"})
    raw = solve_model(backend, m, SolveOptions(threads=1))
    steps = [type(r).__name__ for r, _ in reduced_model(backend, m).steps]
    assert steps == ["CumulativeToPairs", "IntervalsToLinear", "DomainsToOneHot"]  # the intervals refer to them
    assert raw.status == Status.OPTIMAL and raw.objective == 1 and raw.values[k] in (0, 2, 6)
    assert raw.values[k] == 2 * raw.values[e[0]]


def test_an_object_without_a_declaration_gets_the_model_as_it_is():
    m, *_ = _cumulative_model()
    seen = []

    class Plain:
        def solve(self, model, options):
            seen.append(model)
            return get_backend("cpsat").solve(model, options)

    solve_model(Plain(), m, SolveOptions(threads=1))
    assert seen == [m]


def test_a_hint_is_lifted_to_the_lowered_model():
    m, s, e, p = _cumulative_model()
    backend = _Recording(frozenset())
    hint = {s[0]: 0, e[0]: 2, s[1]: 0, e[1]: 1, p[0]: 1, p[1]: 0}
    seen_hints = []
    original = backend.solve
    backend.solve = lambda model, options: (seen_hints.append(options.hint), original(model, options))[1]
    solve_model(backend, m, SolveOptions(threads=1, hint=hint))
    (lifted,) = seen_hints
    assert set(lifted) == set(backend.seen[0].int_vars) | set(backend.seen[0].bool_vars)
    assert all(lifted[v] == x for v, x in hint.items())


def test_a_user_backend_object_is_used_as_given():
    calls = []

    class Wrapped:
        name = "wrapped-cpsat"
        features = frozenset()

        def solve(self, model, options):
            calls.append(model.name)
            return get_backend("cpsat").solve(model, options)

    g = random_layered(16, seed=1)
    r = remat.solve(g, int(0.9 * remat.no_remat_peak(g)), backend=Wrapped(), threads=1)  # the heuristics not proven
    assert calls and r.backend == "wrapped-cpsat" and r.status == Status.OPTIMAL and r.report.valid


def test_an_object_without_solve_is_not_a_backend():
    with pytest.raises(BackendError, match="a backend is a name or an object with solve"):
        get_backend(42)  # type: ignore[arg-type]


def test_cli_backends_lists_installed_and_missing(capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip() and ":" not in line[:6]
            and line.split()[0] != "backend"}
    assert rows["cpsat"] == "installed"
    for name in ("highs", "choco", "scip"):
        assert rows[name] == ("installed" if is_available(name) else "missing")
    assert "pyomo:NAME" in out and "pyomo:glpk" in out and "highs-direct: an alias of highs" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "clauses, cumulative, domains, enforced-linear, intervals" in lines["cpsat"]
    assert "none (linearized)" in lines["highs"] and "clauses, enforced-linear  " in lines["scip"]


def test_cli_unknown_backend_exits_2_with_one_line(capsys):
    assert main(["solve", "--example", "linear", "--budget", "100%", "--backend", "nope", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown backend 'nope'; installed: " in err
    assert all(name in err for name in backend_names())  # installed or not, every backend is named


# --------------------------------------------------------------- HiGHS status and option contract
def _unet3_model_and_suboptimal_hint():
    g = unet(3)
    built = get_formulation("moccasin").build(g, remat.no_remat_peak(g))
    hint = built.encode([0, 1, 0, 2] + list(range(3, g.n)))  # node 0 recomputed once: cost 2201, optimum 2101
    assert hint is not None
    return built.model, hint


# "highs" hands highspy the linearized model without Pyomo, "pyomo:highs" goes through Pyomo's current solver
# API, "pyomo:appsi_highs" through the classic one.
MILP_PATHS = pytest.mark.parametrize("name", ["highs", "pyomo:highs", "pyomo:appsi_highs"])
HIGHS_ROUTES = pytest.mark.parametrize("name", ["highs", "pyomo:highs"])


@needs_highs
@MILP_PATHS
def test_highs_time_limit_with_a_warm_start_is_feasible_not_optimal(name):
    model, hint = _unet3_model_and_suboptimal_hint()
    raw = solve_model(get_backend(name), model, SolveOptions(time_limit=0.0, threads=1, hint=hint))
    assert raw.status == Status.FEASIBLE and raw.objective == 2201  # the warm start reached HiGHS as its incumbent


@needs_highs
@MILP_PATHS
def test_highs_time_limit_without_an_incumbent_is_unknown(name):
    model, _ = _unet3_model_and_suboptimal_hint()
    raw = solve_model(get_backend(name), model, SolveOptions(time_limit=0.0, threads=1))
    assert raw.status == Status.UNKNOWN and raw.values is None


@needs_highs
def test_highs_proves_the_optimum_from_a_warm_start():
    model, hint = _unet3_model_and_suboptimal_hint()
    raw = solve_model(get_backend("pyomo:highs"), model, SolveOptions(threads=1, hint=hint))
    assert raw.status == Status.OPTIMAL and raw.objective == 2101 and raw.bound == pytest.approx(2101)


@needs_highs
@HIGHS_ROUTES
def test_highs_rejects_unknown_solver_options(name):
    model, _ = _unet3_model_and_suboptimal_hint()
    with pytest.raises(BackendError, match=f"{name}: invalid option no_such_option"):
        solve_model(get_backend(name), model, SolveOptions(threads=1, extra={"no_such_option": 1}))


@needs_highs
@MILP_PATHS
def test_highs_solves_with_a_new_thread_count_in_the_same_process(name):
    # HiGHS's thread pool is global; without a reset the second solve ended 'unknown'
    g = unet(2)
    budget = int(0.9 * remat.no_remat_peak(g))
    statuses = [remat.solve(g, budget, backend=name, threads=t).status for t in (1, 2, 1)]
    assert statuses == [Status.OPTIMAL] * 3


@needs_highs
@HIGHS_ROUTES
def test_a_solution_that_breaks_the_model_after_rounding_is_not_returned(monkeypatch, name):
    import remat.backends.milp_common as milp_common

    monkeypatch.setattr(milp_common, "violations", lambda model, values: ["Cumulative #0: load 5 > 4 at 3"])
    model, _ = _unet3_model_and_suboptimal_hint()
    raw = solve_model(get_backend(name), model, SolveOptions(threads=1))
    assert raw.status == Status.UNKNOWN and raw.values is None and "breaks the model" in raw.message


@needs_highs
@MILP_PATHS
def test_sizes_beyond_floating_point_resolution_are_declined_not_misanswered(name):
    # HiGHS's presolve called this feasible model (TDI 0 at the no-remat peak) 'infeasible'
    from remat.graph import Graph

    g = Graph.from_edges([(0, 1), (0, 2), (1, 3), (2, 3)], cost={0: 1, 1: 1, 2: 1, 3: 1},
                         mem={0: 0, 1: 1, 2: 999_999_999_995, 3: 1})
    with pytest.raises(BackendError, match=r"numbers up to 1e\+12 .* use --backend cpsat") as exc:
        remat.solve(g, remat.no_remat_peak(g), backend=name, threads=1, warm_start=False)  # the model, run
    assert "\n" not in str(exc.value)
    assert remat.solve(g, remat.no_remat_peak(g), backend="cpsat", threads=1).objective == 4
