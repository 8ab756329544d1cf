"""The memory repository: named queries that read like the questions asked of a session.

``Memory`` is assembled from parts split by concern (see memory/store.py): sessions,
ingest, timeline, speakers, search, minutes, agent turns and the audio archive. Each method
is one unit of work (its own transaction), so a crash loses at most the batch being
written. Every query takes a session id and is scoped to it; user text only ever reaches
the database as a bound parameter. Exports are in ``memory.exports``.
"""

from __future__ import annotations

from memory.agent_turns import AgentTurnStore
from memory.audio_archive import AudioArchiveStore
from memory.database import make_engine, resolve_url, upgrade
from memory.ingest import EventIngest
from memory.minutes.store import MinutesStore
from memory.search import SearchQueries


def open_memory(url: str | None = None) -> Memory:
    """Open (creating and migrating if needed) the memory database at ``url``.

    ``url`` is a SQLAlchemy URL or a file path; default ``$MOSS_AGENTS_DB`` or
    ``<user data dir>/moss-agents/memory.db``. Raises ``MemoryStoreError`` with a one-line
    reason if the database cannot be opened.
    """
    engine = make_engine(resolve_url(url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Memory(engine)


class Memory(SearchQueries, EventIngest, MinutesStore, AgentTurnStore, AudioArchiveStore):
    """Repository over the memory database (see ``open_memory``)."""


__all__ = ["Memory", "open_memory"]
