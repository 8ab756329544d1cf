"""Audio from a byte stream (stdin, a socket): raw 16 kHz s16le PCM or a WAV stream.

``moss-agent record -`` reads a pipe, where the length is unknown and seeking is
impossible, so the WAV header is parsed as it streams by rather than with ``wave`` or
soundfile (both want the whole file or a seekable one).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from perception.audio import AudioDecodeError, StreamResampler
from perception.backend import SAMPLE_RATE

# Read about this many seconds of 16 kHz mono s16le per chunk.
DEFAULT_CHUNK_SECONDS = 2.0
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class StreamFormat:
    sample_rate: int = SAMPLE_RATE
    channels: int = 1
    sample_width: int = 2  # bytes per sample
    is_float: bool = False
    wav: bool = False

    def dtype(self) -> np.dtype:
        if self.is_float:
            return np.dtype("<f4") if self.sample_width == 4 else np.dtype("<f8")
        return {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}[self.sample_width]


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        block = stream.read(n - got)
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def _parse_wav_header(stream: BinaryIO, riff: bytes) -> StreamFormat:
    """Consume chunks up to ``data``; ``riff`` is the 12 bytes already read."""
    if riff[8:12] != b"WAVE":
        raise AudioDecodeError("stdin starts with RIFF but is not a WAVE stream")
    fmt: StreamFormat | None = None
    while True:
        header = _read_exactly(stream, 8)
        if len(header) < 8:
            raise AudioDecodeError("WAV stream on stdin ended before its data chunk")
        chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"data":
            if fmt is None:
                raise AudioDecodeError("WAV stream on stdin has no fmt chunk before its data")
            return fmt
        body = _read_exactly(stream, size + (size & 1))
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise AudioDecodeError("WAV stream on stdin has a truncated fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            if tag not in (_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT):
                raise AudioDecodeError(
                    f"WAV stream on stdin uses format tag {tag}; pipe PCM or float WAV "
                    "(e.g. `ffmpeg -i IN -f wav -acodec pcm_s16le -`)"
                )
            width = bits // 8
            valid = {_WAVE_FORMAT_PCM: (1, 2, 4), _WAVE_FORMAT_FLOAT: (4, 8)}[tag]
            if width not in valid or channels < 1 or rate < 1:
                raise AudioDecodeError(
                    f"WAV stream on stdin has {bits}-bit samples, {channels} channels at {rate} Hz; "
                    "convert it with `ffmpeg -i IN -f wav -acodec pcm_s16le -`"
                )
            fmt = StreamFormat(rate, channels, width, tag == _WAVE_FORMAT_FLOAT, wav=True)


def read_pcm_stream(
    stream: BinaryIO, chunk_seconds: float = DEFAULT_CHUNK_SECONDS
) -> Iterator[np.ndarray]:
    """16 kHz mono float32 chunks from a WAV stream or raw 16 kHz mono s16le PCM.

    A stream that starts with ``RIFF....WAVE`` is read as WAV (any rate and channel count,
    resampled); anything else is taken as raw 16 kHz mono 16-bit little-endian PCM.
    Raises ``AudioDecodeError`` for an empty stream or an unreadable WAV header.
    """
    head = _read_exactly(stream, 12)
    if not head:
        raise AudioDecodeError("stdin is empty: pipe 16 kHz s16le PCM or a WAV stream into it")
    if head[:4] == b"RIFF":
        fmt = _parse_wav_header(stream, head)
        pending = b""
    else:
        fmt = StreamFormat()
        pending = head
    resampler = StreamResampler(fmt.sample_rate, fmt.channels)
    frame = fmt.sample_width * fmt.channels
    block = max(frame, int(chunk_seconds * fmt.sample_rate) * frame)
    while True:
        data = pending + _read_exactly(stream, block - len(pending))
        if not data:
            break
        usable = len(data) - len(data) % frame
        pending = data[usable:]
        if usable:
            samples = np.frombuffer(data[:usable], dtype=fmt.dtype()).reshape(-1, fmt.channels)
            out = resampler.push(samples)
            if out.size:
                yield out
        if len(data) < block:  # the stream ended
            break
    tail = resampler.flush()
    if tail.size:
        yield tail


__all__ = ["StreamFormat", "read_pcm_stream"]
