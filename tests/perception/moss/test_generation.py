"""Generation: batching, KV cache, prefix reuse, sampling, stopping, streaming, think split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perception.moss import GenerationConfig, MossAudioConfig, MossAudioGenerator, split_thinking
from perception.moss.generation import next_tokens
from tests.fixtures.moss import small_random_config

QUESTIONS = [[8102, 2610, 17546], [4258, 12, 99, 1000, 77, 5], [31]]


def tone(seconds: float, freq: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    signal = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)
    return signal.astype(np.float32)


@pytest.fixture(params=["tiny", "random"])
def moss(request, moss_tiny, moss_random):
    return moss_tiny if request.param == "tiny" else moss_random


def test_random_config_has_capped_deepstack(moss_random) -> None:
    model, _ = moss_random
    config: MossAudioConfig = model.config
    assert len(config.audio_config.deepstack_encoder_layer_indexes) == 3
    assert len(model.deepstack_audio_merger_list) == config.num_deepstack_layers == 2
    assert config.language_config.num_hidden_layers == 3


def test_encoder_batch_rows_equal_single_runs(moss) -> None:
    model, processor = moss
    audios = [tone(3.13, 440, 1), tone(7.41, 220, 2)]
    _, mel, lengths = processor.batch_features(audios)
    with torch.no_grad():
        batched = model.audio_encoder(mel, lengths)
        for row, audio in enumerate(audios):
            _, single_mel, single_len = processor.batch_features([audio])
            single = model.audio_encoder(single_mel, single_len)
            n = int(single.lengths[0])
            assert int(batched.lengths[row]) == n
            diff = (batched.last_hidden_state[row, :n] - single.last_hidden_state[0]).abs().max()
            assert diff.item() < 1e-5
            for tap_b, tap_s in zip(
                batched.deepstack_hidden_states, single.deepstack_hidden_states, strict=True
            ):
                assert (tap_b[row, :n] - tap_s[0]).abs().max().item() < 1e-5


@pytest.mark.parametrize("padding", ["left", "right"])
def test_lm_batch_rows_equal_single_runs(moss, padding: str) -> None:
    """A padded batched prefill gives each row the logits of its unpadded run."""
    model, processor = moss
    audios = [tone(2.2, 300, 3), tone(5.7, 500, 4)]
    with torch.no_grad():
        audio = MossAudioGenerator(model, processor).encode(audios)
        prompts = [
            processor.build_prompt(q, int(n))
            for q, n in zip(([5, 6], [7, 8, 9, 10]), audio.lengths.tolist(), strict=True)
        ]
        longest = max(len(p) for p in prompts)

        def pad(row: list[int], value: int) -> list[int]:
            fill = [value] * (longest - len(row))
            return fill + row if padding == "left" else row + fill

        ids = torch.tensor([pad(p, 0) for p in prompts])
        mask = torch.tensor([pad([1] * len(p), 0) for p in prompts])
        batched = model(ids, attention_mask=mask, audio=audio).logits
        for row, prompt in enumerate(prompts):
            single = model(torch.tensor([prompt]), audio=audio.select([row])).logits[0]
            valid = mask[row].bool()
            diff = (batched[row, valid] - single).abs().max().item()
            assert diff < 1e-4, f"row {row}: {diff}"


def test_generate_batch_equals_each_alone(moss) -> None:
    model, processor = moss
    audios = [tone(3.0, 440, 5), tone(6.5, 330, 6), tone(1.2, 800, 7)]
    questions = QUESTIONS
    config = GenerationConfig(max_new_tokens=10)
    batched = MossAudioGenerator(model, processor).generate(audios, questions, config)
    for audio, question, result in zip(audios, questions, batched, strict=True):
        [alone] = MossAudioGenerator(model, processor).generate([audio], [question], config)
        assert result.token_ids == alone.token_ids
        assert result.finish_reason == alone.finish_reason


def test_cached_greedy_equals_recompute_without_cache(moss) -> None:
    model, processor = moss
    audio_wave = tone(4.0, 660, 8)
    config = GenerationConfig(max_new_tokens=12)
    [result] = MossAudioGenerator(model, processor).generate([audio_wave], [QUESTIONS[0]], config)
    assert result.finish_reason == "length" and len(result.token_ids) == 12
    with torch.no_grad():
        audio = MossAudioGenerator(model, processor).encode([audio_wave])
        ids = processor.build_prompt(QUESTIONS[0], int(audio.lengths[0]))
        recomputed: list[int] = []
        for _ in range(12):
            logits = model(torch.tensor([ids + recomputed]), audio=audio).logits[0, -1]
            recomputed.append(int(logits.argmax()))
    assert recomputed == result.token_ids


def test_prefix_reuse_equals_independent_runs(moss) -> None:
    model, processor = moss
    audio = tone(5.0, 250, 9)
    config = GenerationConfig(max_new_tokens=8)
    reused = MossAudioGenerator(model, processor).generate_tasks(audio, QUESTIONS, config)
    assert len(reused) == len(QUESTIONS)
    for question, result in zip(QUESTIONS, reused, strict=True):
        [independent] = MossAudioGenerator(model, processor).generate([audio], [question], config)
        assert result.token_ids == independent.token_ids
    # Differing questions give differing answers, so the comparison above has teeth.
    assert len({tuple(r.token_ids) for r in reused}) > 1


def test_tasks_batch_over_windows(moss) -> None:
    model, processor = moss
    audios = [tone(2.5, 440, 10), tone(4.5, 200, 11)]
    questions = [QUESTIONS, QUESTIONS[:2]]
    config = GenerationConfig(max_new_tokens=6)
    nested = MossAudioGenerator(model, processor).generate_tasks_batch(audios, questions, config)
    assert [len(r) for r in nested] == [3, 2]
    for audio, qs, results in zip(audios, questions, nested, strict=True):
        alone = MossAudioGenerator(model, processor).generate_tasks(audio, qs, config)
        assert [r.token_ids for r in results] == [r.token_ids for r in alone]
    with pytest.raises(ValueError, match="one list of questions per audio"):
        MossAudioGenerator(model, processor).generate_tasks_batch(audios, [QUESTIONS], config)


def test_seeded_sampling_is_repeatable(moss_tiny) -> None:
    model, processor = moss_tiny
    audio = tone(3.0, 440, 12)
    config = GenerationConfig(
        max_new_tokens=10, do_sample=True, temperature=1.5, top_p=0.95, top_k=50, seed=7
    )
    first = (
        MossAudioGenerator(model, processor).generate([audio], [QUESTIONS[0]], config)[0].token_ids
    )
    second = (
        MossAudioGenerator(model, processor).generate([audio], [QUESTIONS[0]], config)[0].token_ids
    )
    assert first == second
    others = {
        tuple(
            MossAudioGenerator(model, processor)
            .generate(
                [audio],
                [QUESTIONS[0]],
                GenerationConfig(max_new_tokens=10, do_sample=True, temperature=1.5, seed=seed),
            )[0]
            .token_ids
        )
        for seed in range(4)
    }
    assert len(others) > 1


def test_top_k_one_and_tiny_top_p_are_greedy(moss_tiny) -> None:
    model, processor = moss_tiny
    audio = tone(2.0, 440, 13)
    greedy = MossAudioGenerator(model, processor).generate(
        [audio], [QUESTIONS[1]], GenerationConfig(max_new_tokens=6)
    )
    for config in (
        GenerationConfig(max_new_tokens=6, do_sample=True, top_k=1, temperature=2.0, seed=1),
        GenerationConfig(max_new_tokens=6, do_sample=True, top_p=1e-6, temperature=2.0, seed=1),
    ):
        sampled = MossAudioGenerator(model, processor).generate([audio], [QUESTIONS[1]], config)
        assert sampled[0].token_ids == greedy[0].token_ids


def test_sampling_filters() -> None:
    logits = torch.tensor([[4.0, 3.0, 2.0, -1.0, -5.0]])
    generator = torch.Generator().manual_seed(0)
    top2 = GenerationConfig(do_sample=True, top_k=2)
    picks = {int(next_tokens(logits, top2, generator)) for _ in range(200)}
    assert picks == {0, 1}
    nucleus = GenerationConfig(do_sample=True, top_p=0.8)  # p = .67, .24, .09, ...
    picks = {int(next_tokens(logits, nucleus, generator)) for _ in range(200)}
    assert picks == {0, 1}


def test_stops_on_stop_token_and_streams(moss_tiny) -> None:
    model, processor = moss_tiny
    audios = [tone(2.0, 440, 14), tone(3.0, 300, 15)]
    free = MossAudioGenerator(model, processor).generate(
        audios, QUESTIONS[:2], GenerationConfig(max_new_tokens=8)
    )
    stop_id = free[0].token_ids[3]
    assert stop_id not in free[0].token_ids[:3]
    streamed: list[tuple[int, int]] = []
    config = GenerationConfig(max_new_tokens=8, stop_token_ids=(stop_id, 151645))
    stopped = MossAudioGenerator(model, processor).generate(
        audios, QUESTIONS[:2], config, on_token=lambda r, t: streamed.append((r, t))
    )
    assert stopped[0].token_ids == free[0].token_ids[:3]
    assert stopped[0].finish_reason == "stop"
    if stop_id not in free[1].token_ids:
        assert stopped[1].token_ids == free[1].token_ids
        assert stopped[1].finish_reason == "length"
    for row, result in enumerate(stopped):
        assert [t for r, t in streamed if r == row] == result.token_ids


def test_config_validation() -> None:
    for bad in (
        GenerationConfig(max_new_tokens=0),
        GenerationConfig(do_sample=True, temperature=0.0),
        GenerationConfig(top_p=0.0),
        GenerationConfig(top_k=-1),
    ):
        with pytest.raises(ValueError):
            bad.validate()


def test_placeholder_count_must_match_audio(moss_tiny) -> None:
    model, processor = moss_tiny
    with torch.no_grad():
        audio = MossAudioGenerator(model, processor).encode([tone(2.0, 440, 16)])
        ids = processor.build_prompt([5], int(audio.lengths[0]) + 1)
        with pytest.raises(ValueError, match="audio placeholders but the audio gives"):
            model(torch.tensor([ids]), audio=audio)
        with pytest.raises(ValueError, match="no audio was given"):
            model(torch.tensor([ids]))


def test_too_long_audio_is_refused(moss_tiny) -> None:
    model, processor = moss_tiny
    limit = model.config.audio_config.max_source_positions
    with pytest.raises(ValueError, match="cut it into shorter windows"):
        MossAudioGenerator(model, processor).encode(
            [np.zeros((limit + 10) * 8 * 160, dtype=np.float32)]
        )


@pytest.mark.parametrize(
    ("text", "thinking", "answer"),
    [
        ("<think>\nhmm\n</think>\n\nA dog barks.", "hmm", "A dog barks."),
        ("<think>\n\n</think>\n\nHello", "", "Hello"),
        ("reasoning here</think>answer", "reasoning here", "answer"),
        ("<think>still thinking", "still thinking", ""),
        ("Just an answer.", "", "Just an answer."),
    ],
)
def test_split_thinking(text: str, thinking: str, answer: str) -> None:
    assert split_thinking(text) == (thinking, answer)


def test_small_random_config_rejects_too_many_taps() -> None:
    from perception.moss import MossConfigError

    with pytest.raises(MossConfigError, match="set deepstack_num_inject_layers"):
        small_random_config(lm_layers=2, inject=None)
