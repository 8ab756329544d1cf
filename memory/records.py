"""Plain result types returned by the memory repository (no database objects leak out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from perception.events import EventKind, TranscriptSegment

# Event kinds whose spans count as talk time: diarisation turns and transcript segments.
TALK_KINDS = (str(EventKind.SPEAKER), str(EventKind.TRANSCRIPT))


@dataclass(frozen=True)
class SessionInfo:
    """One recording or conversation."""

    id: str
    title: str
    source: str | None
    started_at: datetime
    duration: float
    backend: str | None
    model: str | None
    event_count: int = 0


@dataclass(frozen=True)
class TextHit:
    """A transcript segment that matched a text search; ``snippet`` marks the hits in [brackets]."""

    segment: TranscriptSegment
    score: float
    snippet: str

    @property
    def start(self) -> float:
        return self.segment.start

    @property
    def end(self) -> float:
        return self.segment.end


@dataclass(frozen=True)
class SpeakerTalkTime:
    """How much one speaker talked in a session."""

    speaker: str
    display_name: str
    talk_seconds: float
    turns: int
    first_start: float
    last_end: float


@dataclass
class AgentTurnRecord:
    """One question put to the agent and how it was answered.

    ``tool_calls``, ``reasoning`` and ``citations`` are stored as JSON, so they may hold any
    JSON-serialisable values (typically dicts with tool name, arguments and result).
    ``session_time`` is the position in the session's audio when the question was asked.
    ``id`` and ``created_at`` are filled in by the database.
    """

    question: str
    answer: str
    tool_calls: list[Any] = field(default_factory=list)
    reasoning: list[Any] = field(default_factory=list)
    citations: list[Any] = field(default_factory=list)
    session_time: float | None = None
    created_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class PassageHit:
    """A transcript segment found by hybrid (full-text + semantic) search.

    ``score`` is the fused rank score (higher is better, comparable within one search
    only); ``similarity`` the cosine of content-word embeddings (-1..1); ``keyword_rank``
    the 1-based rank in full-text search, ``None`` when full-text search did not find it.
    """

    segment: TranscriptSegment
    score: float
    similarity: float
    keyword_rank: int | None
    snippet: str

    @property
    def start(self) -> float:
        return self.segment.start

    @property
    def end(self) -> float:
        return self.segment.end

    @property
    def speaker(self) -> str | None:
        return self.segment.speaker


@dataclass(frozen=True)
class PassageSearch:
    """What hybrid search found for one query.

    ``hits`` are the relevant passages, best first; empty when nothing relevant was said,
    and then ``closest`` holds what came closest (under the relevance floor). ``strong``
    tells a keyword match or a clear semantic match from a weak semantic one.
    """

    query: str
    hits: list[PassageHit]
    closest: list[PassageHit] = field(default_factory=list)
    strong: bool = False

    @property
    def relevant(self) -> bool:
        return bool(self.hits)


@dataclass
class TalkTotal:
    """One speaker's talk of one kind (turns or transcript): seconds, turns, first and last."""

    seconds: float
    turns: int
    first_start: float
    last_end: float

    @classmethod
    def of(cls, start: float, end: float) -> TalkTotal:
        return cls(end - start, 1, start, end)

    def add(self, start: float, end: float) -> None:
        self.seconds += end - start
        self.turns += 1
        self.first_start = min(self.first_start, start)
        self.last_end = max(self.last_end, end)


def talk_totals(
    spans: Iterable[tuple[str | None, str, float, float]],
) -> dict[tuple[str, str], TalkTotal]:
    """(speaker, kind) -> TalkTotal over ``(speaker, kind, start, end)`` spans; spans without a
    speaker or of a kind that is not talk are left out."""
    totals: dict[tuple[str, str], TalkTotal] = {}
    for speaker, kind, start, end in spans:
        if not speaker or kind not in TALK_KINDS:
            continue
        total = totals.get((speaker, kind))
        if total is None:
            totals[(speaker, kind)] = TalkTotal.of(start, end)
        else:
            total.add(start, end)
    return totals
