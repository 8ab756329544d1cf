"""The memory repository: named queries that read like the questions asked of a session.

One ``Memory`` wraps one engine. Each method is one unit of work (its own transaction), so
a crash loses at most the batch being written. Every query takes a session id and is
scoped to it; user text only ever reaches the database as a bound parameter.
"""

from __future__ import annotations

import logging
import operator
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from memory import audio_archive, bulk, exports, fulltext, timeline
from memory.database import describe, make_engine, resolve_url, upgrade
from memory.errors import MemoryStoreError, unknown_session
from memory.records import AgentTurnRecord, SessionInfo, SpeakerTalkTime, TextHit
from memory.rows import ROW_END, ROW_KIND, ROW_SPEAKER, ROW_START, event_id_of, event_row
from memory.schema import (
    AgentTurnRow,
    AudioChunkRow,
    EventRow,
    KindSpanRow,
    SessionRow,
    SpeakerRow,
    TalkTimeRow,
)
from memory.speaker_refinement import ReclusterResult, recluster_session
from perception.events import BaseEvent, Event, EventKind, TranscriptSegment

log = logging.getLogger(__name__)

ExportFormat = Literal["json", "srt", "vtt", "md"]
_TALK_KINDS = (str(EventKind.SPEAKER), str(EventKind.TRANSCRIPT))
_speaker_of = operator.attrgetter("speaker")


def open_memory(url: str | None = None) -> Memory:
    """Open (creating and migrating if needed) the memory database at ``url``.

    ``url`` is a SQLAlchemy URL or a file path; default ``$MOSS_AGENTS_DB`` or
    ``<user data dir>/moss-agents/memory.db``. Raises ``MemoryStoreError`` with a one-line
    reason if the database cannot be opened.
    """
    engine = make_engine(resolve_url(url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Memory(engine)


def _aware(moment: datetime) -> datetime:
    """As UTC; SQLite gives timestamps back without a zone (they were stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _kind_names(kinds: Sequence[EventKind | str] | None) -> list[str] | None:
    if kinds is None:
        return None
    names = [str(EventKind(k)) for k in kinds]
    return names


class Memory:
    """Repository over the memory database (see ``open_memory``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Read-only queries that are one statement (or need no common snapshot) run in
        # autocommit: no BEGIN and ROLLBACK round trips around them on PostgreSQL.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # -- lifetime ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return describe(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sessions ------------------------------------------------------------------------

    def create_session(
        self,
        title: str,
        source: str | None = None,
        started_at: datetime | None = None,
        backend: str | None = None,
        model: str | None = None,
        session_id: str | None = None,
    ) -> SessionInfo:
        """A new, empty session; ``session_id`` defaults to a fresh random id."""
        if not title.strip() or "\x00" in title or "\x00" in (session_id or ""):
            raise MemoryStoreError("a session needs a non-empty title (and no NUL characters)")
        new_id = session_id or uuid.uuid4().hex[:12]
        started = _aware(started_at).astimezone(UTC) if started_at else datetime.now(UTC)
        with Session(self.engine) as db, db.begin():
            if db.get(SessionRow, new_id) is not None:
                raise MemoryStoreError(f"a session with id {new_id!r} already exists")
            db.add(
                SessionRow(
                    id=new_id,
                    title=title,
                    source=source,
                    started_at=started,
                    duration=0.0,
                    backend=backend,
                    model=model,
                )
            )
        info = self.find_session(new_id)
        assert info is not None
        return info

    def _session_infos(self, db: Session, *conditions: Any) -> list[SessionInfo]:
        counts = (
            select(EventRow.session_id, func.count().label("n"))
            .group_by(EventRow.session_id)
            .subquery()
        )
        rows = db.execute(
            select(SessionRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.session_id == SessionRow.id)
            .where(*conditions)
            .order_by(SessionRow.started_at.desc(), SessionRow.created_at.desc())
        ).all()
        return [
            SessionInfo(
                id=row.id,
                title=row.title,
                source=row.source,
                started_at=_aware(row.started_at),
                duration=row.duration,
                backend=row.backend,
                model=row.model,
                event_count=int(n),
            )
            for row, n in rows
        ]

    def list_sessions(self) -> list[SessionInfo]:
        """All sessions, most recent first."""
        with Session(self.engine) as db:
            return self._session_infos(db)

    def find_session(self, id_or_title: str) -> SessionInfo | None:
        """The session with this id, else the latest with this title (exact, then any case),
        else the only session whose id starts with it; ``None`` if there is none."""
        if "\x00" in id_or_title:  # cannot be stored, so cannot match (and PostgreSQL rejects it)
            return None
        with Session(self.engine) as db:
            for condition in (
                SessionRow.id == id_or_title,
                SessionRow.title == id_or_title,
                func.lower(SessionRow.title) == id_or_title.lower(),
            ):
                found = self._session_infos(db, condition)
                if found:
                    return found[0]
            if len(id_or_title) >= 4:
                escaped = id_or_title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                found = self._session_infos(db, SessionRow.id.like(escaped + "%", escape="\\"))
                if len(found) == 1:
                    return found[0]
        return None

    def get_or_create_session(self, title: str, **kw: Any) -> SessionInfo:
        """The latest session titled exactly ``title``, or a new one (``kw`` as for create)."""
        with Session(self.engine) as db:
            found = self._session_infos(db, SessionRow.title == title)
        if found:
            return found[0]
        return self.create_session(title, **kw)

    def delete_session(self, session_id: str) -> None:
        """Remove a session and everything recorded in it."""
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            for table in (
                EventRow, SpeakerRow, KindSpanRow, TalkTimeRow, AgentTurnRow, AudioChunkRow
            ):  # fmt: skip
                conn.execute(delete(table).where(table.session_id == session_id))
            conn.execute(delete(SessionRow).where(SessionRow.id == session_id))

    def set_duration(self, session_id: str, seconds: float) -> None:
        """Set the length of the session's audio (ingestion extends it to the last event)."""
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            conn.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id)
                .values(duration=float(seconds))
            )

    def _duration(self, db: Session, session_id: str) -> float:
        duration = (
            None
            if "\x00" in session_id
            else db.execute(
                select(SessionRow.duration).where(SessionRow.id == session_id)
            ).scalar_one_or_none()
        )
        if duration is None:
            raise unknown_session(session_id)
        return float(duration)

    # -- ingestion -----------------------------------------------------------------------

    def ingest(
        self,
        session_id: str,
        events: Iterable[Event],
        batch_size: int = 1000,
        *,
        extend_duration: bool = True,
    ) -> int:
        """Store events in batches of ``batch_size`` (one transaction each); returns how many
        were new. Events already stored (same ``event_id``) are skipped, so re-ingesting
        overlapping windows or a whole file again never duplicates. Sets each event's
        ``session_id``; extends the session's duration to the last event's end unless
        ``extend_duration`` is false (a caller keeping the duration as its own resume
        point, like the recorder, moves it with ``set_duration``)."""
        with self.engine.connect() as conn:
            timeline.require_session(conn, session_id)
        added = 0
        batch: list[BaseEvent] = []
        for event in events:
            event.session_id = session_id
            batch.append(event)
            if len(batch) >= batch_size:
                added += self._ingest_batch(session_id, batch, extend_duration)
                batch = []
        if batch:
            added += self._ingest_batch(session_id, batch, extend_duration)
        return added

    def _ingest_batch(
        self, session_id: str, batch: Sequence[BaseEvent], extend_duration: bool
    ) -> int:
        unique: dict[str, BaseEvent] = {}
        for event in batch:
            unique.setdefault(event_id_of(event), event)
        rows = {event_id: event_row(event, event_id) for event_id, event in unique.items()}
        with self.engine.begin() as conn:
            inserted = bulk.insert_events(conn, list(rows.values()))
            new_rows = [rows[eid] for eid in inserted]
            # Speakers of events stored earlier were noted with them.
            speakers = {row[ROW_SPEAKER] for row in new_rows}
            for eid in inserted:
                if words := unique[eid].__dict__.get("words"):
                    speakers.update(map(_speaker_of, words))
            self._note_speakers(conn, session_id, speakers)
            self._add_talk_time(conn, session_id, new_rows)
            # Kind, start and end per row as plain tuples: cheaper than pydantic attributes.
            timed = [(row[ROW_KIND], row[ROW_START], row[ROW_END]) for row in rows.values()]
            self._note_spans(conn, session_id, timed)
            if extend_duration:
                self._extend_duration(conn, session_id, max(end for _, _, end in timed))
        log.debug("ingested %d new of %d events into %s", len(inserted), len(batch), session_id)
        return len(inserted)

    def _extend_duration(self, conn: Connection, session_id: str, last_end: float) -> None:
        conn.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id)
            .values(
                duration=case((SessionRow.duration < last_end, last_end), else_=SessionRow.duration)
            )
        )

    def _note_speakers(self, conn: Connection, session_id: str, speakers: set[str | None]) -> None:
        speakers.discard(None)
        speakers.discard("")
        if speakers:
            conn.execute(
                self._insert(SpeakerRow).on_conflict_do_nothing(),
                [{"session_id": session_id, "speaker": s} for s in sorted(speakers)],
            )

    def _add_talk_time(
        self, conn: Connection, session_id: str, new_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        totals: dict[tuple[str, str], list[float]] = {}
        for row in new_rows:
            speaker, kind = row[ROW_SPEAKER], row[ROW_KIND]
            if not speaker or kind not in _TALK_KINDS:
                continue
            start, end = row[ROW_START], row[ROW_END]
            total = totals.get((speaker, kind))
            if total is None:
                totals[(speaker, kind)] = [end - start, 1, start, end]
                continue
            total[0] += end - start
            total[1] += 1
            total[2] = min(total[2], start)
            total[3] = max(total[3], end)
        if not totals:
            return
        rows = [
            {
                "sid": session_id,
                "who": speaker,
                "what": kind,
                "s": s,
                "n": n,
                "f": f,
                "l": last,
            }
            for (speaker, kind), (s, n, f, last) in totals.items()
        ]
        conn.execute(
            self._insert(TalkTimeRow)
            .values(
                session_id=bindparam("sid"),
                speaker=bindparam("who"),
                kind=bindparam("what"),
                seconds=0.0,
                turns=0,
                first_start=bindparam("f"),
                last_end=bindparam("l"),
            )
            .on_conflict_do_nothing(),
            rows,
        )
        # Increments in SQL, so concurrent writers to one session cannot lose each other's.
        conn.execute(
            update(TalkTimeRow)
            .where(
                TalkTimeRow.session_id == bindparam("sid"),
                TalkTimeRow.speaker == bindparam("who"),
                TalkTimeRow.kind == bindparam("what"),
            )
            .values(
                seconds=TalkTimeRow.seconds + bindparam("s"),
                turns=TalkTimeRow.turns + bindparam("n"),
                first_start=case(
                    (TalkTimeRow.first_start > bindparam("f"), bindparam("f")),
                    else_=TalkTimeRow.first_start,
                ),
                last_end=case(
                    (TalkTimeRow.last_end < bindparam("l"), bindparam("l")),
                    else_=TalkTimeRow.last_end,
                ),
            ),
            rows,
        )

    def _note_spans(
        self, conn: Connection, session_id: str, timed: Sequence[tuple[str, float, float]]
    ) -> None:
        spans: dict[str, float] = defaultdict(float)
        for kind, start, end in timed:
            if end - start > spans[kind]:
                spans[kind] = end - start
        known = dict(
            conn.execute(
                select(KindSpanRow.kind, KindSpanRow.max_span).where(
                    KindSpanRow.session_id == session_id
                )
            ).all()
        )
        for kind, span in spans.items():
            if kind not in known:
                conn.execute(
                    insert(KindSpanRow).values(session_id=session_id, kind=kind, max_span=span)
                )
            elif span > known[kind]:
                conn.execute(
                    update(KindSpanRow)
                    .where(KindSpanRow.session_id == session_id, KindSpanRow.kind == kind)
                    .values(max_span=span)
                )

    # -- time queries --------------------------------------------------------------------

    def transcript_between(self, session_id: str, t0: float, t1: float) -> list[TranscriptSegment]:
        """Transcript segments overlapping [t0, t1] seconds, ordered by start."""
        with self._reads.connect() as conn:
            events = timeline.events_overlapping(
                conn, session_id, t0, t1, [str(EventKind.TRANSCRIPT)]
            )
        return [e for e in events if isinstance(e, TranscriptSegment)]

    def transcript_at(
        self, session_id: str, t: float, before: float = 15.0, after: float = 15.0
    ) -> list[TranscriptSegment]:
        """What was being said around second ``t``: segments overlapping [t-before, t+after]."""
        return self.transcript_between(session_id, max(0.0, t - before), t + after)

    def events_between(
        self,
        session_id: str,
        t0: float,
        t1: float,
        kinds: Sequence[EventKind | str] | None = None,
    ) -> list[Event]:
        """Events (of ``kinds``, default all) overlapping [t0, t1], ordered by start."""
        with self._reads.connect() as conn:
            return timeline.events_overlapping(conn, session_id, t0, t1, _kind_names(kinds))

    def last_minutes(
        self, session_id: str, minutes: float, kinds: Sequence[EventKind | str] | None = None
    ) -> list[Event]:
        """Events of the last ``minutes`` of the session (before its end, not the clock)."""
        with Session(self.engine) as db:
            end = self._duration(db, session_id)
            return timeline.events_overlapping(
                db.connection(), session_id, max(0.0, end - minutes * 60.0), end, _kind_names(kinds)
            )

    def session_events(
        self, session_id: str, kinds: Sequence[EventKind | str] | None = None
    ) -> list[Event]:
        """Every event of the session (of ``kinds``), ordered by start (also any after a
        duration set shorter by ``set_duration``)."""
        with self._reads.connect() as conn:
            return timeline.events_overlapping(
                conn, session_id, 0.0, float("inf"), _kind_names(kinds)
            )

    # -- text and speakers ---------------------------------------------------------------

    def search_text(self, session_id: str, query: str, limit: int = 20) -> list[TextHit]:
        """Transcript segments matching the words of ``query``, best first.

        All words must match; if no segment has them all, segments with any of them are
        returned (ranked). Quotes, ``*``, ``NEAR``, SQL and the like are taken as words.
        """
        if "\x00" in session_id:
            raise unknown_session(session_id)
        with self._reads.connect() as conn:
            hits = fulltext.search_segment_ids(conn, session_id, query, limit)
            if not hits:
                timeline.require_session(conn, session_id)
                return []
            by_pk = timeline.events_by_pk(conn, [pk for pk, _ in hits])
            result = []
            for pk, score in hits:
                segment = by_pk.get(pk)  # gone if the session was deleted in between
                if not isinstance(segment, TranscriptSegment):
                    continue
                result.append(
                    TextHit(
                        segment=segment,
                        score=score,
                        snippet=fulltext.snippet(segment.text, query),
                    )
                )
            return result

    def speaker_names(self, session_id: str) -> dict[str, str]:
        """Speaker id -> display name (the id itself when nobody named the speaker)."""
        with Session(self.engine) as db:
            rows = db.execute(
                select(SpeakerRow.speaker, SpeakerRow.display_name).where(
                    SpeakerRow.session_id == session_id
                )
            ).all()
        return {speaker: name or speaker for speaker, name in rows}

    def rename_speaker(self, session_id: str, speaker: str, display_name: str) -> None:
        """Give a speaker id (``S1``) a name (``Alice``) used in exports and answers."""
        display_name = display_name.replace("\x00", "").strip()
        if not display_name:
            raise MemoryStoreError("a speaker's display name cannot be empty")
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            changed = conn.execute(
                update(SpeakerRow)
                .where(SpeakerRow.session_id == session_id, SpeakerRow.speaker == speaker)
                .values(display_name=display_name)
            ).rowcount
            if not changed:
                known = (
                    conn.execute(
                        select(SpeakerRow.speaker)
                        .where(SpeakerRow.session_id == session_id)
                        .order_by(SpeakerRow.speaker)
                    )
                    .scalars()
                    .all()
                )
                raise MemoryStoreError(
                    f"no speaker {speaker!r} in session {session_id!r}; known speakers: "
                    + (", ".join(known) or "none")
                )

    def recluster_speakers(self, session_id: str) -> ReclusterResult:
        """Regroup the session's speaker ids over the whole session from the stored voice
        embeddings (see memory/speaker_refinement.py); returns what changed."""
        return recluster_session(self, session_id)

    def speakers_with_talk_time(self, session_id: str) -> list[SpeakerTalkTime]:
        """Who spoke and how much, most talkative first.

        Talk time comes from diarisation turns when the session has any, else from
        transcript segments attributed to a speaker.
        """
        named = and_(
            SpeakerRow.session_id == TalkTimeRow.session_id,
            SpeakerRow.speaker == TalkTimeRow.speaker,
        )
        with self._reads.connect() as conn:
            rows = conn.execute(
                select(
                    TalkTimeRow.kind,
                    TalkTimeRow.speaker,
                    SpeakerRow.display_name,
                    TalkTimeRow.seconds,
                    TalkTimeRow.turns,
                    TalkTimeRow.first_start,
                    TalkTimeRow.last_end,
                )
                .outerjoin(SpeakerRow, named)
                .where(TalkTimeRow.session_id == session_id, TalkTimeRow.turns > 0)
                .order_by(TalkTimeRow.seconds.desc(), TalkTimeRow.speaker)
            ).all()
            if not rows:
                timeline.require_session(conn, session_id)
        has_turns = any(row.kind == EventKind.SPEAKER for row in rows)
        kind = str(EventKind.SPEAKER if has_turns else EventKind.TRANSCRIPT)
        return [
            SpeakerTalkTime(
                speaker=speaker,
                display_name=name or speaker,
                talk_seconds=float(seconds),
                turns=int(turns),
                first_start=float(first),
                last_end=float(last),
            )
            for row_kind, speaker, name, seconds, turns, first, last in rows
            if row_kind == kind
        ]

    # -- agent turns ---------------------------------------------------------------------

    def record_agent_turn(self, session_id: str, turn: AgentTurnRecord) -> int:
        """Store a question and its answer; returns the turn's id (also set on ``turn``)."""
        with Session(self.engine) as db, db.begin():
            timeline.require_session(db, session_id)
            row = AgentTurnRow(
                session_id=session_id,
                question=turn.question,
                answer=turn.answer,
                tool_calls=list(turn.tool_calls),
                reasoning=list(turn.reasoning),
                citations=list(turn.citations),
                session_time=turn.session_time,
                created_at=_aware(turn.created_at) if turn.created_at else datetime.now(UTC),
            )
            db.add(row)
            db.flush()
            turn.id = row.id
            turn.created_at = _aware(row.created_at)
            return int(row.id)

    def agent_turns(self, session_id: str) -> list[AgentTurnRecord]:
        """The questions asked in a session and their answers, oldest first."""
        with Session(self.engine) as db:
            timeline.require_session(db, session_id)
            rows = db.scalars(
                select(AgentTurnRow)
                .where(AgentTurnRow.session_id == session_id)
                .order_by(AgentTurnRow.id)
            ).all()
            return [
                AgentTurnRecord(
                    question=row.question,
                    answer=row.answer,
                    tool_calls=list(row.tool_calls),
                    reasoning=list(row.reasoning),
                    citations=list(row.citations),
                    session_time=row.session_time,
                    created_at=_aware(row.created_at),
                    id=row.id,
                )
                for row in rows
            ]

    # -- exports -------------------------------------------------------------------------

    def export(self, session_id: str, fmt: ExportFormat) -> str:
        """The session as JSON, SRT or WebVTT subtitles, or Markdown minutes."""
        info = self.find_session(session_id)
        if info is None or info.id != session_id:
            raise unknown_session(session_id)
        events = self.session_events(session_id)
        names = self.speaker_names(session_id)
        if fmt == "srt":
            return exports.to_srt(events, names)
        if fmt == "vtt":
            return exports.to_vtt(events, names)
        if fmt == "md":
            return exports.to_markdown(
                info, events, names, self.speakers_with_talk_time(session_id)
            )
        if fmt == "json":
            return exports.to_json(info, events, names, self.agent_turns(session_id))
        raise MemoryStoreError(f"unknown export format {fmt!r}; use json, srt, vtt or md")

    # -- audio archive -------------------------------------------------------------------

    def archive_audio(self, session_id: str, start: float, samples_16k: np.ndarray) -> int:
        """Keep ``samples_16k`` (16 kHz mono) starting at ``start`` s as FLAC chunks; returns
        the number of chunks written. Archiving the same range again replaces it."""
        chunks = audio_archive.encode_chunks(start, samples_16k)
        with self.engine.begin() as conn:
            timeline.require_session(conn, session_id)
            for chunk in chunks:
                conn.execute(
                    delete(AudioChunkRow).where(
                        AudioChunkRow.session_id == session_id,
                        AudioChunkRow.start_time == chunk.start,
                    )
                )
            if chunks:
                conn.execute(
                    insert(AudioChunkRow),
                    [
                        {
                            "session_id": session_id,
                            "start_time": c.start,
                            "end_time": c.end,
                            "sample_rate": audio_archive.SAMPLE_RATE,
                            "sample_count": c.sample_count,
                            "codec": "flac",
                            "data": c.data,
                        }
                        for c in chunks
                    ],
                )
        return len(chunks)

    def read_audio(self, session_id: str, t0: float, t1: float) -> np.ndarray:
        """16 kHz mono float32 audio of [t0, t1]; parts never archived are silence."""
        with Session(self.engine) as db:
            timeline.require_session(db, session_id)
            rows = db.execute(
                select(AudioChunkRow.start_time, AudioChunkRow.data)
                .where(
                    AudioChunkRow.session_id == session_id,
                    AudioChunkRow.start_time < t1,
                    AudioChunkRow.end_time > t0,
                )
                .order_by(AudioChunkRow.start_time)
            ).all()
        return audio_archive.assemble(t0, t1, [(start, data) for start, data in rows])
