"""The session as a whole: what it is, how long it ran, who spoke and for how long."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tools.clock import format_clock
from tools.context import ToolContext, ToolInputError


class SessionOverview(BaseModel):
    id: str
    title: str
    source: str | None = None
    started_at: datetime | None = None
    duration: float = 0.0
    backend: str | None = None
    model: str | None = None
    event_count: int = 0

    def summary_line(self) -> str:
        return (
            f"session {self.title!r}: {format_clock(self.duration)} long, {self.event_count} events"
        )


class SpeakerSummary(BaseModel):
    speaker: str
    name: str
    talk_seconds: float
    share: float  # of all talk time, 0..1
    turns: int
    first_start: float | None = None
    last_end: float | None = None


class SpeakersOverview(BaseModel):
    speakers: list[SpeakerSummary]
    total_talk_seconds: float

    def summary_line(self) -> str:
        if not self.speakers:
            return "nobody spoke"
        parts = [f"{s.name} {s.talk_seconds:.0f} s" for s in self.speakers[:6]]
        more = f", +{len(self.speakers) - 6} more" if len(self.speakers) > 6 else ""
        return f"{len(self.speakers)} speaker{'s' if len(self.speakers) != 1 else ''}: {', '.join(parts)}{more}"


def session_info(ctx: ToolContext) -> SessionOverview:
    """Title, source, start date, duration and event count of this session."""
    info = ctx.memory.find_session(ctx.session_id)
    if info is None:
        raise ToolInputError(f"no session {ctx.session_id!r} in memory")
    return SessionOverview(
        id=info.id,
        title=info.title,
        source=info.source,
        started_at=info.started_at,
        duration=float(info.duration or 0.0),
        backend=info.backend,
        model=info.model,
        event_count=int(info.event_count or 0),
    )


def speakers(ctx: ToolContext) -> SpeakersOverview:
    """Who spoke, how long each one talked, how many turns; most talk time first."""
    rows = ctx.memory.speakers_with_talk_time(ctx.session_id)
    total = sum(r.talk_seconds for r in rows)
    out = [
        SpeakerSummary(
            speaker=r.speaker,
            name=r.display_name or r.speaker,
            talk_seconds=round(r.talk_seconds, 2),
            share=round(r.talk_seconds / total, 3) if total else 0.0,
            turns=r.turns,
            first_start=r.first_start,
            last_end=r.last_end,
        )
        for r in rows
    ]
    out.sort(key=lambda s: (-s.talk_seconds, s.name))
    return SpeakersOverview(speakers=out, total_talk_seconds=round(total, 2))


__all__ = ["SessionOverview", "SpeakerSummary", "SpeakersOverview", "session_info", "speakers"]
