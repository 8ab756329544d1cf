"""Typed, absolute-time events: the contract between perception, memory, agent, bus and UI.

Every time is in seconds from the start of the session's audio (a float), never relative to
a window. Events travel as JSON lines, the same on the in-process bus and on MQTT.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from enum import StrEnum
from hashlib import sha1
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, computed_field, model_validator

# Namespace for deterministic event ids: the same event produced twice (window overlap,
# retry, restart) gets the same id, which is what makes ingestion idempotent.
_EVENT_NAMESPACE = uuid.UUID("6f1d8a52-3f0e-4d7c-9a53-2b7c1e0f4a11")


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(_EVENT_NAMESPACE, name))`` in half the time (ids are computed for
    every event stored, so this is on ingestion's hot path)."""
    digest = bytearray(sha1(_EVENT_NAMESPACE.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class EventKind(StrEnum):
    TRANSCRIPT = "transcript"
    SPEAKER = "speaker"
    VOICE = "voice"
    SOUND = "sound"
    MUSIC = "music"


class SoundCategory(StrEnum):
    """What a detector can say about a non-speech sound when it cannot name it."""

    TONAL = "tonal"
    NOISE = "noise"
    MUSIC = "music"
    SILENCE = "silence"
    SPEECH = "speech"
    OTHER = "other"


class _Timed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)

    start: float = Field(ge=0.0, description="Seconds from the start of the session's audio.")
    end: float = Field(ge=0.0, description="Seconds from the start of the session's audio.")

    @model_validator(mode="after")
    def _end_not_before_start(self) -> _Timed:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start


class Word(_Timed):
    text: str
    speaker: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class BaseEvent(_Timed):
    """Fields every event carries: where it belongs and who made it."""

    session_id: str = ""
    window_id: int | None = None
    backend: str = ""
    model: str = ""
    speaker: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    def _identity(self) -> str:
        return f"{self.session_id}|{self.kind}|{self.start:.3f}|{self.end:.3f}|{self.speaker}"  # type: ignore[attr-defined]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def event_id(self) -> str:
        """Deterministic id from the event's content (session, kind, times, text or label)."""
        return _uuid5(self._identity())

    def shifted(self, offset: float) -> BaseEvent:
        """A copy with every time moved by ``offset`` seconds (window-relative -> absolute)."""
        return self.remapped(lambda t: t + offset)

    def remapped(self, to_absolute: Callable[[float], float]) -> BaseEvent:
        """A copy with every time passed through ``to_absolute`` (a non-decreasing map from
        window-relative to absolute seconds, e.g. ``Window.absolute``)."""
        data = self.model_dump(exclude=set(type(self).model_computed_fields))
        data["start"] = max(0.0, to_absolute(data["start"]))
        data["end"] = max(data["start"], to_absolute(data["end"]))
        if "words" in data:
            for w in data["words"]:
                w["start"] = max(0.0, to_absolute(w["start"]))
                w["end"] = max(w["start"], to_absolute(w["end"]))
        moved = type(self).model_validate(data)
        for name, info in type(self).model_fields.items():
            if info.exclude:  # kept in memory, left out of the JSON form (e.g. embeddings)
                setattr(moved, name, getattr(self, name))
        return moved


class TranscriptSegment(BaseEvent):
    kind: Literal[EventKind.TRANSCRIPT] = EventKind.TRANSCRIPT
    text: str
    words: list[Word] = Field(default_factory=list)
    language: str | None = None
    # The voice embedding the speaker id came from (unit vector), kept so that the whole
    # session can be regrouped later without the audio; not part of the JSON form.
    speaker_embedding: list[float] | None = Field(default=None, exclude=True, repr=False)

    def _identity(self) -> str:
        return f"{super()._identity()}|{self.text.strip()}"


class SpeakerTurn(BaseEvent):
    """A stretch of audio attributed to one speaker (diarisation)."""

    kind: Literal[EventKind.SPEAKER] = EventKind.SPEAKER
    speaker: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """What a reader of the JSON line sees in place of text: who is speaking."""
        return f"{self.speaker or 'unknown speaker'} speaking"


class VoiceTraits(BaseEvent):
    """How someone sounds: emotion plus free-form traits (gender, pitch, speed, ...)."""

    kind: Literal[EventKind.VOICE] = EventKind.VOICE
    emotion: str | None = None
    traits: dict[str, str] = Field(default_factory=dict)
    summary: str | None = None
    heuristic: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        """The emotion when known, else the summary: a one-phrase reading of the voice."""
        return self.emotion or self.summary or "voice traits"

    def _identity(self) -> str:
        return f"{super()._identity()}|{self.emotion}"


class SoundEvent(BaseEvent):
    kind: Literal[EventKind.SOUND] = EventKind.SOUND
    label: str
    category: SoundCategory = SoundCategory.OTHER
    heuristic: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)

    def _identity(self) -> str:
        return f"{super()._identity()}|{self.label}"


class MusicEvent(BaseEvent):
    kind: Literal[EventKind.MUSIC] = EventKind.MUSIC
    label: str = "music"
    description: str | None = None
    heuristic: bool = False

    def _identity(self) -> str:
        return f"{super()._identity()}|{self.label}"


Event = Annotated[
    TranscriptSegment | SpeakerTurn | VoiceTraits | SoundEvent | MusicEvent,
    Field(discriminator="kind"),
]

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
_TYPE_OF_KIND: dict[str, type[BaseEvent]] = {
    str(cls.model_fields["kind"].default): cls
    for cls in (TranscriptSegment, SpeakerTurn, VoiceTraits, SoundEvent, MusicEvent)
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Validate a dict (e.g. a decoded JSON payload) into the right event type.

    Computed fields written on output (``event_id``, a speaker turn's ``label``) are
    dropped: they are derived from the rest and never trusted from input.
    """
    event_type = _TYPE_OF_KIND.get(str(data.get("kind")))
    derived = set(event_type.model_computed_fields) if event_type else {"event_id"}
    return _EVENT_ADAPTER.validate_python({k: v for k, v in data.items() if k not in derived})


def event_from_json(line: str | bytes) -> Event:
    """Parse one JSON line into the right event type."""
    return event_from_dict(json.loads(line))


def event_to_json(event: BaseEvent) -> str:
    """One JSON line; ``kind``, ``start``, ``end``, ``speaker`` and ``event_id`` always present."""
    return event.model_dump_json()


__all__ = [
    "BaseEvent",
    "Event",
    "EventKind",
    "MusicEvent",
    "SoundCategory",
    "SoundEvent",
    "SpeakerTurn",
    "TranscriptSegment",
    "VoiceTraits",
    "Word",
    "event_from_dict",
    "event_from_json",
    "event_to_json",
]
