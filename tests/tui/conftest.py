"""A small, fixed memory for the UI tests: two sessions with known events in a temp SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memory import Memory, open_memory
from perception.events import SoundCategory, SoundEvent, TranscriptSegment, VoiceTraits

SESSION_ID = "weekly0001"
OTHER_ID = "standup0002"

# (start, end, speaker, text): three speakers over a little more than two minutes.
LINES = [
    (1.0, 4.5, "S1", "Good morning everyone, let's start with the budget."),
    (5.0, 9.0, "S2", "The budget is tight this quarter."),
    (12.0, 15.0, "S1", "Someone is at the door, let's move on to hiring."),
    (16.0, 19.5, "S2", "We want to hire two engineers before March."),
    (62.0, 66.0, "S3", "Action item: Alice writes the job description."),
    (67.0, 70.0, "S1", "Great, and the office move is next month."),
    (125.0, 129.0, "S2", "Thanks everyone, that's all for today."),
]


def fixed_events(session_id: str = SESSION_ID) -> list:
    events: list = [
        TranscriptSegment(
            start=s,
            end=e,
            speaker=spk,
            text=text,
            session_id=session_id,
            backend="lite",
            model="fixed",
        )
        for s, e, spk, text in LINES
    ]
    events.append(
        SoundEvent(
            start=10.0,
            end=11.5,
            label="doorbell",
            category=SoundCategory.TONAL,
            session_id=session_id,
            backend="lite",
            model="fixed",
        )
    )
    events.append(
        SoundEvent(
            start=100.0,
            end=102.0,
            label="phone ringing",
            category=SoundCategory.TONAL,
            heuristic=True,
            session_id=session_id,
            backend="lite",
            model="fixed",
        )
    )
    events.append(
        VoiceTraits(
            start=5.0,
            end=9.0,
            speaker="S2",
            emotion="worried",
            session_id=session_id,
            backend="lite",
            model="fixed",
        )
    )
    events.append(
        VoiceTraits(
            start=125.0,
            end=129.0,
            speaker="S2",
            emotion="happy",
            session_id=session_id,
            backend="lite",
            model="fixed",
        )
    )
    return events


def build_memory(path: Path) -> Memory:
    memory = open_memory(f"sqlite:///{path}")
    memory.create_session(
        "Weekly sync",
        source="weekly.wav",
        started_at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC),
        backend="lite",
        model="fixed",
        session_id=SESSION_ID,
    )
    memory.ingest(SESSION_ID, fixed_events())
    memory.set_duration(SESSION_ID, 130.0)
    memory.rename_speaker(SESSION_ID, "S1", "Bob")
    memory.create_session(
        "Stand-up",
        source="standup.wav",
        started_at=datetime(2025, 3, 2, 9, 0, tzinfo=UTC),
        backend="lite",
        model="fixed",
        session_id=OTHER_ID,
    )
    memory.ingest(
        OTHER_ID,
        [
            TranscriptSegment(
                start=0.5, end=3.0, speaker="S1", text="Quick stand-up today.", session_id=OTHER_ID
            )
        ],
    )
    return memory


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    mem = build_memory(tmp_path / "memory.db")
    yield mem
    mem.close()


@pytest.fixture
def asker(memory: Memory):  # type: ignore[no-untyped-def]
    """The real rules reasoner over the fixed memory."""
    from agent.reasoning.ask import ask
    from agent.reasoning.registry import get_reasoner

    reasoner = get_reasoner("rules")

    async def run(question: str, session_id: str):  # type: ignore[no-untyped-def]
        return await ask(memory, session_id, question, reasoner, record=False)

    return run
