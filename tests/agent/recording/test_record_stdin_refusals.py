"""``moss-agent record -`` with stdin that is not audio: one line, exit 2, and no session
stored (not even an empty one); real audio piped in is never mistaken for noise."""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.cli import main
from agent.recording.pcm_stream import _looks_like_random_bytes, open_pcm_stream
from memory import open_memory
from perception import synthetic
from perception.audio import AudioDecodeError
from perception.events import TranscriptSegment


def _wav_header(rate: int, data_size: int = 0xFFFFFFFF) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, (rate * 2) & 0xFFFFFFFF, 2, 16)
    return (
        b"RIFF\xff\xff\xff\xffWAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


def _mp3_bytes() -> bytes:
    rng = np.random.default_rng(5)
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(rng.integers(0, 256, 40_000, np.uint8))


STDINS = {
    "empty": (b"", "stdin is empty"),
    "truncated-header": (_wav_header(16000)[:30], "truncated fmt chunk"),
    "cut-before-data": (_wav_header(16000)[:36], "ended before its data chunk"),
    "header-only": (_wav_header(16000), "ended before any audio samples"),
    "random-bytes": (bytes(np.random.default_rng(1).integers(0, 256, 96_000, np.uint8)), "does not look like"),
    "mp3": (_mp3_bytes(), "stdin holds MP3 data"),
    "mp3-no-tag": (b"\xff\xfb\x90\x64" + bytes(np.random.default_rng(2).integers(0, 256, 40_000, np.uint8)),
                   "does not look like"),
    "text": (b"The quick brown fox jumps over the lazy dog. " * 2000, "does not look like"),
    "rate-0xFFFFFFFF": (_wav_header(0xFFFFFFFF) + b"\x00\x01" * 8000, "4294967295 Hz"),
    "rate-1": (_wav_header(1) + b"\x00\x01" * 8000, "sample rate of 1 Hz"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STDINS))
def test_record_refuses_stdin_that_is_not_audio_and_stores_nothing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, needle = STDINS[name]
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    memory = open_memory(db)
    kept = memory.create_session("earlier")
    memory.ingest(kept.id, [TranscriptSegment(start=0, end=1, text="keep me", speaker="S1")])
    memory.close()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["record", "-", "--session", "piped", "--db", db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("moss-agent record: error:") and needle in err[0], (
        err
    )
    memory = open_memory(db)
    try:
        assert [s.title for s in memory.list_sessions()] == ["earlier"]  # no empty "piped" session
        assert memory.transcript_between(kept.id, 0, 2)[0].text == "keep me"
    finally:
        memory.close()


def test_real_audio_is_not_taken_for_random_bytes() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(32_000) / 16_000
    speech = synthetic.speak("We keep the printer in the basement.", "en-us")
    loud_music = np.clip(
        1.6 * np.sin(2 * np.pi * 220 * t) + 0.4 * np.sin(2 * np.pi * 3300 * t), -1, 1
    )
    signals = {
        "speech": speech, "loud-clipped-tones": loud_music, "noise-at-0.3": 0.3 * rng.standard_normal(32_000),
        "silence": np.zeros(32_000), "quiet-hum": 0.001 * np.sin(2 * np.pi * 50 * t),
    }  # fmt: skip
    for name, signal in signals.items():
        pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
        assert not _looks_like_random_bytes(pcm), name
        chunks = list(open_pcm_stream(io.BytesIO(pcm.tobytes()), chunk_seconds=0.5))
        assert sum(len(c) for c in chunks) == len(pcm), name
    with pytest.raises(AudioDecodeError, match="does not look like"):
        open_pcm_stream(io.BytesIO(bytes(rng.integers(0, 256, 64_000, np.uint8))))


def test_a_truncated_wav_stream_is_used_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    pcm = (0.3 * np.sin(np.arange(16_000) / 5)).astype(np.float32)
    body = (pcm * 32767).astype("<i2").tobytes()
    stream = io.BytesIO(
        _wav_header(16000, data_size=len(body) * 4) + body
    )  # declares 4 s, holds 1 s
    with caplog.at_level("WARNING", logger="agent.recording.pcm_stream"):
        audio = np.concatenate(list(open_pcm_stream(stream)))
    assert len(audio) == 16_000
    assert any("ended after 1.0 s of the 4.0 s" in r.getMessage() for r in caplog.records)
