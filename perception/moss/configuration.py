"""MOSS-Audio configuration: the encoder part is ours, the language part is a transformers Qwen3Config.

A checkpoint directory holds ``config.json`` with ``model_type: moss_audio``, an
``audio_config`` (the Whisper-style encoder with its conv stem and DeepStack taps), a
``language_config`` (a plain Qwen3 config), ``adapter_hidden_size`` and
``deepstack_num_inject_layers``. Every inconsistency is reported here, before any weight is
read, with a message that says what to fix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen3Config

MODEL_TYPE = "moss_audio"
CONFIG_NAME = "config.json"

# Token ids of the released checkpoints (Qwen3 vocabulary); see MOSS_AUDIO.md.
AUDIO_TOKEN_ID = 151654
AUDIO_START_ID = 151669
AUDIO_END_ID = 151670
IM_START_ID = 151644
IM_END_ID = 151645


def conv_output_length(length: int | torch.Tensor) -> int | torch.Tensor:
    """Length after one Conv2d(kernel 3, stride 2, padding 1) along time."""
    return (length - 1) // 2 + 1


def audio_token_count(mel_frames: int | torch.Tensor) -> int | torch.Tensor:
    """Audio tokens the encoder makes from ``mel_frames`` frames (three stride-2 convs)."""
    return conv_output_length(conv_output_length(conv_output_length(mel_frames)))


class MossConfigError(ValueError):
    """The checkpoint's config.json is missing or describes a model this code cannot build."""


class MossCheckpointError(RuntimeError):
    """The checkpoint's weights or tokenizer do not match what its config describes."""


@dataclass
class MossAudioEncoderConfig:
    """The audio encoder: conv stem (8x down in time), Whisper encoder layers, DeepStack taps."""

    num_mel_bins: int = 128
    d_model: int = 1280
    encoder_layers: int = 32
    encoder_attention_heads: int = 20
    encoder_ffn_dim: int = 5120
    downsample_hidden_size: int = 480
    downsample_rate: int = 8
    output_dim: int = 1280
    max_source_positions: int = 1500
    layer_norm_eps: float = 1e-5
    activation_function: str = "gelu"
    deepstack_encoder_layer_indexes: list[int] = field(default_factory=lambda: [8, 16, 24])

    @property
    def head_dim(self) -> int:
        return self.d_model // self.encoder_attention_heads

    @property
    def stem_frequency_bins(self) -> int:
        """Mel bins left after the three stride-2 convs (128 -> 16)."""
        bins = self.num_mel_bins
        for _ in range(3):
            bins = (bins - 1) // 2 + 1
        return bins

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MossAudioEncoderConfig:
        known = {name for name in cls.__dataclass_fields__}
        # Training-only or reference-ignored keys (dropout, window size, paths) are dropped.
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class MossAudioConfig:
    """The whole model: encoder, adapter, DeepStack mergers, Qwen3 language model, lm_head."""

    audio_config: MossAudioEncoderConfig
    language_config: Qwen3Config
    adapter_hidden_size: int = 8192
    deepstack_num_inject_layers: int | None = None
    tie_word_embeddings: bool = False
    eos_token_id: list[int] = field(default_factory=lambda: [IM_END_ID])
    audio_token_id: int = AUDIO_TOKEN_ID
    audio_start_id: int = AUDIO_START_ID
    audio_end_id: int = AUDIO_END_ID

    def __post_init__(self) -> None:
        self.validate()

    @property
    def num_deepstack_layers(self) -> int:
        """How many taps are merged and injected: all taps, capped by deepstack_num_inject_layers."""
        taps = len(self.audio_config.deepstack_encoder_layer_indexes)
        if self.deepstack_num_inject_layers is None:
            return taps
        return min(taps, self.deepstack_num_inject_layers)

    @property
    def vocab_size(self) -> int:
        return int(self.language_config.vocab_size)

    @property
    def hidden_size(self) -> int:
        return int(self.language_config.hidden_size)

    def validate(self) -> None:
        audio, lang = self.audio_config, self.language_config
        problems: list[str] = []
        if audio.d_model % audio.encoder_attention_heads:
            problems.append(
                f"audio_config.d_model ({audio.d_model}) is not divisible by "
                f"encoder_attention_heads ({audio.encoder_attention_heads})"
            )
        if audio.downsample_rate != 8:
            problems.append(
                f"audio_config.downsample_rate is {audio.downsample_rate}; the conv stem of "
                "MOSS-Audio always downsamples time by 8"
            )
        if audio.activation_function != "gelu":
            problems.append(
                f"audio_config.activation_function {audio.activation_function!r} is not supported "
                "(only 'gelu')"
            )
        for index in audio.deepstack_encoder_layer_indexes:
            if not 0 <= index < audio.encoder_layers:
                problems.append(
                    f"deepstack_encoder_layer_indexes contains {index}, but the encoder has "
                    f"{audio.encoder_layers} layers (valid: 0..{audio.encoder_layers - 1})"
                )
        if self.deepstack_num_inject_layers is not None and self.deepstack_num_inject_layers < 0:
            problems.append("deepstack_num_inject_layers must be >= 0 or null")
        if self.num_deepstack_layers > lang.num_hidden_layers:
            problems.append(
                f"{self.num_deepstack_layers} DeepStack taps would be injected into a language "
                f"model with only {lang.num_hidden_layers} layers; set deepstack_num_inject_layers"
            )
        if self.num_deepstack_layers and audio.output_dim != audio.d_model:
            problems.append(
                f"DeepStack needs audio_config.output_dim == d_model (got {audio.output_dim} and "
                f"{audio.d_model}): the taps are d_model wide but the mergers take output_dim"
            )
        for name in ("audio_token_id", "audio_start_id", "audio_end_id"):
            token_id = getattr(self, name)
            if not 0 <= token_id < lang.vocab_size:
                problems.append(f"{name} {token_id} is outside the vocabulary ({lang.vocab_size})")
        if problems:
            raise MossConfigError("invalid MOSS-Audio config: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MossAudioConfig:
        model_type = data.get("model_type")
        if model_type != MODEL_TYPE:
            raise MossConfigError(
                f"config.json has model_type {model_type!r}, expected {MODEL_TYPE!r}: point at a "
                "MOSS-Audio checkpoint directory (e.g. MOSS-Audio-4B-Instruct)"
            )
        for key in ("audio_config", "language_config"):
            if not isinstance(data.get(key), dict):
                raise MossConfigError(
                    f"config.json has no {key!r} object; the checkpoint is incomplete"
                )
        language = dict(data["language_config"])
        if language.get("model_type", "qwen3") != "qwen3":
            raise MossConfigError(
                f"language_config.model_type is {language.get('model_type')!r}; only 'qwen3' is supported"
            )
        language.pop("model_type", None)
        try:
            language_config = Qwen3Config(**language)
        except (TypeError, ValueError) as exc:
            raise MossConfigError(f"language_config is not a valid Qwen3 config: {exc}") from exc
        try:
            audio_config = MossAudioEncoderConfig.from_dict(data["audio_config"])
        except TypeError as exc:
            raise MossConfigError(f"audio_config is malformed: {exc}") from exc
        eos = data.get("eos_token_id", language_config.eos_token_id)
        eos_ids = [int(x) for x in (eos if isinstance(eos, list) else [eos]) if x is not None]
        if IM_END_ID not in eos_ids and language_config.vocab_size > IM_END_ID:
            eos_ids.append(IM_END_ID)
        extra = {
            key: int(data[key])
            for key in ("audio_token_id", "audio_start_id", "audio_end_id")
            if key in data
        }
        return cls(
            audio_config=audio_config,
            language_config=language_config,
            adapter_hidden_size=int(data.get("adapter_hidden_size", 8192)),
            deepstack_num_inject_layers=data.get("deepstack_num_inject_layers"),
            tie_word_embeddings=bool(data.get("tie_word_embeddings", False)),
            eos_token_id=eos_ids,
            **extra,
        )

    @classmethod
    def from_pretrained(cls, path: str | Path) -> MossAudioConfig:
        directory = Path(path)
        if not directory.is_dir():
            raise MossConfigError(
                f"{directory} is not a directory; pass the checkpoint directory (fetch one with "
                "`hf download OpenMOSS-Team/MOSS-Audio-4B-Instruct --local-dir DIR`)"
            )
        config_path = directory / CONFIG_NAME
        if not config_path.is_file():
            raise MossConfigError(
                f"{config_path} is missing: this does not look like a MOSS-Audio checkpoint "
                "directory (it needs config.json and model.safetensors)"
            )
        try:
            data = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MossConfigError(f"{config_path} is not readable JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MossConfigError(f"{config_path} must hold a JSON object")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The config.json form (used to write test and benchmark checkpoints)."""
        language = self.language_config.to_dict()
        language["model_type"] = "qwen3"
        return {
            "model_type": MODEL_TYPE,
            "architectures": ["MossAudioModel"],
            "audio_config": asdict(self.audio_config),
            "language_config": language,
            "adapter_hidden_size": self.adapter_hidden_size,
            "deepstack_num_inject_layers": self.deepstack_num_inject_layers,
            "tie_word_embeddings": self.tie_word_embeddings,
            "eos_token_id": self.eos_token_id,
            "vocab_size": self.vocab_size,
        }
