"""MOSS-Audio model speed on CPU with a medium random config (LM hidden 512, 8 layers; encoder 6 layers).

The random weights are saved to a temporary checkpoint and loaded like a real one (float32).
Measured side by side in one run, medians over ``--reps``:
- prefill of one 30 s window: features, encoder + adapters, LM prefill (time to first token);
- decode tokens/s at batch 1 (generate N tokens minus generate 1 token, divided by N - 1);
- 8 windows batched in one ``generate`` call vs one call per window (``--reps`` - 1 runs);
- 3 tasks on one window with prefix reuse (``generate_tasks``) vs 3 independent runs, both
  relative to a single task.
Greedy decoding with a stop token the model never emits, so every run decodes exactly
``--tokens`` tokens.

    .venv/bin/python benchmarks/moss_model.py [--reps 3] [--tokens 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from perception.moss import (  # noqa: E402
    GenerationConfig,
    MossAudioConfig,
    MossAudioEncoderConfig,
    MossAudioModel,
    load_moss_audio,
    save_moss_audio,
)

QUESTIONS = [  # three task prompts of realistic length, as ids (the random checkpoint has no tokenizer)
    list(range(1000, 1012)),
    list(range(2000, 2040)),
    list(range(3000, 3025)),
]
NEVER = 151935  # last vocabulary id: the stop token, so that runs decode a fixed count


def medium_config() -> MossAudioConfig:
    from transformers import Qwen3Config

    language = Qwen3Config(
        vocab_size=151936, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
        num_attention_heads=8, num_key_value_heads=4, head_dim=64, max_position_embeddings=4096,
        rope_theta=1000000.0, tie_word_embeddings=False,
    )  # fmt: skip
    audio = MossAudioEncoderConfig(
        d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
        downsample_hidden_size=64, output_dim=512, deepstack_encoder_layer_indexes=[1, 3, 5],
    )  # fmt: skip
    return MossAudioConfig(audio_config=audio, language_config=language, adapter_hidden_size=1024)


def window(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    voice = np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.5 * t)) * t)
    return (0.3 * voice + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


def median_seconds(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=16, help="new tokens per answer")
    # One thread: on a shared, busy CPU two threads contend and run several times slower.
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        save_moss_audio(MossAudioModel(medium_config()), Path(tmp), dtype=torch.float32)
        model, processor = load_moss_audio(tmp, dtype="float32", device="cpu")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"medium random MOSS-Audio: {n_params / 1e6:.0f} M parameters, float32, CPU, "
          f"{args.threads} torch threads, {args.reps} reps, {args.tokens} new tokens")  # fmt: skip

    audio30 = window(30.0, 0)
    gen = GenerationConfig(max_new_tokens=args.tokens, stop_token_ids=(NEVER,))
    first_token = GenerationConfig(max_new_tokens=1, stop_token_ids=(NEVER,))

    def run(audios: list[np.ndarray], config: GenerationConfig, question: list[int]) -> None:
        results = model.generate(processor, audios, [question] * len(audios), config)
        assert all(len(r.token_ids) == config.max_new_tokens for r in results)

    # Warm-up (allocator, kernels).
    run([audio30], gen, QUESTIONS[0])

    features = processor.features(audio30)
    t_features = median_seconds(lambda: processor.features(audio30), args.reps)
    with torch.no_grad():
        t_encoder = median_seconds(lambda: model.encode(processor, [audio30]), args.reps)
    prompt_len = len(processor.build_prompt(QUESTIONS[0], features.n_audio_tokens))
    t_first = median_seconds(lambda: run([audio30], first_token, QUESTIONS[0]), args.reps)
    t_gen = median_seconds(lambda: run([audio30], gen, QUESTIONS[0]), args.reps)
    decode_tps = (args.tokens - 1) / (t_gen - t_first)
    print(f"\n30 s window: {features.n_frames} mel frames, {features.n_audio_tokens} audio tokens, "
          f"{prompt_len}-token prompt")  # fmt: skip
    print(f"  features (log-mel)                 {t_features * 1000:8.1f} ms")
    print(f"  features + encoder + adapters      {t_encoder * 1000:8.1f} ms")
    print(f"  prefill, time to first token       {t_first * 1000:8.1f} ms")
    print(f"  decode, batch 1                    {decode_tps:8.1f} tokens/s")

    windows = [window(30.0, seed) for seed in range(8)]
    long_reps = max(1, args.reps - 1)  # these rows take the most time
    t_batched = median_seconds(lambda: run(windows, gen, QUESTIONS[0]), long_reps)
    t_serial = median_seconds(lambda: [run([w], gen, QUESTIONS[0]) for w in windows], long_reps)
    print(f"\n8 windows x 30 s, {args.tokens} tokens each")
    print(f"  one generate call (batch 8)        {t_batched:8.2f} s")
    print(f"  one call per window                {t_serial:8.2f} s")
    print(f"  batched / one-by-one               {t_batched / t_serial:8.2f}x")

    def tasks_reused() -> None:
        results = model.generate_tasks(processor, audio30, QUESTIONS, gen)
        assert all(len(r.token_ids) == args.tokens for r in results)

    t_one = median_seconds(lambda: run([audio30], gen, QUESTIONS[1]), args.reps)
    t_reuse = median_seconds(tasks_reused, args.reps)
    t_independent = median_seconds(lambda: [run([audio30], gen, q) for q in QUESTIONS], args.reps)
    print(f"\n3 tasks on one 30 s window, {args.tokens} tokens each")
    print(f"  one task                           {t_one:8.2f} s")
    print(
        f"  3 tasks, prefix reuse              {t_reuse:8.2f} s   {t_reuse / t_one:5.2f}x one task"
    )
    print(f"  3 independent runs                 {t_independent:8.2f} s   "
          f"{t_independent / t_one:5.2f}x one task")  # fmt: skip


if __name__ == "__main__":
    main()
