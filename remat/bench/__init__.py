"""Benchmark grids: specify (:mod:`.spec`), run (:mod:`.run`), report (:mod:`.report`).

>>> from remat.bench import Grid, expand, run_grid, markdown_table
>>> rows = run_grid(expand(Grid(graphs=("linear:depth=3",), budgets=("100%",), time_limits=(10,))),
...                 executor="serial", isolate=False)
>>> print(markdown_table(rows).splitlines()[-1])  # doctest: +ELLIPSIS
| linear:depth=3 | 4,097 (100%) | 0.000 / 4,097 (100.0%) / ... / 0.00% / optimal |
"""

from remat.bench.report import (gap_table, markdown_table, plot_pareto, read_csv, read_reference, rows_table,
                                write_csv)
from remat.bench.run import COLUMNS, EXECUTORS, run_case, run_grid, run_isolated
from remat.bench.spec import (BenchSpecError, Case, Grid, data_dir, expand, grid_from_mapping, load_grid,
                              select_variants)

__all__ = ["COLUMNS", "EXECUTORS", "BenchSpecError", "Case", "Grid", "data_dir", "expand", "gap_table",
           "grid_from_mapping",
           "load_grid", "markdown_table", "plot_pareto", "read_csv", "read_reference", "rows_table", "run_case",
           "run_grid", "run_isolated", "select_variants", "write_csv"]
