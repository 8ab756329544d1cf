"""Scoring perception against ground truth: word error rate and onset timing.

Used by the tests (thresholds) and the benchmarks (numbers for docs/BENCHMARKS.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_NUMBERS = {
    "0": "zero",
    "1": "one",
    "2": "two",
    "3": "three",
    "4": "four",
    "5": "five",
    "6": "six",
    "7": "seven",
    "8": "eight",
    "9": "nine",
    "10": "ten",
}


def normalise_text(text: str) -> list[str]:
    """Lower case, no punctuation, small numbers spelled out, apostrophes kept (let's)."""
    words = re.sub(r"[^\w'\s]", " ", text.lower()).split()
    return [_NUMBERS.get(w, w) for w in (w.strip("'") for w in words) if w]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, on normalised text."""
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / len(ref)


def onset_errors(true_onsets: Sequence[float], segment_starts: Sequence[float]) -> np.ndarray:
    """For each true onset, the distance to the nearest detected segment start (seconds)."""
    starts = np.asarray(sorted(segment_starts), dtype=np.float64)
    if not starts.size:
        return np.full(len(true_onsets), np.inf)
    return np.array([float(np.min(np.abs(starts - t))) for t in true_onsets])


__all__ = ["normalise_text", "onset_errors", "word_error_rate"]
