"""Semantic similarity over a session's stored segment vectors, cached in numpy.

Two kinds of vectors, each in its own table: content-word vectors (``WORDS``,
memory/embeddings.py), computed at ingestion, and sentence vectors (``SENTENCES``,
memory/sentences.py), computed after it (too slow for ingestion's budget): by the
recorder when a recording ends, or here, for whatever segments lack one, when the session
is searched.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, Engine
from sqlalchemy import text as sql_text

from memory import bulk
from memory.embeddings import default_embedder, from_blobs, to_blob
from memory.sentences import default_sentence_embedder

log = logging.getLogger(__name__)

# Cosine floors (of the context-mixed score), tuned on paraphrase questions against a
# planning meeting: paraphrases score 0.22-0.5, topics never discussed 0.1-0.26.
WEAK_FLOOR = 0.21
STRONG_FLOOR = 0.30
# Sentence-vector floors (all-MiniLM-L6-v2, "what was said about <subject>?" against a
# segment, context-mixed): on the benchmark's meetings, subjects said in other words scored
# 0.33-0.54 against the line that says them, subjects never discussed 0.15-0.29 against
# their closest line (0.15-0.31 when the whole question is read too).
SENTENCE_WEAK_FLOOR = 0.32
SENTENCE_STRONG_FLOOR = 0.42
CONTEXT_WEIGHT = 0.7
CONTEXT_SPAN = 3
CONTEXT_DECAY = 0.7
_CACHED_SESSIONS = 8
_EMBED_BATCH = 256  # segments embedded and committed at a time when catching up


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class VectorKind:
    """One kind of segment vector: its table, size, model, and how much a segment's
    neighbours count in its score."""

    table: str
    dim: int
    context_weight: float
    at_ingest: bool  # stored with the segment; otherwise computed after, when missing
    model: Callable[[], Embedder | None]  # the process-wide model; None when not installed

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Vectors of ``texts``, or None when this kind's model is not installed."""
        embedder = self.model()
        return embedder.embed(texts) if embedder is not None else None


WORDS = VectorKind("segment_vectors", 256, CONTEXT_WEIGHT, True, default_embedder)
# A sentence vector already reads its whole line; neighbours add less.
SENTENCES = VectorKind("sentence_vectors", 384, 0.3, False, default_sentence_embedder)


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


def _mix(own: np.ndarray, weight: float = CONTEXT_WEIGHT) -> np.ndarray:
    """``own`` blended with the normalised, distance-weighted sum of its neighbourhood."""
    context = own.copy()
    for k in range(1, min(CONTEXT_SPAN, len(own) - 1) + 1):
        context[k:] += CONTEXT_DECAY**k * own[:-k]
        context[:-k] += CONTEXT_DECAY**k * own[k:]
    norms = np.linalg.norm(context, axis=1, keepdims=True)
    context /= np.maximum(norms, 1e-9)
    return (1.0 - weight) * own + weight * context


def embed_segments(
    conn: Connection, kind: VectorKind, session_id: str, segments: Sequence[tuple[int, str]]
) -> bool:
    """Embed ``(event row id, text)`` segments and store their ``kind`` vectors in ``conn``'s
    transaction (ingestion stores word vectors so); False when the model is missing."""
    if not segments:
        return True
    vectors = kind.embed([text or "" for _, text in segments])
    if vectors is None:
        return False
    pairs = list(zip([pk for pk, _ in segments], to_blob(vectors), strict=True))
    bulk.insert_vectors(conn, session_id, pairs, table=kind.table)
    return True


class VectorCache:
    """Per-session ``SessionVectors`` of one ``VectorKind``, refreshed incrementally; safe
    across threads."""

    def __init__(self, engine: Engine, kind: VectorKind = WORDS) -> None:
        self._engine = engine
        self.kind = kind
        self._sessions: OrderedDict[str, SessionVectors] = OrderedDict()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._backfilled: set[str] = set()
        table = kind.table
        # The newest vector's id is one index seek; the count (a scan) is read only when it moved.
        self._latest = sql_text(
            f"SELECT coalesce(max(event_pk), 0) FROM {table} WHERE session_id = :sid"
        )
        self._count = sql_text(f"SELECT count(*) FROM {table} WHERE session_id = :sid")
        self._rows = sql_text(
            f"SELECT v.event_pk, v.vector, e.start_time, e.end_time, e.speaker FROM {table} v "
            "JOIN events e ON e.id = v.event_pk WHERE v.session_id = :sid AND v.event_pk > :after"
        )
        self._missing = sql_text(
            "SELECT e.id, e.text FROM events e WHERE e.session_id = :sid AND e.kind = 'transcript' "
            f"AND NOT EXISTS (SELECT 1 FROM {table} v WHERE v.event_pk = e.id) ORDER BY e.id"
        )
        # Segments stored after the newest vector (ids only grow): what a live session adds.
        self._newer = sql_text(
            "SELECT e.id, e.text FROM events e WHERE e.id > :after AND e.session_id = :sid "
            "AND e.kind = 'transcript' ORDER BY e.id"
        )
        self._newest_event = sql_text("SELECT coalesce(max(id), 0) FROM events")
        self._seen_event: dict[str, int] = {}

    def forget(self, session_id: str) -> None:
        """Drop what is cached of ``session_id`` (deleted, or its speakers rewritten)."""
        with self._lock:
            self._sessions.pop(session_id, None)
            self._backfilled.discard(session_id)
            self._seen_event.pop(session_id, None)

    def _store(self, session_id: str, segments: list[tuple[int, str]]) -> bool:
        """Embed and store ``segments`` in batches; False when the model is missing."""
        total = len(segments)
        for first in range(0, total, _EMBED_BATCH):
            with self._engine.begin() as conn:
                if not embed_segments(
                    conn, self.kind, session_id, segments[first : first + _EMBED_BATCH]
                ):
                    return False
            if total > _EMBED_BATCH:
                log.info(
                    "%s of session %s: %d of %d segments embedded",
                    self.kind.table,
                    session_id,
                    min(first + _EMBED_BATCH, total),
                    total,
                )
        return True

    def catch_up(self, session_id: str) -> int:
        """Embed and store every segment of the session that has no vector of this kind;
        the number embedded (0 when the model is not installed)."""
        with self._write_lock:
            with self._engine.connect() as conn:
                params: dict[str, object] = {"sid": session_id}
                if session_id not in self._backfilled:
                    query = self._missing
                else:
                    after = int(conn.execute(self._latest, {"sid": session_id}).scalar() or 0)
                    query, params["after"] = self._newer, after
                newest = int(conn.execute(self._newest_event).scalar() or 0)
                missing = [(int(pk), text or "") for pk, text in conn.execute(query, params)]
            if missing:
                if len(missing) > _EMBED_BATCH:
                    log.info(
                        "embedding %d stored segments of session %s (%s)",
                        len(missing),
                        session_id,
                        self.kind.table,
                    )
                if not self._store(session_id, missing):
                    return 0
            with self._lock:
                self._backfilled.add(session_id)
                self._seen_event[session_id] = newest
            return len(missing)

    def _stale(self, conn: Connection, session_id: str) -> bool:
        """Whether segments may lack a vector: never checked, or events stored since."""
        if session_id not in self._backfilled:
            return True
        if self.kind.at_ingest:
            return False
        newest = int(conn.execute(self._newest_event).scalar() or 0)
        return newest != self._seen_event.get(session_id)

    def vectors(self, conn: Connection, session_id: str) -> SessionVectors:
        """The session's vectors as of now (reading only rows stored since the last call).

        New rows are noticed by a higher newest id; a row with a lower id that commits
        after a higher one (concurrent writers on PostgreSQL) is picked up by the count
        check the next time anything new arrives."""
        if self._stale(conn, session_id):
            self.catch_up(session_id)
        max_pk = int(conn.execute(self._latest, {"sid": session_id}).scalar() or 0)
        with self._lock:
            cached = self._sessions.get(session_id)
            if cached is not None:
                self._sessions.move_to_end(session_id)
                if cached.max_pk == max_pk:
                    return cached
        count = int(conn.execute(self._count, {"sid": session_id}).scalar() or 0)
        base = cached if cached is not None and count > cached.count else None
        rows = conn.execute(
            self._rows, {"sid": session_id, "after": base.max_pk if base else 0}
        ).all()
        if base is not None and base.count + len(rows) != count:
            # A row with a lower id committed late (concurrent writers): read them all again.
            base = None
            rows = conn.execute(self._rows, {"sid": session_id, "after": 0}).all()
        fresh = self._build(base, rows)
        with self._lock:
            self._sessions[session_id] = fresh
            self._sessions.move_to_end(session_id)
            while len(self._sessions) > _CACHED_SESSIONS:
                self._sessions.popitem(last=False)
        return fresh

    def _build(self, base: SessionVectors | None, rows: Sequence[Any]) -> SessionVectors:
        dim = self.kind.dim
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
            _mix(own, self.kind.context_weight),
            len(pks),
            int(pks.max(initial=0)),
            {pk: i for i, pk in enumerate(pks.tolist())},
        )


def load_models() -> None:
    """Load both kinds' models now (about 1-2 s), so that a live assistant's first
    question does not wait for them."""
    for kind in (WORDS, SENTENCES):
        kind.model()


def cosine_scores(vectors: SessionVectors, query: np.ndarray) -> np.ndarray:
    """Context-mixed cosine of every segment with the (unit) query vector."""
    if not len(vectors.pks) or not np.any(query):
        return np.zeros(len(vectors.pks), np.float32)
    # einsum runs on this thread: a BLAS matrix-vector product fans out to threads that
    # wait on each other when the CPUs are busy (10-15 ms instead of 1 ms for a day).
    return np.einsum("ij,j->i", vectors.mixed, query.astype(np.float32, copy=False))
