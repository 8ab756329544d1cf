"""Write a MOSS-Audio model in the released checkpoint layout (config.json + safetensors).

Used to make test and benchmark checkpoints from a randomly initialised config and to
reshard a checkpoint; the output loads with ``load_moss_audio``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from perception.moss.loading import SHARDED_INDEX_NAME, SINGLE_WEIGHTS_NAME
from perception.moss.modeling import MossAudioModel


def save_moss_audio(
    model: MossAudioModel,
    directory: str | Path,
    dtype: torch.dtype | None = torch.bfloat16,
    max_shard_bytes: int | None = None,
) -> Path:
    """Save config.json and the weights (bfloat16 by default, like the released files).

    With ``max_shard_bytes`` the weights are split into ``model-0000i-of-0000n.safetensors``
    files plus ``model.safetensors.index.json``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(model.config.to_dict(), indent=2), encoding="utf-8")
    state = {
        key: (value.to(dtype) if dtype is not None else value).detach().cpu().contiguous()
        for key, value in model.state_dict().items()
    }
    if max_shard_bytes is None:
        save_file(state, str(out / SINGLE_WEIGHTS_NAME), metadata={"format": "pt"})
        return out
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    weight_map: dict[str, str] = {}
    for number, shard in enumerate(shards, start=1):
        name = f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(out / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, name))
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / SHARDED_INDEX_NAME).write_text(json.dumps(index, indent=2), encoding="utf-8")
    return out
