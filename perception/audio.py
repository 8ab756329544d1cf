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
# Rates outside these are not audio this project can use, and a tiny declared rate turns a
# few kilobytes into hours of resampled samples.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000


class AudioDecodeError(ValueError):
    """A file (or stream) that cannot be decoded into audio."""


class AudioTooLongError(AudioDecodeError):
    """Audio longer than a caller's limit (found from the header or while decoding)."""

    def __init__(self, message: str, limit: float) -> None:
        super().__init__(message)
        self.limit = limit


def check_sample_rate(rate: float, where: str = "the audio") -> int:
    """``rate`` as an int, or ``AudioDecodeError`` when no real recording has it."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioDecodeError(
            f"{where} declares a sample rate of {rate:.0f} Hz, outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; "
            "resample it (e.g. `ffmpeg -i IN -ar 16000 out.wav`)"
        )
    return int(rate)


class AudioSourceUnavailableError(RuntimeError):
    """A live source (e.g. the microphone) cannot be opened on this machine."""


class StreamResampler:
    """Any rate / channel layout -> 16 kHz mono float32, keeping filter state across chunks."""

    def __init__(self, sample_rate: int, channels: int = 1) -> None:
        if sample_rate <= 0:
            raise AudioDecodeError(f"sample rate must be positive, got {sample_rate}")
        check_sample_rate(sample_rate)
        if channels <= 0:
            raise AudioDecodeError(f"channel count must be positive, got {channels}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self._resampler: Any = None
        self._warned_non_finite = False
        if self.sample_rate != SAMPLE_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)

    def push(self, samples: np.ndarray | bytes | bytearray) -> np.ndarray:
        """Convert one chunk: float or int PCM, shape (n,) or (n, channels)."""
        if not self._warned_non_finite and _has_non_finite(samples):
            self._warned_non_finite = True
            log.warning("the audio has NaN or infinite samples; they are replaced by silence")
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


def to_float_mono(samples: np.ndarray | bytes | bytearray, channels: int = 1) -> np.ndarray:
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
    return _concat(
        [
            resampler.push(samples if isinstance(samples, bytes) else np.asarray(samples)),
            resampler.flush(),
        ]
    )


def decode_file(
    path: str | Path, chunk_seconds: float = DEFAULT_CHUNK_SECONDS, max_seconds: float | None = None
) -> Iterator[np.ndarray]:
    """Stream a file as 16 kHz mono float32 chunks of about ``chunk_seconds`` each.

    Raises ``AudioDecodeError`` (with a hint) for missing, empty, corrupt or audio-less
    files and sample rates outside ``MIN_SAMPLE_RATE``..``MAX_SAMPLE_RATE``. A file that
    breaks part-way raises after the chunks decoded before the damage. With
    ``max_seconds``, audio longer than that raises ``AudioTooLongError`` from the header
    or, when the header does not say, as soon as decoding passes it (before resampling,
    so memory stays bounded whatever the header claims).
    """
    path = Path(path)
    if not path.exists():
        raise AudioDecodeError(f"{path}: no such file")
    if path.is_dir():
        raise AudioDecodeError(f"{path}: is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: file is empty")
    chunk = max(1, int(chunk_seconds * SAMPLE_RATE))
    limit = _Limit(path, max_seconds)
    with path.open("rb") as f:
        head = f.read(_HEADER_BYTES)
    wav = _check_wav_header(path, head, path.stat().st_size, limit)
    chunks, first = _first_readable(path, head, wav == (SAMPLE_RATE, 1), limit)
    if first is None:
        raise AudioDecodeError(f"{path}: contains no audio samples")
    yield from _rechunk(_prepend(first, chunks), chunk)


def _first_readable(
    path: Path, head: bytes, ready_wav: bool, limit: _Limit
) -> tuple[Iterator[np.ndarray], np.ndarray | None]:
    """The decoder that can read ``path``, and its first chunk: FFmpeg, or libsndfile
    where FFmpeg fails (but not on mp3) or where it is the quicker of the two."""
    if ready_wav:
        # A 16 kHz mono WAV, the usual input: libsndfile reads it a second at a time with
        # nothing to resample or mix, where FFmpeg hands over 1024 samples per call (about 0.3 s of Python
        # per 15 minutes, on the thread that feeds Whisper).
        try:
            chunks = _decode_with_soundfile(path, AudioDecodeError(f"{path}: unreadable"), limit)
            return chunks, next(chunks, None)
        except AudioTooLongError:
            raise
        except AudioDecodeError as exc:
            log.debug("soundfile could not read %s (%s); trying FFmpeg", path, exc)
    try:
        chunks = _decode_with_av(path, limit)
        return chunks, next(chunks, None)
    except AudioTooLongError:
        raise
    except AudioDecodeError as exc:
        if _is_mp3(head):  # libsndfile cannot do better than FFmpeg on mp3, and prints to stderr
            raise
        log.debug("FFmpeg could not open %s (%s); trying soundfile", path, exc)
        chunks = _decode_with_soundfile(path, exc, limit)
        return chunks, next(chunks, None)


def load_audio(path: str | Path, max_seconds: float | None = None) -> np.ndarray:
    """A whole file as 16 kHz mono float32 (for short clips; stream long ones)."""
    return _concat(list(decode_file(path, max_seconds=max_seconds)))


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

_HEADER_BYTES = 4096
_NO_SIZE = (0, 0xFFFFFFFF)  # data sizes a streaming writer leaves when it cannot seek back


_warned: set[tuple[str, int, str]] = set()  # (file, mtime, what): callers often decode a file twice


def _warn_once(path: Path, what: str, message: str, *args: object) -> None:
    try:
        key = (str(path), path.stat().st_mtime_ns, what)
    except OSError:
        key = (str(path), 0, what)
    if key not in _warned:
        if len(_warned) > 1024:
            _warned.clear()
        _warned.add(key)
        log.warning(message, *args)


class _Limit:
    """Counts decoded input seconds against ``max_seconds``; warns once about NaN/inf."""

    def __init__(self, path: Path, max_seconds: float | None) -> None:
        self.path = path
        self.max_seconds = max_seconds
        self.seconds = 0.0
        self.warned_non_finite = False

    def declared(self, seconds: float) -> None:
        if self.max_seconds is not None and seconds > self.max_seconds + 0.5:
            raise AudioTooLongError(
                f"{self.path}: the audio is {seconds:.1f} s, longer than the {self.max_seconds:g} s allowed",
                self.max_seconds,
            )

    def add(self, samples: int, rate: int) -> None:
        check_sample_rate(rate, str(self.path))
        self.seconds += samples / rate
        if self.max_seconds is not None and self.seconds > self.max_seconds + 0.5:
            raise AudioTooLongError(
                f"{self.path}: the audio is longer than the {self.max_seconds:g} s allowed",
                self.max_seconds,
            )

    def non_finite(self) -> None:
        if not self.warned_non_finite:
            self.warned_non_finite = True
            _warn_once(
                self.path,
                "non-finite",
                "%s: NaN or infinite samples replaced by silence",
                self.path,
            )


def _check_wav_header(path: Path, head: bytes, size: int, limit: _Limit) -> tuple[int, int]:
    """For WAV: refuse absurd rates and over-long declared durations before decoding, and
    warn when the file holds less data than its header declares (a truncated copy).
    Returns the sample rate and channel count when the header gives them, else zeros."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0, 0
    pos, rate, frame_bytes, channels = 12, 0, 0, 0
    while pos + 8 <= len(head):
        chunk_id, chunk_size = (
            head[pos : pos + 4],
            int.from_bytes(head[pos + 4 : pos + 8], "little"),
        )
        if (
            chunk_id == b"fmt " and chunk_size in (16, 18, 40) and pos + 24 <= len(head)
        ):  # else FFmpeg judges
            channels = int.from_bytes(head[pos + 10 : pos + 12], "little")
            rate = int.from_bytes(head[pos + 12 : pos + 16], "little")
            frame_bytes = int.from_bytes(head[pos + 20 : pos + 22], "little")
            check_sample_rate(rate, str(path))
        elif chunk_id == b"data":
            present = size - (pos + 8)
            if chunk_size not in _NO_SIZE and frame_bytes and rate:
                limit.declared(min(chunk_size, present) / frame_bytes / rate)
                if present < chunk_size:
                    _warn_once(
                        path, "truncated",
                        "%s: truncated: the header declares %.1f s of audio, "
                        "the file holds %.1f s; using what is there",
                        path, chunk_size / frame_bytes / rate, present / frame_bytes / rate,
                    )  # fmt: skip
            return rate, channels
        pos += 8 + chunk_size + (chunk_size & 1)
    return 0, 0


def _is_mp3(head: bytes) -> bool:
    return head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _has_non_finite(samples: Any) -> bool:
    arr = np.asarray(samples) if not isinstance(samples, bytes | bytearray | memoryview) else None
    return arr is not None and arr.dtype.kind == "f" and not bool(np.isfinite(arr).all())


def _finite_frame(frame: Any, limit: _Limit) -> Any:
    """``frame`` with NaN/inf samples zeroed (float formats only; the resampler would
    spread them)."""
    import av

    if frame.format.name not in ("flt", "fltp", "dbl", "dblp"):
        return frame
    data = frame.to_ndarray()
    if np.isfinite(data).all():
        return frame
    limit.non_finite()
    clean = av.AudioFrame.from_ndarray(
        np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0),
        format=frame.format.name,
        layout=frame.layout.name,
    )
    clean.sample_rate = frame.sample_rate
    return clean


def _decode_with_av(path: Path, limit: _Limit) -> Iterator[np.ndarray]:
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:
        raise AudioDecodeError(f"{path}: not a readable audio file ({_short(exc)})") from exc
    with container:
        stream: Any = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioDecodeError(f"{path}: has no audio stream")
        if stream.rate:
            check_sample_rate(stream.rate, str(path))
        if stream.duration and stream.time_base:
            limit.declared(float(stream.duration * stream.time_base))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        produced = 0
        try:
            frame: Any
            for frame in container.decode(stream):
                limit.add(frame.samples, frame.sample_rate)  # before resampling
                frame = _finite_frame(frame, limit)
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


def _decode_with_soundfile(
    path: Path, first_error: Exception, limit: _Limit
) -> Iterator[np.ndarray]:
    import soundfile as sf

    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioDecodeError(
            f"{first_error}; convert it to WAV or FLAC (e.g. `ffmpeg -i IN out.wav`)"
        ) from exc
    with f:
        check_sample_rate(f.samplerate, str(path))
        if f.frames > 0:
            limit.declared(f.frames / f.samplerate)
        resampler = StreamResampler(f.samplerate, f.channels)
        blocks = f.blocks(blocksize=f.samplerate, dtype="float32", always_2d=True)
        produced = 0
        while True:
            try:
                block = next(blocks, None)
            except Exception as exc:
                raise AudioDecodeError(
                    f"{path}: audio is corrupt after {produced / SAMPLE_RATE:.1f} s ({_short(exc)})"
                ) from exc
            if block is None:
                break
            limit.add(len(block), f.samplerate)
            if not np.isfinite(block).all():
                limit.non_finite()
                block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
            out = resampler.push(block)
            produced += out.size
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
    "AudioTooLongError",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "MicrophoneSource",
    "OnProgress",
    "StreamResampler",
    "check_sample_rate",
    "decode_file",
    "load_audio",
    "probe_duration",
    "to_16k_mono",
    "to_float_mono",
]
