"""Conversations over a session: follow-up questions and what was said to the assistant.

A conversation is the chain of agent turns that share an id; a follow-up question gets the
earlier turns (question, answer, cited moments) so "why was it moved?" can resolve "it".
The id is stored with each turn (as a reasoning step, "Conversation <id>.", so stored
turns need no new column). Turns the voice assistant heard aloud (``session_time`` set)
are questions to the assistant, not talk of the meeting: their transcript spans are
handed to the reasoner to leave out of search, time ranges and speaker statistics.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memory import AgentTurnRecord, Memory

_MARK = re.compile(r"^Conversation (?P<id>[0-9a-f]{6,32})\.$")
# How many earlier turns of a conversation the reasoner sees.
HISTORY = 4


def new_conversation_id() -> str:
    return uuid.uuid4().hex[:8]


def conversation_step(conversation: str) -> str:
    """The reasoning step that stores a turn's conversation id."""
    return f"Conversation {conversation}."


def conversation_of(turn: AgentTurnRecord) -> str | None:
    stored = getattr(turn, "conversation", None)
    if stored:
        return str(stored)
    for step in turn.reasoning or []:
        if isinstance(step, str) and (match := _MARK.match(step)):
            return match.group("id")
    return None


def latest_conversation(memory: Memory, session_id: str) -> tuple[str | None, int | None]:
    """(conversation id, turn id) of the session's last turn (either may be None)."""
    turns = memory.agent_turns(session_id)
    if not turns:
        return None, None
    last = turns[-1]
    return conversation_of(last), last.id


def previous_turns(
    memory: Memory, session_id: str, conversation: str, *, seed_turn: int | None = None
) -> list[dict[str, Any]]:
    """The last turns of ``conversation`` (or the single turn ``seed_turn``), oldest first."""
    turns = memory.agent_turns(session_id)
    mine = [
        t
        for t in turns
        if conversation_of(t) == conversation or (seed_turn is not None and t.id == seed_turn)
    ]
    return [
        {"question": t.question, "answer": t.answer, "citations": list(t.citations)}
        for t in mine[-HISTORY:]
    ]


def addressed_spans(memory: Memory, session_id: str) -> list[tuple[float, float]]:
    """Transcript spans that were questions spoken to the assistant (voice turns)."""
    spans: list[tuple[float, float]] = []
    for turn in memory.agent_turns(session_id):
        if turn.session_time is not None:
            spans += question_spans(memory, session_id, turn.question, float(turn.session_time))
    return spans


def question_spans(
    memory: Memory, session_id: str, question: str, near: float
) -> list[tuple[float, float]]:
    """Where ``question`` was heard around ``near`` (segments mostly made of its words);
    nothing when it was typed, not said."""
    words = set(re.findall(r"[a-z']+", question.lower()))
    spans = []
    for seg in memory.transcript_between(session_id, max(0.0, near - 2.0), near + 30.0):
        said = set(re.findall(r"[a-z']+", seg.text.lower()))
        if said and len(said & words) >= 0.6 * len(said):
            spans.append((seg.start, seg.end))
    return spans


__all__ = [
    "HISTORY",
    "addressed_spans",
    "conversation_of",
    "conversation_step",
    "latest_conversation",
    "new_conversation_id",
    "previous_turns",
    "question_spans",
]
