"""Events in a time range, read with prepared Core statements (the query hot path).

A range query wants every event with ``start <= t1 and end >= t0``. The per-session
longest span of each kind (``kind_spans``) turns that into a bounded scan of the
(session, kind, start) index: ``t0 - span <= start <= t1``, all in one statement.
Statements are built once; only bound parameters change between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from memory.errors import unknown_session
from memory.rows import event_from_row
from memory.schema import EventRow, KindSpanRow, SessionRow
from perception.events import Event, EventKind

_events = EventRow.__table__


def _range_statement() -> Any:
    kinds: Any = bindparam("kinds", expanding=True)
    # Evaluated once per query (an uncorrelated scalar subquery), then used as the lower
    # bound of the index range: one round trip instead of reading the span first.
    longest_span = (
        select(func.coalesce(func.max(KindSpanRow.max_span), 0.0))
        .where(KindSpanRow.session_id == bindparam("session_id"), KindSpanRow.kind.in_(kinds))
        .scalar_subquery()
    )
    statement = select(_events).where(
        _events.c.session_id == bindparam("session_id"),
        _events.c.kind.in_(kinds),
        _events.c.start_time >= bindparam("t0") - longest_span,
        _events.c.start_time <= bindparam("t1"),
        _events.c.end_time >= bindparam("t0"),
    )
    return statement.order_by(_events.c.start_time, _events.c.end_time, _events.c.id)


_RANGE = _range_statement()
_ALL_KINDS = [str(kind) for kind in EventKind]
_BY_PK = select(_events).where(_events.c.id.in_(bindparam("pks", expanding=True)))
_SESSION = select(SessionRow.id).where(SessionRow.id == bindparam("session_id"))


def events_overlapping(
    conn: Connection, session_id: str, t0: float, t1: float, kinds: list[str] | None
) -> list[Event]:
    """Events of ``session_id`` (of ``kinds``, default all) overlapping [t0, t1], by start."""
    if t1 < t0:
        t0, t1 = t1, t0
    if "\x00" in session_id:
        raise unknown_session(session_id)
    # "All kinds" is spelled out so that the (session, kind, start) index serves every query.
    params = {"session_id": session_id, "kinds": kinds or _ALL_KINDS, "t0": t0, "t1": t1}
    rows = conn.execute(_RANGE, params).all()
    if not rows:  # nothing there, or no such session?
        require_session(conn, session_id)
    return [event_from_row(row) for row in rows]


def require_session(db: Connection | Session, session_id: str) -> None:
    """Raise ``MemoryStoreError`` (with what to do) unless the session exists."""
    if "\x00" in session_id or db.execute(_SESSION, {"session_id": session_id}).first() is None:
        raise unknown_session(session_id)


def events_by_pk(conn: Connection, pks: Sequence[int]) -> dict[int, Event]:
    """Events by their row id."""
    rows = conn.execute(_BY_PK, {"pks": list(pks)}).all()
    return {row.id: event_from_row(row) for row in rows}
