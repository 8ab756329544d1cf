"""The questions asked about every window, one per task.

Each task's prompt asks for the line or JSON format its parser reads best; the parsers
still accept the variations models produce. Times are asked for in plain decimal seconds
because MOSS-Audio's time markers are plain seconds from the start of the audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Task(StrEnum):
    TRANSCRIPT = "transcript"
    VOICE = "voice"
    SOUNDS = "sounds"


PROMPTS: dict[Task, str] = {
    Task.TRANSCRIPT: (
        "Transcribe the speech in this audio with timestamps. Write one line per sentence "
        "as `start_sec - end_sec: text`, with plain decimal seconds from the start of the "
        "audio, in order. If nobody speaks, answer `none`."
    ),
    Task.VOICE: (
        "Describe the main speaker's voice as an English JSON object with the keys gender, "
        "pitch, speed, volume, age, clarity, fluency, accent, texture, emotion, tone, "
        "personality, summary. Answer with the JSON object only."
    ),
    Task.SOUNDS: (
        "List the sound events in this audio in order, one per line as "
        "`start_sec - end_sec: event description`, with plain decimal seconds from the "
        "start of the audio. Include music (with its genre and instruments) when there "
        "is any. If there are no sounds besides speech, answer `none`."
    ),
}

DEFAULT_TASKS: tuple[Task, ...] = (Task.TRANSCRIPT, Task.VOICE, Task.SOUNDS)


def choose_tasks(tasks: Sequence[Task | str] | str) -> tuple[Task, ...]:
    """Tasks from names (a list or a comma-separated string), in order, without repeats."""
    names = tasks.split(",") if isinstance(tasks, str) else list(tasks)
    chosen = []
    for name in names:
        try:
            chosen.append(Task(str(name).strip()))
        except ValueError:
            raise ValueError(
                f"unknown perception task {name!r}; choose from {', '.join(t.value for t in Task)}"
            ) from None
    if not chosen:
        raise ValueError("no perception tasks chosen")
    return tuple(dict.fromkeys(chosen))
