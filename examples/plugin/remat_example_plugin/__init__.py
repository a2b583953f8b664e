"""An example plugin for remat: a backend (``brute``) and a formulation (``reorder``), each one file.

Installed (``pip install examples/plugin``), both are found through the entry points declared in
its ``pyproject.toml``: ``remat solve GRAPH --backend brute --formulation reorder`` works with no
registration code.
"""
