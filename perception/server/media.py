"""Audio in a request: base64 data (a ``data:`` URL or OpenAI's ``input_audio``), or a
local file when the operator allows a directory.

The server runs as whoever starts it, so a path in a request is a question about that
user's files. Local paths are refused unless ``serve --allowed-local-media-path DIR`` is
given, and then only files under DIR (symlinks resolved) are read. Every refusal of a path
gives the same text, so that answers never tell which paths exist. Decoding is bounded
by ``max_seconds`` before resampling (``perception.audio``), whatever the header claims.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from perception.audio import AudioDecodeError, AudioTooLongError, load_audio
from perception.server.requests import AudioURL, AudioURLPart, InputAudioPart, RequestError

LOCAL_FILE_REFUSED = (
    "cannot use this audio path: no such file, not allowed, or not audio; "
    "send the audio inline as a data:audio/wav;base64,... URL"
)
_NOT_FETCHED = ("http", "https", "ftp", "s3", "gs")
MAX_AUDIO_BYTES = (
    48 * 1024 * 1024
)  # one audio input, encoded (120 s of 48 kHz stereo 16-bit WAV is 22 MiB)


@dataclass(frozen=True)
class MediaPolicy:
    """Where local audio files may be read from: nowhere (None) or under ``root``."""

    root: str | Path | None = None

    def resolve(self, location: str) -> Path:
        """The real path of ``location`` when it is a file under ``root``; otherwise the one
        refusal (``LOCAL_FILE_REFUSED``), whatever the reason."""
        if self.root is None:
            raise RequestError(
                "this server does not read local files; send a data: URL "
                "(or start it with --allowed-local-media-path DIR)"
            )
        try:
            root = Path(self.root).resolve(strict=True)
            path = Path(location).expanduser()
            real = (path if path.is_absolute() else root / path).resolve(strict=True)
            if not real.is_relative_to(root) or not real.is_file():
                raise RequestError(LOCAL_FILE_REFUSED)
        except (OSError, RuntimeError, ValueError):  # missing, loops, no permission, NUL bytes
            raise RequestError(LOCAL_FILE_REFUSED) from None
        return real


def decode_audio_part(
    part: AudioURLPart | InputAudioPart, policy: MediaPolicy, max_seconds: float
) -> np.ndarray:
    """The part's audio as 16 kHz mono float32; ``RequestError`` says what to fix."""
    if isinstance(part, InputAudioPart):  # OpenAI's own shape: base64 data + format
        inner = part.input_audio
        return _decode_bytes(_b64(inner.data), "." + (inner.format or "wav"), max_seconds)
    url = part.audio_url.url if isinstance(part.audio_url, AudioURL) else part.audio_url
    if not url:
        raise RequestError("audio_url.url must be a data: URL or a local file path")
    if url.startswith("data:"):
        header, sep, data = url.partition(",")
        if not sep or ";base64" not in header:
            raise RequestError("data: URLs must be base64 encoded (data:audio/wav;base64,...)")
        return _decode_bytes(_b64(data), _suffix(header), max_seconds)
    scheme = urlparse(url).scheme
    if scheme in _NOT_FETCHED:
        raise RequestError(
            f"this server does not fetch {scheme} URLs; send the audio inline as a data:audio/wav;base64,... URL"
        )
    path = policy.resolve(unquote(urlparse(url).path) if scheme == "file" else url)
    try:
        return load_audio(path, max_seconds=max_seconds)
    except AudioTooLongError as exc:
        raise RequestError(_too_long(exc.limit)) from None
    except (AudioDecodeError, OSError):
        raise RequestError(LOCAL_FILE_REFUSED) from None


def _b64(data: Any) -> bytes:
    if not isinstance(data, str) or not data:
        raise RequestError("the audio data is empty; send base64-encoded audio file bytes")
    if len(data) // 4 * 3 > MAX_AUDIO_BYTES:
        raise RequestError(
            f"the audio is larger than {MAX_AUDIO_BYTES // 2**20} MiB; send at most 120 s", 413
        )
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise RequestError(f"the audio data is not valid base64: {exc}") from exc


def _suffix(header: str) -> str:
    mime = header[5:].split(";")[0].strip().lower()
    sub = mime.split("/")[-1] if "/" in mime else ""
    return "." + {"x-wav": "wav", "wave": "wav", "mpeg": "mp3", "x-flac": "flac"}.get(
        sub, sub or "wav"
    )


def _too_long(limit: float) -> str:
    return f"the audio is longer than {limit:.0f} s; MOSS-Audio hears at most {limit:.0f} s per input: split it"


def _decode_bytes(payload: bytes, suffix: str, max_seconds: float) -> np.ndarray:
    if not payload:
        raise RequestError("the audio data is empty")
    with tempfile.TemporaryDirectory(prefix="moss-serve-") as tmp:
        safe = suffix if suffix.isascii() and suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"
        path = Path(tmp) / f"audio{safe}"
        path.write_bytes(payload)
        try:
            return load_audio(path, max_seconds=max_seconds)
        except AudioTooLongError as exc:
            raise RequestError(_too_long(exc.limit)) from None
        except AudioDecodeError as exc:
            message = str(exc).replace(str(path), "the audio")
            raise RequestError(f"cannot decode the audio: {message}") from None


__all__ = ["LOCAL_FILE_REFUSED", "MAX_AUDIO_BYTES", "MediaPolicy", "decode_audio_part"]
