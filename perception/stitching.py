"""Stitch per-window events into one final stream: nothing duplicated, nothing dropped.

Each window owns the stretch between the previous cut and its own cut. A word belongs to
the window that owns its midpoint. When the cut lies in a pause that is the whole story.
When the cut goes through sound (no pause in reach) two windows saw the boundary, each
with its own timing, so the events touching the cut are held back until the next window
arrives and the two views are reconciled:
- a word the next window repeats (same text, about the same time) is kept once;
- a word only the previous window heard just past the cut is kept, not lost;
- a sound split by the cut is merged back into one event.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from perception.events import (
    Event,
    MusicEvent,
    SoundEvent,
    TranscriptSegment,
    Word,
)

# How close to a cut (seconds) a word or sound must be to be reconciled across it.
BOUNDARY_MARGIN = 0.6
# Two pieces of one sound (same category) closer than this are one event.
SOUND_MERGE_GAP = 0.3
# A sliver of a sound clipped at a window edge shorter than this is noise.
MIN_SOUND_PIECE = 0.05

_NON_WORD = re.compile(r"[^\w']+")


def normalise_word(text: str) -> str:
    return _NON_WORD.sub("", text.lower())


def _mid(start: float, end: float) -> float:
    return (start + end) / 2.0


class Stitcher:
    """Feed it each window's events in order (``add``), then ``flush`` at the end."""

    def __init__(self) -> None:
        self._held: list[Event] = []  # previous window's events touching its cut
        self._spill: list[Word] = []  # previous window's words just past its cut

    def add(
        self, events: Sequence[Event], commit_start: float, commit_end: float, cut_in_pause: bool
    ) -> list[Event]:
        """Final events from one window (plus any held ones its arrival settles)."""
        lo, hi = commit_start, commit_end
        owned: list[Event] = []
        spill: list[Word] = []
        for event in events:
            if isinstance(event, TranscriptSegment) and event.words:
                kept = [w for w in event.words if lo <= _mid(w.start, w.end) < hi]
                if not cut_in_pause:
                    spill += [
                        w.model_copy(update={"speaker": w.speaker or event.speaker})
                        for w in event.words
                        if hi <= _mid(w.start, w.end) < hi + BOUNDARY_MARGIN
                    ]
                if kept:
                    owned.append(_with_words(event, kept))
            elif isinstance(event, SoundEvent | MusicEvent):
                piece = _clip(event, lo, hi)
                if piece is not None:
                    owned.append(piece)
            elif lo <= _mid(event.start, event.end) < hi:
                owned.append(event)

        owned = self._reconcile(owned, lo)
        settled = self._held
        self._held, self._spill = [], spill
        if cut_in_pause or math.isinf(hi):
            settled = settled + owned
        else:
            for event in owned:
                (self._held if event.end >= hi - BOUNDARY_MARGIN else settled).append(event)
        return sorted(settled, key=lambda e: (e.start, e.end))

    def flush(self) -> list[Event]:
        """Whatever is still held (the stream ended right after a cut)."""
        held, self._held, self._spill = self._held, [], []
        return sorted(held, key=lambda e: (e.start, e.end))

    # --- reconciliation across a cut that went through sound -----------------------

    def _reconcile(self, owned: list[Event], lo: float) -> list[Event]:
        if not self._held and not self._spill:
            return owned
        held_words = [
            w
            for e in self._held
            if isinstance(e, TranscriptSegment)
            for w in e.words
            if _mid(w.start, w.end) >= lo - BOUNDARY_MARGIN
        ]
        result: list[Event] = []
        new_words: list[Word] = []
        for event in owned:
            if isinstance(event, TranscriptSegment) and event.words:
                kept = [w for w in event.words if not _repeats(w, held_words, lo)]
                if kept:
                    trimmed = _with_words(event, kept) if len(kept) != len(event.words) else event
                    result.append(trimmed)
                    new_words += kept
            elif isinstance(event, SoundEvent | MusicEvent) and self._merge_sound(event, lo):
                continue
            else:
                result.append(event)
        self._rescue_spill(new_words)
        return result

    def _merge_sound(self, event: SoundEvent | MusicEvent, lo: float) -> bool:
        if event.start > lo + SOUND_MERGE_GAP:
            return False
        for i, held in enumerate(self._held):
            if (
                type(held) is type(event)
                and _sound_class(held) == _sound_class(event)
                and held.end >= event.start - SOUND_MERGE_GAP
            ):
                longer = held if held.duration >= event.duration else event
                merged = longer.model_copy(
                    update={"start": min(held.start, event.start), "end": max(held.end, event.end)}
                )
                self._held[i] = merged
                return True
        return False

    def _rescue_spill(self, new_words: list[Word]) -> None:
        """Words past the last cut that the next window did not hear go back to their segment."""
        segments = [e for e in self._held if isinstance(e, TranscriptSegment)]
        if not segments or not self._spill:
            return
        target = max(segments, key=lambda e: e.end)
        missing = [
            w
            for w in self._spill
            if not _repeats(w, new_words, math.inf)
            and not any(_same_stretch(w, n) for n in new_words)
        ]
        if missing:
            idx = self._held.index(target)
            self._held[idx] = _with_words(
                target, sorted(target.words + missing, key=lambda w: w.start)
            )


def _repeats(word: Word, held_words: list[Word], lo: float) -> bool:
    """Whether ``word`` (near the cut ``lo``) is already among ``held_words``: same text,
    about the same time. Text decides, because two windows' timings can disagree by more
    than the gap between two words."""
    if _mid(word.start, word.end) >= lo + BOUNDARY_MARGIN:
        return False
    text = normalise_word(word.text)
    return any(
        normalise_word(h.text) == text
        and abs(_mid(h.start, h.end) - _mid(word.start, word.end)) < BOUNDARY_MARGIN
        for h in held_words
    )


def _same_stretch(a: Word, b: Word) -> bool:
    """Two words over mostly the same audio (the same word heard differently)."""
    shorter = min(a.end - a.start, b.end - b.start)
    if shorter < 0.02:  # a zero-length word: is it inside the other one?
        return b.start <= a.start <= b.end or a.start <= b.start <= a.end
    return min(a.end, b.end) - max(a.start, b.start) >= 0.5 * shorter


def _with_words(segment: TranscriptSegment, words: list[Word]) -> TranscriptSegment:
    if words == segment.words:
        return segment
    text = " ".join(w.text.strip() for w in words if w.text.strip())
    return segment.model_copy(
        update={
            "words": words,
            "text": text,
            "start": words[0].start,
            "end": max(w.end for w in words),
        }
    )


def _clip(event: SoundEvent | MusicEvent, lo: float, hi: float) -> SoundEvent | MusicEvent | None:
    start, end = max(event.start, lo), min(event.end, hi)
    if end <= start:
        return None
    if (start, end) == (event.start, event.end):
        return event
    if end - start < MIN_SOUND_PIECE:
        return None
    return event.model_copy(update={"start": start, "end": end})


def _sound_class(event: SoundEvent | MusicEvent) -> str:
    return str(event.category) if isinstance(event, SoundEvent) else "music"


__all__ = ["Stitcher", "normalise_word"]
