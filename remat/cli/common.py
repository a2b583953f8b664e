"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from remat.errors import GraphError
from remat.generators import EXAMPLES
from remat.graph import Graph, load_graph


def add_graph_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("graph", nargs="?", metavar="GRAPH", help="graph JSON file (any supported dialect)")
    p.add_argument("--example", choices=sorted(EXAMPLES), help="use a bundled example graph instead of GRAPH")


def graph_from_args(args: argparse.Namespace) -> Graph:
    if (args.graph is None) == (args.example is None):
        raise GraphError("give exactly one of GRAPH or --example NAME")
    return EXAMPLES[args.example]() if args.example else load_graph(args.graph)


def int_in_range(low: int, high: int | None, what: str) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers in ``[low, high]``; ``what`` words the error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    return parse


positive_int = int_in_range(1, None, "a positive integer")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")
