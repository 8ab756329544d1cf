"""Session-stable speaker ids from voice embeddings and online clustering.

resemblyzer's bundled VoiceEncoder (weights ship inside the pip package) turns a stretch
of speech into a 256-d unit vector; an online clusterer assigns each new vector to the
nearest known voice if it is similar enough, or opens a new id ("S1", "S2", ...). Ids are
never reassigned, so events already emitted stay true. Naming people is memory's job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from perception.backend import SAMPLE_RATE, BackendUnavailableError, Window
from perception.events import Event, TranscriptSegment, VoiceTraits

log = logging.getLogger(__name__)

# Cosine similarity above which two stretches of speech are the same voice. Measured on
# the espeak-ng meeting (whole utterances): same voice >= 0.87, different voices <= 0.855.
# Synthetic voices are unusually alike; pass a lower threshold (e.g. 0.80) if one real
# person is being split into several ids.
DEFAULT_THRESHOLD = 0.86
# Less speech than this is not embedded at all.
MIN_SPEECH_SECONDS = 0.8
# Only this much speech may open a new speaker: shorter clips are noisier (measured: at
# 0.8 s a voice can look more like another voice's centroid than its own; from 1.5 s on
# it is at least 0.06 closer to its own), so they join the nearest known voice instead.
MIN_OPEN_SECONDS = 1.5


class SpeakerEncoder:
    """resemblyzer's VoiceEncoder on CPU, loaded on first use (about 0.1 s)."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self._encoder = None

    def load(self):
        """Load the encoder now (it is otherwise loaded on first use)."""
        with self._lock:
            if self._encoder is None:
                try:
                    from resemblyzer import VoiceEncoder
                except ImportError as exc:
                    raise BackendUnavailableError(
                        f"speaker ids need resemblyzer (`pip install resemblyzer`): {exc}"
                    ) from exc
                encoder = VoiceEncoder("cpu", verbose=False)
                _warm_up(encoder)
                self._encoder = encoder
        return self._encoder

    def embed(self, samples: np.ndarray) -> np.ndarray | None:
        """A unit-length voice embedding, or None when there is too little speech."""
        from resemblyzer import preprocess_wav

        if len(samples) < MIN_SPEECH_SECONDS * SAMPLE_RATE / 2:
            return None
        wav = preprocess_wav(np.asarray(samples, np.float32))  # level-normalised, silences trimmed
        if len(wav) < MIN_SPEECH_SECONDS * SAMPLE_RATE / 2:
            return None
        vec = _embed_one_thread(self.load(), wav)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else None


def _embed_one_thread(encoder, wav: np.ndarray) -> np.ndarray:
    import torch

    # One thread: the LSTM is small, and torch's OpenMP pool fighting CTranslate2's
    # (Whisper) for the same cores made each embedding ~10x slower on 2 cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return np.asarray(encoder.embed_utterance(wav), np.float64)
    finally:
        torch.set_num_threads(threads)


def _warm_up(encoder) -> None:
    """One embedding of a synthetic clip: resemblyzer imports librosa's spectral features
    lazily on its first mel spectrogram (about 2 s), which would otherwise land on the
    first live utterance."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    _embed_one_thread(encoder, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


@dataclass
class _Voice:
    label: str
    centroid: np.ndarray
    count: int = 1
    seconds: float = 0.0


@dataclass
class OnlineSpeakerClusterer:
    """Nearest-centroid assignment with a similarity threshold; ids in order of first voice."""

    threshold: float = DEFAULT_THRESHOLD
    prefix: str = "S"
    voices: list[_Voice] = field(default_factory=list)

    def assign(self, embedding: np.ndarray, seconds: float = 0.0, may_open: bool = True) -> str | None:
        """The id for ``embedding``; opens a new one unless ``may_open`` is False."""
        best, score = self.nearest(embedding)
        if best is not None and score >= self.threshold:
            # Running mean of unit vectors, weighted by speech seconds, re-normalised.
            w_old = max(best.seconds, 1.0)
            w_new = max(seconds, 0.5)
            c = best.centroid * w_old + embedding * w_new
            best.centroid = c / np.linalg.norm(c)
            best.count += 1
            best.seconds += seconds
            return best.label
        if not may_open:
            return best.label if best is not None else None
        voice = _Voice(f"{self.prefix}{len(self.voices) + 1}", embedding.copy(), 1, seconds)
        self.voices.append(voice)
        log.debug("new speaker %s (best match %.2f)", voice.label, score)
        return voice.label

    def nearest(self, embedding: np.ndarray) -> tuple[_Voice | None, float]:
        if not self.voices:
            return None, -1.0
        sims = [float(v.centroid @ embedding) for v in self.voices]
        i = int(np.argmax(sims))
        return self.voices[i], sims[i]


class SpeakerTracker:
    """Gives a session's events stable speaker ids from the audio under them.

    A segment long enough to embed is clustered on its own voice. A short one takes the id
    its window-local label (from the backend) already got in the same window, otherwise
    the nearest known voice without opening a new id.
    """

    def __init__(self, encoder: SpeakerEncoder | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.encoder = encoder or SpeakerEncoder()
        self.clusterer = OnlineSpeakerClusterer(threshold=threshold)

    def label(self, samples: np.ndarray, local_label: str | None = None,
              local_map: dict[str, str] | None = None) -> str | None:
        seconds = len(samples) / SAMPLE_RATE
        if local_map is not None and local_label in local_map and seconds < MIN_SPEECH_SECONDS:
            return local_map[local_label]
        vec = self.encoder.embed(samples)
        if vec is None:
            if local_map is not None and local_label in local_map:
                return local_map[local_label]
            return None
        speaker = self.clusterer.assign(vec, seconds, may_open=seconds >= MIN_OPEN_SECONDS)
        if local_map is not None and local_label is not None and speaker is not None:
            local_map.setdefault(local_label, speaker)
        return speaker

    def relabel(self, events: Sequence[Event], window: Window) -> list[Event]:
        """Replace window-local speaker labels with session ids (transcripts and voice traits)."""
        local_map: dict[str, str] = {}
        out: list[Event] = []
        segs = sorted((e for e in events if isinstance(e, TranscriptSegment)),
                      key=lambda e: -(e.end - e.start))  # long ones first: they anchor labels
        ids: dict[int, str | None] = {}
        for seg in segs:
            ids[id(seg)] = self.label(window.clip(seg.start, seg.end), seg.speaker, local_map)
        for event in events:
            if isinstance(event, TranscriptSegment):
                speaker = ids[id(event)]
                words = [w.model_copy(update={"speaker": speaker}) for w in event.words]
                out.append(event.model_copy(update={"speaker": speaker, "words": words}))
            elif isinstance(event, VoiceTraits) or event.speaker is not None:
                speaker = local_map.get(event.speaker or "") or self._overlapping(event, out, ids)
                out.append(event.model_copy(update={"speaker": speaker}))
            else:
                out.append(event)
        return out

    @staticmethod
    def _overlapping(event: Event, done: list[Event], ids: dict[int, str | None]) -> str | None:
        best, overlap = None, 0.0
        for seg in done:
            if isinstance(seg, TranscriptSegment):
                o = min(seg.end, event.end) - max(seg.start, event.start)
                if o > overlap:
                    best, overlap = seg.speaker, o
        return best


__all__ = [
    "DEFAULT_THRESHOLD",
    "MIN_OPEN_SECONDS",
    "OnlineSpeakerClusterer", "SpeakerEncoder", "SpeakerTracker"]
