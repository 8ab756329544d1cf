# ruff: noqa: F811 - the lite fixtures are imported, then requested by name
"""The lite backend gives the same events for the same audio, and speech that ends up as a
sound label (no words) always says why.

Very fast speech makes Whisper unsure (average log-probability below -1) and speech that
repeats itself ("one two one two ...") makes its output compress well (ratio > 2.4): both
are where faster-whisper's default temperature fallback sampled at random."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from perception.backends.lite import LiteBackend
from perception.engine import Perceiver
from perception.events import SoundCategory, SoundEvent, TranscriptSegment
from perception.synthetic import speak

SR = 16_000
CHANT = " ".join(["one two"] * 12)
FAST = "We want to hire two engineers before March, and the budget is tight this quarter."


def _write(folder: Path, name: str, *clips: np.ndarray) -> Path:
    path = folder / name
    sf.write(path, np.concatenate(clips), SR)
    return path


@pytest.fixture(scope="module")
def chant_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chant = speak(CHANT, "en-us", words_per_minute=220)
    pause = np.zeros(SR // 2, np.float32)
    return _write(tmp_path_factory.mktemp("chant"), "chant.wav", pause, chant, chant, chant, pause)


@pytest.fixture(scope="module")
def fast_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fast = speak(FAST, "en-us", words_per_minute=400)
    pause = np.zeros(SR, np.float32)
    return _write(tmp_path_factory.mktemp("fast"), "fast.wav", pause, fast, pause)


def _run(backend: LiteBackend, path: Path) -> list[dict[str, object]]:
    backend.close()  # forget speakers: the second run starts where the first did
    return [e.model_dump(mode="json") for e in Perceiver(backend).process_file(path, "chant")]


def test_same_file_twice_gives_identical_events(lite_backend: LiteBackend, fast_file: Path) -> None:
    first = _run(lite_backend, fast_file)
    assert any(e["kind"] == "transcript" for e in first), "the fast speech is transcribed"
    for _ in range(2):
        assert _run(lite_backend, fast_file) == first


def test_speech_stored_as_a_sound_label_says_why(
    lite_backend: LiteBackend, chant_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lite_backend.close()
    with caplog.at_level(logging.WARNING, logger="perception.backends.lite"):
        events = list(Perceiver(lite_backend).process_file(chant_file, "chant-why"))
    speech_sounds = [
        e for e in events if isinstance(e, SoundEvent) and e.category == SoundCategory.SPEECH
    ]
    transcript = [e for e in events if isinstance(e, TranscriptSegment)]
    assert speech_sounds or transcript, "the chant is heard as words or as speech"
    for sound in speech_sounds:
        reason = sound.attributes.get("no_transcript")
        assert reason, f"{sound.label} at {sound.start:.1f} s has no reason"
        assert any(
            f"{sound.start:.1f}" in r.getMessage() and reason in r.getMessage()
            for r in caplog.records
        )
