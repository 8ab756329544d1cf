"""``moss-agent model check`` / ``model info`` on the shared vectors, perturbed copies and other checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from agent.cli import main
from perception.moss import save_moss_audio
from perception.moss.generation import GenerationConfig, generate_from_prompts
from tests.fixtures.moss import ParityData

QUANTITIES = [
    "mel_fp32",
    "mel (bf16",
    "encoder_last_hidden_state",
    "encoder_deepstack_0",
    "encoder_deepstack_1",
    "encoder_deepstack_2",
    "logits_last",
    "logits_audio_span_mean",
    "logits_argmax",
    "logits_sampled",
    "greedy_new_tokens",
    "layouts",
]


def _lines(out: str) -> dict[str, str]:
    return {name: next(line for line in out.splitlines() if name in line) for name in QUANTITIES}


def test_check_passes_on_shared_vectors(moss_parity: ParityData, capsys) -> None:
    code = main(
        ["model", "check", str(moss_parity.checkpoint), "--expected", str(moss_parity.directory)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    for name, line in _lines(out).items():
        assert line.startswith("PASS"), line
        if name.startswith(("encoder", "logits_last", "logits_sampled", "mel_fp32")):
            assert "max_abs_diff=" in line
    assert "FAIL" not in out


def _writable_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def test_check_fails_on_perturbed_expected_values(
    moss_parity: ParityData, tmp_path: Path, capsys
) -> None:
    expected = _writable_copy(moss_parity.directory, tmp_path / "expected")
    tensors = load_file(str(expected / "expected.safetensors"))
    tensors["logits_last"][123] += 0.01
    save_file(tensors, str(expected / "expected.safetensors"))
    code = main(["model", "check", str(moss_parity.checkpoint), "--expected", str(expected)])
    lines = _lines(capsys.readouterr().out)
    assert code == 1
    assert lines["logits_last"].startswith("FAIL")
    assert lines["logits_sampled"].startswith("PASS")


def test_check_fails_on_perturbed_checkpoint(
    moss_parity: ParityData, tmp_path: Path, capsys
) -> None:
    checkpoint = _writable_copy(moss_parity.checkpoint, tmp_path / "checkpoint")
    weights = load_file(str(checkpoint / "model.safetensors"))
    weights["audio_encoder.layers.2.fc2.bias"] += 0.05
    save_file(weights, str(checkpoint / "model.safetensors"))
    code = main(["model", "check", str(checkpoint), "--expected", str(moss_parity.directory)])
    lines = _lines(capsys.readouterr().out)
    assert code == 1
    assert lines["encoder_deepstack_0"].startswith("PASS")  # taps before layer 2 are untouched
    assert lines["encoder_deepstack_1"].startswith("FAIL")
    assert lines["encoder_last_hidden_state"].startswith("FAIL")
    assert lines["logits_last"].startswith("FAIL")


def test_check_works_for_another_checkpoint_and_vector_set(
    moss_random, tmp_path: Path, capsys
) -> None:
    """Vectors written in the same format for a different model shape: the check is not tied
    to the shared files (here the vectors come from a float32 copy of the model itself)."""
    model, processor = moss_random
    checkpoint = save_moss_audio(model, tmp_path / "ckpt", dtype=torch.float32)
    waveform = (0.2 * np.sin(np.arange(40000) / 9.0)).astype(np.float32)
    features = processor.features(waveform)
    with torch.no_grad():
        encoded = model.audio_encoder(features.mel[None], torch.tensor([features.n_frames]))
        audio = model.encode_audio(features.mel[None], torch.tensor([features.n_frames]))
        ids = processor.build_prompt([5, 6, 7], int(encoded.lengths[0]))
        logits = model(torch.tensor([ids]), audio=audio).logits[0]
        [(greedy, _)] = generate_from_prompts(
            model, audio, [ids], [(0, [])], GenerationConfig(max_new_tokens=5), []
        )
    vocab = torch.arange(0, 151936, 997)
    tensors = {
        "waveform": torch.from_numpy(waveform),
        "mel_fp32": features.mel_fp32,
        "mel": features.mel.float(),
        "encoder_last_hidden_state": encoded.last_hidden_state[0],
        **{f"encoder_deepstack_{i}": t[0] for i, t in enumerate(encoded.deepstack_hidden_states)},
        "logits_last": logits[-1],
        "logits_argmax": logits.argmax(-1),
        "logits_sampled": logits[:, vocab].contiguous(),
        "logits_sampled_vocab": vocab,
    }
    expected = tmp_path / "expected"
    expected.mkdir()
    save_file(
        {k: v.contiguous() for k, v in tensors.items()}, str(expected / "expected.safetensors")
    )
    meta = {"input_ids": ids, "mel_frames": features.n_frames, "greedy_new_tokens": greedy}
    (expected / "expected.json").write_text(json.dumps(meta))
    code = main(["model", "check", str(checkpoint), "--expected", str(expected)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "encoder_deepstack_2" in out and "greedy_new_tokens (5" in out


def test_check_bad_paths_are_usage_errors(moss_parity: ParityData, tmp_path: Path, capsys) -> None:
    assert main(["model", "check", str(moss_parity.checkpoint), "--expected", str(tmp_path)]) == 2
    assert "expected.json is missing" in capsys.readouterr().err
    assert main(["model", "check", str(tmp_path), "--expected", str(moss_parity.directory)]) == 2
    assert "config.json is missing" in capsys.readouterr().err


def test_info(moss_parity: ParityData, moss_tiny, capsys) -> None:
    import re

    model, _ = moss_tiny
    total = sum(p.numel() for p in model.parameters())
    encoder = sum(p.numel() for p in model.audio_encoder.parameters())
    assert main(["model", "info", str(moss_parity.checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "stored as bfloat16" in out
    assert re.search(rf"total\s+{total:,}\n", out)
    assert re.search(rf"audio_encoder\s+{encoder:,}\n", out)
    assert re.search(rf"bfloat16\s+{total * 2 / 2**30:.2f} GiB", out)
    assert "4 layers, d_model 64" in out


@pytest.mark.parametrize("argv", [["model"], ["model", "nonsense"]])
def test_model_needs_an_action(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
