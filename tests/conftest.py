"""Hypothesis profiles for the whole suite (see docs/testing.md).

* ``ci`` (the default): few examples, derandomized (every run draws the same
  examples, so CI is reproducible), no example database, no deadline. Keeps
  the whole suite under 5 minutes on 2 cores.
* ``thorough``: 20 times the examples, random seeds, the example database in
  ``.hypothesis/`` (failures replay first on the next run). For long runs::

      HYPOTHESIS_PROFILE=thorough python -m pytest -q -p no:cacheprovider tests

Tests that solve scale their example counts with :func:`tests.conftest.examples`,
so both profiles keep the same proportions.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from remat.graph import Graph

CI_EXAMPLES = 30

settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=20 * CI_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(ci: int) -> int:
    """``ci`` examples under the ci profile, proportionally more under the loaded profile."""
    return max(1, ci * settings.default.max_examples // CI_EXAMPLES)


def skip_chain() -> Graph:
    """0 -> 1 -> 2 -> 3 plus the skip 0 -> 3; costs 5, 1, 1, 1; sizes 4, 4, 4, 1. One topological
    order, no-remat peak 12; at 9 bytes node 0 must be recomputed before node 3 (optimum 13)."""
    return Graph.from_edges([(0, 1), (1, 2), (2, 3), (0, 3)], cost={0: 5, 1: 1, 2: 1, 3: 1},
                            mem={0: 4, 1: 4, 2: 4, 3: 1}, name="skip4")
