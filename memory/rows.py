"""Events to table rows and back, exactly.

Fields that queries filter on get columns; everything else an event type carries (voice
traits, sound attributes, language, ...) goes into the ``details`` JSON, so an event read
back compares equal to the one ingested, and new event fields need no migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Row

from perception.events import BaseEvent, Event, event_from_dict

# Event field -> events column (the rest of the event goes into ``details``).
_COLUMNS = {
    "kind": "kind",
    "start": "start_time",
    "end": "end_time",
    "text": "text",
    "label": "label",
    "speaker": "speaker",
    "confidence": "confidence",
    "window_id": "window_id",
    "backend": "backend",
    "model": "model",
    "session_id": "session_id",
}
_NOT_DETAILS = {*_COLUMNS, "words", "event_id"}


def event_row(event: BaseEvent, event_id: str | None = None) -> dict[str, Any]:
    """The ``events`` row of ``event`` (as a dict for a bulk insert); pass ``event_id`` when
    already computed (hashing it is a noticeable part of ingestion)."""
    # Attribute reads, not model_dump: this runs for every event ingested. Details values
    # are JSON-encoded later (memory.bulk), with pydantic's encoder for anything unusual.
    row: dict[str, Any] = {
        column: getattr(event, field, None) for field, column in _COLUMNS.items()
    }
    row["kind"] = str(row["kind"])
    for column in ("text", "label", "speaker"):
        # PostgreSQL text cannot hold NUL; a NUL in model output is noise, not content.
        if isinstance(row[column], str) and "\x00" in row[column]:
            row[column] = row[column].replace("\x00", "")
    row["event_id"] = event_id or event.event_id
    row["details"] = {k: getattr(event, k) for k in _detail_fields(type(event))}
    return row


@cache
def _detail_fields(event_type: type[BaseEvent]) -> tuple[str, ...]:
    return tuple(name for name in event_type.model_fields if name not in _NOT_DETAILS)


def word_rows(event: BaseEvent, event_pk: int) -> list[tuple[Any, ...]]:
    """The ``words`` rows of a transcript segment (none for other kinds), in the column
    order of ``memory.bulk.WORD_COLUMNS``."""
    return [
        (event_pk, position, w.start, w.end, w.text.replace("\x00", ""), w.speaker, w.confidence)
        for position, w in enumerate(getattr(event, "words", ()))
    ]


def event_from_rows(row: Row[Any], words: Sequence[Row[Any]] | None = None) -> Event:
    """Rebuild the pydantic event from its ``events`` row (and, for a transcript segment,
    its ``words`` rows), as Core rows."""
    values = row._mapping
    data: dict[str, Any] = dict(values["details"] or {})
    for field, column in _COLUMNS.items():
        value = values[column]
        if value is not None:
            data[field] = value
    if words:
        data["words"] = [
            {"start": start, "end": end, "text": text, "speaker": speaker, "confidence": conf}
            for _pk, _position, start, end, text, speaker, conf in words  # table column order
        ]
    return event_from_dict(data)
