"""MOSS-Audio model speed on CPU with a medium random config (LM hidden 512, 8 layers; encoder 6 layers).

The random weights are saved to a temporary checkpoint and loaded like a real one (float32).
Measured side by side in one run, medians over ``--reps``:
- prefill of one 30 s window: features, encoder + adapters, time to first token;
- decode tokens/s at batch 1 (between the first and the last streamed token);
- 3 tasks on one window with prefix reuse (``generate_tasks``) vs 3 independent runs, both
  relative to a single task (ratios taken per rep, then the median);
- 8 windows batched in one ``generate`` call vs one call per window (``--reps`` - 1 runs).
The variants alternate rep by rep so that they see the same load on a shared machine.
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
    MossAudioGenerator,
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


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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

    def run(audios: list[np.ndarray], question: list[int]) -> None:
        results = MossAudioGenerator(model, processor).generate(
            audios, [question] * len(audios), gen
        )
        assert all(len(r.token_ids) == args.tokens for r in results)

    def one_task() -> tuple[float, float, float]:
        """(total, time to first token, decode tokens/s) from the streaming callback's clock."""
        stamps: list[float] = []
        start = time.perf_counter()
        MossAudioGenerator(model, processor).generate(
            [audio30],
            [QUESTIONS[1]],
            gen,
            on_token=lambda r, t: stamps.append(time.perf_counter()),
        )
        total = time.perf_counter() - start
        return total, stamps[0] - start, (len(stamps) - 1) / (stamps[-1] - stamps[0])

    def tasks_reused() -> None:
        results = MossAudioGenerator(model, processor).generate_tasks(audio30, QUESTIONS, gen)
        assert all(len(r.token_ids) == args.tokens for r in results)

    run([audio30], QUESTIONS[0])  # warm-up (allocator, kernels)

    # Alternate the variants rep by rep, so that they see the same load on a shared machine.
    rows: dict[str, list[float]] = {
        name: [] for name in ("features", "encoder", "one", "ttft", "tps", "reuse", "independent")
    }
    for _ in range(args.reps):
        rows["features"].append(timed(lambda: processor.features(audio30)))
        with torch.no_grad():
            rows["encoder"].append(
                timed(lambda: MossAudioGenerator(model, processor).encode([audio30]))
            )
        total, ttft, tps = one_task()
        rows["one"].append(total)
        rows["ttft"].append(ttft)
        rows["tps"].append(tps)
        rows["reuse"].append(timed(tasks_reused))
        rows["independent"].append(timed(lambda: [run([audio30], q) for q in QUESTIONS]))
    med = {name: statistics.median(values) for name, values in rows.items()}
    # Per-rep ratios, then their median: robust to load changing between reps.
    reuse_ratio = statistics.median(r / o for r, o in zip(rows["reuse"], rows["one"], strict=True))
    independent_ratio = statistics.median(
        i / o for i, o in zip(rows["independent"], rows["one"], strict=True)
    )

    features = processor.features(audio30)
    prompt_len = len(processor.build_prompt(QUESTIONS[1], features.n_audio_tokens))
    print(f"\n30 s window: {features.n_frames} mel frames, {features.n_audio_tokens} audio tokens, "
          f"{prompt_len}-token prompt")  # fmt: skip
    print(f"  features (log-mel)                 {med['features'] * 1000:8.1f} ms")
    print(f"  features + encoder + adapters      {med['encoder'] * 1000:8.1f} ms")
    print(f"  prefill, time to first token       {med['ttft'] * 1000:8.1f} ms")
    print(f"  decode, batch 1                    {med['tps']:8.1f} tokens/s")

    print(f"\n3 tasks on one 30 s window, {args.tokens} tokens each")
    print(f"  one task                           {med['one']:8.2f} s")
    print(
        f"  3 tasks, prefix reuse              {med['reuse']:8.2f} s   {reuse_ratio:5.2f}x one task"
    )
    print(f"  3 independent runs                 {med['independent']:8.2f} s   "
          f"{independent_ratio:5.2f}x one task")  # fmt: skip

    windows = [window(30.0, seed) for seed in range(8)]
    batched, serial = [], []
    for _ in range(max(1, args.reps - 1)):  # the longest rows
        batched.append(timed(lambda: run(windows, QUESTIONS[0])))
        serial.append(timed(lambda: [run([w], QUESTIONS[0]) for w in windows]))
    batch_ratio = statistics.median(b / s for b, s in zip(batched, serial, strict=True))
    print(f"\n8 windows x 30 s, {args.tokens} tokens each")
    print(f"  one generate call (batch 8)        {statistics.median(batched):8.2f} s")
    print(f"  one call per window                {statistics.median(serial):8.2f} s")
    print(f"  batched / one-by-one               {batch_ratio:8.2f}x")


if __name__ == "__main__":
    main()
