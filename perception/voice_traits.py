"""How a voice sounds, from cheap measurements: pitch, loudness and speaking rate.

These are heuristics (no emotion model): they describe, they do not diagnose, and the
events built from them say ``heuristic=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.acoustics import pitch_track
from perception.backend import SAMPLE_RATE


@dataclass(frozen=True)
class VoiceDescription:
    traits: dict[str, str]
    summary: str


def describe_voice(samples: np.ndarray, words: int) -> VoiceDescription | None:
    """Pitch band, loudness and pace of one stretch of speech; None if too little voice."""
    duration = len(samples) / SAMPLE_RATE
    f0 = pitch_track(samples)
    if duration < 0.5 or f0.size < 5:
        return None
    median_f0 = float(np.median(f0))
    spread = float(np.std(12 * np.log2(f0 / median_f0)))  # semitones
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    level = 20 * np.log10(max(rms, 1e-10))
    rate = words / duration if duration > 0 else 0.0

    pitch = "low" if median_f0 < 140 else "high" if median_f0 > 210 else "medium"
    loudness = "quiet" if level < -35 else "loud" if level > -12 else "normal"
    pace = "slow" if rate < 1.8 else "fast" if rate > 3.6 else "normal"
    melody = "monotone" if spread < 1.0 else "animated" if spread > 4.0 else "varied"
    traits = {
        "pitch": pitch,
        "pitch_hz": f"{median_f0:.0f}",
        "intonation": melody,
        "loudness": loudness,
        "level_dbfs": f"{level:.1f}",
        "pace": pace,
        "words_per_second": f"{rate:.1f}",
    }
    summary = f"{pitch} pitch ({median_f0:.0f} Hz), {melody} intonation, {loudness}, {pace} pace ({rate:.1f} words/s)"
    return VoiceDescription(traits, summary)


__all__ = ["VoiceDescription", "describe_voice"]
