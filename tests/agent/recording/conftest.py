"""One real lite backend and one recording of the meeting, shared by the recorder tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent.recording.recorder import Recorder, RecordingResult
from memory import Memory, open_memory
from perception import synthetic
from perception.backend import PerceptionBackend


@pytest.fixture(scope="session")
def recorded(
    meeting_wav: Path, lite_backend: PerceptionBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Memory, RecordingResult]]:
    """The meeting recorded once into a temp SQLite memory, with its audio archived."""
    path = tmp_path_factory.mktemp("recorded") / "memory.db"
    memory = open_memory(f"sqlite:///{path}")
    result = Recorder(memory, lite_backend, archive_audio=True).record_file(meeting_wav)
    yield memory, result
    memory.close()


@pytest.fixture(scope="session")
def long_meeting_wav(
    meeting_scene: synthetic.Scene, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The meeting twice over (about 63 s), long enough to interrupt mid-way."""
    path = tmp_path_factory.mktemp("audio") / "long_meeting.wav"
    sf.write(str(path), np.concatenate([meeting_scene.audio] * 2), synthetic.SAMPLE_RATE)
    return path
