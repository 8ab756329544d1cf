"""A real memory (temporary SQLite) holding the scripted meeting, and a tool context on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent.bus.in_process import EventBus
from agent.testing import ScriptedSession
from tests.agent.scripts import meeting_script
from tools import ReminderScheduler, ToolContext


@pytest.fixture
async def session() -> AsyncIterator[ScriptedSession]:
    async with ScriptedSession(meeting_script(), record=False) as s:
        yield s


@pytest.fixture
def bus() -> EventBus:
    return EventBus(maxsize=16)


@pytest.fixture
def ctx(session: ScriptedSession, bus: EventBus) -> ToolContext:
    return ToolContext(
        memory=session.memory, session_id=session.session_id, bus=bus, reminders=ReminderScheduler()
    )
