"""Non-speech sounds from acoustic features: where they are and what kind they are.

No model: loud stretches that the transcript does not explain are cut out and described
by spectral flatness (noise vs. tones), tonality (energy in a few spectral peaks), pitch
stability, periodicity and the shape of the envelope (steady, decaying, on/off). That is
enough to say "tonal sound (chime-like)" for a doorbell or "tonal sound (ringing,
phone-like)" for a phone, and to tell noise, tones, music and silence apart. Every label
is a heuristic and says so (``heuristic=True`` on the events built from it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perception.acoustics import envelope_db, summarise
from perception.backend import SAMPLE_RATE
from perception.events import SoundCategory
from perception.vad import bridge, runs

ENV_STEP = 0.01  # seconds per envelope frame


@dataclass(frozen=True)
class DetectedSound:
    """A sound found in a clip; times are seconds from the clip's start."""

    start: float
    end: float
    label: str
    category: SoundCategory
    confidence: float
    attributes: dict[str, Any] = field(default_factory=dict)
    # True when the sound lies under transcript words: those words are likely a speech
    # model hallucinating over a tone, and the caller may drop them.
    overrides_words: bool = False


@dataclass(frozen=True)
class SoundDetector:
    threshold_db: float = -45.0  # quieter than this is silence
    min_duration: float = 0.25  # shorter sounds are clicks, not events
    bridge_gap: float = 0.3  # gaps this short inside a sound do not split it (ring cadence)
    min_silence: float = 5.0  # report silences at least this long
    word_pad: float = 0.15  # speech around word timestamps that is still the word
    min_override: float = 0.6  # a tone must last this long to overrule transcript words
    min_tonal: float = 0.4  # shorter stretches look tonal by chance (a vowel)
    min_vague: float = 1.0  # "speech-like" or unclassified stretches shorter than this are
    # leftovers of speech around the transcript's word times, not events

    def detect(
        self, samples: np.ndarray, words: Sequence[tuple[float, float]] = ()
    ) -> list[DetectedSound]:
        """Sounds in ``samples`` that are not the speech under ``words`` (start, end spans).

        Pass word spans, or segment spans (then pauses inside a sentence are not sounds).
        """
        env = envelope_db(samples, int(ENV_STEP * SAMPLE_RATE)) if len(samples) else np.zeros(0)
        loud = env > self.threshold_db
        gap = int(round(self.bridge_gap / ENV_STEP))
        regions = bridge(runs(loud), gap)
        covered = np.zeros(len(env), bool)
        for a, b in words:
            i0 = max(0, int((a - self.word_pad) / ENV_STEP))
            covered[i0 : int((b + self.word_pad) / ENV_STEP) + 1] = True
        found: list[DetectedSound] = []
        for r0, r1 in regions:
            for p0, p1, under_words in _split(covered, r0, r1):
                if (p1 - p0) * ENV_STEP < self.min_duration:
                    continue
                sound = self.classify(samples[p0 * 160 : p1 * 160], start=p0 * ENV_STEP)
                if under_words:
                    if (
                        sound.category in (SoundCategory.TONAL, SoundCategory.MUSIC)
                        and sound.confidence >= 0.7
                        and sound.end - sound.start >= self.min_override
                        and sound.attributes["pitch_stability"] >= 0.8
                    ):
                        found.append(_replace(sound, overrides_words=True))
                elif sound.category in (
                    SoundCategory.TONAL,
                    SoundCategory.NOISE,
                    SoundCategory.MUSIC,
                ) or (sound.end - sound.start >= self.min_vague):
                    found.append(sound)
        found += self._silences(loud)
        return _merge(sorted(found, key=lambda s: s.start), self.bridge_gap)

    def sounds(self, samples: np.ndarray) -> Iterator[DetectedSound]:
        """The sounds ``detect(samples)`` reports (no words given), one at a time and
        classified only when asked for, unmerged and without silences: for a caller that
        may stop at the first one (is any of it possibly speech?)."""
        env = envelope_db(samples, int(ENV_STEP * SAMPLE_RATE)) if len(samples) else np.zeros(0)
        gap = int(round(self.bridge_gap / ENV_STEP))
        for r0, r1 in bridge(runs(env > self.threshold_db), gap):
            if (r1 - r0) * ENV_STEP < self.min_duration:
                continue
            sound = self.classify(samples[r0 * 160 : r1 * 160], start=r0 * ENV_STEP)
            if sound.category in (
                SoundCategory.TONAL,
                SoundCategory.NOISE,
                SoundCategory.MUSIC,
            ) or (sound.end - sound.start >= self.min_vague):
                yield sound

    def classify(self, clip: np.ndarray, start: float = 0.0) -> DetectedSound:
        """Describe one stretch of sound (``start`` only places the result)."""
        duration = len(clip) / SAMPLE_RATE
        s = summarise(clip)
        stability = _pitch_stability(s.dominant_hz)
        shape = _envelope_shape(clip)
        attrs: dict[str, Any] = {
            "flatness": round(s.flatness, 3),
            "tonality": round(s.tonality, 3),
            "periodicity": round(s.periodicity, 3),
            "pitch_stability": round(stability, 3),
            "dominant_hz": round(float(np.median(s.dominant_hz)), 1)
            if s.dominant_hz.size
            else None,
            "level_db": round(s.level_db, 1),
            "envelope": shape,
            "steadiness": round(_steadiness(s.dominant_hz), 3),
        }
        notes = _distinct_notes(s.dominant_hz)
        if (
            s.tonality >= 0.6
            and s.flatness < 0.1
            and stability >= 0.6
            and duration >= self.min_tonal
        ):
            if notes >= 4 and duration >= 3.0:
                cat, label, conf = SoundCategory.MUSIC, "music (melodic, tonal)", 0.6
            elif shape == "on/off":
                cat, label, conf = SoundCategory.TONAL, "tonal sound (ringing, phone-like)", 0.8
                attrs["guess"] = "phone ringing"
            elif shape == "decaying":
                cat, label, conf = SoundCategory.TONAL, "tonal sound (chime-like)", 0.8
                attrs["guess"] = "doorbell or chime"
            else:
                cat, label, conf = SoundCategory.TONAL, "tonal sound (steady tone or beep)", 0.7
        elif (
            s.tonality >= 0.85
            and s.flatness < 0.1
            and notes >= 4
            and duration >= 3.0
            and _steadiness(s.dominant_hz) >= 0.85
        ):
            # Many pitches, each held (speech glides: its strongest partial rarely stays put).
            cat, label, conf = SoundCategory.MUSIC, "music (melodic, tonal)", 0.6
        elif s.flatness >= 0.25 or (s.tonality < 0.3 and s.periodicity < 0.3):
            if shape == "decaying" and duration < 2.0:
                cat, label, conf = SoundCategory.NOISE, "noise burst (impact-like)", 0.6
            else:
                cat, label, conf = SoundCategory.NOISE, "noise (broadband)", 0.6
        elif s.periodicity >= 0.4 and stability < 0.6:
            cat, label, conf = SoundCategory.SPEECH, "speech-like sound", 0.5
        elif notes >= 4 and duration >= 3.0 and s.tonality >= 0.45:
            cat, label, conf = SoundCategory.MUSIC, "music (mixed)", 0.5
        else:
            cat, label, conf = SoundCategory.OTHER, "sound", 0.4
        attrs["notes"] = notes
        return DetectedSound(start, start + duration, label, cat, conf, attrs)

    def _silences(self, loud: np.ndarray) -> list[DetectedSound]:
        out = []
        for a, b in runs(loud, value=False):
            if (b - a) * ENV_STEP >= self.min_silence:
                out.append(
                    DetectedSound(a * ENV_STEP, b * ENV_STEP, "silence", SoundCategory.SILENCE, 0.9)
                )
        return out


def _split(covered: np.ndarray, r0: int, r1: int) -> list[tuple[int, int, bool]]:
    """Pieces of [r0, r1) alternating between not-under-words and under-words."""
    seg = covered[r0:r1]
    out = [(r0 + a, r0 + b, False) for a, b in runs(seg, value=False)]
    out += [(r0 + a, r0 + b, True) for a, b in runs(seg, value=True)]
    return sorted(out)


def _pitch_stability(dominant_hz: np.ndarray) -> float:
    """Share of frames whose strongest partial sits on one of the three commonest semitones."""
    f = dominant_hz[dominant_hz > 50]
    if f.size < 3:
        return 0.0
    semis = np.round(12 * np.log2(f / 440.0)).astype(int)
    _, counts = np.unique(semis, return_counts=True)
    return float(np.sort(counts)[-3:].sum() / f.size)


def _steadiness(dominant_hz: np.ndarray) -> float:
    """Share of frames whose strongest partial is on the same semitone as the frame before."""
    f = dominant_hz[dominant_hz > 50]
    if f.size < 3:
        return 0.0
    semis = np.round(12 * np.log2(f / 440.0)).astype(int)
    return float(np.mean(semis[1:] == semis[:-1]))


def _distinct_notes(dominant_hz: np.ndarray, min_frames: int = 10) -> int:
    """Semitones held as the strongest partial for at least ~0.1 s in total."""
    f = dominant_hz[dominant_hz > 50]
    if not f.size:
        return 0
    _, counts = np.unique(np.round(12 * np.log2(f / 440.0)).astype(int), return_counts=True)
    return int((counts >= min_frames).sum())


def _envelope_shape(clip: np.ndarray) -> str:
    """'on/off' (repeated bursts with silent gaps), 'decaying', or 'steady'."""
    env = envelope_db(clip)
    if env.size < 5:
        return "steady"
    top = float(env.max())
    on = env > top - 30.0
    bursts = [(a, b) for a, b in runs(on) if b - a >= 5]
    gaps = [(a, b) for a, b in runs(on, value=False) if b - a >= 5 and a > 0 and b < len(env)]
    if len(bursts) >= 2 and gaps:
        return "on/off"
    slopes = []
    for a, b in _split_at_onsets(env, bursts or [(0, len(env))]):
        seg = env[a:b]
        peak = int(np.argmax(seg))
        tail = seg[peak:]
        if tail.size >= 10:
            t = np.arange(tail.size) * ENV_STEP
            slopes.append(np.polyfit(t, tail, 1)[0])
    if slopes and float(np.median(slopes)) < -8.0:
        return "decaying"
    return "steady"


def _split_at_onsets(env: np.ndarray, bursts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Bursts cut where the level jumps up by 9 dB within 30 ms (a new strike of a chime)."""
    rise = np.zeros(env.size, bool)
    rise[3:] = env[3:] - env[:-3] > 9.0
    out = []
    for a, b in bursts:
        starts = [int(a)] + [int(i) for i in np.flatnonzero(rise[a + 5 : b]) + a + 5]
        # keep one onset per jump (the first frame of each rising run)
        starts = [s for k, s in enumerate(starts) if k == 0 or s - starts[k - 1] > 5]
        out += list(zip(starts, starts[1:] + [int(b)], strict=True))
    return out


def _merge(sounds: list[DetectedSound], gap: float) -> list[DetectedSound]:
    out: list[DetectedSound] = []
    for s in sounds:
        prev = out[-1] if out else None
        if prev is not None and prev.category == s.category and s.start - prev.end <= gap:
            longer = prev if prev.end - prev.start >= s.end - s.start else s
            out[-1] = _replace(
                longer,
                start=prev.start,
                end=max(prev.end, s.end),
                overrides_words=prev.overrides_words or s.overrides_words,
            )
        else:
            out.append(s)
    return out


def _replace(sound: DetectedSound, **changes: Any) -> DetectedSound:
    from dataclasses import replace

    return replace(sound, **changes)


__all__ = ["DetectedSound", "SoundDetector"]
