"""Load a MOSS-Audio checkpoint directory: config, safetensors weights (single or sharded), tokenizer.

The model is built on the meta device and the checkpoint tensors are assigned to it with a
plain ``load_state_dict``: module names are the checkpoint keys, so there is no renaming
table. Every key/shape problem is collected and reported at once, before anything is
assigned.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from transformers.models.qwen3.modeling_qwen3 import Qwen3RotaryEmbedding

from perception.moss.configuration import MossAudioConfig, MossCheckpointError, MossConfigError
from perception.moss.modeling import MossAudioModel
from perception.moss.processor import MossAudioProcessor
from perception.moss.tokenizer import TOKENIZER_FILES, load_tokenizer

logger = logging.getLogger(__name__)

SINGLE_WEIGHTS_NAME = "model.safetensors"
SHARDED_INDEX_NAME = "model.safetensors.index.json"

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """float32 on CPU and bfloat16 on GPU unless asked otherwise."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ValueError(f"dtype {dtype} is not supported; use float32, bfloat16 or float16")
        return dtype
    try:
        return DTYPES[dtype.lower()]
    except KeyError:
        raise ValueError(
            f"dtype {dtype!r} is not supported; use float32, bfloat16 or float16"
        ) from None


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but no CUDA GPU is available; use device='cpu'"
        )
    return resolved


def choose_attention(device: torch.device, dtype: torch.dtype) -> str:
    """flash-attn 2 on a GPU in half precision when it is installed, SDPA otherwise."""
    if (
        device.type == "cuda"
        and dtype in (torch.float16, torch.bfloat16)
        and importlib.util.find_spec("flash_attn") is not None
    ):
        return "flash_attention_2"
    return "sdpa"


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of a checkpoint: the shards named by the index, or the single file."""
    index_path = directory / SHARDED_INDEX_NAME
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            weight_map = index["weight_map"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MossCheckpointError(
                f"{index_path} is not a valid safetensors index (needs a 'weight_map'): {exc}"
            ) from exc
        shards = sorted(set(weight_map.values()))
        missing = [name for name in shards if not (directory / name).is_file()]
        if missing:
            raise MossCheckpointError(
                f"shards listed in {SHARDED_INDEX_NAME} are missing: {', '.join(missing)}; "
                "the download is incomplete, fetch the checkpoint again"
            )
        return [directory / name for name in shards]
    single = directory / SINGLE_WEIGHTS_NAME
    if single.is_file():
        return [single]
    raise MossCheckpointError(
        f"{directory} has neither {SINGLE_WEIGHTS_NAME} nor {SHARDED_INDEX_NAME}: "
        "the checkpoint weights are missing"
    )


def _describe(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (and {len(keys) - limit} more)" if len(keys) > limit else "")


def read_state_dict(
    files: list[Path],
    expected: dict[str, torch.Size],
    dtype: torch.dtype,
    device: torch.device,
    tied_lm_head: bool = False,
) -> dict[str, torch.Tensor]:
    """Read every tensor, checking names and shapes against ``expected`` before converting."""
    state: dict[str, torch.Tensor] = {}
    unexpected: list[str] = []
    misshaped: list[str] = []
    for path in files:
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                for key in handle.keys():  # noqa: SIM118 (safe_open is not a mapping)
                    if key not in expected:
                        unexpected.append(key)
                        continue
                    shape = torch.Size(handle.get_slice(key).get_shape())
                    if shape != expected[key]:
                        misshaped.append(
                            f"{key} {tuple(shape)} (model wants {tuple(expected[key])})"
                        )
                        continue
                    state[key] = handle.get_tensor(key).to(device=device, dtype=dtype)
        except (SafetensorError, OSError) as exc:
            raise MossCheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc
    if (
        tied_lm_head
        and "lm_head.weight" not in state
        and "language_model.embed_tokens.weight" in state
    ):
        state["lm_head.weight"] = state["language_model.embed_tokens.weight"]
    missing = sorted(set(expected) - set(state) - {m.split(" ")[0] for m in misshaped})
    problems = []
    if missing:
        problems.append(f"missing tensors: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected tensors: {_describe(sorted(unexpected))}")
    if misshaped:
        problems.append(f"tensors with the wrong shape: {_describe(misshaped)}")
    if problems:
        raise MossCheckpointError(
            "the weights do not match config.json (" + "; ".join(problems) + "). Check that "
            "config.json belongs to these weights and that the download is complete."
        )
    return state


def generation_stop_ids(directory: Path) -> list[int]:
    """``eos_token_id`` of generation_config.json (an id or a list), if the file has one."""
    path = directory / "generation_config.json"
    if not path.is_file():
        return []
    try:
        eos = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id")
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise MossCheckpointError(f"{path} is not a readable JSON object: {exc}") from exc
    values = eos if isinstance(eos, list) else [eos]
    return [int(x) for x in values if isinstance(x, int)]


def load_moss_audio(
    path: str | Path,
    dtype: str | torch.dtype | None = None,
    device: str | torch.device | None = None,
    attn_implementation: str | None = None,
) -> tuple[MossAudioModel, MossAudioProcessor]:
    """Load a MOSS-Audio checkpoint directory into an eval-mode model and its processor.

    ``dtype``: "float32", "bfloat16", "float16" (default: float32 on CPU, bfloat16 on GPU).
    ``device``: default CUDA when present, else CPU. ``attn_implementation``: "sdpa" or
    "flash_attention_2" for the language model (default: flash-attn 2 when installed on GPU).
    """
    directory = Path(path)
    config = MossAudioConfig.from_pretrained(directory)
    files = weight_files(directory)
    target_device = resolve_device(device)
    target_dtype = resolve_dtype(dtype, target_device)
    config.language_config._attn_implementation = attn_implementation or choose_attention(
        target_device, target_dtype
    )
    tokenizer = load_tokenizer(directory)

    with torch.device("meta"):
        model = MossAudioModel(config)
    expected = {key: value.shape for key, value in model.state_dict().items()}
    state = read_state_dict(
        files, expected, target_dtype, target_device, config.tie_word_embeddings
    )
    model.load_state_dict(state, strict=True, assign=True)
    # Non-persistent buffers (RoPE frequencies) are not in the checkpoint: build them for real.
    with torch.device(target_device):
        model.language_model.rotary_emb = Qwen3RotaryEmbedding(config=config.language_config)
    model.eval().requires_grad_(False)
    logger.info(
        "loaded MOSS-Audio from %s (%d files, %s, %s, %s attention)",
        directory,
        len(files),
        target_dtype,
        target_device,
        config.language_config._attn_implementation,
    )
    processor = MossAudioProcessor(
        tokenizer=tokenizer,
        num_mel_bins=config.audio_config.num_mel_bins,
        audio_token_id=config.audio_token_id,
        audio_start_id=config.audio_start_id,
        audio_end_id=config.audio_end_id,
        stop_token_ids=list(dict.fromkeys(config.eos_token_id + generation_stop_ids(directory))),
    )
    return model, processor


__all__ = [
    "TOKENIZER_FILES",
    "MossCheckpointError",
    "MossConfigError",
    "load_moss_audio",
    "load_tokenizer",
]
