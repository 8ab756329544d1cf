"""Timed SQL memory of sessions: events, words, speakers, agent turns and audio.

``open_memory(url)`` gives a ``Memory`` repository whose queries read like the questions
asked of a recording: ``transcript_at``, ``transcript_between``, ``events_between``,
``last_minutes``, ``search_text``, ``search_passages`` (full-text and semantic, fused),
``speakers_with_talk_time``, ``minutes``, exports and the audio archive. SQLite (default)
and PostgreSQL, migrated with the packaged Alembic scripts. Minutes are derived in
``memory.minutes``.
"""

from memory.errors import MemoryStoreError
from memory.records import (
    AgentTurnRecord,
    PassageHit,
    PassageSearch,
    SessionInfo,
    SpeakerTalkTime,
    TextHit,
)
from memory.repository import Memory, open_memory

__all__ = [
    "AgentTurnRecord",
    "Memory",
    "MemoryStoreError",
    "PassageHit",
    "PassageSearch",
    "SessionInfo",
    "SpeakerTalkTime",
    "TextHit",
    "open_memory",
]
