"""Cutting a session into topics by what is said (TextTiling over content-word vectors).

Between every two segments the mean vector of the few segments before is compared with
the few after; a discussion moving on shows as a dip in that similarity. Dips deep enough
(relative to the session's own curve), and spoken agenda cues ("next item", "moving
on"), become boundaries; topics shorter than ``MIN_SEGMENTS`` merge into a neighbour.
A topic is titled by the phrase an agenda cue introduced it with, else by its keywords
(the words most particular to it against the rest of the session).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from memory.embeddings import content_words
from memory.minutes.records import Citation, Topic
from perception.events import TranscriptSegment

BLOCK = 6  # segments compared on each side of a gap
MIN_SEGMENTS = 5
MIN_SECONDS = 30.0
CUE_BONUS = 0.25
_CUE = re.compile(
    r"\b(?:next|first|second|third|fourth|last|final|another|other)\s+(?:item|topic|point|thing|question)"
    r"|\bmoving on\b|\bmove on to\b|\blet'?s (?:talk|turn|switch|move) (?:about|to)\b"
    r"|^(?:so\s+)?(?:first|second|third|next|last|finally)\b[,:]",
    re.IGNORECASE,
)
_INTRO = re.compile(
    r"(?:(?:next|first|second|third|fourth|last|final)(?:\s+(?:item|topic|point|thing))?|moving on to|"
    r"let'?s (?:talk about|turn to|move on to))\s*(?:is\s+)?[,:]?\s+(?:the\s+)?([a-z][a-z -]{2,40}?)[.,;!?]",
    re.IGNORECASE,
)
_NOT_KEYWORDS = frozenset(
    [
        "item",
        "items",
        "topic",
        "agenda",
        "minutes",
        "meeting",
        "today",
        "week",
        "next",
        "last",
        "first",
        "second",
        "third",
    ]
)


def _cue(text: str) -> bool:
    return bool(_CUE.search(text.strip()))


def boundaries(vectors: np.ndarray, texts: Sequence[str]) -> list[int]:
    """Indices of the segments that start a new topic (0 always)."""
    n = len(texts)
    if n < 2 * MIN_SEGMENTS:
        return [0]
    cumulative = np.vstack(
        [np.zeros((1, vectors.shape[1]), np.float32), np.cumsum(vectors, axis=0)]
    )
    gaps = np.zeros(n)
    for i in range(1, n):
        left = cumulative[i] - cumulative[max(0, i - BLOCK)]
        right = cumulative[min(n, i + BLOCK)] - cumulative[i]
        norm = float(np.linalg.norm(left) * np.linalg.norm(right))
        gaps[i] = float(left @ right) / norm if norm > 0 else 0.0
    depth = np.zeros(n)
    for i in range(1, n):
        lo, hi = max(1, i - BLOCK), min(n, i + BLOCK + 1)
        depth[i] = (gaps[lo : i + 1].max() - gaps[i]) + (gaps[i:hi].max() - gaps[i])
        if _cue(texts[i]):
            depth[i] += CUE_BONUS
    inner = depth[1:]
    threshold = float(inner.mean() + 0.5 * inner.std())
    chosen: list[int] = []
    for i in sorted(range(1, n), key=lambda j: -depth[j]):
        if depth[i] < threshold:
            break
        if (
            all(abs(i - j) >= MIN_SEGMENTS for j in chosen)
            and MIN_SEGMENTS <= i <= n - MIN_SEGMENTS
        ):
            chosen.append(i)
    return [0, *sorted(chosen)]


def _title(segments: Sequence[TranscriptSegment], keywords: Sequence[str]) -> str:
    if any("agenda" in s.text.lower() for s in segments[:6]):
        return "Agenda"
    for segment in segments[:3]:
        found = _INTRO.search(segment.text)
        if found:
            phrase = found.group(1).strip()
            return phrase[:1].upper() + phrase[1:]
    if not keywords:
        return "Conversation"
    words = list(keywords[:3])
    return ", ".join([words[0].capitalize(), *words[1:]])


def segment_topics(
    segments: Sequence[TranscriptSegment], vectors: np.ndarray, keyword_count: int = 5
) -> list[Topic]:
    """Topics of ``segments`` (in time order, ``vectors`` their unit content vectors)."""
    if not segments:
        return []
    texts = [s.text for s in segments]
    starts = boundaries(vectors, texts)
    spans = [(a, b) for a, b in zip(starts, [*starts[1:], len(segments)], strict=True)]
    # Merge topics too short in time into the one before (the first into the next).
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and segments[b - 1].end - segments[a].start < MIN_SECONDS:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    words_of = [
        Counter(w for w in content_words(t) if len(w) > 2 and not w.isdigit()) for t in texts
    ]
    counts = []
    for a, b in merged:
        count: Counter[str] = Counter()
        for i in range(a, b):
            count.update(words_of[i])
        counts.append(count)
    in_topics = Counter(w for c in counts for w in c)
    topics = []
    for index, ((a, b), count) in enumerate(zip(merged, counts, strict=True)):
        idf = {w: math.log((1 + len(merged)) / in_topics[w]) + 1.0 for w in count}
        ranked = sorted(
            (w for w in count if w not in _NOT_KEYWORDS),
            key=lambda w: (-count[w] * idf[w], w),
        )
        keywords = ranked[:keyword_count]
        centre = vectors[a:b].sum(axis=0)
        central = sorted(range(a, b), key=lambda i: -float(vectors[i] @ centre))[:2]
        talk: dict[str, float] = {}
        for i in range(a, b):
            if who := segments[i].speaker:
                talk[who] = talk.get(who, 0.0) + segments[i].end - segments[i].start
        topics.append(
            Topic(
                index=index,
                title=_title(segments[a:b], keywords),
                keywords=keywords,
                start=segments[a].start,
                end=segments[b - 1].end,
                speakers=sorted(talk, key=lambda who: (-talk[who], who)),
                citations=[_cite(segments[i]) for i in sorted(central)],
            )
        )
    return topics


def _cite(segment: TranscriptSegment) -> Citation:
    return Citation(
        start=segment.start, end=segment.end, speaker=segment.speaker, text=segment.text.strip()
    )
