"""The local MOSS-Audio backend: every window is heard once and asked several questions.

Per batch of windows the encoder runs once (one row per window) and each window's
shared prompt prefix (chat header + audio) is prefilled once; the task questions
(transcript, voice traits, sound timeline) run on top of it (prefix reuse, see
``perception.moss.generation``). The answers go through the defensive parsers, whose
window-relative times (the model's time markers count from the window start) are then
moved onto the session timeline.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perception.backend import (
    SAMPLE_RATE,
    BackendError,
    BackendUnavailableError,
    PerceptionBackend,
    Window,
)
from perception.events import Event
from perception.parsers import DEFAULT_TASKS, PROMPTS, Task, choose_tasks, parse_task

if TYPE_CHECKING:
    from perception.moss import (
        GenerationConfig,
        GenerationResult,
        MossAudioModel,
        MossAudioProcessor,
    )

log = logging.getLogger(__name__)

CHECKPOINT_ENV = "MOSS_AUDIO_CHECKPOINT"
TOKENIZER_ENV = "MOSS_AUDIO_TOKENIZER"
_FETCH_HINT = (
    "fetch a checkpoint with `hf download OpenMOSS-Team/MOSS-Audio-4B-Instruct --local-dir DIR`"
)
# Decode loops (perception.moss.decoding.DecodeOptions); tokens equal the plain loop's.
DECODE_MODES: dict[str, dict[str, Any]] = {
    "plain": {},
    "static": {"static_cache": True, "sync_every": 16},
    "cuda_graph": {"static_cache": True, "step": "cuda_graph", "sync_every": 16},
    "compile": {"static_cache": True, "step": "compile", "sync_every": 16},
}
# Below this the mel front end has no frame to compute (n_fft samples).
_MIN_WINDOW_SAMPLES = 400


class MossBackend(PerceptionBackend):
    """MOSS-Audio on this machine (CUDA when present, CPU otherwise).

    Options: ``checkpoint`` (default ``$MOSS_AUDIO_CHECKPOINT``), ``tokenizer`` (a
    directory with tokenizer files, default ``$MOSS_AUDIO_TOKENIZER`` or the checkpoint's
    own), ``device``, ``dtype``, ``batch_size`` (windows per call when processing files),
    ``max_new_tokens`` (per task), ``tasks`` (names, comma-separated or a list),
    ``decode`` (``plain`` by default; ``static``, ``cuda_graph`` or ``compile`` choose the
    faster decode loops of ``perception.moss.decoding``, which need SDPA attention).
    A model and processor already loaded can be passed instead of a checkpoint.
    """

    name = "moss"
    max_batch = 4  # windows per analyze call (the base class's window sizes suit MOSS-Audio)

    def __init__(
        self,
        checkpoint: str | Path | None = None,
        tokenizer: str | Path | None = None,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 4,
        max_new_tokens: int = 512,
        tasks: Sequence[Task | str] | str = DEFAULT_TASKS,
        model: MossAudioModel | None = None,
        processor: MossAudioProcessor | None = None,
        model_name: str | None = None,
        decode: str = "plain",
    ) -> None:
        if decode not in DECODE_MODES:
            raise ValueError(f"decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.tasks = tasks
        self.batch_size = int(batch_size)
        self.max_batch = self.batch_size  # type: ignore[misc]  # the engine reads the instance
        self.max_new_tokens = int(max_new_tokens)
        if model is not None and processor is not None:
            self._model, self._processor = model, processor
            self.checkpoint: Path | None = Path(checkpoint) if checkpoint else None
        else:
            self.checkpoint = _checkpoint_dir(checkpoint)
            self._model, self._processor = _load(self.checkpoint, device, dtype)
        tokenizer = tokenizer or os.environ.get(TOKENIZER_ENV) or None
        if tokenizer:
            # A copy, so that a processor shared with other callers keeps its own tokenizer.
            self._processor = copy.copy(self._processor)
            self._processor.tokenizer = _load_tokenizer(Path(tokenizer))
        self.model = model_name or (
            f"moss-audio:{self.checkpoint.name}" if self.checkpoint else "moss-audio"
        )
        from perception.moss import DecodeOptions

        self.decode_options = DecodeOptions(**DECODE_MODES[decode])
        try:
            self.decode_options.validate(self._model)
        except ValueError as exc:
            raise BackendUnavailableError(f"decode={decode}: {exc}") from exc

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The questions asked of every window, in answer order."""
        return self._tasks

    @tasks.setter
    def tasks(self, tasks: Sequence[Task | str] | str) -> None:
        self._tasks = choose_tasks(tasks)

    # --- the model, for callers that need more than the three tasks (server, benchmarks) --

    @property
    def has_tokenizer(self) -> bool:
        return self._processor.tokenizer is not None

    @property
    def processor(self) -> MossAudioProcessor:
        return self._processor

    @property
    def torch_model(self) -> MossAudioModel:
        return self._model

    def require_tokenizer(self) -> None:
        """Raise a clear error when text prompts cannot be used (ids-only checkpoint)."""
        if not self.has_tokenizer:
            where = self.checkpoint or "the checkpoint"
            raise BackendUnavailableError(
                f"{where} has no tokenizer (tokenizer.json / tokenizer_config.json), and the "
                "text tasks need one: copy the tokenizer files of the released checkpoint into "
                f"it, or pass tokenizer=DIR (env {TOKENIZER_ENV}). Without one, only token-id "
                "prompts work (MossBackend.generate with id lists)."
            )

    def generation_config(self, **overrides: Any) -> GenerationConfig:
        from perception.moss import GenerationConfig

        return GenerationConfig(**{"max_new_tokens": self.max_new_tokens, **overrides})

    def generate(
        self,
        audios: Sequence[np.ndarray],
        questions: Sequence[Sequence[str | Sequence[int]]],
        config: GenerationConfig | None = None,
        on_token: Any = None,
        system: str | None = None,
    ) -> list[list[GenerationResult]]:
        """``questions[a]`` asked about ``audios[a]``, one encoder pass for all of them.

        Questions are text (needs a tokenizer) or token-id lists (works without one);
        ``system`` replaces the default system prompt.
        """
        if any(isinstance(q, str) for qs in questions for q in qs):
            self.require_tokenizer()
        from perception.moss import AudioInputError, MossAudioGenerator

        try:
            return MossAudioGenerator(
                self._model, self._processor, self.decode_options
            ).generate_tasks_batch(
                list(audios),
                [list(q) for q in questions],
                config or self.generation_config(),
                system=system,
                on_token=on_token,
            )
        except AudioInputError as exc:
            raise BackendError(f"MOSS-Audio cannot use this audio: {exc}") from exc

    def generate_text(
        self, prompt: str, config: GenerationConfig | None = None, on_token: Any = None
    ) -> GenerationResult:
        """The language model in text mode: the continuation of a chat already rendered
        with ``perception.moss.chat_format.render_chat`` (no audio)."""
        from perception.moss import MossAudioGenerator

        self.require_tokenizer()
        return MossAudioGenerator(self._model, self._processor, self.decode_options).generate_text(
            prompt, config or self.generation_config(), on_token=on_token
        )

    # --- PerceptionBackend --------------------------------------------------------------

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        self.require_tokenizer()
        results: list[list[Event]] = [[] for _ in windows]
        usable = []
        for index, window in enumerate(windows):
            if window.duration > self.max_window + 1e-6:
                raise BackendError(
                    f"window {window.window_id} is {window.duration:.1f} s; MOSS-Audio hears at "
                    f"most {self.max_window:.0f} s at once: use a shorter window"
                )
            if len(window.samples) < _MIN_WINDOW_SAMPLES:
                log.debug(
                    "window %s is too short to analyse (%d samples)",
                    window.window_id,
                    len(window.samples),
                )
                continue
            usable.append(index)
        prompts = [PROMPTS[task] for task in self.tasks]
        for first in range(0, len(usable), self.batch_size):
            chunk = usable[first : first + self.batch_size]
            answers = self.generate(
                [_as_waveform(windows[i].samples) for i in chunk], [prompts] * len(chunk)
            )
            for index, per_task in zip(chunk, answers, strict=True):
                results[index] = self._events(windows[index], per_task)
        return results

    def ask(self, samples: np.ndarray, question: str) -> str:
        self.require_tokenizer()
        if len(samples) < _MIN_WINDOW_SAMPLES:
            raise BackendError(f"the clip is too short to listen to ({len(samples)} samples)")
        if len(samples) > self.max_window * SAMPLE_RATE:
            raise BackendError(
                f"the clip is {len(samples) / SAMPLE_RATE:.1f} s; MOSS-Audio hears at most "
                f"{self.max_window:.0f} s at once: ask about a shorter stretch"
            )
        [[result]] = self.generate([_as_waveform(samples)], [[question]])
        return (result.answer or "").strip()

    def close(self) -> None:
        self._model = None  # type: ignore[assignment]
        if _cuda_in_use():
            import torch

            torch.cuda.empty_cache()

    def _events(self, window: Window, answers: Sequence[GenerationResult]) -> list[Event]:
        events = []
        for task, answer in zip(self.tasks, answers, strict=True):
            if answer.finish_reason == "length":
                log.info(
                    "window %s, task %s: answer cut at %d tokens",
                    window.window_id,
                    task,
                    self.max_new_tokens,
                )
            parsed = parse_task(task, answer.answer or "", window.duration)
            events.extend(parsed.events)
        return sorted(self.stamp(events, window), key=lambda e: (e.start, e.end))


def _checkpoint_dir(checkpoint: str | Path | None) -> Path:
    raw = checkpoint or os.environ.get(CHECKPOINT_ENV)
    if not raw:
        raise BackendUnavailableError(
            f"the moss backend needs a MOSS-Audio checkpoint: pass its directory (`--checkpoint DIR`, "
            f"or `-o checkpoint=DIR` for transcribe) or set {CHECKPOINT_ENV}; {_FETCH_HINT}"
        )
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise BackendUnavailableError(
            f"MOSS-Audio checkpoint {path} is not a directory; {_FETCH_HINT}"
        )
    return path


def _load(
    path: Path, device: str | None, dtype: str | None
) -> tuple[MossAudioModel, MossAudioProcessor]:
    from perception.moss import MossCheckpointError, MossConfigError, load_moss_audio

    try:
        return load_moss_audio(path, dtype=dtype, device=device)
    except (MossCheckpointError, MossConfigError) as exc:
        raise BackendUnavailableError(f"cannot load MOSS-Audio from {path}: {exc}") from exc


def _load_tokenizer(path: Path) -> Any:
    from perception.moss import MossCheckpointError
    from perception.moss.loading import load_tokenizer

    if not path.is_dir():
        raise BackendUnavailableError(f"tokenizer directory {path} does not exist")
    try:
        tokenizer = load_tokenizer(path)
    except MossCheckpointError as exc:
        raise BackendUnavailableError(str(exc)) from exc
    if tokenizer is None:
        raise BackendUnavailableError(
            f"{path} holds no tokenizer files (tokenizer.json, tokenizer_config.json or vocab.json)"
        )
    return tokenizer


def _as_waveform(samples: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(samples, dtype=np.float32)


def _cuda_in_use() -> bool:
    import sys

    torch = sys.modules.get("torch")
    return bool(torch is not None and torch.cuda.is_available())
