"""remat: optimal tensor rematerialization, every schedule verified.

>>> import remat
>>> g = remat.generators.linear(4)
>>> r = remat.solve(g, remat.no_remat_peak(g))
>>> r.status.value, r.tdi
('optimal', 0.0)
"""

from remat import generators
from remat.errors import RematError
from remat.graph import Graph, graph_from_json, load_graph, min_budget, no_remat_peak
from remat.schedule import Schedule, Step, load_schedule, schedule_from_computes
from remat.solve import Result, solve
from remat.status import Status
from remat.verify import Report, verify

__all__ = ["Graph", "RematError", "Report", "Result", "Schedule", "Status", "Step", "generators",
           "graph_from_json", "load_graph", "load_schedule", "min_budget", "no_remat_peak",
           "schedule_from_computes", "solve", "verify"]
__version__ = "0.1.0"
