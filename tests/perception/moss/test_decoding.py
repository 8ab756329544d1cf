"""The fast decode options give the plain loop's tokens: pre-allocated cache, compiled or
CUDA-graph step, few host syncs (streamed tokens and stop handling included)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from perception.moss import DecodeOptions, GenerationConfig, MossAudioGenerator
from perception.moss.decoding import PreallocatedCache

QUESTIONS = [[8102, 2610, 17546], [4258, 12, 99, 1000, 77, 5], [31]]


def tone(seconds: float, freq: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    signal = 0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)
    return signal.astype(np.float32)


AUDIOS = [tone(2.6, 440, 21), tone(5.3, 250, 22)]
TASKS = [QUESTIONS, QUESTIONS[:2]]

FAST = [
    DecodeOptions(static_cache=True),
    DecodeOptions(static_cache=True, sync_every=4),
    DecodeOptions(static_cache=True, sync_every=100),
]


@pytest.fixture(params=["tiny", "random"])
def moss(request, moss_tiny, moss_random):
    return moss_tiny if request.param == "tiny" else moss_random


def run(model, processor, options: DecodeOptions | None, config: GenerationConfig):
    streamed: list[tuple[int, int]] = []
    nested = MossAudioGenerator(model, processor, options).generate_tasks_batch(
        AUDIOS, TASKS, config, on_token=lambda row, token: streamed.append((row, token))
    )
    return [[(r.token_ids, r.finish_reason) for r in rows] for rows in nested], streamed


@pytest.mark.parametrize("options", FAST, ids=lambda o: f"static-sync{o.sync_every}")
def test_fast_options_equal_plain_greedy(moss, options: DecodeOptions) -> None:
    model, processor = moss
    config = GenerationConfig(max_new_tokens=12)
    plain, plain_stream = run(model, processor, None, config)
    fast, fast_stream = run(model, processor, options, config)
    assert fast == plain
    assert fast_stream == plain_stream
    assert len({tuple(ids) for rows in plain for ids, _ in rows}) > 1


@pytest.mark.parametrize("options", FAST, ids=lambda o: f"static-sync{o.sync_every}")
def test_fast_options_stop_like_plain(moss, options: DecodeOptions) -> None:
    """Rows that hit a stop token early: same tokens, reasons and streamed order."""
    model, processor = moss
    free, _ = run(model, processor, None, GenerationConfig(max_new_tokens=10))
    first = free[0][0][0]
    # The first token of the first task that it had not produced before: that row stops there.
    cut = next(i for i in range(1, len(first)) if first[i] not in first[:i])
    config = GenerationConfig(max_new_tokens=10, stop_token_ids=(first[cut], 151645))
    plain, plain_stream = run(model, processor, None, config)
    fast, fast_stream = run(model, processor, options, config)
    assert plain[0][0] == (first[:cut], "stop")
    assert fast == plain
    assert fast_stream == plain_stream


def test_all_rows_stopping_ends_early(moss_tiny) -> None:
    model, processor = moss_tiny
    [free] = MossAudioGenerator(model, processor).generate(
        [AUDIOS[0]], [QUESTIONS[0]], GenerationConfig(max_new_tokens=6)
    )
    config = GenerationConfig(max_new_tokens=50, stop_token_ids=(free.token_ids[1],))
    options = DecodeOptions(static_cache=True, sync_every=3)
    [plain] = MossAudioGenerator(model, processor).generate([AUDIOS[0]], [QUESTIONS[0]], config)
    [fast] = MossAudioGenerator(model, processor, options).generate(
        [AUDIOS[0]], [QUESTIONS[0]], config
    )
    assert fast.token_ids == plain.token_ids == free.token_ids[:1]
    assert fast.finish_reason == plain.finish_reason == "stop"


def test_ignore_stop_tokens_decodes_the_full_length(moss_tiny) -> None:
    model, processor = moss_tiny
    [free] = MossAudioGenerator(model, processor).generate(
        [AUDIOS[1]], [QUESTIONS[1]], GenerationConfig(max_new_tokens=8)
    )
    stop = (free.token_ids[2],)
    for options in (None, DecodeOptions(static_cache=True, sync_every=8)):
        generator = MossAudioGenerator(model, processor, options)
        [kept] = generator.generate(
            [AUDIOS[1]],
            [QUESTIONS[1]],
            GenerationConfig(max_new_tokens=8, stop_token_ids=stop, ignore_stop_tokens=True),
        )
        assert kept.token_ids == free.token_ids and kept.finish_reason == "length"


def test_seeded_sampling_without_early_stops_equals_plain(moss_tiny) -> None:
    model, processor = moss_tiny
    config = GenerationConfig(
        max_new_tokens=10, do_sample=True, temperature=1.3, top_k=50, top_p=0.9, seed=7,
        ignore_stop_tokens=True,
    )  # fmt: skip
    plain, _ = run(model, processor, None, config)
    fast, _ = run(model, processor, DecodeOptions(static_cache=True, sync_every=5), config)
    assert fast == plain


def test_text_mode_with_static_cache(moss_tiny) -> None:
    """No audio, no suffix: the prefill logits feed the static loop too."""
    model, processor = moss_tiny
    ids = [151644, 872, 198, 8102, 2610, 151645, 198, 151644, 77091, 198]
    config = GenerationConfig(max_new_tokens=9)
    plain = MossAudioGenerator(model, processor).generate_tasks_batch([AUDIOS[0]], [[ids]], config)
    fast = MossAudioGenerator(
        model, processor, DecodeOptions(static_cache=True, sync_every=2)
    ).generate_tasks_batch([AUDIOS[0]], [[ids]], config)
    assert [r.token_ids for r in fast[0]] == [r.token_ids for r in plain[0]]


def test_preallocated_cache_writes_in_place() -> None:
    keys = [torch.zeros(2, 1, 5, 3)]
    values = [torch.zeros(2, 1, 5, 3)]
    cache = PreallocatedCache(keys, values, filled=2)
    new = torch.ones(2, 1, 1, 3)
    full_keys, full_values = cache.update(new, 2 * new, 0)
    assert full_keys.data_ptr() == keys[0].data_ptr()
    assert full_keys[:, :, 2].eq(1).all() and full_values[:, :, 2].eq(2).all()
    assert full_keys[:, :, [0, 1, 3, 4]].eq(0).all()
    assert cache.get_seq_length() == 2


def test_options_are_validated(moss_tiny) -> None:
    model, processor = moss_tiny
    with pytest.raises(ValueError, match="need static_cache"):
        MossAudioGenerator(model, processor, DecodeOptions(sync_every=4))
    with pytest.raises(ValueError, match="need static_cache"):
        MossAudioGenerator(model, processor, DecodeOptions(step="compile"))
    with pytest.raises(ValueError, match="sync_every must be"):
        MossAudioGenerator(model, processor, DecodeOptions(static_cache=True, sync_every=0))
    if model.device.type != "cuda":
        with pytest.raises(ValueError, match="CUDA"):
            MossAudioGenerator(
                model, processor, DecodeOptions(static_cache=True, step="cuda_graph")
            )


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="no C compiler"
)
def test_compiled_step_equals_plain(moss_tiny) -> None:
    model, processor = moss_tiny
    config = GenerationConfig(max_new_tokens=6)
    plain, plain_stream = run(model, processor, None, config)
    compiled, compiled_stream = run(
        model, processor, DecodeOptions(static_cache=True, step="compile", sync_every=3), config
    )
    assert compiled == plain
    assert compiled_stream == plain_stream


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_step_equals_plain(moss_tiny) -> None:
    from perception.moss import load_moss_audio
    from tests.fixtures.moss import PARITY_DIR

    model, processor = load_moss_audio(
        PARITY_DIR / "checkpoint", dtype="float32", device="cuda", attn_implementation="sdpa"
    )
    config = GenerationConfig(max_new_tokens=8)
    plain, plain_stream = run(model, processor, None, config)
    graphed, graphed_stream = run(
        model, processor, DecodeOptions(static_cache=True, step="cuda_graph", sync_every=4), config
    )
    assert graphed == plain
    assert graphed_stream == plain_stream


@pytest.mark.parametrize(
    "options", [None, *FAST], ids=lambda o: "plain" if o is None else f"static-sync{o.sync_every}"
)
def test_per_task_limits_cut_each_row(moss_tiny, options: DecodeOptions | None) -> None:
    """Per-task token budgets (fixed decode lengths in the GPU benchmark): each row is the
    unlimited run cut at its budget, finishing for "length"."""
    from perception.moss.generation import generate_from_prompts

    model, processor = moss_tiny
    generator = MossAudioGenerator(model, processor)
    audio = generator.encode(AUDIOS)
    prefixes, tasks, _ = generator.prompts(audio.lengths.tolist(), TASKS)
    config = GenerationConfig(max_new_tokens=9, ignore_stop_tokens=True)
    stops = processor.stop_token_ids
    full = generate_from_prompts(model, audio, prefixes, tasks, config, stops)
    limits = [9, 5, 2, 7, 1]
    streamed: list[tuple[int, int]] = []
    cut = generate_from_prompts(
        model, audio, prefixes, tasks, config, stops,
        on_token=lambda row, token: streamed.append((row, token)), options=options, limits=limits,
    )  # fmt: skip
    assert cut == [(ids[:n], "length") for (ids, _), n in zip(full, limits, strict=True)]
    assert sorted(streamed) == sorted((row, t) for row, (ids, _) in enumerate(cut) for t in ids)
    with pytest.raises(ValueError, match="one value per task"):
        generate_from_prompts(model, audio, prefixes, tasks, config, stops, limits=[3])


def test_backend_decode_option(moss_tiny) -> None:
    """``MossBackend(decode=...)`` (``-o decode=static``) gives the plain loop's answers."""
    from perception.backend import BackendUnavailableError
    from perception.backends.moss import MossBackend

    model, processor = moss_tiny
    answers = {}
    for mode in ("plain", "static"):
        backend = MossBackend(model=model, processor=processor, max_new_tokens=7, decode=mode)
        answers[mode] = [
            [r.token_ids for r in rows]
            for rows in backend.generate(AUDIOS, [QUESTIONS, QUESTIONS[:1]])
        ]
    assert answers["static"] == answers["plain"]
    with pytest.raises(ValueError, match="decode must be one of"):
        MossBackend(model=model, processor=processor, decode="fast")
    if model.device.type != "cuda":
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            MossBackend(model=model, processor=processor, decode="cuda_graph")


def test_preallocated_cache_takes_over_the_dynamic_cache() -> None:
    from transformers import DynamicCache

    from tests.fixtures.moss import small_random_config

    config = small_random_config().language_config
    cache = DynamicCache(config=config)
    for layer in range(config.num_hidden_layers):
        cache.update(torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 8), layer)
    originals = [(layer.keys.clone(), layer.values.clone()) for layer in cache.layers]
    static = PreallocatedCache.from_cache(cache, capacity=9)
    assert static.get_seq_length() == 5
    for (k, v), sk, sv in zip(originals, static.keys, static.values, strict=True):
        assert sk.shape == (2, 3, 9, 8)
        assert torch.equal(sk[:, :, :5], k) and torch.equal(sv[:, :, :5], v)
        assert sk[:, :, 5:].eq(0).all()
    assert all(layer.keys.numel() == 0 and layer.values.numel() == 0 for layer in cache.layers)
