"""Frame-level activity: is there speech (webrtcvad) or any sound (energy) in each 30 ms?

The engine gates windows with no activity and looks for pauses to cut in; the lite
backend uses the speech flags to tell words from hallucinations on non-speech sounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perception.backend import SAMPLE_RATE

FRAME_SECONDS = 0.03
FRAME = int(SAMPLE_RATE * FRAME_SECONDS)  # 480 samples, a frame size webrtcvad accepts


@dataclass(frozen=True)
class FrameActivity:
    """Per-frame flags for consecutive 30 ms frames."""

    speech: np.ndarray  # bool: webrtcvad says speech
    active: np.ndarray  # bool: speech, or energy above the sound threshold
    level_db: np.ndarray  # float32: frame RMS in dBFS

    def __len__(self) -> int:
        return len(self.active)


class VoiceActivityDetector:
    """webrtcvad plus an energy floor, over whole 30 ms frames of 16 kHz float32 audio.

    ``sound_threshold_db`` decides what counts as "some sound" (a doorbell, a door slam);
    frames quieter than ``silence_db`` are never sent to webrtcvad, which both saves time
    on long silences and stops it calling faint hiss speech.
    """

    def __init__(
        self, aggressiveness: int = 2, sound_threshold_db: float = -45.0, silence_db: float = -60.0
    ) -> None:
        import webrtcvad

        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"VAD aggressiveness must be 0..3, got {aggressiveness}")
        self.aggressiveness = aggressiveness
        self._vad = webrtcvad.Vad(aggressiveness)
        self.sound_threshold_db = sound_threshold_db
        self.silence_db = silence_db

    def frames(self, samples: np.ndarray, fresh: bool = False) -> FrameActivity:
        """Flags for ``len(samples) // FRAME`` whole frames (a trailing partial frame is ignored).

        webrtcvad adapts to the noise it has heard, so a stream's chunks share one detector;
        ``fresh=True`` judges ``samples`` on their own (the same clip, the same flags).
        """
        n = len(samples) // FRAME
        if n == 0:
            empty = np.zeros(0, bool)
            return FrameActivity(empty, empty, np.zeros(0, np.float32))
        block = np.asarray(samples[: n * FRAME], dtype=np.float32).reshape(n, FRAME)
        rms = np.sqrt(np.mean(np.square(block, dtype=np.float64), axis=1))
        level = (20.0 * np.log10(np.maximum(rms, 1e-10))).astype(np.float32)
        pcm = (np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2")
        speech = np.zeros(n, bool)
        vad = self._vad
        if fresh:
            import webrtcvad

            vad = webrtcvad.Vad(self.aggressiveness)
        for i in np.flatnonzero(level > self.silence_db):
            speech[i] = vad.is_speech(pcm[i].tobytes(), SAMPLE_RATE)
        active = speech | (level > self.sound_threshold_db)
        return FrameActivity(speech, active, level)


def runs(flags: np.ndarray, value: bool = True) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` index ranges where ``flags == value``."""
    f = np.asarray(flags, dtype=bool)
    if not value:
        f = ~f
    if f.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], f.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def bridge(regions: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    """Merge ranges separated by at most ``max_gap`` indices."""
    out: list[tuple[int, int]] = []
    for a, b in regions:
        if out and a - out[-1][1] <= max_gap:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


__all__ = ["FRAME", "FRAME_SECONDS", "FrameActivity", "VoiceActivityDetector", "bridge", "runs"]
