"""Our MOSS-Audio against the reference's vectors in tests/data/moss_parity."""

from __future__ import annotations

import pytest
import torch

from perception.moss import audio_placeholder_ids, audio_token_count
from perception.moss.generation import GenerationConfig, generate_from_prompts
from perception.moss.processor import ChatTemplateIds
from tests.fixtures.moss import ParityData


def bf16_step(values: torch.Tensor) -> torch.Tensor:
    """Distance between neighbouring bfloat16 numbers around each value (8 significant bits)."""
    exponent = torch.floor(torch.log2(values.abs().clamp(min=1e-30)))
    return torch.pow(2.0, exponent - 7)


@pytest.fixture(scope="module")
def forward(moss_tiny, moss_parity: ParityData):
    model, _ = moss_tiny
    mel = moss_parity.tensors["mel"][None]
    lengths = torch.tensor([mel.shape[-1]])
    ids = torch.tensor([moss_parity.meta["input_ids"]])
    with torch.no_grad():
        encoded = model.audio_encoder(mel, lengths)
        audio = model.encode_audio(mel, lengths)
        logits = model(ids, audio=audio).logits[0]
    return encoded, audio, ids[0], logits


def test_mel_fp32_matches(moss_tiny, moss_parity: ParityData) -> None:
    _, processor = moss_tiny
    features = processor.features(moss_parity.tensors["waveform"].numpy())
    assert (
        features.n_frames
        == moss_parity.meta["mel_frames"]
        == moss_parity.meta["num_samples"] // 160
    )
    diff = (features.mel_fp32 - moss_parity.tensors["mel_fp32"]).abs().max().item()
    assert diff <= moss_parity.tolerances["mel_abs"]


def test_mel_bf16_within_one_step(moss_tiny, moss_parity: ParityData) -> None:
    _, processor = moss_tiny
    features = processor.features(moss_parity.tensors["waveform"].numpy())
    assert features.mel.dtype == torch.bfloat16
    expected = moss_parity.tensors["mel"]
    assert ((features.mel.float() - expected).abs() <= bf16_step(expected)).all()


def test_encoder_last_hidden_state(forward, moss_parity: ParityData) -> None:
    encoded = forward[0]
    assert encoded.lengths.tolist() == [moss_parity.meta["audio_tokens"]]
    diff = (
        (encoded.last_hidden_state[0] - moss_parity.tensors["encoder_last_hidden_state"])
        .abs()
        .max()
    )
    assert diff.item() <= moss_parity.tolerances["hidden_abs"]


def test_every_deepstack_tap(forward, moss_parity: ParityData) -> None:
    taps = forward[0].deepstack_hidden_states
    names = sorted(k for k in moss_parity.tensors if k.startswith("encoder_deepstack_"))
    assert len(taps) == len(names) == 3
    for index, tap in enumerate(taps):
        diff = (tap[0] - moss_parity.tensors[f"encoder_deepstack_{index}"]).abs().max().item()
        assert diff <= moss_parity.tolerances["hidden_abs"], f"tap {index}: {diff}"


def test_logits_last(forward, moss_parity: ParityData) -> None:
    logits = forward[3]
    diff = (logits[-1] - moss_parity.tensors["logits_last"]).abs().max().item()
    assert diff <= moss_parity.tolerances["logits_abs"]


def test_logits_audio_span_mean(forward, moss_parity: ParityData) -> None:
    _, _, ids, logits = forward
    span = logits[ids == moss_parity.meta["audio_token_id"]].mean(dim=0)
    diff = (span - moss_parity.tensors["logits_audio_span_mean"]).abs().max().item()
    assert diff <= moss_parity.tolerances["logits_abs"]


def test_logits_argmax_and_sampled(forward, moss_parity: ParityData) -> None:
    logits = forward[3]
    assert torch.equal(logits.argmax(dim=-1), moss_parity.tensors["logits_argmax"])
    sampled = logits[:, moss_parity.tensors["logits_sampled_vocab"]]
    diff = (sampled - moss_parity.tensors["logits_sampled"]).abs().max().item()
    assert diff <= moss_parity.tolerances["logits_abs"]


def test_sixteen_greedy_tokens_with_cache(moss_tiny, forward, moss_parity: ParityData) -> None:
    model, _ = moss_tiny
    audio = forward[1]
    ids = moss_parity.meta["input_ids"]
    cut = ids.index(moss_parity.meta["audio_end_id"]) + 2  # prefix ends with the newline
    [(tokens, reason)] = generate_from_prompts(
        model, audio, [ids[:cut]], [(0, ids[cut:])], GenerationConfig(max_new_tokens=16), [151645]
    )
    assert tokens == moss_parity.meta["greedy_new_tokens"]
    assert reason == "length"


def test_placeholder_layouts_for_all_lengths(moss_parity: ParityData) -> None:
    layouts = moss_parity.meta["layouts"]
    assert len(layouts) >= 10
    for mel_frames, layout in layouts.items():
        tokens = audio_token_count(int(mel_frames))
        assert tokens == layout["audio_tokens"], mel_frames
        assert audio_placeholder_ids(tokens) == layout["placeholder_ids"], mel_frames


def test_prompt_builder_reproduces_reference_ids(moss_tiny, moss_parity: ParityData) -> None:
    """The vectors' prompt uses made-up ids for the chat scaffolding: swap them in as a template."""
    from perception.moss import MossAudioProcessor

    ids = moss_parity.meta["input_ids"]
    start = ids.index(moss_parity.meta["audio_start_id"])
    end = ids.index(moss_parity.meta["audio_end_id"])
    im_end = ids.index(151645)
    template = ChatTemplateIds(
        system_header=(),
        user_header=tuple(ids[im_end + 3 : start]),
        assistant_header=tuple(ids[-2:]),
    )
    processor = MossAudioProcessor(template=template)
    question = ids[end + 2 : ids.index(151645, end)]
    prompt = processor.build_prompt_parts(
        question, moss_parity.meta["audio_tokens"], system=ids[1:im_end]
    )
    assert prompt.ids == ids
    assert prompt.prefix == ids[: end + 2]


def test_torch_mel_path_matches_within_tolerance(moss_tiny, moss_parity: ParityData) -> None:
    """The torch.stft path (used on GPUs) run here on the CPU: same mel within mel_abs, and
    the bf16 mel within one bf16 step."""
    from perception.moss.processor import log_mel_torch

    _, processor = moss_tiny
    mel = log_mel_torch(moss_parity.tensors["waveform"], torch.from_numpy(processor.mel_filters))
    expected = moss_parity.tensors["mel_fp32"]
    assert mel.shape == expected.shape
    assert (mel - expected).abs().max().item() <= moss_parity.tolerances["mel_abs"]
    rounded = mel.to(torch.bfloat16).float()
    expected_bf16 = moss_parity.tensors["mel"]
    assert ((rounded - expected_bf16).abs() <= bf16_step(expected_bf16)).all()
