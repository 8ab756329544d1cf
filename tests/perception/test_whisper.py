"""One Whisper model per process, shared by the lite backend and quick transcripts."""

from __future__ import annotations

from perception.backend import Window
from perception.backends.lite import LiteBackend
from perception.synthetic import Scene
from perception.whisper import load_whisper


def test_the_model_is_loaded_once(lite_backend: LiteBackend) -> None:
    assert load_whisper() is lite_backend._whisper  # noqa: SLF001 - the copy they share


def test_a_short_chunk_elsewhere_does_not_change_the_lite_backend(
    lite_backend: LiteBackend, meeting_scene: Scene
) -> None:
    window = Window(
        session_id="w", window_id=0, start=0.0, samples=meeting_scene.audio[: 16_000 * 20]
    )
    before = [e.model_dump() for e in lite_backend.analyze([window])[0]]
    # the voice assistant's quick transcript sizes Whisper's input to a short utterance
    segments, _ = load_whisper().transcribe(meeting_scene.audio[:48_000], chunk_length=4)
    list(segments)
    after = [e.model_dump() for e in lite_backend.analyze([window])[0]]
    assert after == before
