"""The names the installed transformers gives the KV-cache arguments.

transformers 5.0 calls the cache ``past_key_values`` (and its mask builder wants
``input_embeds`` and ``cache_position``); 5.24 calls it ``cache`` and deprecates the old
name. The names are read from the signatures, so calls into transformers run unchanged,
without deprecation warnings, on every version of the range pinned in pyproject.toml.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import transformers
from transformers.masking_utils import create_causal_mask
from transformers.models.qwen3.modeling_qwen3 import Qwen3DecoderLayer

# The range tested (pyproject.toml pins the same); the GPU check refuses older versions.
MIN_TRANSFORMERS = (5, 0)
MAX_TRANSFORMERS_EXCLUSIVE = (6, 0)


def version_tuple(version: str) -> tuple[int, ...]:
    """(5, 24, 0) from "5.24.0" or "5.24.0.dev0"; non-numeric parts end the tuple."""
    parts: list[int] = []
    for piece in version.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits or digits != piece:
            if digits and piece.startswith(digits):
                parts.append(int(digits))
            break
        parts.append(int(digits))
    return tuple(parts)


def transformers_supported(version: str = transformers.__version__) -> bool:
    return MIN_TRANSFORMERS <= version_tuple(version) < MAX_TRANSFORMERS_EXCLUSIVE


def _parameter(function: Callable[..., Any], *names: str) -> str | None:
    parameters = inspect.signature(function).parameters  # follows functools.wraps
    return next((name for name in names if name in parameters), None)


CACHE_NAMES = ("cache", "past_key_values", "past_key_value")
LAYER_CACHE_ARG = _parameter(Qwen3DecoderLayer.forward, *CACHE_NAMES) or "past_key_values"
_MASK_CACHE_ARG = _parameter(create_causal_mask, *CACHE_NAMES) or "past_key_values"
_MASK_EMBEDS_ARG = (
    _parameter(create_causal_mask, "inputs_embeds", "input_embeds") or "inputs_embeds"
)
_MASK_WANTS_CACHE_POSITION = _parameter(create_causal_mask, "cache_position") is not None


def layer_cache_kwargs(cache: Any) -> dict[str, Any]:
    """``{name: cache}`` for a Qwen3 decoder layer call."""
    return {LAYER_CACHE_ARG: cache}


def causal_mask(
    config: Any, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, cache: Any, past: int
) -> Any:
    """transformers' mask for the attention implementations we do not mask ourselves."""
    kwargs: dict[str, Any] = {
        "config": config,
        _MASK_EMBEDS_ARG: inputs_embeds,
        "attention_mask": attention_mask,
        _MASK_CACHE_ARG: cache,
    }
    if _MASK_WANTS_CACHE_POSITION:
        kwargs["cache_position"] = torch.arange(
            past, past + inputs_embeds.shape[1], device=inputs_embeds.device
        )
    return create_causal_mask(**kwargs)
