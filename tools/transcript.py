"""What was said: around a moment, between two times, or wherever a phrase occurs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from perception.events import TranscriptSegment
from tools.context import ToolContext, ToolInputError

Seconds = Annotated[float, Field(ge=0.0)]
# A transcript longer than this is too much for one answer; the caller should narrow it.
MAX_SPAN = 6 * 3600.0


def check_span(start: float, end: float, max_span: float = MAX_SPAN) -> None:
    """Reject spans that end before they start or are too long to read in one go."""
    if end < start:
        raise ToolInputError(f"end ({end:g} s) is before start ({start:g} s)")
    if end - start > max_span:
        raise ToolInputError(
            f"the span is {end - start:g} s; ask for at most {max_span:g} s at once"
        )


def speaker_id(ctx: ToolContext, speaker: str) -> str:
    """The speaker id meant by ``speaker`` (an id like "S2" or a name), or a clear error."""
    found = ctx.memory.resolve_speaker(ctx.session_id, speaker)
    if found is None:
        known = ", ".join(sorted(ctx.memory.speaker_names(ctx.session_id))) or "none"
        raise ToolInputError(f"no speaker {speaker!r} in this session; known speakers: {known}")
    return found


def _of_speaker(
    ctx: ToolContext, segments: list[TranscriptSegment], speaker: str | None
) -> list[TranscriptSegment]:
    if speaker is None:
        return segments
    wanted = speaker_id(ctx, speaker)
    return [s for s in segments if s.speaker == wanted]


def transcript_at(
    ctx: ToolContext,
    time: Seconds,
    before: Seconds = 15.0,
    after: Seconds = 15.0,
    speaker: str | None = None,
) -> list[TranscriptSegment]:
    """What was said around one moment of the session.

    Args:
        time: Seconds from the start of the session.
        before: How many seconds before ``time`` to include.
        after: How many seconds after ``time`` to include.
        speaker: Only what this speaker said (an id like "S2" or a name).
    """
    segments = list(ctx.memory.transcript_at(ctx.session_id, time, before=before, after=after))
    return _of_speaker(ctx, segments, speaker)


def transcript_between(
    ctx: ToolContext, start: Seconds, end: Seconds, speaker: str | None = None
) -> list[TranscriptSegment]:
    """Everything said between two times of the session, in order.

    Args:
        start: Seconds from the start of the session.
        end: Seconds from the start of the session (not before start).
        speaker: Only what this speaker said (an id like "S2" or a name).
    """
    check_span(start, end)
    return _of_speaker(
        ctx, list(ctx.memory.transcript_between(ctx.session_id, start, end)), speaker
    )


def search_transcript(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1)],
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
    speaker: str | None = None,
) -> list[TranscriptSegment]:
    """Find where words or a phrase were said; best matches first.

    Args:
        query: Words to look for, e.g. "budget" or "action item".
        limit: At most this many segments.
        speaker: Only what this speaker said (an id like "S2" or a name).
    """
    if speaker is None:
        return [hit.segment for hit in ctx.memory.search_text(ctx.session_id, query, limit=limit)]
    hits = ctx.memory.search_text(ctx.session_id, query, limit=max(100, limit))
    return _of_speaker(ctx, [hit.segment for hit in hits], speaker)[:limit]


def speaker_transcript(
    ctx: ToolContext,
    speaker: Annotated[str, Field(min_length=1)],
    start: Seconds = 0.0,
    end: Seconds | None = None,
) -> list[TranscriptSegment]:
    """What one speaker said, in order ("what did S2 say").

    Args:
        speaker: An id like "S2" or a name.
        start: Seconds from the start of the session.
        end: Seconds from the start of the session; default the end of the session.
    """
    wanted = speaker_id(ctx, speaker)
    if end is not None and end < start:
        raise ToolInputError(f"end ({end:g} s) is before start ({start:g} s)")
    return ctx.memory.transcript_by_speaker(
        ctx.session_id, [wanted], start, float("inf") if end is None else end
    )


__all__ = [
    "check_span",
    "search_transcript",
    "speaker_id",
    "speaker_transcript",
    "transcript_at",
    "transcript_between",
]
