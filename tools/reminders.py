"""Reminders on stream time: due when the session's audio reaches a moment, not the wall clock.

Stream time only moves when events arrive (``advance``), so a replayed file fires its
reminders at the same audio positions as the live recording did, however fast it runs.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from tools.clock import format_clock

log = logging.getLogger(__name__)


class Reminder(BaseModel):
    id: int
    session_id: str
    due: float  # seconds of stream time
    message: str

    def summary_line(self) -> str:
        return f"reminder #{self.id} at {format_clock(self.due)}: {self.message}"


OnDue = Callable[[Reminder], Awaitable[None] | None]


@dataclass
class ReminderScheduler:
    """Pending reminders per session, fired in due order as stream time advances."""

    on_due: OnDue | None = None
    _heap: list[tuple[float, int, Reminder]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _now: dict[str, float] = field(default_factory=dict)

    def now(self, session_id: str) -> float:
        """The latest stream time seen for ``session_id`` (0 before any event)."""
        return self._now.get(session_id, 0.0)

    def schedule(self, session_id: str, due: float, message: str) -> Reminder:
        reminder = Reminder(id=next(self._ids), session_id=session_id, due=due, message=message)
        heapq.heappush(self._heap, (due, reminder.id, reminder))
        return reminder

    def pending(self, session_id: str | None = None) -> list[Reminder]:
        return [
            r for _, _, r in sorted(self._heap) if session_id is None or r.session_id == session_id
        ]

    async def advance(self, session_id: str, stream_time: float) -> list[Reminder]:
        """Move ``session_id``'s clock to ``stream_time``; fire and return what fell due."""
        now = max(self.now(session_id), stream_time)
        self._now[session_id] = now
        fired: list[Reminder] = []
        other_sessions: list[tuple[float, int, Reminder]] = []
        while self._heap and self._heap[0][0] <= now:
            item = heapq.heappop(self._heap)
            if item[2].session_id == session_id:
                fired.append(item[2])
            else:
                other_sessions.append(item)
        for item in other_sessions:
            heapq.heappush(self._heap, item)
        for reminder in fired:
            log.info("reminder due: %s", reminder.summary_line())
            if self.on_due is not None:
                outcome = self.on_due(reminder)
                if inspect.isawaitable(outcome):
                    await outcome
        return fired


__all__ = ["OnDue", "Reminder", "ReminderScheduler"]
