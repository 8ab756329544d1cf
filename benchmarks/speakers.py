"""Who spoke: speaker identity of the lite backend on real voices, live and refined.

    .venv/bin/python benchmarks/speakers.py [--cache DIR] [--code CHECKOUT] [--files a,b]
                                            [--spread SECONDS]

Runs the whole lite pipeline (`Perceiver(get_backend("lite")).process_array`, as
`moss-agent transcribe` does) over the real-voice dev set of benchmarks/speaker_devset.py
and over two espeak-ng meetings, and reports for each file:
- speakers found vs true;
- line accuracy: each reference line takes the label of the predicted transcript
  segments covering most of it; labels map one-to-one to true speakers (best mapping);
- DER with a 0.25 s collar (10 ms frames; the transcript segments are the hypothesis);
- CPU seconds of the speaker part (embedding + clustering, + refinement) against the CPU
  seconds of the whole pipeline (all threads of the process).
"Live" is what the online clusterer emitted; "refined" is after whole-session
re-clustering (perception.speaker_refinement). ``--code`` benchmarks another checkout of
the project (e.g. the code before this benchmark existed, with ``--live-only``).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
SR = 16_000
COLLAR = 0.25


# --- metrics ---------------------------------------------------------------------------------

Line = tuple[float, float, str]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def line_accuracy(reference: list[Line], predicted: list[Line]) -> float:
    from scipy.optimize import linear_sum_assignment

    picked: list[str | None] = []
    for r0, r1, _ in reference:
        votes: dict[str, float] = {}
        for p0, p1, who in predicted:
            votes[who] = votes.get(who, 0.0) + _overlap(r0, r1, p0, p1)
        best = max(votes.items(), key=lambda kv: kv[1], default=None)
        picked.append(best[0] if best is not None and best[1] > 0 else None)
    truths = sorted({t for _, _, t in reference})
    labels = sorted({p for p in picked if p is not None})
    if not labels:
        return 0.0
    counts = np.zeros((len(labels), len(truths)))
    for (_, _, truth), p in zip(reference, picked, strict=True):
        if p is not None:
            counts[labels.index(p), truths.index(truth)] += 1
    rows, cols = linear_sum_assignment(-counts)
    return float(counts[rows, cols].sum() / len(reference))


def der(
    reference: list[Line], predicted: list[Line], duration: float, collar: float = COLLAR
) -> float:
    from scipy.optimize import linear_sum_assignment

    n = int(np.ceil(duration * 100)) + 1
    truths = sorted({t for _, _, t in reference})
    labels = sorted({p for _, _, p in predicted})
    ref = np.zeros((len(truths), n), bool)
    hyp = np.zeros((max(1, len(labels)), n), bool)
    scored = np.ones(n, bool)
    for a, b, t in reference:
        ref[truths.index(t), int(a * 100) : int(b * 100)] = True
        for edge in (a, b):
            scored[max(0, int((edge - collar) * 100)) : int((edge + collar) * 100)] = False
    for a, b, p in predicted:
        hyp[labels.index(p), int(a * 100) : int(b * 100)] = True
    ref, hyp = ref[:, scored], hyp[:, scored]
    shared = ref.astype(float) @ hyp.T.astype(float)
    rows, cols = linear_sum_assignment(-shared)
    correct = np.zeros(ref.shape[1])
    for r, c in zip(rows, cols, strict=True):
        correct += ref[r] & hyp[c]
    errors = np.maximum(ref.sum(0), hyp.sum(0)) - correct
    total = ref.sum()
    return float(errors.sum() / total) if total else 0.0


# --- files -----------------------------------------------------------------------------------


def espeak_files() -> list[tuple[str, np.ndarray, list[Line], int]]:
    from perception.synthetic import DISTINCT_VOICES, compose, meeting

    scenes = {"espeak_meeting": meeting()}
    lines = [
        "Good morning, shall we start with the budget?",
        "Yes, the numbers came in last night.",
        "I looked at them, the travel line is too high.",
        "We can cut the conference trips.",
        "Agreed. Who writes the summary?",
        "I will, by Friday.",
        "And the hiring plan?",
        "Two people in the spring, one in the autumn.",
    ]
    script = [("say", DISTINCT_VOICES[i % 4], text) for i, text in enumerate(lines)]
    scenes["espeak_four_voices"] = compose(script)
    out = []
    for name, scene in scenes.items():
        ref = [(u.start, u.end, u.speaker) for u in scene.utterances]
        out.append((name, scene.audio, ref, len({u.speaker for u in scene.utterances})))
    return out


def real_files(cache: Path) -> list[tuple[str, np.ndarray, list[Line], int]]:
    sys.path.insert(0, str(HERE))
    from speaker_devset import DEFAULT_CACHE, build, load_reference

    out = []
    for wav in build(cache or DEFAULT_CACHE):
        audio, _ = sf.read(wav, dtype="float32")
        ref = load_reference(wav)
        lines = [(x["start"], x["end"], x["speaker"]) for x in ref["lines"]]
        out.append((wav.stem, audio, lines, len(ref["speakers"])))
    return out


def spread(audio: np.ndarray, ref: list[Line], seconds: float) -> tuple[np.ndarray, list[Line]]:
    """``audio`` with ``seconds`` of silence added in the middle of every second pause
    between reference lines (of at least 0.2 s), and the reference moved to match: long
    silences inside files, which windows leave out."""
    lines = sorted(ref)
    cuts = [
        (a[1] + b[0]) / 2
        for k, (a, b) in enumerate(zip(lines, lines[1:], strict=False))
        if k % 2 == 0 and b[0] - a[1] >= 0.2
    ]
    pieces, moved, done = [], [], 0
    for t in cuts:
        i = int(t * SR)
        pieces += [audio[done:i], np.zeros(int(seconds * SR), np.float32)]
        done = i
    pieces.append(audio[done:])
    for a, b, who in lines:
        shift = seconds * sum(1 for t in cuts if t < a)
        moved.append((a + shift, b + shift, who))
    return np.concatenate(pieces).astype(np.float32), moved


# --- one run ---------------------------------------------------------------------------------


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_file(backend, audio: np.ndarray, name: str, refine: bool = True):
    from perception.engine import Perceiver
    from perception.events import TranscriptSegment

    spent = [0.0]
    # The speaker part of each window: looking for voice changes inside segments (where
    # the code has it), embeddings and clustering.
    parts = [m for m in ("_split_at_voice_changes", "_speakers_of") if hasattr(backend, m)]
    inner = {m: getattr(backend, m) for m in parts}

    def timed(method):
        def run(*args, **kw):
            t0 = time.thread_time()
            try:
                return method(*args, **kw)
            finally:
                spent[0] += time.thread_time() - t0

        return run

    for m in parts:
        setattr(backend, m, timed(inner[m]))
    c0, w0 = _cpu(), time.monotonic()
    try:
        events = list(Perceiver(backend).process_array(audio, name))
    finally:
        for m in parts:
            setattr(backend, m, inner[m])
    live = [e for e in events if isinstance(e, TranscriptSegment)]
    refined = None
    if refine:
        from perception.speaker_refinement import refine_speakers

        t0 = time.thread_time()
        refined = [e for e in refine_speakers(events) if isinstance(e, TranscriptSegment)]
        spent[0] += time.thread_time() - t0
    return live, refined, spent[0], _cpu() - c0, time.monotonic() - w0


def _lines(segments) -> list[Line]:
    return [(s.start, s.end, s.speaker) for s in segments if s.speaker is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="dev set folder")
    parser.add_argument(
        "--code", type=Path, default=HERE.parent, help="project checkout to benchmark"
    )
    parser.add_argument("--files", help="comma-separated file names (default: all)")
    parser.add_argument(
        "--live-only", action="store_true", help="no refinement (for code from before it existed)"
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="add this much silence at every second pause between lines of each file",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from perception.backends import get_backend

    files = real_files(args.cache) + espeak_files()
    if args.files:
        wanted = set(args.files.split(","))
        files = [f for f in files if f[0] in wanted]
    backend = get_backend("lite")
    print(f"code: {args.code}  threads: {os.cpu_count()} cpus")
    head = (
        f"{'file':22s} {'true':>4s} | {'live':>4s} {'acc':>5s} {'DER':>5s} | "
        f"{'ref.':>4s} {'acc':>5s} {'DER':>5s} | {'spk cpu':>7s} {'all cpu':>7s} {'share':>5s} {'audio':>6s}"
    )
    print(head)
    print("-" * len(head))
    for name, audio, ref, true in files:
        if args.spread > 0:
            audio, ref = spread(audio, ref, args.spread)
        live, refined, spk, total, _wall = run_file(backend, audio, name, refine=not args.live_only)
        duration = len(audio) / SR
        lv = _lines(live)
        row = (
            f"{name:22s} {true:4d} | "
            f"{len({x[2] for x in lv}):4d} {line_accuracy(ref, lv):5.2f} {der(ref, lv, duration):5.2f} | "
        )
        if refined is not None:
            rf = _lines(refined)
            row += f"{len({x[2] for x in rf}):4d} {line_accuracy(ref, rf):5.2f} {der(ref, rf, duration):5.2f} | "
        else:
            row += f"{'-':>4s} {'-':>5s} {'-':>5s} | "
        row += f"{spk:7.1f} {total:7.1f} {spk / max(total, 1e-9):5.0%} {duration:5.0f}s"
        print(row, flush=True)
    backend.close()


if __name__ == "__main__":
    main()
