"""Root pytest configuration: modules whose doctests need an optional extra are skipped without it."""

from importlib.util import find_spec

collect_ignore = [] if find_spec("torch") else ["remat/frontends/torch.py", "remat/frontends/torch_memory.py",
                                                "remat/frontends/torch_compile.py", "remat/frontends/torch_knapsack.py"]
