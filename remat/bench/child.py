"""``python -m remat.bench.child``: solve one bench case read as JSON on stdin; print its row as JSON.

The parent (:func:`remat.bench.run.run_isolated`) kills this process when
it overruns. Anything the solvers write to standard output goes to stderr,
so that the last line of stdout is the row.
"""

from __future__ import annotations

import json
import os
import sys

from remat.bench.run import case_from_json, run_case


def main() -> int:
    case = case_from_json(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # native solver output to stderr
    sys.stdout = sys.stderr
    row = run_case(case, measure_rss=True)
    out.write(json.dumps(row) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
