"""Sub-commands of this package (see agent/cli.py)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add this package's sub-commands to ``sub``."""
