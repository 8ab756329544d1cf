"""Asking one question about one session: build the tool context, run a reasoner, record it.

``conversation`` makes it a follow-up: ``"new"`` starts a conversation, an id continues
one (the reasoner sees its earlier turns), ``"latest"`` continues the session's last turn.
"""

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
    conversation: str | None = None,
) -> Answer:
    """Answer ``question`` about ``session_id`` and (by default) store the turn in memory."""
    from agent.reasoning.conversation import (
        addressed_spans,
        latest_conversation,
        new_conversation_id,
        previous_turns,
    )

    ctx = ToolContext(
        memory=memory, session_id=session_id, backend=backend, bus=bus, reminders=reminders
    )
    ctx.extras["addressed_spans"] = addressed_spans(memory, session_id)
    if conversation is not None:
        seed: int | None = None
        if conversation == "latest":
            conversation, seed = latest_conversation(memory, session_id)
            conversation = conversation or new_conversation_id()
        elif conversation == "new":
            conversation = new_conversation_id()
        ctx.extras["previous_turns"] = previous_turns(
            memory, session_id, conversation, seed_turn=seed
        )
    answer = await reasoner.answer(question, ctx)
    if conversation is not None:
        answer.conversation = conversation
    if record:
        record_turn(memory, session_id, question, answer, session_time=session_time)
    return answer


def record_turn(
    memory: Memory,
    session_id: str,
    question: str,
    answer: Answer,
    session_time: float | None = None,
) -> int:
    """Store the question, answer, reasoning, tool calls and citations as one agent turn."""
    from agent.reasoning.conversation import conversation_step
    from memory import AgentTurnRecord

    data = answer.to_json_dict()
    if answer.conversation:
        data["reasoning"] = [*data["reasoning"], conversation_step(answer.conversation)]
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
