"""Tools that act rather than read: alert on the bus, remind later on stream time."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from perception.topics import session_topic
from tools.clock import format_clock
from tools.context import ToolContext, ToolInputError, ToolUnavailableError
from tools.reminders import Reminder
from tools.transcript import Seconds


class Alert(BaseModel):
    """What ``publish`` puts on the bus (JSON on MQTT)."""

    session_id: str
    topic: str
    message: str
    level: Literal["info", "warning", "alert"] = "info"
    at: float | None = None  # stream time the alert is about

    def summary_line(self) -> str:
        when = f" at {format_clock(self.at)}" if self.at is not None else ""
        return f"published to {self.topic}{when}: {self.message}"


async def publish(
    ctx: ToolContext,
    message: Annotated[str, Field(min_length=1, max_length=2000)],
    topic: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$")] = "alerts",
    level: Literal["info", "warning", "alert"] = "info",
    at: Seconds | None = None,
) -> Alert:
    """Send a message to listeners of this session (dashboards, phones, other agents).

    Args:
        message: What to tell them.
        topic: Sub-topic under the session, e.g. "alerts" or "notes".
        level: How urgent it is.
        at: The moment of the session the message is about (seconds), if any.
    """
    if ctx.bus is None:
        raise ToolUnavailableError("publish needs an event bus; this run has none")
    alert = Alert(
        session_id=ctx.session_id,
        topic=session_topic(ctx.session_id, topic),
        message=message,
        level=level,
        at=at,
    )
    await ctx.bus.publish(alert.topic, alert)
    return alert


def schedule_reminder(
    ctx: ToolContext,
    message: Annotated[str, Field(min_length=1, max_length=2000)],
    at: Seconds | None = None,
    in_seconds: Annotated[float | None, Field(gt=0.0)] = None,
) -> Reminder:
    """Remind the listeners when the session's audio reaches a moment (stream time).

    Args:
        message: What to remind them of.
        at: Seconds from the start of the session when the reminder is due.
        in_seconds: Or: due this many seconds after the latest audio heard so far.
    """
    if ctx.reminders is None:
        raise ToolUnavailableError(
            "schedule_reminder needs a reminder scheduler; this run has none"
        )
    if (at is None) == (in_seconds is None):
        raise ToolInputError("give exactly one of `at` and `in_seconds`")
    due = at if at is not None else ctx.reminders.now(ctx.session_id) + float(in_seconds or 0.0)
    return ctx.reminders.schedule(ctx.session_id, due, message)


class Note(BaseModel):
    """A note kept in memory with the session's agent turns."""

    turn_id: int
    title: str
    text: str
    at: float | None = None

    def summary_line(self) -> str:
        when = f" at {format_clock(self.at)}" if self.at is not None else ""
        return f"noted{when}: {self.title}"


def note(
    ctx: ToolContext,
    text: Annotated[str, Field(min_length=1, max_length=4000)],
    title: Annotated[str, Field(min_length=1, max_length=200)] = "note",
    at: Seconds | None = None,
) -> Note:
    """Write a note into memory next to this session's questions and answers.

    Args:
        text: What to note.
        title: A short title, e.g. "action item".
        at: The moment of the session the note is about (seconds), if any.
    """
    from memory import AgentTurnRecord

    turn = AgentTurnRecord(question=f"[note] {title}", answer=text, session_time=at)
    turn_id = ctx.memory.record_agent_turn(ctx.session_id, turn)
    return Note(turn_id=turn_id, title=title, text=text, at=at)


__all__ = ["Alert", "Note", "note", "publish", "schedule_reminder"]
