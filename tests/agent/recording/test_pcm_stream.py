"""Reading `record -` input: raw 16 kHz s16le PCM or a WAV stream of any rate and layout."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from agent.recording.pcm_stream import read_pcm_stream
from perception.audio import AudioDecodeError


class _Pipe(io.RawIOBase):
    """A pipe: short reads, no seeking."""

    def __init__(self, data: bytes, step: int = 777) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_raw_pcm_is_read_as_16k_mono() -> None:
    tone = _tone(3.0, 16000)
    pcm = (tone * 32767).astype("<i2").tobytes()
    out = np.concatenate(list(read_pcm_stream(_Pipe(pcm), chunk_seconds=0.5)))
    assert len(out) == len(tone) and np.abs(out - tone).max() < 1e-3


@pytest.mark.parametrize(
    ("rate", "channels", "subtype"),
    [(48000, 2, "PCM_16"), (8000, 1, "FLOAT"), (16000, 1, "PCM_24")],
)
def test_wav_streams_are_resampled(rate: int, channels: int, subtype: str) -> None:
    tone = _tone(2.0, rate)
    buf = io.BytesIO()
    sf.write(
        buf,
        np.stack([tone] * channels, axis=1) if channels > 1 else tone,
        rate,
        format="WAV",
        subtype=subtype,
    )
    if subtype == "PCM_24":
        with pytest.raises(AudioDecodeError, match="ffmpeg"):
            list(read_pcm_stream(_Pipe(buf.getvalue())))
        return
    out = np.concatenate(list(read_pcm_stream(_Pipe(buf.getvalue()))))
    assert abs(len(out) - 32000) < 100
    assert 0.45 < np.abs(out[1000:-1000]).max() < 0.55


def test_empty_and_truncated_streams_say_what_to_do() -> None:
    with pytest.raises(AudioDecodeError, match="empty"):
        list(read_pcm_stream(_Pipe(b"")))
    with pytest.raises(AudioDecodeError, match="data chunk"):
        list(read_pcm_stream(_Pipe(b"RIFF\x00\x00\x00\x00WAVE")))
