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
from pathlib import Path

import numpy as np

from perception.backend import SAMPLE_RATE
from perception.events import TranscriptSegment, Word
from perception.whisper import (
    CHUNK_SECONDS,
    bundled_model_path,
    is_not_speech,
    join_whisper_words,
    load_whisper,
    word_confidence,
)

logger = logging.getLogger(__name__)

MAX_CLIP_SECONDS = float(CHUNK_SECONDS)


class QuickTranscriber:
    """faster-whisper on a single utterance; ``transcribe`` returns a segment or None."""

    def __init__(self, model_path: str | Path | None = None, language: str = "en") -> None:
        self.language = language
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        self._model = load_whisper(self.model_path)  # the lite backend's copy, when it has one

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
                condition_on_previous_text=False, vad_filter=False, temperature=0.0,
                chunk_length=min(CHUNK_SECONDS, math.ceil(seconds + 0.5)),
            )  # fmt: skip
            raw = list(raw)
        except Exception as exc:  # the engine's transcript is the fallback
            logger.warning("quick transcript failed (%s); waiting for the engine's", exc)
            return None
        words: list[Word] = []
        raw_words: list[str] = []
        for seg in raw:
            if is_not_speech(seg):
                continue
            for w in seg.words or []:
                text = w.word.strip()
                if not text:
                    continue
                w0 = min(max(0.0, w.start), seconds)
                w1 = min(max(w.end, w0), seconds)
                words.append(
                    Word(start=start + w0, end=start + w1, text=text, confidence=word_confidence(w))
                )
                raw_words.append(w.word)
        if not words:
            return None
        return TranscriptSegment(
            start=words[0].start,
            end=words[-1].end,
            text=join_whisper_words(raw_words),
            words=words,
            language=self.language,
            backend="lite-quick",
        )
