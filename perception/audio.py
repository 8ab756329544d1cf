"""Audio in: any file or PCM stream -> 16 kHz mono float32, in chunks.

Files are decoded with PyAV (FFmpeg: wav, flac, mp3, m4a, ogg, opus, ...) and resampled
by a stateful resampler, so a file of any length streams through in fixed-size chunks and
memory stays flat. soundfile is the fallback for files FFmpeg refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from perception.backend import SAMPLE_RATE

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SECONDS = 10.0


class AudioDecodeError(ValueError):
    """A file (or stream) that cannot be decoded into audio."""


class AudioSourceUnavailableError(RuntimeError):
    """A live source (e.g. the microphone) cannot be opened on this machine."""


class StreamResampler:
    """Any rate / channel layout -> 16 kHz mono float32, keeping filter state across chunks."""

    def __init__(self, sample_rate: int, channels: int = 1) -> None:
        if sample_rate <= 0:
            raise AudioDecodeError(f"sample rate must be positive, got {sample_rate}")
        if channels <= 0:
            raise AudioDecodeError(f"channel count must be positive, got {channels}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self._resampler: Any = None
        if self.sample_rate != SAMPLE_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Convert one chunk: float or int PCM, shape (n,) or (n, channels)."""
        mono = to_float_mono(samples, self.channels)
        if self._resampler is None or mono.size == 0:
            return mono
        import av

        frame = av.AudioFrame.from_ndarray(mono[None, :], format="flt", layout="mono")
        frame.sample_rate = self.sample_rate
        return _frames_to_array(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """The samples still held in the resampler's filter."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return _frames_to_array(self._resampler.resample(None))


def to_float_mono(samples: np.ndarray | bytes, channels: int = 1) -> np.ndarray:
    """PCM as float32 mono in [-1, 1]. Bytes are 16-bit little-endian, interleaved."""
    if isinstance(samples, bytes | bytearray | memoryview):
        raw = bytes(samples)
        frame_bytes = 2 * channels
        if len(raw) % frame_bytes:
            raise AudioDecodeError(
                f"PCM chunk of {len(raw)} bytes is not a whole number of 16-bit "
                f"{channels}-channel frames; send int16 little-endian PCM"
            )
        samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)
    arr = np.asarray(samples)
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        scale = float(max(abs(info.min), info.max))
        offset = 0.0 if info.min < 0 else (info.max + 1) / 2.0
        arr = (arr.astype(np.float32) - offset) / scale
    elif arr.dtype.kind != "f":
        raise AudioDecodeError(f"unsupported PCM dtype {arr.dtype}; send int16 or float32")
    arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 2:
        if arr.shape[1] != channels and arr.shape[0] == channels:
            arr = arr.T  # channels-first input
        arr = arr.mean(axis=1, dtype=np.float32) if arr.shape[1] > 1 else arr[:, 0]
    elif arr.ndim != 1:
        raise AudioDecodeError(f"PCM must be 1-D or (samples, channels), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(arr, -1.0, 1.0).astype(np.float32, copy=False)


def to_16k_mono(samples: np.ndarray | bytes, sample_rate: int, channels: int = 1) -> np.ndarray:
    """A whole in-memory clip at any rate / layout -> 16 kHz mono float32."""
    resampler = StreamResampler(sample_rate, channels)
    return _concat([resampler.push(samples if isinstance(samples, bytes) else np.asarray(samples)),
                    resampler.flush()])


def decode_file(
    path: str | Path, chunk_seconds: float = DEFAULT_CHUNK_SECONDS
) -> Iterator[np.ndarray]:
    """Stream a file as 16 kHz mono float32 chunks of about ``chunk_seconds`` each.

    Raises ``AudioDecodeError`` (with a hint) for missing, empty, corrupt or audio-less
    files. A file that breaks part-way raises after the chunks decoded before the damage.
    """
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    if path.is_dir():
        raise AudioDecodeError(f"{path}: is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: file is empty")
    chunk = max(1, int(chunk_seconds * SAMPLE_RATE))
    try:
        chunks = _decode_with_av(path)
        first = next(chunks, None)
    except AudioDecodeError as exc:
        log.debug("FFmpeg could not open %s (%s); trying soundfile", path, exc)
        chunks = _decode_with_soundfile(path, exc)
        first = next(chunks, None)
    if first is None:
        raise AudioDecodeError(f"{path}: contains no audio samples")
    yield from _rechunk(_prepend(first, chunks), chunk)


def load_audio(path: str | Path) -> np.ndarray:
    """A whole file as 16 kHz mono float32 (for short clips; stream long ones)."""
    return _concat(list(decode_file(path)))


def probe_duration(path: str | Path) -> float | None:
    """Duration in seconds from the container header, or None when it does not say."""
    try:
        import av

        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
            if container.duration:
                return container.duration / 1_000_000
    except Exception:  # a probe is best effort; decoding reports the real problem
        pass
    try:
        import soundfile as sf

        info = sf.info(str(path))
        return info.frames / info.samplerate if info.samplerate else None
    except Exception:
        return None


class MicrophoneSource:
    """The default input device as 16 kHz mono chunks (needs sounddevice + PortAudio).

    Iterating yields chunks of ``block_seconds`` until ``close()``. Opening fails with
    ``AudioSourceUnavailableError`` on machines without PortAudio or an input device.
    """

    def __init__(self, block_seconds: float = 0.1, device: int | str | None = None) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise AudioSourceUnavailableError(
                "microphone input needs sounddevice and PortAudio: "
                "`pip install sounddevice` and `apt-get install libportaudio2` "
                f"({exc})"
            ) from exc
        import queue

        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._closed = False

        def on_audio(indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
            if status:
                log.warning("microphone: %s", status)
            self._queue.put(indata[:, 0].copy())

        try:
            self._stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=int(block_seconds * SAMPLE_RATE),
                device=device,
                callback=on_audio,
            )
            self._stream.start()
        except Exception as exc:
            raise AudioSourceUnavailableError(
                f"cannot open the microphone ({exc}); check `python -m sounddevice` lists an input device"
            ) from exc

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            block = self._queue.get()
            if block is None:
                return
            yield block

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stream.stop()
            self._stream.close()
            self._queue.put(None)

    def __enter__(self) -> MicrophoneSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- decoding internals -------------------------------------------------------------


def _decode_with_av(path: Path) -> Iterator[np.ndarray]:
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:
        raise AudioDecodeError(f"{path}: not a readable audio file ({_short(exc)})") from exc
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioDecodeError(f"{path}: has no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        produced = 0
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler count samples itself
                out = _frames_to_array(resampler.resample(frame))
                produced += out.size
                if out.size:
                    yield out
            tail = _frames_to_array(resampler.resample(None))
        except AudioDecodeError:
            raise
        except Exception as exc:
            raise AudioDecodeError(
                f"{path}: audio is corrupt after {produced / SAMPLE_RATE:.1f} s ({_short(exc)})"
            ) from exc
        if tail.size:
            yield tail


def _decode_with_soundfile(path: Path, first_error: Exception) -> Iterator[np.ndarray]:
    import soundfile as sf

    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioDecodeError(
            f"{first_error}; convert it to WAV or FLAC (e.g. `ffmpeg -i IN out.wav`)"
        ) from exc
    with f:
        resampler = StreamResampler(f.samplerate, f.channels)
        for block in f.blocks(blocksize=f.samplerate * 5, dtype="float32", always_2d=True):
            out = resampler.push(block)
            if out.size:
                yield out
        tail = resampler.flush()
        if tail.size:
            yield tail


def _frames_to_array(frames: list[Any]) -> np.ndarray:
    parts = [f.to_ndarray().reshape(-1) for f in frames]
    return _concat(parts)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros(0, np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)


def _prepend(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def _rechunk(chunks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    pending: list[np.ndarray] = []
    held = 0
    for c in chunks:
        pending.append(c)
        held += c.size
        while held >= size:
            joined = np.concatenate(pending)
            yield np.clip(joined[:size], -1.0, 1.0)
            rest = joined[size:]
            pending = [rest] if rest.size else []
            held = rest.size
    if held:
        yield np.clip(np.concatenate(pending), -1.0, 1.0)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


OnProgress = Callable[[float, float | None], None]

__all__ = [
    "AudioDecodeError",
    "AudioSourceUnavailableError",
    "MicrophoneSource",
    "OnProgress",
    "StreamResampler",
    "decode_file",
    "load_audio",
    "probe_duration",
    "to_16k_mono",
    "to_float_mono",
]
