"""Record a meeting into memory, then ask about it by time, topic and speaker.

    python examples/meeting_recorder.py [AUDIO] [--db memory.db]

Without AUDIO it records the espeak-ng demo meeting. Run it twice: the second run finds
the recording complete and only asks the questions.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from agent.reasoning.ask import ask
from agent.reasoning.registry import get_reasoner
from agent.recording.recorder import Recorder
from memory import open_memory
from perception.backends import get_backend
from perception.synthetic import meeting

QUESTIONS = (
    "What was said at minute 0?",
    "What was said between 0:10 and 0:20?",
    "When did someone mention the budget?",
    "Who spoke the most?",
    "What sounds were heard?",
)


async def ask_all(memory, session_id: str) -> None:  # type: ignore[no-untyped-def]
    async with get_reasoner("rules") as reasoner:
        for question in QUESTIONS:
            answer = await ask(memory, session_id, question, reasoner)
            print(f"\nQ: {question}\nA: {answer.answer}")
            for citation in answer.citations:
                print(f"   {citation.describe()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", help="an audio file (default: the demo meeting)")
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "meeting-example.db"))
    args = parser.parse_args()
    audio = args.audio
    if audio is None:
        audio = str(Path(tempfile.gettempdir()) / "meeting-example.wav")
        meeting().write(audio)
    memory = open_memory(args.db)
    try:
        with get_backend("lite") as backend:
            result = Recorder(memory, backend).record_file(
                audio,
                on_progress=lambda p: print(f"\r{p.seconds:6.1f} s, {p.events} events", end=""),
            )
        print(
            f"\nsession {result.session.title!r}: {result.session.event_count} events in {memory.url}"
        )
        asyncio.run(ask_all(memory, result.session.id))
    finally:
        memory.close()


if __name__ == "__main__":
    main()
