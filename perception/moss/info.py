"""What a checkpoint holds (parameters per part, stored dtype, memory) without reading weights."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

from perception.moss.configuration import MossAudioConfig
from perception.moss.loading import TOKENIZER_FILES, MossCheckpointError, weight_files
from perception.moss.modeling import MossAudioModel

BYTES_PER_DTYPE = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass
class CheckpointInfo:
    parameters: dict[str, int]
    stored_dtypes: list[str]
    n_files: int
    has_tokenizer: bool
    encoder_summary: str
    language_summary: str
    kv_bytes_per_1k_tokens: dict[str, int]

    @property
    def total_parameters(self) -> int:
        return sum(self.parameters.values())

    @property
    def weight_bytes(self) -> dict[str, int]:
        return {name: self.total_parameters * size for name, size in BYTES_PER_DTYPE.items()}


def _stored_dtypes(files: list[Path]) -> list[str]:
    """Tensor dtypes from the safetensors headers (8-byte length, then JSON)."""
    names = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
    found: set[str] = set()
    for path in files:
        try:
            with path.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                header = json.loads(handle.read(length))
        except (OSError, struct.error, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MossCheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc
        found.update(
            names.get(entry["dtype"], entry["dtype"])
            for key, entry in header.items()
            if key != "__metadata__"
        )
    return sorted(found)


def describe_checkpoint(path: str | Path) -> CheckpointInfo:
    directory = Path(path)
    config = MossAudioConfig.from_pretrained(directory)
    files = weight_files(directory)
    with torch.device("meta"):
        model = MossAudioModel(config)
    embed = sum(p.numel() for p in model.language_model.embed_tokens.parameters())
    parameters = {
        "audio_encoder": sum(p.numel() for p in model.audio_encoder.parameters()),
        "audio_adapter": sum(p.numel() for p in model.audio_adapter.parameters()),
        "deepstack_audio_merger_list": sum(
            p.numel() for p in model.deepstack_audio_merger_list.parameters()
        ),
        "language_model.embed_tokens": embed,
        "language_model.layers + norm": sum(p.numel() for p in model.language_model.parameters())
        - embed,
        "lm_head": sum(p.numel() for p in model.lm_head.parameters()),
    }
    audio, lang = config.audio_config, config.language_config
    head_dim = int(getattr(lang, "head_dim", None) or lang.hidden_size // lang.num_attention_heads)
    kv_heads = lang.num_key_value_heads or lang.num_attention_heads
    kv_values = 2 * lang.num_hidden_layers * kv_heads * head_dim * 1000
    return CheckpointInfo(
        parameters=parameters,
        stored_dtypes=_stored_dtypes(files),
        n_files=len(files),
        has_tokenizer=any((directory / name).is_file() for name in TOKENIZER_FILES),
        encoder_summary=(
            f"{audio.encoder_layers} layers, d_model {audio.d_model}, {audio.encoder_attention_heads} "
            f"heads, DeepStack taps {audio.deepstack_encoder_layer_indexes} -> "
            f"{config.num_deepstack_layers} injected, max {audio.max_source_positions} tokens "
            f"({audio.max_source_positions / 12.5:.0f} s)"
        ),
        language_summary=(
            f"Qwen3, {lang.num_hidden_layers} layers, hidden {lang.hidden_size}, "
            f"{lang.num_attention_heads} heads ({lang.num_key_value_heads} KV), vocab {lang.vocab_size}"
        ),
        kv_bytes_per_1k_tokens={name: kv_values * size for name, size in BYTES_PER_DTYPE.items()},
    )
