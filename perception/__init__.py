"""Perception: audio in, typed absolute-time events out.

from perception import transcribe
for event in transcribe("meeting.wav"):          # lite backend, CPU only
    print(event.kind, event.start, event.end, getattr(event, "text", ""))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing a subpackage (e.g. the model on a bare GPU machine) needs no pydantic
    from perception.events import Event


def transcribe(
    path: str | Path,
    backend: str = "lite",
    *,
    session_id: str | None = None,
    window: float | None = None,
    hop: float | None = None,
    on_progress: Callable[[float, float | None], None] | None = None,
    refine_speakers: bool = True,
    **backend_options: Any,
) -> Iterator[Event]:
    """Stream the events of an audio file: transcript segments, speaker turns, sounds, ...

    ``backend`` is ``lite``, ``moss`` or ``remote``; ``backend_options`` go to its
    constructor. ``window`` / ``hop`` override the backend's preferred window (seconds).
    Raises ``perception.audio.AudioDecodeError`` for files that cannot be decoded.
    With ``refine_speakers`` (default) speaker ids are regrouped over the whole file
    (perception.speaker_refinement) and events come once the file is done; without it they
    stream as they are perceived, with live ids.
    """
    from perception.audio import AudioDecodeError, decode_file
    from perception.backends import get_backend
    from perception.engine import Perceiver
    from perception.windowing import WindowConfig

    # Fail on a bad file before loading a model.
    first = next(iter(decode_file(path, chunk_seconds=0.5)), None)
    if first is None:
        raise AudioDecodeError(f"{path}: contains no audio samples")
    engine_backend = get_backend(backend, **backend_options)
    try:
        config = WindowConfig.for_backend(engine_backend, length=window, hop=hop)
        perceiver = Perceiver(engine_backend, config)
        events = perceiver.process_file(path, session_id=session_id, on_progress=on_progress)
        if refine_speakers:
            from perception.speaker_refinement import refine_stream

            # The events wait on disk until the file is done: memory stays flat in its length.
            yield from refine_stream(events)
        else:
            yield from events
    finally:
        engine_backend.close()


__all__ = ["transcribe"]
