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

CI_EXAMPLES = 30

settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=20 * CI_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(ci: int) -> int:
    """``ci`` examples under the ci profile, proportionally more under the loaded profile."""
    return max(1, ci * settings.default.max_examples // CI_EXAMPLES)
