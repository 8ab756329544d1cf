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
        raise ToolInputError(f"the span is {end - start:g} s; ask for at most {max_span:g} s at once")


def transcript_at(
    ctx: ToolContext, time: Seconds, before: Seconds = 15.0, after: Seconds = 15.0
) -> list[TranscriptSegment]:
    """What was said around one moment of the session.

    Args:
        time: Seconds from the start of the session.
        before: How many seconds before ``time`` to include.
        after: How many seconds after ``time`` to include.
    """
    return list(ctx.memory.transcript_at(ctx.session_id, time, before=before, after=after))


def transcript_between(ctx: ToolContext, start: Seconds, end: Seconds) -> list[TranscriptSegment]:
    """Everything said between two times of the session, in order.

    Args:
        start: Seconds from the start of the session.
        end: Seconds from the start of the session (not before start).
    """
    check_span(start, end)
    return list(ctx.memory.transcript_between(ctx.session_id, start, end))


def search_transcript(
    ctx: ToolContext, query: Annotated[str, Field(min_length=1)], limit: Annotated[int, Field(ge=1, le=100)] = 10
) -> list[TranscriptSegment]:
    """Find where words or a phrase were said; best matches first.

    Args:
        query: Words to look for, e.g. "budget" or "action item".
        limit: At most this many segments.
    """
    hits = ctx.memory.search_text(ctx.session_id, query, limit=limit)
    return [hit.segment for hit in hits]


__all__ = ["check_span", "search_transcript", "transcript_at", "transcript_between"]
