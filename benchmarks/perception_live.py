"""Live mode: from the end of an utterance to its transcript event (lite backend).

    .venv/bin/python benchmarks/perception_live.py [--copies 3]

The espeak-ng meeting (repeated COPIES times, one session) is fed as 20 ms int16 PCM
chunks, as a microphone or WebRTC track would deliver them. A virtual clock replays real
time: chunk k is due when its audio has been spoken; a feed call that takes longer than
20 ms delays the following chunks (backlog counts). An utterance's latency is the clock
when the last transcript segment covering it came out, minus the utterance's true end.
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
    args = parser.parse_args()

    from perception.backends import get_backend
    from perception.engine import Perceiver
    from perception.events import TranscriptSegment
    from perception.synthetic import meeting

    scene = meeting()
    audio = np.concatenate([scene.audio] * args.copies)
    utterances = [(u.start + k * scene.duration, u.end + k * scene.duration)
                  for k in range(args.copies) for u in scene.utterances]
    backend = get_backend("lite")
    perceiver = Perceiver(backend, session_id="live")
    # Warm-up outside the clock: the first Whisper call pays one-off initialisation.
    list(Perceiver(backend).process_array(scene.audio[: 5 * SR], "warm-up"))

    pcm = (audio * 32767).astype(np.int16)
    clock = 0.0
    done_at: dict[int, float] = {}
    processing: list[float] = []
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
            for k, (a, b) in enumerate(utterances):
                if min(b, e.end) - max(a, e.start) > 0:
                    done_at[k] = clock
    latencies = np.array([done_at[k] - b for k, (_, b) in enumerate(utterances) if k in done_at])
    missed = len(utterances) - len(latencies)
    print(f"utterances: {len(utterances)} (missed {missed}), window closes after "
          f"{perceiver.config.end_of_utterance} s of silence")
    print(f"end of utterance -> transcript event: p50 {np.percentile(latencies, 50):.2f} s, "
          f"p95 {np.percentile(latencies, 95):.2f} s, max {latencies.max():.2f} s")
    print(f"processing time of the feed calls that emitted them: p50 {np.percentile(processing, 50):.2f} s, "
          f"p95 {np.percentile(processing, 95):.2f} s")


if __name__ == "__main__":
    main()
