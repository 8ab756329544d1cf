"""Events to table rows and back, exactly.

Fields that queries filter on get columns; everything else an event type carries (voice
traits, sound attributes, language, ...) goes into the ``details`` JSON, so an event read
back compares equal to the one ingested, and new event fields need no migration. A
segment's words go into ``words`` packed as ``[start, end, text, speaker, confidence]``
arrays (JSON numbers print Python's shortest exact float, so times round-trip exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from pydantic_core import to_json, to_jsonable_python
from sqlalchemy import Row

from memory.bulk import EVENT_COLUMNS
from perception.events import BaseEvent, Event, Word, event_from_dict

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
_NOT_DETAILS = {*_COLUMNS, "words", "event_id", "speaker_embedding"}
# Event field (or placeholder) per column of memory.bulk.EVENT_COLUMNS.
_FIELD_OF = {column: field for field, column in _COLUMNS.items()}
_ROW_FIELDS = tuple(_FIELD_OF.get(column, column) for column in EVENT_COLUMNS)
_EVENT_ID = EVENT_COLUMNS.index("event_id")
_DETAILS = EVENT_COLUMNS.index("details")
_WORDS = EVENT_COLUMNS.index("words")
_EMBEDDING = EVENT_COLUMNS.index("speaker_embedding")
_TEXT_COLUMNS = tuple(EVENT_COLUMNS.index(c) for c in ("text", "label", "speaker"))
ROW_KIND, ROW_START, ROW_END, ROW_SPEAKER, ROW_TEXT = (
    EVENT_COLUMNS.index(c) for c in ("kind", "start_time", "end_time", "speaker", "text")
)


def _json_value(value: Any) -> Any:
    """JSON for what pydantic-core cannot encode by itself: numpy scalars and arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return to_jsonable_python(value)


def _json_text(value: Any) -> str:
    # pydantic-core's encoder: ~3x faster than json's on 40k rows and 200k words a day,
    # same shortest exact floats; NaN and infinities written as json writes them.
    return to_json(value, inf_nan_mode="constants", fallback=_json_value).decode()


def event_row(event: BaseEvent, event_id: str | None = None) -> tuple[Any, ...]:
    """The ``events`` row of ``event`` in the column order of ``memory.bulk.EVENT_COLUMNS``,
    ``details`` and ``words`` already JSON; pass ``event_id`` when already computed (see ``event_id_of``)."""
    # Reads the instance dict, not attributes or model_dump: this runs for every event
    # ingested, and a missing attribute (``label`` of a segment) costs a pydantic
    # __getattr__ and an exception.
    values = event.__dict__
    row = [values.get(field) for field in _ROW_FIELDS]
    row[ROW_KIND] = str(row[ROW_KIND])
    row[_EVENT_ID] = event_id or event_id_of(event)
    for index in _TEXT_COLUMNS:
        # PostgreSQL text cannot hold NUL; a NUL in model output is noise, not content.
        value = row[index]
        if isinstance(value, str) and "\x00" in value:
            row[index] = value.replace("\x00", "")
    row[_DETAILS] = _json_text({k: values[k] for k in _detail_fields(type(event))})
    words = values.get("words")
    row[_WORDS] = _packed_words_json(words) if words else None
    embedding = values.get("speaker_embedding")
    row[_EMBEDDING] = pack_embedding(embedding) if embedding is not None else None
    return tuple(row)


def pack_embedding(vector: Sequence[float] | np.ndarray) -> bytes:
    """A voice embedding as float32 bytes (perception emits float32 values, so this is exact)."""
    return np.asarray(vector, np.float32).tobytes()


def unpack_embedding(blob: bytes | memoryview | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(bytes(blob), np.float32).astype(np.float64)


def event_id_of(event: BaseEvent) -> str:
    """``event.event_id`` (kept as a function: ingestion calls it once per event and passes
    the result on, instead of reading the computed field twice)."""
    return event.event_id


@cache
def _detail_fields(event_type: type[BaseEvent]) -> tuple[str, ...]:
    return tuple(name for name in event_type.model_fields if name not in _NOT_DETAILS)


def _pack_words(words: Sequence[Word]) -> list[tuple[Any, ...]]:
    """Words as ``(start, end, text, speaker, confidence)`` tuples (JSON arrays once stored)."""
    return [(w.start, w.end, w.text, w.speaker, w.confidence) for w in words]


def _packed_words_json(words: Sequence[Word]) -> str:
    packed = _json_text(_pack_words(words))
    if "\\u0000" in packed:  # rare: strip NULs (see event_row) only when there are any
        packed = _json_text(
            [(*w[:2], w[2].replace("\x00", ""), *w[3:]) for w in _pack_words(words)]
        )
    return packed


def event_from_row(row: Row[Any]) -> Event:
    """Rebuild the pydantic event from its ``events`` row (a Core row)."""
    values = row._mapping
    data: dict[str, Any] = dict(values["details"] or {})
    for field, column in _COLUMNS.items():
        value = values[column]
        if value is not None:
            data[field] = value
    if (blob := values.get("speaker_embedding")) is not None:
        data["speaker_embedding"] = np.frombuffer(bytes(blob), np.float32).tolist()
    if words := values["words"]:
        data["words"] = [
            {"start": start, "end": end, "text": text, "speaker": speaker, "confidence": conf}
            for start, end, text, speaker, conf in words
        ]
    return event_from_dict(data)
