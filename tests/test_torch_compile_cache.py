"""The on-disk schedule cache of the torch.compile backend (no torch needed): keys, round trip, bad files."""

from __future__ import annotations

import remat
from remat.frontends import schedule_cache
from remat.generators import linear
from remat.schedule import no_remat_schedule


def test_key_depends_on_graph_budget_and_options_only():
    g = linear(5)
    k = schedule_cache.cache_key(g, 100, {"time_limit": 5})
    assert k == schedule_cache.cache_key(linear(5), 100, {"time_limit": 5})
    assert k != schedule_cache.cache_key(linear(6), 100, {"time_limit": 5})
    assert k != schedule_cache.cache_key(g, 101, {"time_limit": 5})
    assert k != schedule_cache.cache_key(g, 100, {"time_limit": 6})


def test_round_trip_and_what_is_not_loaded(tmp_path):
    g = linear(5)
    peak = remat.no_remat_peak(g)
    s = no_remat_schedule(g)
    key = schedule_cache.cache_key(g, peak, {})
    assert schedule_cache.load(key, g, peak, tmp_path) is None  # absent
    path = schedule_cache.store(key, s, {"status": "optimal"}, tmp_path)
    loaded, summary = schedule_cache.load(key, g, peak, tmp_path)
    assert loaded.computes == s.computes and summary == {"status": "optimal"}
    assert schedule_cache.load(key, g, peak - 1, tmp_path) is None  # over that budget: not used
    assert schedule_cache.load(key, linear(6), peak, tmp_path) is None  # not a schedule of that graph
    path.write_text("{not json")
    assert schedule_cache.load(key, g, peak, tmp_path) is None  # unreadable: solved again


def test_directory_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("REMAT_CACHE_DIR", str(tmp_path / "c"))
    assert schedule_cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("REMAT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert schedule_cache.cache_dir() == tmp_path / "x" / "remat"
