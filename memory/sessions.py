"""Sessions: create, find by id, title or id prefix, list, delete, and their audio's length."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from memory import timeline
from memory.errors import MemoryStoreError, unknown_session
from memory.records import (
    SessionInfo,
)
from memory.schema import (
    AgentTurnRow,
    AudioChunkRow,
    EventRow,
    KindSpanRow,
    MinutesItemRow,
    MinutesRow,
    SegmentVectorRow,
    SentenceVectorRow,
    SessionRow,
    SpeakerRow,
    TalkTimeRow,
)
from memory.store import Store, aware_utc

log = logging.getLogger(__name__)


class SessionStore(Store):
    """Sessions: each a recording or a call, the scope of every query."""

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
        started = aware_utc(started_at).astimezone(UTC) if started_at else datetime.now(UTC)
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
                started_at=aware_utc(row.started_at),
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
                SegmentVectorRow, SentenceVectorRow, MinutesItemRow, MinutesRow,
                EventRow, SpeakerRow, KindSpanRow, TalkTimeRow, AgentTurnRow, AudioChunkRow
            ):  # fmt: skip
                conn.execute(delete(table).where(table.session_id == session_id))
            conn.execute(delete(SessionRow).where(SessionRow.id == session_id))
        self._vectors.forget(session_id)
        self._sentence_vectors.forget(session_id)

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
