"""Schedules cached on disk, keyed by the graph's content, the budget and the solve options.

A training script compiles the same graphs on every run; the cache makes the
second run load the schedule instead of solving again. One JSON file per key
under :func:`cache_dir`: the ``remat-schedule/1`` document of the schedule plus
what the solve said (status, objective). A loaded schedule is verified against
the graph before use; one that does not verify is ignored (and solved again).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

from remat.errors import RematError
from remat.graph import Graph
from remat.schedule import Schedule, schedule_from_json, write_atomic
from remat.verify import verify

ENV = "REMAT_CACHE_DIR"


def cache_dir() -> Path:
    """The cache directory: ``$REMAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/remat``, else ``~/.cache/remat``.

    >>> import os
    >>> os.environ["REMAT_CACHE_DIR"] = "/tmp/remat-doc-cache"
    >>> str(cache_dir())
    '/tmp/remat-doc-cache'
    >>> del os.environ["REMAT_CACHE_DIR"]
    """
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "remat"


def cache_key(graph: Graph, budget: int, options: Mapping[str, Any]) -> str:
    """A hex digest of the graph's content (nodes, costs, sizes, edges, order), the budget and ``options``.

    >>> from remat.generators import linear
    >>> g = linear(3)
    >>> cache_key(g, 100, {"time_limit": 5}) == cache_key(linear(3), 100, {"time_limit": 5})
    True
    >>> cache_key(g, 100, {"time_limit": 5}) == cache_key(g, 99, {"time_limit": 5})
    False
    """
    doc = {"graph": graph.to_json(), "budget": int(budget), "options": dict(options)}
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(key: str, graph: Graph, budget: int, directory: Path | None = None) -> tuple[Schedule, dict] | None:
    """The cached schedule for ``key`` and the solve's summary, or None (absent, unreadable, or not valid)."""
    path = (directory or cache_dir()) / f"{key}.json"
    try:
        doc = json.loads(path.read_text())
        schedule = schedule_from_json(doc["schedule"], source=str(path))
    except (OSError, ValueError, KeyError, TypeError, RematError):  # absent or malformed: a miss
        return None
    report = verify(graph, schedule.with_claims(budget=None, objective=None, peak_memory=None), budget)
    if not report.valid:
        return None
    return schedule, dict(doc.get("summary", {}))


def store(key: str, schedule: Schedule, summary: Mapping[str, Any], directory: Path | None = None) -> Path:
    """Write ``schedule`` and ``summary`` under ``key`` (atomically); returns the file's path."""
    d = directory or cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{key}.json"
    write_atomic(path, json.dumps({"schedule": schedule.to_json(), "summary": dict(summary)}, default=str))
    return path
