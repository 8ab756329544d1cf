"""The audio archive: FLAC chunks in the database, any range read back sample-exact."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from memory import Memory, MemoryStoreError
from memory.audio_archive import CHUNK_SECONDS, SAMPLE_RATE
from memory.schema import AudioChunkRow

QUANTUM = 1.0 / 32768  # FLAC keeps 16-bit samples


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    return (tone + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def test_archive_and_read_any_range(memory: Memory) -> None:
    session = memory.create_session("audio")
    audio = _audio(75.0)
    chunks = memory.archive_audio(session.id, 10.0, audio)
    assert chunks == int(np.ceil(75.0 / CHUNK_SECONDS))

    # Across a chunk boundary (10 + 30 = 40 s).
    clip = memory.read_audio(session.id, 38.5, 41.25)
    expected = audio[int(28.5 * SAMPLE_RATE) : int(31.25 * SAMPLE_RATE)]
    assert clip.dtype == np.float32 and len(clip) == len(expected)
    np.testing.assert_allclose(clip, expected, atol=QUANTUM)

    # Before the archive starts and after it ends is silence, not an error.
    edge = memory.read_audio(session.id, 8.0, 12.0)
    assert len(edge) == 4 * SAMPLE_RATE
    assert not edge[: 2 * SAMPLE_RATE].any()
    np.testing.assert_allclose(edge[2 * SAMPLE_RATE :], audio[: 2 * SAMPLE_RATE], atol=QUANTUM)
    assert not memory.read_audio(session.id, 200.0, 201.0).any()

    with memory.engine.connect() as conn:
        stored = conn.execute(select(func.sum(func.length(AudioChunkRow.data)))).scalar()
    assert stored < audio.astype(np.int16).nbytes  # compressed below 16-bit PCM


def test_archiving_a_range_again_replaces_it(memory: Memory) -> None:
    session = memory.create_session("audio")
    memory.archive_audio(session.id, 0.0, _audio(5.0, seed=1))
    second = _audio(5.0, seed=2)
    memory.archive_audio(session.id, 0.0, second)
    np.testing.assert_allclose(memory.read_audio(session.id, 0, 5), second, atol=QUANTUM)
    with memory.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AudioChunkRow)).scalar() == 1


def test_archive_refuses_bad_audio(memory: Memory) -> None:
    session = memory.create_session("audio")
    with pytest.raises(MemoryStoreError, match="mono"):
        memory.archive_audio(session.id, 0.0, np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(MemoryStoreError, match="NaN"):
        memory.archive_audio(session.id, 0.0, np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(MemoryStoreError, match="before the session"):
        memory.archive_audio(session.id, -1.0, np.zeros(10, dtype=np.float32))
    with pytest.raises(MemoryStoreError, match="no session"):
        memory.archive_audio("missing", 0.0, np.zeros(10, dtype=np.float32))
    # int16 PCM is accepted and scaled.
    memory.archive_audio(session.id, 0.0, np.full(1600, 16384, dtype=np.int16))
    assert memory.read_audio(session.id, 0.0, 0.1) == pytest.approx(np.full(1600, 0.5), abs=1e-3)
