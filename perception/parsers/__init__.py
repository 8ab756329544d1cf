"""Task prompts and defensive parsers for MOSS-Audio's text answers.

Every parser takes the model's text and the window's duration and returns a
``ParseResult``: the events it can trust, with WINDOW-RELATIVE times, and the warnings
(also logged) about what it dropped or adjusted. No model output makes a parser raise.
"""

from __future__ import annotations

from collections.abc import Callable

from perception.parsers.prompts import DEFAULT_TASKS, PROMPTS, Task, choose_tasks
from perception.parsers.reasoning import split_reasoning
from perception.parsers.result import ParseResult
from perception.parsers.sounds import parse_sound_events
from perception.parsers.transcript import parse_transcript
from perception.parsers.voice import parse_voice_traits

PARSERS: dict[Task, Callable[[str, float], ParseResult]] = {
    Task.TRANSCRIPT: parse_transcript,
    Task.VOICE: parse_voice_traits,
    Task.SOUNDS: parse_sound_events,
}


def parse_task(task: Task, text: str, duration: float) -> ParseResult:
    """Parse the answer to ``task`` (the ``<think>`` block, if any, is ignored)."""
    _, answer = split_reasoning(text)
    return PARSERS[task](answer, duration)


__all__ = [
    "DEFAULT_TASKS",
    "PARSERS",
    "PROMPTS",
    "ParseResult",
    "Task",
    "choose_tasks",
    "parse_sound_events",
    "parse_task",
    "parse_transcript",
    "parse_voice_traits",
    "split_reasoning",
]
