"""The ``moss-agent`` command: one parser, sub-commands contributed by each package.

Each module listed in ``_COMMAND_MODULES`` exposes ``register(subparsers)``; it adds its
sub-commands and sets ``func`` on them. Heavy imports (torch, models) happen inside the
handlers so that ``moss-agent --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from agent.cli_parsing import parse_command_line, version
from agent.errors import UsageError

__all__ = ["UsageError", "build_parser", "main"]

_COMMAND_MODULES = (
    "perception.moss.cli",  # model check / model info
    "perception.cli",  # transcribe, serve
    "agent.webrtc.cli",  # serve --webrtc (after perception.cli: it extends serve)
    "memory.cli",  # db upgrade, sessions, export, speakers
    "agent.ask_cli",  # ask
    "agent.recorder_cli",  # record, demo
    "tui.cli",  # tui
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moss-agent",
        description="Voice agents that listen: perception, memory and reasoning over audio.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a package trimmed from the install
            logging.getLogger(__name__).debug("commands of %s unavailable: %s", name, exc)
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_command_line(parser, argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UsageError as exc:
        print(f"moss-agent {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
