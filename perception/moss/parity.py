"""Compare a loaded MOSS-Audio model with an expected-values directory (``moss_parity`` format).

The directory holds ``expected.json`` (prompt ids, lengths, greedy tokens, layouts,
tolerances) and ``expected.safetensors`` (waveform, mel, encoder outputs, logits). The model
is fed the recorded inputs (the bf16 ``mel`` and ``input_ids``) and every recorded quantity
is compared. Quantities a directory does not record are skipped; the inputs are required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from perception.moss.configuration import audio_token_count
from perception.moss.generation import GenerationConfig, generate_from_prompts
from perception.moss.modeling import MossAudioModel
from perception.moss.processor import MossAudioProcessor, audio_placeholder_ids

DEFAULT_TOLERANCES = {"mel_abs": 1e-4, "hidden_abs": 2e-4, "logits_abs": 2e-3}


class ExpectedDataError(ValueError):
    """The expected-values directory is missing files or the inputs the check needs."""


@dataclass
class Check:
    """One compared quantity. ``max_abs_diff`` is None for exact (id) comparisons."""

    name: str
    passed: bool
    max_abs_diff: float | None = None
    tolerance: float | None = None
    detail: str = ""


@dataclass
class ExpectedData:
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor]

    @classmethod
    def load(cls, directory: str | Path) -> ExpectedData:
        root = Path(directory)
        json_path, tensor_path = root / "expected.json", root / "expected.safetensors"
        for path in (json_path, tensor_path):
            if not path.is_file():
                raise ExpectedDataError(
                    f"{path} is missing: an expected-values directory needs expected.json and "
                    "expected.safetensors"
                )
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            tensors = load_file(str(tensor_path))
        except Exception as exc:  # JSON and safetensors raise several kinds
            raise ExpectedDataError(f"cannot read the expected values in {root}: {exc}") from exc
        for key in ("waveform", "mel"):
            if key not in tensors:
                raise ExpectedDataError(f"expected.safetensors has no {key!r} input")
        if "input_ids" not in meta:
            raise ExpectedDataError("expected.json has no 'input_ids' prompt")
        return cls(meta, tensors)

    @property
    def tolerances(self) -> dict[str, float]:
        return {**DEFAULT_TOLERANCES, **self.meta.get("tolerances", {})}


def _close(name: str, actual: torch.Tensor, expected: torch.Tensor, tolerance: float) -> Check:
    if actual.shape != expected.shape:
        return Check(
            name,
            False,
            detail=f"shape {tuple(actual.shape)} != expected {tuple(expected.shape)}",
        )
    diff = (actual.float() - expected.float()).abs().max().item() if actual.numel() else 0.0
    return Check(name, diff <= tolerance, diff, tolerance)


def _equal(name: str, actual: list[int], expected: list[int]) -> Check:
    if actual == expected:
        detail = f"{expected[0]}" if len(expected) == 1 else f"{len(expected)} ids equal"
        return Check(name, True, detail=detail)
    if len(expected) == 1 and len(actual) == 1:
        return Check(name, False, detail=f"{actual[0]}, expected {expected[0]}")
    if len(actual) != len(expected):
        return Check(name, False, detail=f"{len(actual)} ids, expected {len(expected)}")
    wrong = sum(a != b for a, b in zip(actual, expected, strict=True))
    return Check(name, False, detail=f"{wrong} of {len(expected)} ids differ")


def _bf16_step(values: torch.Tensor) -> torch.Tensor:
    exponent = torch.floor(torch.log2(values.abs().clamp(min=1e-30)))
    return torch.pow(2.0, exponent - 7)


def run_checks(
    model: MossAudioModel, processor: MossAudioProcessor, data: ExpectedData
) -> list[Check]:
    """Every comparison the expected data allows, in a fixed order."""
    meta, tensors, tol = data.meta, data.tensors, data.tolerances
    checks: list[Check] = []

    # Features from the waveform.
    features = processor.features(tensors["waveform"].float().numpy())
    if "mel_fp32" in tensors:
        checks.append(_close("mel_fp32", features.mel_fp32, tensors["mel_fp32"], tol["mel_abs"]))
    expected_mel = tensors["mel"].float()
    if features.mel.shape == expected_mel.shape:
        over = (features.mel.float() - expected_mel).abs() - _bf16_step(expected_mel)
        diff = (features.mel.float() - expected_mel).abs().max().item()
        checks.append(
            Check("mel (bf16, within one bf16 step)", bool((over <= 0).all()), diff, None)
        )
    else:
        checks.append(
            Check(
                "mel (bf16)",
                False,
                detail=f"{features.n_frames} frames, expected {expected_mel.shape[-1]}",
            )
        )
    if "mel_frames" in meta:
        checks.append(_equal("mel_frames", [features.n_frames], [int(meta["mel_frames"])]))

    # Encoder and language model, fed the recorded inputs.
    mel = expected_mel[None]
    lengths = torch.tensor([mel.shape[-1]])
    ids = [int(x) for x in meta["input_ids"]]
    with torch.no_grad():
        encoded = model.audio_encoder(mel, lengths)
        n_tokens = int(encoded.lengths[0])
        if "audio_tokens" in meta:
            checks.append(_equal("audio_tokens", [n_tokens], [int(meta["audio_tokens"])]))
        if "encoder_last_hidden_state" in tensors:
            checks.append(
                _close(
                    "encoder_last_hidden_state",
                    encoded.last_hidden_state[0],
                    tensors["encoder_last_hidden_state"],
                    tol["hidden_abs"],
                )
            )
        expected_taps = sorted(
            (k for k in tensors if k.startswith("encoder_deepstack_")),
            key=lambda k: int(k.rsplit("_", 1)[1]),
        )
        if expected_taps and len(expected_taps) != len(encoded.deepstack_hidden_states):
            checks.append(
                Check(
                    "encoder_deepstack taps",
                    False,
                    detail=f"model has {len(encoded.deepstack_hidden_states)}, expected {len(expected_taps)}",
                )
            )
        for key, tap in zip(expected_taps, encoded.deepstack_hidden_states, strict=False):
            checks.append(_close(key, tap[0], tensors[key], tol["hidden_abs"]))

        audio_id = int(meta.get("audio_token_id", processor.audio_token_id))
        start_id = int(meta.get("audio_start_id", processor.audio_start_id))
        end_id = int(meta.get("audio_end_id", processor.audio_end_id))
        if start_id in ids and end_id in ids:
            span = ids[ids.index(start_id) + 1 : ids.index(end_id)]
            checks.append(
                _equal(
                    "input_ids audio span layout", audio_placeholder_ids(n_tokens, audio_id), span
                )
            )

        audio = model.encode_audio(mel, lengths)
        try:
            logits = model(torch.tensor([ids]), audio=audio).logits[0].float()
        except ValueError as exc:
            checks.append(Check("language model forward", False, detail=str(exc)))
            return checks
        if "logits_last" in tensors:
            checks.append(
                _close("logits_last", logits[-1], tensors["logits_last"], tol["logits_abs"])
            )
        if "logits_audio_span_mean" in tensors:
            span_mean = logits[torch.tensor(ids) == audio_id].mean(dim=0)
            checks.append(
                _close(
                    "logits_audio_span_mean",
                    span_mean,
                    tensors["logits_audio_span_mean"],
                    tol["logits_abs"],
                )
            )
        if "logits_argmax" in tensors:
            checks.append(
                _equal(
                    "logits_argmax", logits.argmax(-1).tolist(), tensors["logits_argmax"].tolist()
                )
            )
        if "logits_sampled" in tensors and "logits_sampled_vocab" in tensors:
            sampled = logits[:, tensors["logits_sampled_vocab"].long()]
            checks.append(
                _close("logits_sampled", sampled, tensors["logits_sampled"], tol["logits_abs"])
            )

    greedy = [int(x) for x in meta.get("greedy_new_tokens", [])]
    if greedy:
        # No stop tokens: the reference's tokens are compared one for one.
        [(tokens, _)] = generate_from_prompts(
            model, audio, [ids], [(0, [])], GenerationConfig(max_new_tokens=len(greedy)), []
        )
        checks.append(_equal(f"greedy_new_tokens ({len(greedy)}, KV cache)", tokens, greedy))

    layouts = meta.get("layouts", {})
    if layouts:
        wrong = []
        for frames, layout in layouts.items():
            count = int(audio_token_count(int(frames)))
            if (
                count != layout["audio_tokens"]
                or audio_placeholder_ids(count, audio_id) != layout["placeholder_ids"]
            ):
                wrong.append(frames)
        checks.append(
            Check(
                f"layouts ({len(layouts)} lengths)",
                not wrong,
                detail="all equal" if not wrong else "differ for mel lengths " + ", ".join(wrong),
            )
        )
    return checks
