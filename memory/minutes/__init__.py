"""Meeting minutes as stored, cited, derived items: topics (the session cut by content),
decisions, action items (owner, deadline phrase), questions (open or answered),
disagreements (and how they were settled) and the next meeting.

``refresh_minutes(memory, session_id)`` derives them by rules on the CPU and stores them;
``minutes_for`` returns stored minutes that are current, else refreshes them. A model may
write minutes of the same types through ``Memory.store_minutes``.
"""

from memory.minutes.build import (
    METHOD,
    build_minutes,
    derive_minutes,
    extend_minutes,
    minutes_after_recording,
    minutes_for,
    refresh_minutes,
)
from memory.minutes.records import ITEM_KINDS, Citation, ItemKind, Minutes, MinutesItem, Topic

__all__ = [
    "ITEM_KINDS",
    "METHOD",
    "Citation",
    "ItemKind",
    "Minutes",
    "MinutesItem",
    "Topic",
    "build_minutes",
    "derive_minutes",
    "extend_minutes",
    "minutes_after_recording",
    "minutes_for",
    "refresh_minutes",
]
