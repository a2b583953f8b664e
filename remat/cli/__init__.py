"""The ``remat`` command line. Each subcommand lives in its own module here.

Exit codes (documented in docs/cli.md):
0 schedule found and verified (or the command succeeded); 1 ``verify`` found
the schedule invalid; 2 bad input or usage; 3 proven infeasible; 4 limit
reached with no schedule; 130 interrupted (Ctrl-C) -- the best incumbent so
far is written first when there is one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from remat.errors import RematError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INFEASIBLE, EXIT_NO_SOLUTION, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

# Subcommand modules; each defines ``add_parser(subparsers)`` that sets ``func``.
COMMANDS = ["solve", "verify", "info", "plot", "bench", "extract", "backends"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="remat", description="Optimal tensor rematerialization with verified schedules.")
    parser.add_argument("--version", action="version", version="remat " + __import__("remat").__version__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"remat.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RematError as exc:
        sys.stderr.write(f"remat: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("remat: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
