"""Options several commands share, declared once: the memory, the perception backend and
the reasoner, with their choices read from the registries that create them."""

from __future__ import annotations

import argparse

from agent.reasoning.registry import REASONER_NAMES
from perception.backends import BACKENDS

DB_HELP = (
    "memory: a SQLAlchemy URL or an SQLite file (default: $MOSS_AGENTS_DB or the user data dir)"
)


def add_db_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str = DB_HELP
) -> None:  # noqa: A002
    parser.add_argument("--db", metavar="URL", help=help)


def add_backend_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str = "--backend",
    help: str = "perception backend (default: lite)",  # noqa: A002
    default: str | None = "lite",
) -> None:
    parser.add_argument(flag, choices=tuple(BACKENDS), default=default, help=help)


def add_reasoner_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    help: str = "reasoner answering questions (default: rules)",  # noqa: A002
) -> None:
    parser.add_argument("--reasoner", choices=REASONER_NAMES, default="rules", help=help)
