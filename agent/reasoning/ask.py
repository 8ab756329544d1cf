"""Asking one question about one session: build the tool context, run a reasoner, record it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.reasoning.answer import Answer
from agent.reasoning.reasoner import Reasoner
from tools.context import Publisher, ToolContext
from tools.reminders import ReminderScheduler

if TYPE_CHECKING:
    from memory import Memory
    from perception.backend import PerceptionBackend

log = logging.getLogger(__name__)


async def ask(
    memory: Memory,
    session_id: str,
    question: str,
    reasoner: Reasoner,
    *,
    backend: PerceptionBackend | None = None,
    bus: Publisher | None = None,
    reminders: ReminderScheduler | None = None,
    record: bool = True,
    session_time: float | None = None,
) -> Answer:
    """Answer ``question`` about ``session_id`` and (by default) store the turn in memory."""
    ctx = ToolContext(memory=memory, session_id=session_id, backend=backend, bus=bus, reminders=reminders)
    answer = await reasoner.answer(question, ctx)
    if record:
        record_turn(memory, session_id, question, answer, session_time=session_time)
    return answer


def record_turn(
    memory: Memory, session_id: str, question: str, answer: Answer, session_time: float | None = None
) -> int:
    """Store the question, answer, reasoning, tool calls and citations as one agent turn."""
    from memory import AgentTurnRecord

    data = answer.to_json_dict()
    turn = AgentTurnRecord(
        question=question,
        answer=answer.answer,
        tool_calls=data["tool_calls"],
        reasoning=data["reasoning"],
        citations=data["citations"],
        session_time=session_time,
    )
    return memory.record_agent_turn(session_id, turn)


__all__ = ["ask", "record_turn"]
