"""Hybrid retrieval of transcript passages: full-text and semantic search, fused.

Full-text search (FTS5 / tsvector) finds the words of the question; content-word
embeddings find near-synonyms ("costs" for a meeting that said "budget"), and sentence
embeddings find the same thing said in other words ("the outage" for "the chat tool was
down"; memory/semantic.py). The rankings are fused by reciprocal rank. A segment is
relevant when full-text search found it or a similarity clears its floor; when none is,
the search says so and keeps what came closest, so an answer can tell "nothing about X"
from "X in other words".
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import numpy as np
from sqlalchemy import Connection

from memory import fulltext, timeline
from memory.embeddings import content_words, default_embedder
from memory.records import PassageHit, PassageSearch
from memory.semantic import (
    SENTENCE_STRONG_FLOOR,
    SENTENCE_WEAK_FLOOR,
    STRONG_FLOOR,
    WEAK_FLOOR,
    SessionVectors,
    VectorCache,
    VectorKind,
    cosine_scores,
)
from perception.events import TranscriptSegment

# Reciprocal rank fusion constant (the usual 60: ranks matter, their gaps little).
RRF_K = 60
CANDIDATES = 50
CLOSEST = 3
SENTENCE_QUERY = "what was said about {}?"


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


@lru_cache(maxsize=1024)
def _query_vectors(kind: VectorKind, subject: str, question: str) -> np.ndarray | None:
    """Sentence vectors of the subject put into a question, and of the whole question when
    there is one, in one encoder pass (remembered: a conversation asks about the same
    subjects again, and the encoder is most of a search's time)."""
    texts = [SENTENCE_QUERY.format(subject)] + ([question] if question else [])
    vectors = kind.embed(texts)
    if vectors is None:
        return None
    vectors.flags.writeable = False  # shared between calls
    return vectors


def forget_query_vectors() -> None:
    """Drop the remembered query vectors (a benchmark timing the encoder pass)."""
    _query_vectors.cache_clear()


def _ranked(sims: np.ndarray, mask: np.ndarray, floor: float) -> np.ndarray:
    """Rows allowed by ``mask`` scoring at least ``floor``, best first (at most CANDIDATES)."""
    candidates = np.flatnonzero(mask & (sims >= floor))
    if len(candidates) > CANDIDATES:
        candidates = candidates[np.argpartition(-sims[candidates], CANDIDATES)[:CANDIDATES]]
    return candidates[np.argsort(-sims[candidates], kind="stable")]


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
    sentences: VectorCache | None = None,
    question: str | None = None,
) -> PassageSearch:
    """The passages of ``session_id`` most relevant to ``query`` (see the module doc);
    ``sentences`` adds the sentence-vector ranking, which also reads ``question`` whole
    when ``query`` is only its subject."""
    words = content_words(query, question=True)
    if not words or limit <= 0:
        timeline.require_session(conn, session_id)
        return PassageSearch(query=query, hits=[])
    vectors = cache.vectors(conn, session_id)
    sims = cosine_scores(vectors, default_embedder().embed_words([words])[0])
    mask = _allowed(vectors, speakers, start, end)  # all True without filters
    position = vectors.position
    filtered = speakers is not None or start is not None or end is not None

    # Sentence vectors: the subject put back into a question. A bare word or two embeds
    # poorly as a sentence ("inspection" scored 0.29 against "the auditors arrive on the
    # third of May", "what was said about inspection?" 0.36); the framing is the same for
    # every query, so it shifts all scores alike.
    meaning: SessionVectors | None = None
    meaning_sims = np.zeros(0, np.float32)
    meaning_mask = np.zeros(0, bool)
    if sentences is not None:
        meaning = sentences.vectors(conn, session_id)
        asked = (question or "").strip()
        query_vectors = (
            _query_vectors(sentences.kind, " ".join(words), asked) if len(meaning.pks) else None
        )
        if query_vectors is not None:
            # A subject of a word or two loses what the question asks ("where does Sheila
            # live?" is about "live" in Sheila's lines): a line may match either.
            meaning_sims = cosine_scores(meaning, query_vectors[0])
            for whole in query_vectors[1:]:
                meaning_sims = np.maximum(meaning_sims, cosine_scores(meaning, whole))
            meaning_mask = _allowed(meaning, speakers, start, end)
        else:
            meaning = None

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

    by_words: dict[int, int] = {}
    by_meaning: dict[int, int] = {}
    relevant = set(keyword)
    strong = bool(keyword)
    if meaning is None:
        candidates = _ranked(sims, mask, WEAK_FLOOR)
        by_words = {int(vectors.pks[i]): rank for rank, i in enumerate(candidates, start=1)}
        relevant.update(by_words)
        strong = strong or bool(len(candidates) and sims[candidates[0]] >= STRONG_FLOOR)
    else:
        # Both meaning rankings take their best candidates whatever the score, so a line
        # that several rankings agree on rises; the floors decide only what is relevant.
        # Beside the sentence vectors, a weak word-vector match alone no longer counts: it
        # was the signal that took "the marketing budget" to lines about a website.
        for vecs, scores, allowed, floor, strong_floor, ranking in (
            (vectors, sims, mask, STRONG_FLOOR, STRONG_FLOOR, by_words),
            (
                meaning,
                meaning_sims,
                meaning_mask,
                SENTENCE_WEAK_FLOOR,
                SENTENCE_STRONG_FLOOR,
                by_meaning,
            ),
        ):
            ranked = _ranked(scores, allowed, -1.0)
            for rank, i in enumerate(ranked, start=1):
                ranking[int(vecs.pks[i])] = rank
                if scores[i] >= floor:
                    relevant.add(int(vecs.pks[i]))
            strong = strong or bool(len(ranked) and scores[ranked[0]] >= strong_floor)

    fused: dict[int, float] = {}
    for ranking in (keyword, by_words, by_meaning):
        for pk, rank in ranking.items():
            fused[pk] = fused.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(relevant, key=lambda pk: (-fused[pk], pk))

    def similarity(pk: int) -> float:
        """The higher of the two meaning scores."""
        where = position.get(pk)
        score = float(sims[where]) if where is not None else 0.0
        if meaning is not None and (other := meaning.position.get(pk)) is not None:
            score = max(score, float(meaning_sims[other]))
        return score

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

    # What came closest: by sentence meaning where there is one (it ranks paraphrases
    # better), else by content words.
    near_vectors, near_sims, near_mask = vectors, sims, mask
    if meaning is not None:
        near_vectors, near_sims, near_mask = meaning, meaning_sims, meaning_mask
    allowed = np.flatnonzero(near_mask)
    nearest = [
        int(near_vectors.pks[i])
        for i in allowed[np.argsort(-near_sims[allowed], kind="stable")][:CLOSEST]
    ]
    events = timeline.events_by_pk(conn, nearest)
    closest = [
        PassageHit(
            segment=segment,
            score=0.0,
            similarity=similarity(pk),
            keyword_rank=None,
            snippet=segment.text.strip(),
        )
        for pk in nearest
        if isinstance(segment := events.get(pk), TranscriptSegment)
    ]
    if not len(vectors.pks):
        timeline.require_session(conn, session_id)
    return PassageSearch(query=query, hits=[], closest=closest)
