"""MOSS-Audio processor: log-mel features, the audio placeholder layout, and the chat prompt.

Features are Whisper's log-mel (numpy path of transformers' feature extractor) with no
padding to 30 s: frames = samples // 160, kept in bfloat16 as the reference processor does.
The prompt is the Qwen3 chat layout with the audio span
``<audio_start> placeholders-with-time-markers <audio_end>`` in the user turn. When the
checkpoint has a tokenizer, text is tokenized with it; without one, every text part must be
given as token ids (ids-only use).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function

from perception.moss.configuration import (
    AUDIO_END_ID,
    AUDIO_START_ID,
    AUDIO_TOKEN_ID,
    IM_END_ID,
    IM_START_ID,
    audio_token_count,
)
from perception.moss.tokenizer import load_tokenizer

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
HOP_LENGTH = 160
N_FFT = 400
# The centred STFT reflects n_fft // 2 samples at each end, which needs more input than that.
MIN_SAMPLES = N_FFT
AUDIO_TOKENS_PER_SECOND = 12.5
TIME_MARKER_EVERY_SECONDS = 2
DIGIT_TOKEN_IDS = {str(d): 15 + d for d in range(10)}  # "0".."9" in the Qwen3 vocabulary

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
# Qwen3 tokenizer ids of the chat scaffolding, for ids-only use (no tokenizer in the checkpoint):
# "system\n", "user\n", "assistant\n", "\n" and "You are a helpful assistant.".
QWEN3_SYSTEM_HEADER = (8948, 198)
QWEN3_USER_HEADER = (872, 198)
QWEN3_ASSISTANT_HEADER = (77091, 198)
QWEN3_NEWLINE = 198
QWEN3_DEFAULT_SYSTEM_IDS = (2610, 525, 264, 10950, 17847, 13)


class AudioInputError(ValueError):
    """The waveform cannot be turned into features (wrong shape, rate, length or values)."""


class TokenizerMissingError(RuntimeError):
    """Text was given but the checkpoint has no tokenizer: pass token ids instead."""


@dataclass
class AudioFeatures:
    """Log-mel features of one audio input."""

    mel: torch.Tensor  # [n_mels, frames], bfloat16
    mel_fp32: torch.Tensor  # [n_mels, frames], float32 before rounding

    @property
    def n_frames(self) -> int:
        return int(self.mel.shape[-1])

    @property
    def n_audio_tokens(self) -> int:
        return int(audio_token_count(self.n_frames))


@dataclass
class ChatTemplateIds:
    """Token ids of the chat scaffolding around the system text, the audio and the question."""

    im_start: int = IM_START_ID
    im_end: int = IM_END_ID
    newline: int = QWEN3_NEWLINE
    system_header: tuple[int, ...] = QWEN3_SYSTEM_HEADER
    user_header: tuple[int, ...] = QWEN3_USER_HEADER
    assistant_header: tuple[int, ...] = QWEN3_ASSISTANT_HEADER
    default_system: tuple[int, ...] = QWEN3_DEFAULT_SYSTEM_IDS


@dataclass
class Prompt:
    """A prompt split where tasks on the same audio diverge.

    ``prefix`` runs up to and including the audio span and the newline after it (the same for
    every question on that audio); ``suffix`` is the question and the assistant header.
    """

    prefix: list[int]
    suffix: list[int]
    n_audio_tokens: int

    @property
    def ids(self) -> list[int]:
        return self.prefix + self.suffix


def audio_placeholder_ids(n_audio_tokens: int, audio_token_id: int = AUDIO_TOKEN_ID) -> list[int]:
    """Placeholders with a time marker (digits of the second) after every 25 audio tokens.

    For each even second s from 2 up to floor(tokens / 12.5), the digits of s follow the
    (s / 2) * 25-th placeholder.
    """
    if n_audio_tokens < 0:
        raise ValueError("n_audio_tokens must be >= 0")
    tokens_per_marker = int(AUDIO_TOKENS_PER_SECOND * TIME_MARKER_EVERY_SECONDS)  # 25
    ids: list[int] = []
    for index in range(1, n_audio_tokens + 1):
        ids.append(audio_token_id)
        if index % tokens_per_marker == 0:
            second = index // tokens_per_marker * TIME_MARKER_EVERY_SECONDS
            ids.extend(DIGIT_TOKEN_IDS[digit] for digit in str(second))
    return ids


def log_mel(waveform: np.ndarray, mel_filters: np.ndarray) -> np.ndarray:
    """Whisper log-mel of one waveform: [n_mels, samples // 160], float32."""
    spec = spectrogram(
        waveform,
        window_function(N_FFT, "hann"),
        frame_length=N_FFT,
        hop_length=HOP_LENGTH,
        power=2.0,
        mel_filters=mel_filters,
        log_mel="log10",
    )
    spec = spec[:, :-1]  # the centred STFT gives one frame more than samples // hop
    spec = np.maximum(spec, spec.max() - 8.0)
    return ((spec + 4.0) / 4.0).astype(np.float32)


def log_mel_torch(waveform: torch.Tensor, mel_filters: torch.Tensor) -> torch.Tensor:
    """The same log-mel with ``torch.stft`` on the waveform's device (fast on a GPU).

    It differs from the numpy path by about 1e-5, enough to flip a few bfloat16 roundings
    (harmless for the model), so the CPU default stays the numpy path that matches the
    reference exactly.
    """
    window = torch.hann_window(N_FFT, periodic=True, device=waveform.device, dtype=torch.float64)
    stft = torch.stft(
        waveform.to(torch.float64),
        N_FFT,
        HOP_LENGTH,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = stft.abs() ** 2
    mel = mel_filters.to(device=waveform.device, dtype=torch.float64).T @ power
    spec = torch.log10(mel.clamp(min=1e-10))[:, :-1]
    spec = torch.maximum(spec, spec.max() - 8.0)
    return ((spec + 4.0) / 4.0).to(torch.float32)


def _as_ids(value: str | Sequence[int], tokenizer: Any, what: str) -> list[int]:
    if not isinstance(value, str | Sequence) or not all(
        isinstance(x, int | np.integer) for x in (value if not isinstance(value, str) else [])
    ):
        raise TypeError(f"the {what} must be text or a sequence of token ids, got {value!r}")
    if isinstance(value, str):
        if tokenizer is None:
            raise TokenizerMissingError(
                f"the checkpoint has no tokenizer, so the {what} must be given as token ids "
                "(or add tokenizer.json / tokenizer_config.json to the checkpoint directory)"
            )
        return list(tokenizer.encode(value, add_special_tokens=False))
    return [int(x) for x in value]


class MossAudioProcessor:
    """Features and prompts for one checkpoint (its tokenizer, if any, and its token ids)."""

    def __init__(
        self,
        tokenizer: Any | None = None,
        num_mel_bins: int = 128,
        template: ChatTemplateIds | None = None,
        audio_token_id: int = AUDIO_TOKEN_ID,
        audio_start_id: int = AUDIO_START_ID,
        audio_end_id: int = AUDIO_END_ID,
        stop_token_ids: Sequence[int] = (IM_END_ID,),
    ) -> None:
        self.tokenizer = tokenizer
        self.num_mel_bins = num_mel_bins
        self.template = template or ChatTemplateIds()
        self.audio_token_id = audio_token_id
        self.audio_start_id = audio_start_id
        self.audio_end_id = audio_end_id
        self.stop_token_ids = tuple(stop_token_ids)
        self.mel_filters = mel_filter_bank(
            num_frequency_bins=1 + N_FFT // 2,
            num_mel_filters=num_mel_bins,
            min_frequency=0.0,
            max_frequency=8000.0,
            sampling_rate=SAMPLE_RATE,
            norm="slaney",
            mel_scale="slaney",
        )

    @classmethod
    def from_pretrained(cls, path: str | Path, **kwargs: Any) -> MossAudioProcessor:
        """A processor for a checkpoint directory; ids-only when it has no tokenizer."""
        return cls(tokenizer=load_tokenizer(Path(path)), **kwargs)

    @property
    def has_tokenizer(self) -> bool:
        return self.tokenizer is not None

    # ------------------------------------------------------------------ audio
    def features(
        self,
        waveform: np.ndarray,
        sampling_rate: int = SAMPLE_RATE,
        device: str | torch.device | None = None,
    ) -> AudioFeatures:
        """Log-mel of a mono 16 kHz float waveform; frames = samples // 160.

        ``device`` "cuda" computes it with torch on the GPU; the default numpy path on the
        CPU matches the reference exactly.
        """
        if sampling_rate != SAMPLE_RATE:
            raise AudioInputError(
                f"audio is at {sampling_rate} Hz; resample it to {SAMPLE_RATE} Hz mono first "
                "(perception.audio decodes any file to 16 kHz mono)"
            )
        array = np.asarray(waveform)
        if array.ndim != 1:
            raise AudioInputError(
                f"expected a mono waveform (1-D array), got shape {array.shape}: mix the channels down"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise AudioInputError(
                f"expected float samples in [-1, 1], got {array.dtype}: divide int16 PCM by 32768"
            )
        if array.shape[0] < MIN_SAMPLES:
            raise AudioInputError(
                f"audio has {array.shape[0]} samples; at least {MIN_SAMPLES} "
                f"({MIN_SAMPLES / SAMPLE_RATE * 1000:.0f} ms at 16 kHz) are needed"
            )
        if not np.isfinite(array).all():
            raise AudioInputError(
                "audio contains NaN or infinite samples; the decoder output is corrupt"
            )
        if device is not None and torch.device(device).type != "cpu":
            samples = torch.from_numpy(array.astype(np.float32)).to(device)
            mel = log_mel_torch(samples, torch.from_numpy(self.mel_filters))
        else:
            mel = torch.from_numpy(log_mel(array.astype(np.float32), self.mel_filters))
        return AudioFeatures(mel=mel.to(torch.bfloat16), mel_fp32=mel)

    def batch_features(
        self, waveforms: Sequence[np.ndarray], device: str | torch.device | None = None
    ) -> tuple[list[AudioFeatures], torch.Tensor, torch.Tensor]:
        """Features of several inputs, plus the zero-padded mel batch and the frame counts."""
        features = [self.features(w, device=device) for w in waveforms]
        return (features, *self.pad_features(features))

    @staticmethod
    def pad_features(features: Sequence[AudioFeatures]) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero-pad mel to [B, mels, max frames] (the encoder masks past each length)."""
        if not features:
            raise ValueError("no audio given")
        longest = max(f.n_frames for f in features)
        first = features[0].mel
        batch = torch.zeros(
            len(features), first.shape[0], longest, dtype=first.dtype, device=first.device
        )
        for row, feature in enumerate(features):
            batch[row, :, : feature.n_frames] = feature.mel
        lengths = torch.tensor([f.n_frames for f in features], dtype=torch.long)
        return batch, lengths

    # ------------------------------------------------------------------ prompt
    def audio_span_ids(self, n_audio_tokens: int) -> list[int]:
        return [
            self.audio_start_id,
            *audio_placeholder_ids(n_audio_tokens, self.audio_token_id),
            self.audio_end_id,
        ]

    def build_prompt_parts(
        self,
        question: str | Sequence[int],
        n_audio_tokens: int,
        system: str | Sequence[int] | None = None,
    ) -> Prompt:
        """The default MOSS-Audio chat prompt, split into shared prefix and question suffix.

        ``system`` None means the default system prompt. Text needs the tokenizer; token id
        sequences work without it.
        """
        t = self.template
        if system is None and self.tokenizer is None:
            system = t.default_system
        elif system is None:
            system = DEFAULT_SYSTEM_PROMPT
        if isinstance(system, str):
            text = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
            head = _as_ids(text, self.tokenizer, "system prompt")
        else:
            system_ids = _as_ids(system, None, "system prompt")
            head = [t.im_start, *t.system_header, *system_ids, t.im_end, t.newline, t.im_start]
            head += t.user_header
        if isinstance(question, str):
            text = f"\n{question}<|im_end|>\n<|im_start|>assistant\n"
            tail = _as_ids(text, self.tokenizer, "question")
        else:
            question_ids = _as_ids(question, None, "question")
            tail = [t.newline, *question_ids, t.im_end, t.newline, t.im_start, *t.assistant_header]
        prefix = head + self.audio_span_ids(n_audio_tokens)
        # The newline after the audio belongs to the shared prefix when it is its own token.
        if tail and tail[0] == t.newline:
            prefix.append(tail[0])
            tail = tail[1:]
        return Prompt(prefix=prefix, suffix=tail, n_audio_tokens=n_audio_tokens)

    def build_prompt(
        self,
        question: str | Sequence[int],
        n_audio_tokens: int,
        system: str | Sequence[int] | None = None,
    ) -> list[int]:
        """The whole prompt as ids (see build_prompt_parts)."""
        return self.build_prompt_parts(question, n_audio_tokens, system).ids

    def decode(self, token_ids: Sequence[int]) -> str | None:
        """Text of generated ids, or None without a tokenizer."""
        if self.tokenizer is None:
            return None
        return str(self.tokenizer.decode(list(token_ids), skip_special_tokens=False))


def split_thinking(text: str) -> tuple[str, str]:
    """(thinking, answer): ``perception.parsers.reasoning.split_reasoning``, the one
    implementation for the project, imported on first use so that the model package stays
    importable without the parsers' dependencies (pydantic) on a bare GPU machine."""
    from perception.parsers.reasoning import split_reasoning

    return split_reasoning(text)
