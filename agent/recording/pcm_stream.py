"""Audio from a byte stream (stdin, a socket): raw 16 kHz s16le PCM or a WAV stream.

``moss-agent record -`` reads a pipe, where the length is unknown and seeking is
impossible, so the WAV header is parsed as it streams by rather than with ``wave`` or
soundfile (both want the whole file or a seekable one).
"""

from __future__ import annotations

import itertools
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from perception.audio import AudioDecodeError, StreamResampler, check_sample_rate
from perception.backend import SAMPLE_RATE

log = logging.getLogger(__name__)

# Read about this many seconds of 16 kHz mono s16le per chunk.
DEFAULT_CHUNK_SECONDS = 2.0
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_NO_SIZE = (0, 0xFFFFFFFF)  # the data size a streaming writer leaves when it cannot seek back
# Containers that are audio but not raw PCM: their bytes would read as loud noise.
_MAGIC = (
    (b"ID3", "MP3"), (b"fLaC", "FLAC"), (b"OggS", "Ogg"), (b"\x1aE\xdf\xa3", "Matroska/WebM"),
    (b"FORM", "AIFF"), (b"#!AMR", "AMR"), (b"caff", "CAF"),
)  # fmt: skip


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
        widths: dict[int, np.dtype] = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
        return widths[self.sample_width]


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


def _parse_wav_header(stream: BinaryIO, riff: bytes) -> tuple[StreamFormat, int]:
    """Consume chunks up to ``data``; ``riff`` is the 12 bytes already read. Returns the
    format and the data size the header declares."""
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
            return fmt, size
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
            check_sample_rate(rate, "the WAV stream on stdin")
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
    declared = None
    if head[:4] == b"RIFF":
        fmt, declared = _parse_wav_header(stream, head)
        pending = b""
    else:
        _refuse_containers(head)
        fmt = StreamFormat()
        pending = head
    resampler = StreamResampler(fmt.sample_rate, fmt.channels)
    frame = fmt.sample_width * fmt.channels
    block = max(frame, int(chunk_seconds * fmt.sample_rate) * frame)
    received = 0
    while True:
        data = pending + _read_exactly(stream, block - len(pending))
        if not data:
            break
        usable = len(data) - len(data) % frame
        pending = data[usable:]
        if usable:
            samples = np.frombuffer(data[:usable], dtype=fmt.dtype()).reshape(-1, fmt.channels)
            if not received and not fmt.wav and _looks_like_random_bytes(samples[:, 0]):
                raise AudioDecodeError(
                    "stdin does not look like 16 kHz s16le PCM (it reads as full-scale noise: compressed "
                    "or random bytes?); pipe WAV instead, e.g. `ffmpeg -i IN -f wav -acodec pcm_s16le -`"
                )
            received += usable
            out = resampler.push(samples)
            if out.size:
                yield out
        if len(data) < block:  # the stream ended
            break
    if declared is not None and declared not in _NO_SIZE and received < declared:
        log.warning(
            "the WAV stream on stdin ended after %.1f s of the %.1f s its header declares (truncated?)",
            received / frame / fmt.sample_rate, declared / frame / fmt.sample_rate,
        )  # fmt: skip
    tail = resampler.flush()
    if tail.size:
        yield tail


def open_pcm_stream(
    stream: BinaryIO, chunk_seconds: float = DEFAULT_CHUNK_SECONDS
) -> Iterator[np.ndarray]:
    """``read_pcm_stream`` with the header and the first block read now, so that a stream
    that is empty, cut inside its header or not audio fails before anything is stored."""
    chunks = read_pcm_stream(stream, chunk_seconds)
    first = next(chunks, None)
    if first is None:
        raise AudioDecodeError(
            "stdin ended before any audio samples: pipe 16 kHz s16le PCM or a WAV stream"
        )
    return itertools.chain([first], chunks)


def _refuse_containers(head: bytes) -> None:
    kind = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
    if kind is None and head[4:8] == b"ftyp":
        kind = "MP4/M4A"
    # (an MPEG frame sync is not checked: PCM may start with the same two bytes; such a
    # stream is caught as noise instead)
    if kind is not None:
        raise AudioDecodeError(
            f"stdin holds {kind} data, not raw PCM: record the file by its path, or pipe WAV "
            "(`ffmpeg -i IN -f wav -acodec pcm_s16le -`)"
        )


def _looks_like_random_bytes(samples: np.ndarray) -> bool:
    """Bytes that are not PCM read as loud, uncorrelated noise or a large offset; audio,
    even loud music, is centred on zero and correlated from one sample to the next."""
    if samples.size < 1024 or samples.dtype.kind == "f":
        return False
    x = samples.astype(np.float64) / 32768.0
    mean = float(x.mean())
    if abs(mean) > 0.25:
        return True
    loud = float(np.mean(np.abs(x) > 0.5))
    centred = x - mean
    power = float(np.dot(centred[:-1], centred[:-1]))
    lag1 = float(np.dot(centred[:-1], centred[1:])) / power if power else 1.0
    return loud > 0.25 and abs(lag1) < 0.5


__all__ = ["StreamFormat", "open_pcm_stream", "read_pcm_stream"]
