"""A quick transcript of one finished utterance, for the assistant's turn-taking.

The perception engine analyses a closed window fully (Whisper over a 30 s frame, speaker
embedding, sounds, voice traits) — right for memory, but over a second on a small CPU.
A reply only needs the words, so the STT transcribes the utterance alone with the same
Whisper model sized to the clip (``chunk_length``), answers from that, and leaves the
full events (with speakers) to the engine, which still stores them in memory.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from perception.backend import SAMPLE_RATE
from perception.events import TranscriptSegment, Word

logger = logging.getLogger(__name__)

MAX_CLIP_SECONDS = 30.0


class QuickTranscriber:
    """faster-whisper on a single utterance; ``transcribe`` returns a segment or None."""

    def __init__(self, model_path: str | Path | None = None, language: str = "en") -> None:
        from faster_whisper import WhisperModel

        if model_path is None:
            from perception.backends.lite import bundled_model_path

            model_path = bundled_model_path()
        self.language = language
        self.model_path = Path(model_path)
        self._model = WhisperModel(
            str(self.model_path), device="cpu", compute_type="int8", cpu_threads=min(4, os.cpu_count() or 1)
        )

    def transcribe(self, samples: np.ndarray, start: float) -> TranscriptSegment | None:
        """Words of ``samples`` (16 kHz float32), placed at ``start`` on the call's timeline."""
        seconds = len(samples) / SAMPLE_RATE
        if seconds < 0.1:
            return None
        if seconds > MAX_CLIP_SECONDS:  # a monologue: the engine's windows handle it
            samples = samples[-int(MAX_CLIP_SECONDS * SAMPLE_RATE) :]
            start += seconds - MAX_CLIP_SECONDS
            seconds = MAX_CLIP_SECONDS
        try:
            raw, _ = self._model.transcribe(
                samples, language=self.language, beam_size=1, word_timestamps=True,
                condition_on_previous_text=False, vad_filter=False,
                chunk_length=min(int(MAX_CLIP_SECONDS), math.ceil(seconds + 0.5)),
            )  # fmt: skip
            raw = list(raw)
        except Exception as exc:  # the engine's transcript is the fallback
            logger.warning("quick transcript failed (%s); waiting for the engine's", exc)
            return None
        words: list[Word] = []
        for seg in raw:
            if seg.no_speech_prob > 0.6 and seg.avg_logprob < -1.0:
                continue
            for w in seg.words or []:
                text = w.word.strip()
                if not text:
                    continue
                w0 = min(max(0.0, w.start), seconds)
                w1 = min(max(w.end, w0), seconds)
                words.append(Word(start=start + w0, end=start + w1, text=text,
                                  confidence=float(np.clip(w.probability, 0.0, 1.0))))
        if not words:
            return None
        return TranscriptSegment(
            start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words),
            words=words, language=self.language, backend="lite-quick",
        )
