"""Checkpoint loading: single file, sharded, dtypes, tokenizer or not, and every bad checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from perception.moss import (
    GenerationConfig,
    MossAudioGenerator,
    MossCheckpointError,
    MossConfigError,
    TokenizerMissingError,
    load_moss_audio,
    save_moss_audio,
)
from tests.fixtures.moss import ParityData, write_char_tokenizer


@pytest.fixture
def checkpoint_copy(moss_parity: ParityData, tmp_path: Path) -> Path:
    target = tmp_path / "checkpoint"
    shutil.copytree(moss_parity.checkpoint, target)
    for path in target.iterdir():
        path.chmod(0o644)
    target.chmod(0o755)
    return target


def _logits(model, moss_parity: ParityData) -> torch.Tensor:
    mel = moss_parity.tensors["mel"][None]
    with torch.no_grad():
        audio = model.encode_audio(mel, torch.tensor([mel.shape[-1]]))
        return model(torch.tensor([moss_parity.meta["input_ids"]]), audio=audio).logits[0, -1]


def test_sharded_checkpoint_loads_the_same_model(
    moss_tiny, moss_parity: ParityData, tmp_path: Path
) -> None:
    model, _ = moss_tiny
    sharded = save_moss_audio(model, tmp_path / "sharded", max_shard_bytes=2_000_000)
    shards = sorted(p.name for p in sharded.glob("model-*.safetensors"))
    assert len(shards) >= 3
    assert not (sharded / "model.safetensors").exists()
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == set(shards)
    reloaded, _ = load_moss_audio(sharded, dtype="float32", device="cpu")
    for key, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value), key
    diff = (_logits(reloaded, moss_parity) - moss_parity.tensors["logits_last"]).abs().max().item()
    assert diff <= moss_parity.tolerances["logits_abs"]


def test_missing_config(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "config.json").unlink()
    with pytest.raises(MossConfigError, match="config.json is missing"):
        load_moss_audio(checkpoint_copy)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(MossConfigError, match="not a directory"):
        load_moss_audio(tmp_path / "nowhere")


def test_wrong_model_type(checkpoint_copy: Path) -> None:
    config = json.loads((checkpoint_copy / "config.json").read_text())
    config["model_type"] = "qwen2_audio"
    (checkpoint_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(MossConfigError, match="model_type 'qwen2_audio', expected 'moss_audio'"):
        load_moss_audio(checkpoint_copy)


def test_malformed_config_json(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "config.json").write_text("{not json")
    with pytest.raises(MossConfigError, match="not readable JSON"):
        load_moss_audio(checkpoint_copy)


def test_inconsistent_config(checkpoint_copy: Path) -> None:
    config = json.loads((checkpoint_copy / "config.json").read_text())
    config["audio_config"]["deepstack_encoder_layer_indexes"] = [1, 7]
    (checkpoint_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(MossConfigError, match="contains 7, but the encoder has 4 layers"):
        load_moss_audio(checkpoint_copy)


def test_deepstack_needs_output_dim_equal_d_model(checkpoint_copy: Path) -> None:
    config = json.loads((checkpoint_copy / "config.json").read_text())
    config["audio_config"]["output_dim"] = 48
    (checkpoint_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(MossConfigError, match="output_dim == d_model"):
        load_moss_audio(checkpoint_copy)


def test_missing_weights_file(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "model.safetensors").unlink()
    with pytest.raises(MossCheckpointError, match="neither model.safetensors nor"):
        load_moss_audio(checkpoint_copy)


def _rewrite_weights(directory: Path, edit) -> None:
    path = directory / "model.safetensors"
    state = load_file(str(path))
    edit(state)
    save_file(state, str(path))


def test_missing_tensor(checkpoint_copy: Path) -> None:
    _rewrite_weights(checkpoint_copy, lambda s: s.pop("audio_encoder.layers.2.fc1.weight"))
    with pytest.raises(
        MossCheckpointError, match=r"missing tensors: audio_encoder\.layers\.2\.fc1\.weight"
    ):
        load_moss_audio(checkpoint_copy)


def test_unexpected_tensor(checkpoint_copy: Path) -> None:
    _rewrite_weights(
        checkpoint_copy,
        lambda s: s.update({"audio_encoder.embed_positions.weight": torch.zeros(3)}),
    )
    with pytest.raises(
        MossCheckpointError, match=r"unexpected tensors: audio_encoder\.embed_positions"
    ):
        load_moss_audio(checkpoint_copy)


def test_misshaped_tensor(checkpoint_copy: Path) -> None:
    _rewrite_weights(
        checkpoint_copy,
        lambda s: s.update(
            {"audio_adapter.up_proj.weight": torch.zeros(95, 64, dtype=torch.bfloat16)}
        ),
    )
    with pytest.raises(
        MossCheckpointError, match=r"wrong shape: audio_adapter\.up_proj\.weight \(95, 64\)"
    ):
        load_moss_audio(checkpoint_copy)


def test_corrupt_weights_file(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(MossCheckpointError, match="not a readable safetensors file"):
        load_moss_audio(checkpoint_copy)


def test_missing_shard(moss_tiny, tmp_path: Path) -> None:
    model, _ = moss_tiny
    sharded = save_moss_audio(model, tmp_path / "sharded", max_shard_bytes=2_000_000)
    next(sharded.glob("model-00002-*.safetensors")).unlink()
    with pytest.raises(
        MossCheckpointError, match="shards listed in model.safetensors.index.json are missing"
    ):
        load_moss_audio(sharded)


def test_broken_tokenizer(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "tokenizer.json").write_text("{broken")
    with pytest.raises(MossCheckpointError, match="tokenizer .* cannot be loaded"):
        load_moss_audio(checkpoint_copy)


def test_without_tokenizer_ids_only_works(moss_tiny, moss_parity: ParityData) -> None:
    model, processor = moss_tiny
    assert not processor.has_tokenizer
    with pytest.raises(TokenizerMissingError, match="must be given as token ids"):
        processor.build_prompt("Describe this audio.", 10)
    with pytest.raises(TypeError, match="text or a sequence of token ids"):
        processor.build_prompt(5, 10)  # type: ignore[arg-type]
    waveform = moss_parity.tensors["waveform"].numpy()[:32000]
    [result] = MossAudioGenerator(model, processor).generate(
        [waveform], [[8102, 2610, 17546]], GenerationConfig(max_new_tokens=4)
    )
    assert len(result.token_ids) == 4
    assert result.text is None and result.answer is None and result.thinking is None


def test_with_tokenizer_text_prompts_and_decoding(
    checkpoint_copy: Path, moss_parity: ParityData
) -> None:
    write_char_tokenizer(checkpoint_copy)
    model, processor = load_moss_audio(checkpoint_copy, dtype="float32")
    prompt = processor.build_prompt_parts("Hi?", 3)
    text_prompt = processor.tokenizer.decode(prompt.ids)
    assert text_prompt.startswith(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    )
    assert text_prompt.endswith("\nHi?<|im_end|>\n<|im_start|>assistant\n")
    assert prompt.prefix[-1] == 198 and prompt.prefix[-2] == processor.audio_end_id
    waveform = moss_parity.tensors["waveform"].numpy()[:16000]
    [result] = MossAudioGenerator(model, processor).generate(
        [waveform], "Hi?", GenerationConfig(max_new_tokens=6)
    )
    assert result.text == processor.tokenizer.decode(result.token_ids)
    assert result.answer is not None


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_runs(moss_parity: ParityData, dtype: str) -> None:
    model, processor = load_moss_audio(moss_parity.checkpoint, dtype=dtype, device="cpu")
    assert model.dtype == getattr(torch, dtype)
    logits = _logits(model, moss_parity).float()
    assert torch.isfinite(logits).all()
    # Loose: half precision of an untrained model still tracks the float32 logits.
    assert (logits - moss_parity.tensors["logits_last"]).abs().max().item() < 0.5
    waveform = moss_parity.tensors["waveform"].numpy()[:24000]
    [result] = MossAudioGenerator(model, processor).generate(
        [waveform], [[8102, 2610]], GenerationConfig(max_new_tokens=3)
    )
    assert len(result.token_ids) == 3


def test_bad_dtype_and_device(moss_parity: ParityData) -> None:
    with pytest.raises(ValueError, match="dtype 'int8' is not supported"):
        load_moss_audio(moss_parity.checkpoint, dtype="int8")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU is available"):
            load_moss_audio(moss_parity.checkpoint, device="cuda")


def test_audio_input_errors(moss_tiny) -> None:
    from perception.moss import AudioInputError

    _, processor = moss_tiny
    with pytest.raises(AudioInputError, match="mono"):
        processor.features(np.zeros((2, 16000), dtype=np.float32))
    with pytest.raises(AudioInputError, match="at least 400"):
        processor.features(np.zeros(100, dtype=np.float32))
    with pytest.raises(AudioInputError, match="resample"):
        processor.features(np.zeros(16000, dtype=np.float32), sampling_rate=44100)
    with pytest.raises(AudioInputError, match="NaN"):
        processor.features(np.full(16000, np.nan, dtype=np.float32))
    with pytest.raises(AudioInputError, match="int16"):
        processor.features(np.zeros(16000, dtype=np.int16))


def test_stop_ids_from_config_and_generation_config(checkpoint_copy: Path) -> None:
    (checkpoint_copy / "generation_config.json").write_text(
        json.dumps({"eos_token_id": [151645, 151643]})
    )
    _, processor = load_moss_audio(checkpoint_copy)
    assert processor.stop_token_ids == (151645, 151643)
    (checkpoint_copy / "generation_config.json").write_text("[oops")
    with pytest.raises(MossCheckpointError, match="generation_config.json is not a readable"):
        load_moss_audio(checkpoint_copy)
