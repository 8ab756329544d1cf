"""Perception framework overhead of the `moss` and `remote` backends beside the bare model.

A medium random MOSS-Audio (LM hidden 512, 8 layers; encoder 6 layers) is saved to a
temporary checkpoint and loaded like a real one. For each window, side by side:
- bare: ``MossAudioGenerator.generate_tasks_batch`` with the three task prompts (one encoder pass,
  prefix reuse), nothing else;
- moss: ``MossBackend.analyze`` (the same generation plus parsing, stamping, checks);
- remote: ``RemoteBackend.analyze`` against ``moss-agent serve``'s server (in this process,
  on loopback) over the same model: WAV + base64 + HTTP + request batching on top.
Greedy decoding with a fixed number of new tokens, so every variant computes the same.
Shared CPUs are noisy, so the overhead is also measured inside each call: the time the
backend's analyze spends outside the model's generate call (for remote, outside the
server's generate call), which does not depend on what else runs on the machine.

    .venv/bin/python benchmarks/perception_moss.py [--window 30] [--reps 5] [--tokens 32]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.moss_model import medium_config  # noqa: E402  (the same model as the model benchmark)
from perception.backend import Window  # noqa: E402
from perception.backends.moss import MossBackend  # noqa: E402
from perception.backends.remote import RemoteBackend  # noqa: E402
from perception.moss import MossAudioGenerator, MossAudioModel, save_moss_audio  # noqa: E402
from perception.parsers import DEFAULT_TASKS, PROMPTS  # noqa: E402
from perception.server.app import MossChatServer, serve  # noqa: E402
from tests.perception.tiny_moss import write_byte_tokenizer  # noqa: E402


def start_server(backend: MossBackend) -> str:
    """Run the serve app in a background thread; returns its /v1 URL."""
    ready = threading.Event()
    urls: list[str] = []

    def run() -> None:
        server = MossChatServer(backend, model_name="medium-random")

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        asyncio.run(serve(server, "127.0.0.1", 0, on_ready=on_ready))

    threading.Thread(target=run, daemon=True).start()
    ready.wait(60)
    return urls[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=30.0, help="window length, seconds")
    parser.add_argument("--reps", type=int, default=3, help="measured rounds (after one warm-up)")
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per task")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the random model's nonsense makes parsers warn

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        checkpoint = save_moss_audio(MossAudioModel(medium_config()), Path(tmp) / "ckpt")
        tokenizer = write_byte_tokenizer(Path(tmp) / "tokenizer")
        backend = MossBackend(checkpoint=checkpoint, tokenizer=tokenizer, dtype="float32",
                              device="cpu", max_new_tokens=args.tokens)  # fmt: skip
        model, processor = backend.torch_model, backend.processor
        # Stop only on the last vocabulary id (which the random model all but never picks), so
        # every variant decodes --tokens tokens per task.
        config = backend.generation_config(stop_token_ids=(151935,))
        backend.generation_config = lambda **kw: config  # type: ignore[method-assign]
        inside: list[float] = []  # seconds spent in generate during the current call
        generate = backend.generate

        def timed_generate(*a, **kw):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return generate(*a, **kw)
            finally:
                inside.append(time.perf_counter() - t0)

        backend.generate = timed_generate  # type: ignore[method-assign]
        url = start_server(backend)
        remote = RemoteBackend(url=url, max_tokens=args.tokens, retries=0, timeout=600)
        rng = np.random.default_rng(0)
        samples = (0.1 * rng.standard_normal(int(16000 * args.window))).astype(np.float32)
        window = Window("bench", 0, 0.0, samples)
        prompts = [PROMPTS[t] for t in DEFAULT_TASKS]

        def bare() -> None:
            MossAudioGenerator(model, processor).generate_tasks_batch([samples], [prompts], config)

        variants = {"bare": bare, "moss": lambda: backend.analyze([window]),
                    "remote": lambda: remote.analyze([window])}  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in variants}
        outside: dict[str, list[float]] = {name: [] for name in variants}
        calls: dict[str, list[int]] = {name: [] for name in variants}
        for rep in range(args.reps + 1):
            for name, run in variants.items():
                inside.clear()
                t0 = time.perf_counter()
                run()
                total = time.perf_counter() - t0
                if rep:  # the first round warms up
                    times[name].append(total)
                    outside[name].append(total - sum(inside) if name != "bare" else 0.0)
                    calls[name].append(len(inside))
        remote.close()

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"window {args.window:g} s, 3 tasks x {args.tokens} new tokens, {args.reps} rounds, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    print(
        "| variant | median s / window | min s | vs bare (medians) | vs bare (mins) "
        "| outside the model, median s | share of the call | generate calls / window |"
    )
    print("|---|---|---|---|---|---|---|---|")
    best = {name: min(values) for name, values in times.items()}
    for name in times:
        if name == "bare":
            print(f"| bare | {medians[name]:.3f} | {best[name]:.3f} | - | - | - | - | 1 |")
            continue
        extra = statistics.median(outside[name])
        print(f"| {name} | {medians[name]:.3f} | {best[name]:.3f} | "
              f"{100 * (medians[name] / medians['bare'] - 1):+.1f} % | "
              f"{100 * (best[name] / best['bare'] - 1):+.1f} % | "
              f"{extra:.4f} | {100 * extra / medians[name]:.2f} % | {statistics.median(calls[name]):g} |")  # fmt: skip


if __name__ == "__main__":
    main()
