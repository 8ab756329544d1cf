"""Whole-session speaker refinement: group every segment's voice embedding again, at once.

Live ids come from an online clusterer that sees each voice once and never changes its
mind. With the whole session known, average-linkage agglomerative clustering over all
segment embeddings fixes its mistakes (a voice split in two early on, a short answer put
with the wrong person). The new groups are then matched to the live ids (most shared
speech first), so a voice keeps the id it was shown under and names given to it survive;
re-running on the same embeddings changes nothing.

Works on plain spans (:func:`relabel`) so memory can run it on stored rows, and on events
(:func:`refine_speakers`) for ``transcribe``.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from perception.events import (
    Event,
    SpeakerTurn,
    TranscriptSegment,
    event_from_json,
    event_to_json,
)

log = logging.getLogger(__name__)

# Groups whose average pairwise cosine similarity is above this are surely one voice
# (CAM++: one person's utterances average 0.39-0.71 in the real-voice dev set, two people's
# 0.0-0.36; see docs/BENCHMARKS.md, speaker identity).
RECLUSTER_THRESHOLD = 0.5
# Below that, two groups still merge when they are about as alike as the larger group's own
# members are to each other (a person recorded on several channels is spread more
# widely), but never below this similarity.
RELATIVE_MERGE = 0.75
MIN_MERGE_SIMILARITY = 0.3
# A voice of the refined session has at least this much speech (segments of one or two
# words with mostly noise under them otherwise stand as voices of their own).
MIN_VOICE_SECONDS = 2.0
# Above this many segments with enough speech, regrouping starts from the live groups.
MAX_LINKAGE_SEGMENTS = 4000
# Segments shorter than this are too noisy to shape the groups; they join the nearest one.
MIN_CLUSTER_SECONDS = 1.0


@dataclass(frozen=True)
class Span:
    """One transcript segment as refinement sees it."""

    start: float
    end: float
    speaker: str | None
    embedding: np.ndarray | None

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


def recluster(
    embeddings: np.ndarray,
    seconds: Sequence[float],
    threshold: float = RECLUSTER_THRESHOLD,
    max_groups: int | None = None,
    initial: Sequence[int] | None = None,
) -> list[int]:
    """Group indices of ``embeddings`` (unit rows): average linkage on cosine distance over
    the rows with enough speech, then every row to the most similar group centroid. With
    ``max_groups`` (e.g. the number of live ids), the most alike groups merge down to it:
    refinement regroups what the live clusterer saw, it does not invent voices. Past
    ``MAX_LINKAGE_SEGMENTS`` segments (linkage needs memory for every pair) the groups start
    from ``initial`` (the live ids as numbers) instead of from single segments."""
    n = len(embeddings)
    if n == 0:
        return []
    anchors = [i for i in range(n) if seconds[i] >= MIN_CLUSTER_SECONDS] or list(range(n))
    if len(anchors) == 1:
        groups = np.zeros(1, int)
    elif len(anchors) > MAX_LINKAGE_SEGMENTS and initial is not None:
        start = np.asarray([initial[a] for a in anchors])
        merged = _merge_alike(
            embeddings[anchors], start, max_groups, np.array([seconds[a] for a in anchors])
        )
        groups = np.unique(merged, return_inverse=True)[1]
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        tree = linkage(embeddings[anchors], method="average", metric="cosine")
        merged = _merge_alike(
            embeddings[anchors],
            fcluster(tree, t=1.0 - threshold, criterion="distance") - 1,
            max_groups,
            np.array([seconds[a] for a in anchors]),
        )
        groups = np.unique(merged, return_inverse=True)[1]  # numbered 0..k-1 again
    centroids = []
    for g in range(int(groups.max()) + 1):
        members = [a for a, k in zip(anchors, groups, strict=True) if k == g]
        c = np.average(embeddings[members], axis=0, weights=[max(seconds[m], 0.1) for m in members])
        centroids.append(c / max(float(np.linalg.norm(c)), 1e-9))
    labels = np.argmax(embeddings @ np.stack(centroids).T, axis=1)
    for a, g in zip(anchors, groups, strict=True):
        labels[a] = g  # anchors stay in the group the linkage put them in
    return [int(x) for x in labels]


def _merge_alike(
    vectors: np.ndarray,
    groups: np.ndarray,
    max_groups: int | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Merge groups whose mutual similarity is close to their own spread, most alike first;
    any most alike pair while there are more than ``max_groups``; a group with less than
    ``MIN_VOICE_SECONDS`` of speech into its most alike group.

    Mean pairwise similarities come from per-group sums (sum_a . sum_b / (n_a n_b)), so the
    cost grows with the number of segments, not its square."""
    groups = groups.copy()
    w = np.ones(len(vectors)) if weights is None else np.asarray(weights, float)
    while True:
        ids = sorted(set(groups.tolist()))
        if len(ids) < 2:
            return groups
        members = {g: np.flatnonzero(groups == g) for g in ids}
        sums = {g: vectors[m].sum(axis=0) for g, m in members.items()}
        own: dict[int, float | None] = {}
        for g, m in members.items():
            n = len(m)
            own[g] = (
                float(sums[g] @ sums[g] - (vectors[m] ** 2).sum()) / (n * (n - 1))
                if n > 1
                else None
            )
        typical = float(np.mean([v for v in own.values() if v is not None] or [0.6]))
        size = {g: float(w[m].sum()) for g, m in members.items()}
        too_many = max_groups is not None and len(ids) > max_groups
        small = {g for g in ids if size[g] < MIN_VOICE_SECONDS}
        best, pair = None, None
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                cross = float(sums[a] @ sums[b]) / (len(members[a]) * len(members[b]))
                big = a if size[a] >= size[b] else b
                spread = own.get(big) or typical
                alike = cross >= MIN_MERGE_SIMILARITY and cross >= RELATIVE_MERGE * spread
                if small and not (a in small or b in small):
                    continue  # groups too small to be a voice go first, to their nearest
                if (alike or too_many or small) and (best is None or cross > best):
                    best, pair = cross, (a, b)
        if pair is None:
            return groups
        groups[groups == pair[1]] = pair[0]


def relabel(
    spans: Sequence[Span], threshold: float = RECLUSTER_THRESHOLD, prefix: str = "S"
) -> list[str | None]:
    """The refined id of each span (spans without an embedding keep theirs)."""
    embedded = [i for i, s in enumerate(spans) if s.embedding is not None]
    out: list[str | None] = [s.speaker for s in spans]
    if not embedded:
        return out
    live_ids = sorted({s.speaker or "" for s in spans})
    groups = recluster(
        np.stack([spans[i].embedding for i in embedded]),  # type: ignore[misc]
        [spans[i].seconds for i in embedded],
        threshold,
        max_groups=len([x for x in live_ids if x]) or None,
        initial=[live_ids.index(spans[i].speaker or "") for i in embedded],
    )
    names = _name_groups(groups, [spans[i] for i in embedded], {s.speaker for s in spans}, prefix)
    for i, g in zip(embedded, groups, strict=True):
        out[i] = names[g]
    return out


def _name_groups(
    groups: list[int], spans: Sequence[Span], taken: set[str | None], prefix: str
) -> dict[int, str]:
    """Each group gets the live id it shares most speech with (one group per id, largest
    overlap first); the rest get fresh ids in order of first speech."""
    from scipy.optimize import linear_sum_assignment

    ids = sorted({s.speaker for s in spans if s.speaker is not None}, key=_id_order)
    n_groups = max(groups) + 1
    names: dict[int, str] = {}
    if ids:
        shared = np.zeros((n_groups, len(ids)))
        for g, s in zip(groups, spans, strict=True):
            if s.speaker is not None:
                shared[g, ids.index(s.speaker)] += s.seconds
        rows, cols = linear_sum_assignment(-shared)
        for r, c in zip(rows, cols, strict=True):
            if shared[r, c] > 0:
                names[int(r)] = ids[c]
    first: dict[int, float] = {}
    for g, s in zip(groups, spans, strict=True):
        first[g] = min(first.get(g, s.start), s.start)
    used = {n for n in taken if n is not None} | set(names.values())
    number = max([_id_order(n)[0] for n in used if n.startswith(prefix)] + [0])
    for g in sorted(set(groups) - set(names), key=lambda g: first[g]):
        number += 1
        names[g] = f"{prefix}{number}"
    return names


def _id_order(name: str) -> tuple[int, str]:
    m = re.fullmatch(r"\D*(\d+)", name)
    return (int(m.group(1)) if m else 0, name)


def overlapping_speaker(
    start: float, end: float, spans: Sequence[tuple[float, float, str | None]]
) -> str | None:
    """The speaker of the span that overlaps [start, end] most (None if none does)."""
    best, overlap = None, 0.0
    for a, b, speaker in spans:
        o = min(b, end) - max(a, start)
        if o > overlap or (o == overlap == 0.0 and a <= start <= b and best is None):
            best, overlap = speaker, o
    return best


def turn_pieces(
    start: float, end: float, spans: Sequence[tuple[float, float, str | None]]
) -> list[tuple[float, float, str | None]]:
    """A speaker turn [start, end] cut where the refined ids of the segments under it change:
    one (start, end, speaker) per run of consecutive segments with one id. A turn under one
    voice comes back whole; one under no segment comes back as [] ."""
    inside = sorted(
        (a, b, who) for a, b, who in spans if min(b, end) - max(a, start) > 0 and who is not None
    )
    runs: list[list[tuple[float, float, str | None]]] = []
    for seg in inside:
        if runs and runs[-1][-1][2] == seg[2]:
            runs[-1].append(seg)
        else:
            runs.append([seg])
    if len(runs) <= 1:
        return [(start, end, runs[0][0][2])] if runs else []
    pieces = []
    for k, run in enumerate(runs):
        a = start if k == 0 else max(start, run[0][0])
        b = end if k == len(runs) - 1 else min(end, max(x[1] for x in run))
        pieces.append((a, max(a, b), run[0][2]))
    return pieces


def refine_speakers(events: Sequence[Event], threshold: float = RECLUSTER_THRESHOLD) -> list[Event]:
    """The events with refined speaker ids (segments, their words, and events that name a
    speaker by the time they cover). Events without embeddings are left as they are."""
    segments = [e for e in events if isinstance(e, TranscriptSegment)]
    spans = [Span(s.start, s.end, s.speaker, _vector(s)) for s in segments]
    if not any(s.embedding is not None for s in spans):
        return list(events)
    new_ids = relabel(spans, threshold)
    timeline = [(s.start, s.end, n) for s, n in zip(segments, new_ids, strict=True)]
    ids = iter(new_ids)
    out: list[Event] = []
    for e in events:
        out += _relabelled(e, next(ids) if isinstance(e, TranscriptSegment) else None, timeline)
    return out


def refine_stream(
    events: Iterable[Event], threshold: float = RECLUSTER_THRESHOLD
) -> Iterator[Event]:
    """``refine_speakers`` for a session of any length, in little memory: the events wait
    in a temporary file (a JSON line each) and only each segment's times, id and embedding
    (float32) stay in memory until the session is over; then the events come back from the
    file in their order, with refined ids (and their embeddings)."""
    spans: list[Span] = []
    with tempfile.TemporaryFile("w+b") as spool:
        for e in events:
            spool.write(event_to_json(e).encode() + b"\n")
            if isinstance(e, TranscriptSegment):
                v = e.speaker_embedding
                spans.append(
                    Span(
                        e.start, e.end, e.speaker, None if v is None else np.asarray(v, np.float32)
                    )
                )
        new_ids: list[str | None] = [s.speaker for s in spans]
        if any(s.embedding is not None for s in spans):
            new_ids = relabel(
                [
                    Span(
                        s.start,
                        s.end,
                        s.speaker,
                        None if s.embedding is None else s.embedding.astype(np.float64),
                    )
                    for s in spans
                ],
                threshold,
            )
        timeline = [(s.start, s.end, n) for s, n in zip(spans, new_ids, strict=True)]
        spool.seek(0)
        k = 0
        for line in spool:
            event = event_from_json(line)
            new_id = None
            if isinstance(event, TranscriptSegment):
                embedding = spans[k].embedding
                if embedding is not None:
                    event.speaker_embedding = embedding.tolist()  # float32 values, as stored
                new_id = new_ids[k]
                k += 1
            yield from _relabelled(event, new_id, timeline)


def _relabelled(
    e: Event, new_id: str | None, timeline: Sequence[tuple[float, float, str | None]]
) -> list[Event]:
    """One event with refined ids: a segment (and its words) takes ``new_id``, a speaker
    turn is cut where the refined ids under it change, anything else naming a speaker
    takes the id of the segment it overlaps most."""
    if isinstance(e, TranscriptSegment):
        if new_id != e.speaker:
            words = [w.model_copy(update={"speaker": new_id}) for w in e.words]
            e = e.model_copy(update={"speaker": new_id, "words": words})
        return [e]
    if isinstance(e, SpeakerTurn):
        pieces = turn_pieces(e.start, e.end, timeline) or [(e.start, e.end, e.speaker)]
        return [
            e
            if (a, b, who) == (e.start, e.end, e.speaker)
            else e.model_copy(update={"start": a, "end": b, "speaker": who})
            for a, b, who in pieces
        ]
    if getattr(e, "speaker", None) is not None:
        speaker = overlapping_speaker(e.start, e.end, timeline)
        if speaker is not None and speaker != e.speaker:
            e = e.model_copy(update={"speaker": speaker})
    return [e]


def _vector(segment: TranscriptSegment) -> np.ndarray | None:
    v = segment.speaker_embedding
    return None if v is None else np.asarray(v, np.float64)


__all__ = [
    "RECLUSTER_THRESHOLD",
    "Span",
    "overlapping_speaker",
    "recluster",
    "refine_speakers",
    "refine_stream",
    "relabel",
    "turn_pieces",
]
