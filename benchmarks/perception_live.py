"""Live mode: from the end of an utterance to its transcript event (lite backend).

    .venv/bin/python benchmarks/perception_live.py [--copies 3]

The espeak-ng meeting (repeated COPIES times, one session) is fed as 20 ms int16 PCM
chunks, as a microphone or WebRTC track would deliver them. A virtual clock replays real
time: chunk k is due when its audio has been spoken; a feed call that takes longer than
20 ms delays the following chunks (backlog counts). An utterance's latency is the clock
when the last transcript segment covering it came out, minus the utterance's true end.

The session runs twice, with speculation (a window is analysed 0.2 s into its closing
pause and released when the pause reaches 0.4 s) and without (analysed at 0.4 s), so the
two are compared under the same machine load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SR = 16_000
CHUNK = int(0.02 * SR)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--mode", choices=["both", "speculative", "plain"], default="both")
    args = parser.parse_args()

    from perception.backends import get_backend
    from perception.engine import Perceiver
    from perception.synthetic import meeting
    from perception.windowing import WindowConfig

    scene = meeting()
    audio = np.concatenate([scene.audio] * args.copies)
    utterances = [
        (u.start + k * scene.duration, u.end + k * scene.duration)
        for k in range(args.copies)
        for u in scene.utterances
    ]
    backend = get_backend("lite")
    # Warm-up outside the clock: the first Whisper call pays one-off initialisation.
    list(Perceiver(backend).process_array(scene.audio[: 5 * SR], "warm-up"))
    analyze = backend.analyze
    backend_times: list[float] = []

    def timed_analyze(windows):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return analyze(windows)
        finally:
            backend_times.append(time.perf_counter() - t0)

    backend.analyze = timed_analyze  # type: ignore[method-assign]
    modes = ["speculative", "plain"] if args.mode == "both" else [args.mode]
    pcm = (audio * 32767).astype(np.int16)
    for mode in modes:
        backend_times.clear()
        config = WindowConfig.for_backend(
            backend,
            speculate_after=0.2 if mode == "speculative" else None,
        )
        perceiver = Perceiver(backend, config, session_id=f"live-{mode}")
        print(f"--- {mode}")
        run(perceiver, pcm, utterances, backend_times)


def run(
    perceiver,
    pcm: np.ndarray,
    utterances: list[tuple[float, float]],  # type: ignore[no-untyped-def]
    backend_times: list[float],
) -> None:
    from perception.events import TranscriptSegment

    clock = 0.0
    done_at: dict[int, float] = {}
    processing: list[float] = []
    texts: list[str] = []
    for i in range(0, len(pcm), CHUNK):
        due = (i + CHUNK) / SR
        clock = max(clock, due)
        t0 = time.perf_counter()
        events = perceiver.feed(pcm[i : i + CHUNK].tobytes())
        spent = time.perf_counter() - t0
        clock += spent
        for e in events:
            if not isinstance(e, TranscriptSegment):
                continue
            processing.append(spent)
            texts.append(e.text)
            for k, (a, b) in enumerate(utterances):
                if min(b, e.end) - max(a, e.start) > 0:
                    done_at[k] = clock
    latencies = np.array([done_at[k] - b for k, (_, b) in enumerate(utterances) if k in done_at])
    missed = len(utterances) - len(latencies)
    print(
        f"utterances: {len(utterances)} (missed {missed}), window closes after "
        f"{perceiver.config.end_of_utterance} s of silence"
    )
    print(
        f"end of utterance -> transcript event: p50 {np.percentile(latencies, 50):.2f} s, "
        f"p95 {np.percentile(latencies, 95):.2f} s, max {latencies.max():.2f} s"
    )
    print(
        f"processing time of the feed calls that emitted them: p50 {np.percentile(processing, 50):.2f} s, "
        f"p95 {np.percentile(processing, 95):.2f} s"
    )
    print(
        f"backend calls: {len(backend_times)}, each p50 {np.percentile(backend_times, 50):.2f} s, "
        f"total {sum(backend_times):.1f} s for {len(pcm) / SR:.0f} s of audio"
    )
    print(f"transcript ({sum(len(t.split()) for t in texts)} words): {' | '.join(texts[:6])} ...")


if __name__ == "__main__":
    main()
