"""Semantic similarity over a session's stored segment vectors, cached in numpy.

The first search of a session reads its vectors (a day is ~30k x 256 float16, 15 MB);
later searches read only rows stored since, so a question over a live recording costs one
small query plus one matrix-vector product. Segments stored before vectors existed are
embedded and stored on that first read.

Each segment is scored by its own vector and, with ``CONTEXT_WEIGHT``, by its neighbours'
(up to ``CONTEXT_SPAN`` segments each way, weighted down with distance): one line of a
discussion about hiring ("I can have drafts ready by Monday") is about hiring too, and a
single word's sub-word noise ("rec" of "recruiting" in "recap") is outvoted by the
discussion around it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine
from sqlalchemy import text as sql_text

from memory import bulk
from memory.embeddings import TextEmbedder, default_embedder, from_blobs, to_blob

log = logging.getLogger(__name__)

# Cosine floors (of the context-mixed score), tuned on paraphrase questions against a
# planning meeting: paraphrases score 0.22-0.5, topics never discussed 0.1-0.26.
WEAK_FLOOR = 0.21
STRONG_FLOOR = 0.30
CONTEXT_WEIGHT = 0.7
CONTEXT_SPAN = 3
CONTEXT_DECAY = 0.7
_CACHED_SESSIONS = 8

# The newest vector's id is one index seek; the count (a scan) is read only when it moved.
_LATEST = sql_text("SELECT coalesce(max(event_pk), 0) FROM segment_vectors WHERE session_id = :sid")
_COUNT = sql_text("SELECT count(*) FROM segment_vectors WHERE session_id = :sid")
_ROWS = sql_text(
    "SELECT v.event_pk, v.vector, e.start_time, e.end_time, e.speaker FROM segment_vectors v "
    "JOIN events e ON e.id = v.event_pk WHERE v.session_id = :sid AND v.event_pk > :after"
)
_MISSING = sql_text(
    "SELECT e.id, e.text FROM events e WHERE e.session_id = :sid AND e.kind = 'transcript' "
    "AND NOT EXISTS (SELECT 1 FROM segment_vectors v WHERE v.event_pk = e.id)"
)


@dataclass
class SessionVectors:
    """One session's segment vectors in time order, with what a filter needs."""

    pks: np.ndarray  # int64 event row ids
    starts: np.ndarray  # float64
    ends: np.ndarray
    speakers: np.ndarray  # object: speaker id or None
    own: np.ndarray  # float32 (n, dim), unit rows (zero rows for segments without words)
    mixed: np.ndarray  # float32 (n, dim): own + neighbours, what queries are scored against
    count: int
    max_pk: int
    position: dict[int, int]  # event row id -> row of the arrays


def _empty(dim: int) -> SessionVectors:
    zeros = np.zeros((0, dim), np.float32)
    return SessionVectors(
        np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, object), zeros, zeros, 0, 0, {}
    )


def _mix(own: np.ndarray) -> np.ndarray:
    """``own`` blended with the normalised, distance-weighted sum of its neighbourhood."""
    context = own.copy()
    for k in range(1, min(CONTEXT_SPAN, len(own) - 1) + 1):
        context[k:] += CONTEXT_DECAY**k * own[:-k]
        context[:-k] += CONTEXT_DECAY**k * own[k:]
    norms = np.linalg.norm(context, axis=1, keepdims=True)
    context /= np.maximum(norms, 1e-9)
    return (1.0 - CONTEXT_WEIGHT) * own + CONTEXT_WEIGHT * context


def embed_new_segments(
    embedder: TextEmbedder, conn: Connection, session_id: str, segments: list[tuple[int, str]]
) -> None:
    """Embed ``(event row id, text)`` segments and store their vectors (ingestion)."""
    if not segments:
        return
    vectors = embedder.embed([text for _, text in segments])
    bulk.insert_vectors(
        conn, session_id, list(zip([pk for pk, _ in segments], to_blob(vectors), strict=True))
    )


class VectorCache:
    """Per-session ``SessionVectors``, refreshed incrementally; safe across threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions: OrderedDict[str, SessionVectors] = OrderedDict()
        self._lock = threading.Lock()
        self._backfilled: set[str] = set()

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
            self._backfilled.discard(session_id)

    def _backfill(self, session_id: str) -> None:
        """Vectors for segments stored without one (before the vectors table existed)."""
        with self._engine.begin() as conn:
            missing = [
                (int(pk), text or "") for pk, text in conn.execute(_MISSING, {"sid": session_id})
            ]
            if missing:
                log.info("embedding %d stored segments of session %s", len(missing), session_id)
                embed_new_segments(default_embedder(), conn, session_id, missing)

    def vectors(self, conn: Connection, session_id: str) -> SessionVectors:
        """The session's vectors as of now (reading only rows stored since the last call).

        New rows are noticed by a higher newest id; a row with a lower id that commits
        after a higher one (concurrent writers on PostgreSQL) is picked up by the count
        check the next time anything new arrives."""
        if session_id not in self._backfilled:
            self._backfill(session_id)
            with self._lock:
                self._backfilled.add(session_id)
        max_pk = int(conn.execute(_LATEST, {"sid": session_id}).scalar() or 0)
        with self._lock:
            cached = self._sessions.get(session_id)
            if cached is not None:
                self._sessions.move_to_end(session_id)
                if cached.max_pk == max_pk:
                    return cached
        count = int(conn.execute(_COUNT, {"sid": session_id}).scalar() or 0)
        base = cached if cached is not None and count > cached.count else None
        rows = conn.execute(_ROWS, {"sid": session_id, "after": base.max_pk if base else 0}).all()
        if base is not None and base.count + len(rows) != count:
            # A row with a lower id committed late (concurrent writers): read them all again.
            base = None
            rows = conn.execute(_ROWS, {"sid": session_id, "after": 0}).all()
        fresh = self._build(base, rows)
        with self._lock:
            self._sessions[session_id] = fresh
            self._sessions.move_to_end(session_id)
            while len(self._sessions) > _CACHED_SESSIONS:
                self._sessions.popitem(last=False)
        return fresh

    @staticmethod
    def _build(base: SessionVectors | None, rows: Sequence[Any]) -> SessionVectors:
        dim = default_embedder().dim
        if base is None:
            base = _empty(dim)
        if not rows:
            return base
        pks = np.array([r[0] for r in rows], np.int64)
        own = from_blobs([bytes(r[1]) for r in rows], dim)
        starts = np.array([r[2] for r in rows], np.float64)
        ends = np.array([r[3] for r in rows], np.float64)
        speakers: np.ndarray = np.array([r[4] for r in rows], dtype=object)
        pks = np.concatenate([base.pks, pks])
        starts = np.concatenate([base.starts, starts])
        ends = np.concatenate([base.ends, ends])
        speakers = np.concatenate([base.speakers, speakers])
        own = np.concatenate([base.own, own])
        order = np.lexsort((pks, starts))
        if not np.array_equal(order, np.arange(len(order))):
            pks, starts, ends = pks[order], starts[order], ends[order]
            speakers, own = speakers[order], own[order]
        return SessionVectors(
            pks,
            starts,
            ends,
            speakers,
            own,
            _mix(own),
            len(pks),
            int(pks.max(initial=0)),
            {pk: i for i, pk in enumerate(pks.tolist())},
        )


def cosine_scores(vectors: SessionVectors, query: np.ndarray) -> np.ndarray:
    """Context-mixed cosine of every segment with the (unit) query vector."""
    if not len(vectors.pks) or not np.any(query):
        return np.zeros(len(vectors.pks), np.float32)
    # einsum runs on this thread: a BLAS matrix-vector product fans out to threads that
    # wait on each other when the CPUs are busy (10-15 ms instead of 1 ms for a day).
    return np.einsum("ij,j->i", vectors.mixed, query.astype(np.float32, copy=False))
