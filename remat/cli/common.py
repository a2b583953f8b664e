"""Arguments and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import sys

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


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


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
