"""Command-line parsing details shared by ``moss-agent``: the version string, and errors
reported by the sub-command they belong to."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

DISTRIBUTION = "moss-agents"


def version() -> str:
    """``moss-agent X.Y.Z`` from the installed package's metadata (or the source tree's)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return f"moss-agent {installed(DISTRIBUTION)}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "moss-agent (not installed)"


def innermost_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The (sub-)parser of the command ``args`` chose, e.g. ``model check``'s."""
    while True:
        chosen = None
        for action in parser._actions:  # noqa: SLF001 - argparse keeps sub-commands only here
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                name = (
                    getattr(args, action.dest, None) if action.dest != argparse.SUPPRESS else None
                )
                chosen = action.choices.get(name) if name else None
        if chosen is None:
            return parser
        parser = chosen


def parse_command_line(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """Like ``parser.parse_args``, but an unknown option of a sub-command is reported with
    that sub-command's usage (argparse hands it up to the top level, whose usage does not
    show the command's options)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        innermost_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


__all__ = ["innermost_parser", "parse_command_line", "version"]
