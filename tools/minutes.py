"""The meeting's minutes and topics (derived from the transcript, stored, cited)."""

from __future__ import annotations

from memory.minutes import Minutes, Topic, minutes_for
from tools.context import ToolContext


def minutes(ctx: ToolContext) -> Minutes:
    """The minutes of this session: topics, decisions, action items (owner, deadline),
    open questions, disagreements (and how they were settled) and the next meeting, each
    with the time and speaker it was said at."""
    return minutes_for(ctx.memory, ctx.session_id)


def topics(ctx: ToolContext) -> list[Topic]:
    """The topics of this session in order: title, keywords, time span, speakers."""
    return list(minutes_for(ctx.memory, ctx.session_id).topics)


__all__ = ["minutes", "topics"]
