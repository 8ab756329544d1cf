"""Hybrid retrieval of transcript passages: full-text and semantic search, fused.

Full-text search (FTS5 / tsvector) finds the words of the question; the content-word
embeddings (memory/semantic.py) find the same thing said in other words ("costs" for a
meeting that said "budget"). The two rankings are fused by reciprocal rank. A segment is
relevant when full-text search found it or its similarity clears ``WEAK_FLOOR``; when none
is, the search says so and keeps what came closest, so an answer can tell "nothing about
X" from "X in other words".
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from sqlalchemy import Connection

from memory import fulltext, timeline
from memory.embeddings import content_words, default_embedder
from memory.records import PassageHit, PassageSearch
from memory.semantic import STRONG_FLOOR, WEAK_FLOOR, SessionVectors, VectorCache, cosine_scores
from perception.events import TranscriptSegment

# Reciprocal rank fusion constant (the usual 60: ranks matter, their gaps little).
RRF_K = 60
CANDIDATES = 50
CLOSEST = 3


def _allowed(
    vectors: SessionVectors,
    speakers: Collection[str] | None,
    start: float | None,
    end: float | None,
) -> np.ndarray:
    mask = np.ones(len(vectors.pks), bool)
    if speakers is not None:
        mask &= np.isin(vectors.speakers, list(speakers))
    if start is not None:
        mask &= vectors.ends >= start
    if end is not None:
        mask &= vectors.starts <= end
    return mask


def _segment_allowed(
    segment: TranscriptSegment,
    speakers: Collection[str] | None,
    start: float | None,
    end: float | None,
) -> bool:
    if speakers is not None and segment.speaker not in speakers:
        return False
    if start is not None and segment.end < start:
        return False
    return not (end is not None and segment.start > end)


def search(
    conn: Connection,
    cache: VectorCache,
    session_id: str,
    query: str,
    limit: int = 5,
    *,
    speakers: Collection[str] | None = None,
    start: float | None = None,
    end: float | None = None,
) -> PassageSearch:
    """The passages of ``session_id`` most relevant to ``query`` (see the module doc)."""
    words = content_words(query, question=True)
    if not words or limit <= 0:
        timeline.require_session(conn, session_id)
        return PassageSearch(query=query, hits=[])
    vectors = cache.vectors(conn, session_id)
    sims = cosine_scores(vectors, default_embedder().embed_words([words])[0])
    mask = _allowed(vectors, speakers, start, end)  # all True without filters
    position = vectors.position
    filtered = speakers is not None or start is not None or end is not None

    # Full-text hits on the content words; filters applied on what the vectors know.
    keyword: dict[int, int] = {}
    fts_limit = CANDIDATES * (4 if filtered else 1)
    for pk, _ in fulltext.search_segment_ids(conn, session_id, " ".join(words), fts_limit):
        where = position.get(pk)
        if where is not None and not mask[where]:
            continue
        keyword[pk] = len(keyword) + 1
        if len(keyword) >= CANDIDATES:
            break

    candidates = np.flatnonzero(mask & (sims >= WEAK_FLOOR))
    if len(candidates) > CANDIDATES:
        candidates = candidates[np.argpartition(-sims[candidates], CANDIDATES)[:CANDIDATES]]
    candidates = candidates[np.argsort(-sims[candidates], kind="stable")]
    semantic = {int(vectors.pks[i]): rank for rank, i in enumerate(candidates, start=1)}

    fused: dict[int, float] = {}
    for ranking in (keyword, semantic):
        for pk, rank in ranking.items():
            fused[pk] = fused.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(fused, key=lambda pk: (-fused[pk], pk))
    strong = bool(keyword) or bool(len(candidates) and sims[candidates[0]] >= STRONG_FLOOR)

    def similarity(pk: int) -> float:
        where = position.get(pk)
        return float(sims[where]) if where is not None else 0.0

    if best:
        # Fetch a few more than asked: a keyword hit without a vector is filtered here.
        events = timeline.events_by_pk(conn, best[: limit * 2 if filtered else limit])
        hits = []
        for pk in best:
            segment = events.get(pk)
            if not isinstance(segment, TranscriptSegment):
                continue
            if (
                filtered
                and pk not in position
                and not _segment_allowed(segment, speakers, start, end)
            ):
                continue
            hits.append(
                PassageHit(
                    segment=segment,
                    score=fused[pk],
                    similarity=similarity(pk),
                    keyword_rank=keyword.get(pk),
                    snippet=fulltext.snippet(segment.text, " ".join(words))
                    if pk in keyword
                    else segment.text.strip(),
                )
            )
            if len(hits) >= limit:
                break
        if hits:
            return PassageSearch(query=query, hits=hits, strong=strong)

    allowed = np.flatnonzero(mask)
    nearest = allowed[np.argsort(-sims[allowed], kind="stable")][:CLOSEST]
    events = timeline.events_by_pk(conn, [int(vectors.pks[i]) for i in nearest])
    closest = [
        PassageHit(
            segment=segment,
            score=0.0,
            similarity=similarity(int(vectors.pks[i])),
            keyword_rank=None,
            snippet=segment.text.strip(),
        )
        for i in nearest
        if isinstance(segment := events.get(int(vectors.pks[i])), TranscriptSegment)
    ]
    if not len(vectors.pks):
        timeline.require_session(conn, session_id)
    return PassageSearch(query=query, hits=[], closest=closest)
