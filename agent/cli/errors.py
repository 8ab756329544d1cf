"""Errors shared by every command (kept apart from agent.cli so `python -m agent.cli` works)."""


class UsageError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""
