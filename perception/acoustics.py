"""Cheap acoustic features: spectra, flatness, tonality, pitch, envelope.

Shared by the non-speech sound detector and the voice-traits heuristics. Everything is
vectorised numpy over short frames of 16 kHz mono audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.backend import SAMPLE_RATE

FFT_SIZE = 1024  # 64 ms: resolves tones 16 Hz apart (a phone's 440 + 480 Hz)
HOP = 320  # 20 ms


def frame_signal(samples: np.ndarray, size: int, hop: int) -> np.ndarray:
    """(n_frames, size) view-copy of ``samples``; zero-padded to at least one frame."""
    x = np.asarray(samples, np.float32)
    if len(x) < size:
        x = np.concatenate([x, np.zeros(size - len(x), np.float32)])
    n = 1 + (len(x) - size) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]
    return x[idx]


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Hann-windowed power spectra, shape (n_frames, FFT_SIZE // 2 + 1)."""
    frames = frame_signal(samples, FFT_SIZE, HOP) * np.hanning(FFT_SIZE).astype(np.float32)
    return np.square(np.abs(np.fft.rfft(frames, axis=1))).astype(np.float64)


def frame_levels_db(samples: np.ndarray, size: int = FFT_SIZE, hop: int = HOP) -> np.ndarray:
    frames = frame_signal(samples, size, hop)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return 20.0 * np.log10(np.maximum(rms, 1e-10))


@dataclass(frozen=True)
class SpectralSummary:
    """Medians over the loud frames of a clip (what the sound classifier looks at)."""

    flatness: float  # 0 = pure tones, 1 = white noise
    tonality: float  # share of energy within a few bins of the 5 strongest peaks
    periodicity: float  # peak normalised autocorrelation for 2.5-20 ms lags
    dominant_hz: np.ndarray  # per loud frame
    centroid_hz: float
    level_db: float  # RMS of the whole clip in dBFS


def summarise(samples: np.ndarray) -> SpectralSummary:
    spec = power_spectrogram(samples)
    energy = spec.sum(axis=1)
    loud = (
        energy >= energy.max() * 10 ** (-25 / 10)
        if energy.size and energy.max() > 0
        else energy > 0
    )
    spec = spec[loud] if loud.any() else spec
    eps = 1e-12
    geo = np.exp(np.mean(np.log(spec[:, 1:] + eps), axis=1))
    arith = np.mean(spec[:, 1:], axis=1) + eps
    flatness = float(np.median(geo / arith)) if len(spec) else 1.0
    tonality = float(np.median(_peak_energy_share(spec))) if len(spec) else 0.0
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    dominant = freqs[np.argmax(spec[:, 1:], axis=1) + 1] if len(spec) else np.zeros(0)
    centroid = (
        float(np.median((spec * freqs).sum(axis=1) / (spec.sum(axis=1) + eps)))
        if len(spec)
        else 0.0
    )
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return SpectralSummary(
        flatness=flatness,
        tonality=tonality,
        periodicity=float(np.median(periodicity(samples))) if len(samples) else 0.0,
        dominant_hz=dominant,
        centroid_hz=centroid,
        level_db=20.0 * np.log10(max(rms, 1e-10)),
    )


def _peak_energy_share(spec: np.ndarray, peaks: int = 5, width: int = 2) -> np.ndarray:
    """Per frame: energy within ``width`` bins of the strongest ``peaks`` local maxima."""
    total = spec.sum(axis=1) + 1e-12
    is_peak = np.zeros_like(spec, dtype=bool)
    is_peak[:, 1:-1] = (spec[:, 1:-1] > spec[:, :-2]) & (spec[:, 1:-1] >= spec[:, 2:])
    masked = np.where(is_peak, spec, 0.0)
    top = np.argsort(masked, axis=1)[:, -peaks:]
    keep = np.zeros_like(spec, dtype=bool)
    rows = np.arange(len(spec))[:, None]
    for d in range(-width, width + 1):
        keep[rows, np.clip(top + d, 0, spec.shape[1] - 1)] = True
    return (spec * keep).sum(axis=1) / total


def periodicity(samples: np.ndarray, size: int = 640, hop: int = 320) -> np.ndarray:
    """Per 40 ms frame: the highest normalised autocorrelation at lags of 2.5-20 ms."""
    frames = frame_signal(samples, size, hop).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, n=2 * size, axis=1)
    acf = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :size]
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 50
    return acf[:, lo:hi].max(axis=1) / (acf[:, 0] + 1e-12)


def pitch_track(
    samples: np.ndarray, fmin: float = 60.0, fmax: float = 400.0, voicing: float = 0.5
) -> np.ndarray:
    """F0 in Hz of the voiced 40 ms frames (autocorrelation peak), empty if none."""
    size, hop = 640, 320
    frames = frame_signal(samples, size, hop).astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    loud = np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-45 / 20)
    frames = frames[loud]
    if not len(frames):
        return np.zeros(0)
    spec = np.fft.rfft(frames, n=2 * size, axis=1)
    acf = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :size]
    lo, hi = int(SAMPLE_RATE / fmax), int(SAMPLE_RATE / fmin)
    norm = acf[:, lo:hi] / (acf[:, :1] + 1e-12)
    # The first lag nearly as strong as the best one: the best is often a multiple of the
    # true period (an octave too low).
    best = norm.max(axis=1, keepdims=True)
    lag = np.argmax(norm >= 0.9 * best, axis=1)
    strength = norm[np.arange(len(norm)), lag]
    f0 = SAMPLE_RATE / (lag + lo)
    return f0[strength >= voicing]


def envelope_db(samples: np.ndarray, frame: int = 160) -> np.ndarray:
    """10 ms RMS envelope in dBFS."""
    return frame_levels_db(samples, frame, frame)


__all__ = [
    "SpectralSummary",
    "envelope_db",
    "frame_signal",
    "periodicity",
    "pitch_track",
    "power_spectrogram",
    "summarise",
]
