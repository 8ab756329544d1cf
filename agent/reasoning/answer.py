"""What a reasoner returns: the answer, how it got there, and where in the audio it looked."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from perception.events import (
    BaseEvent,
    MusicEvent,
    SoundEvent,
    SpeakerTurn,
    TranscriptSegment,
    VoiceTraits,
)
from tools.clock import format_span


class Citation(BaseModel):
    """A stretch of the session the answer rests on."""

    start: float
    end: float
    kind: str  # transcript | sound | music | voice | speaker | relisten
    text: str | None = None  # what was said (transcript) or heard (relisten)
    label: str | None = None  # sound label or emotion
    speaker: str | None = None  # display name when known, else the speaker id

    @classmethod
    def from_event(cls, event: BaseEvent, speaker_names: dict[str, str] | None = None) -> Citation:
        names = speaker_names or {}
        speaker = names.get(event.speaker, event.speaker) if event.speaker else None
        text: str | None = None
        label: str | None = None
        if isinstance(event, TranscriptSegment):
            text = event.text.strip()
        elif isinstance(event, SoundEvent | MusicEvent):
            label = event.label
        elif isinstance(event, VoiceTraits):
            label = (
                event.emotion
                or event.summary
                or ", ".join(f"{k}={v}" for k, v in event.traits.items())
                or None
            )
        elif isinstance(event, SpeakerTurn):
            label = speaker
        return cls(
            start=event.start,
            end=event.end,
            kind=str(event.kind),  # type: ignore[attr-defined]
            text=text,
            label=label,
            speaker=speaker,
        )

    def key(self) -> tuple[str, float, float, str | None, str | None]:
        return (self.kind, round(self.start, 2), round(self.end, 2), self.text, self.label)

    def describe(self) -> str:
        """ "[01:15-01:20] Bob: text" for people."""
        who = f"{self.speaker}: " if self.speaker else ""
        what = self.text if self.text is not None else (self.label or self.kind)
        return f"[{format_span(self.start, self.end)}] {who}{what}"


class ToolCallRecord(BaseModel):
    """One tool call as it happened, for the reasoning trace."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result_summary: str = ""
    error: str | None = None


class Answer(BaseModel):
    answer: str
    reasoning: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    reasoner: str = ""
    model: str | None = None
    understood: bool = True  # False when the reasoner could not make sense of the question
    conversation: str | None = None  # the conversation this turn belongs to (follow-ups)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``ask --json`` object."""
        return self.model_dump(mode="json")


def dedupe_citations(citations: list[Citation]) -> list[Citation]:
    """Drop repeats (the same segment found by two tools), keep time order."""
    seen: set[tuple[str, float, float, str | None, str | None]] = set()
    out: list[Citation] = []
    for citation in sorted(citations, key=lambda c: (c.start, c.end, c.kind)):
        if citation.key() not in seen:
            seen.add(citation.key())
            out.append(citation)
    return out


__all__ = ["Answer", "Citation", "ToolCallRecord", "dedupe_citations"]
