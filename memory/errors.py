"""The one error type memory raises for anything the caller can act on."""

from __future__ import annotations


class MemoryStoreError(Exception):
    """A database problem that the user can fix: bad URL, unreachable server, unknown session.

    The message says what went wrong and what to do next; it never contains a password.
    """


def unknown_session(session_id: str) -> MemoryStoreError:
    return MemoryStoreError(f"no session {session_id!r}; see `moss-agent sessions`")
