"""Recorder overhead: recording into SQLite memory beside bare perception on the same file.

    .venv/bin/python benchmarks/recorder_overhead.py [--repeats 3]

Both runs share one lite backend (models loaded once, before timing) and the espeak-ng
meeting; the ratio is recorder time / bare ``Perceiver.process_file`` time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agent.recording.recorder import Recorder
from memory import open_memory
from perception.backends import get_backend
from perception.engine import Perceiver
from perception.synthetic import meeting


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-recorder-"))
    wav = work / "meeting.wav"
    meeting().write(str(wav))
    backend = get_backend("lite")
    list(Perceiver(backend).process_file(wav, "warm-up"))
    bare, recorded = [], []
    for i in range(args.repeats):
        t = time.perf_counter()
        list(Perceiver(backend).process_file(wav, f"bare{i}"))
        bare.append(time.perf_counter() - t)
        memory = open_memory(f"sqlite:///{work / f'memory{i}.db'}")
        t = time.perf_counter()
        Recorder(memory, backend, archive_audio=True).record_file(wav)
        recorded.append(time.perf_counter() - t)
        memory.close()
    b, r = statistics.median(bare), statistics.median(recorded)
    print(f"31.6 s meeting, {args.repeats} runs each, medians:")
    print(f"  bare perception      {b:6.2f} s")
    print(f"  recorder (+archive)  {r:6.2f} s   ratio {r / b:.2f}x")


if __name__ == "__main__":
    main()
