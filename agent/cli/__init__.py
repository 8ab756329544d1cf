"""The ``moss-agent`` command: one parser, one module per command.

Each module listed in ``_COMMAND_MODULES`` exposes ``register(subparsers)``; it adds its
sub-commands and sets ``func`` on them. Packages above the agent (the TUI) and plug-ins add
theirs through the ``moss_agents.commands`` entry-point group, so this package never
imports upwards. Heavy imports (torch, models) happen inside the handlers so that
``moss-agent --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from agent.cli.errors import UsageError, is_user_error
from agent.cli.parsing import parse_command_line, version

__all__ = ["UsageError", "build_parser", "main"]

_COMMAND_MODULES = (
    "agent.cli.model",  # model check / model info
    "agent.cli.transcribe",  # transcribe
    "agent.cli.serve",  # serve (the MOSS-Audio server, or --webrtc the browser assistant)
    "agent.cli.sessions",  # db upgrade, sessions, export, speakers
    "agent.cli.ask",  # ask
    "agent.cli.record",  # record, demo
)
COMMAND_ENTRY_POINTS = "moss_agents.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moss-agent",
        description="Voice agents that listen: perception, memory and reasoning over audio.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("--version", action="version", version=version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for entry in sorted(entry_points(group=COMMAND_ENTRY_POINTS), key=lambda e: e.name):
        try:
            module = entry.load()
        except ImportError as exc:  # a package trimmed from the install
            logging.getLogger(__name__).debug("commands of %s unavailable: %s", entry.value, exc)
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_command_line(parser, argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_user_error(exc):
            raise
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"moss-agent {args.command}: error: {first_line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
