"""Events in a time range, read with prepared Core statements (the query hot path).

A range query wants every event with ``start <= t1 and end >= t0``. The per-session
longest span of each kind (``kind_spans``) turns that into a bounded scan of the
(session, kind, start) index: ``t0 - span <= start <= t1``. Statements are built once;
only bound parameters change between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from memory.errors import MemoryError
from memory.rows import event_from_row
from memory.schema import EventRow, KindSpanRow, SessionRow
from perception.events import Event, EventKind

_events = EventRow.__table__
_TRANSCRIPT = str(EventKind.TRANSCRIPT)


def _span_statement() -> Any:
    join_on = and_(
        KindSpanRow.session_id == SessionRow.id,
        KindSpanRow.kind.in_(bindparam("kinds", expanding=True)),
    )
    return (
        select(SessionRow.id, func.max(KindSpanRow.max_span))
        .select_from(SessionRow)
        .outerjoin(KindSpanRow, join_on)
        .where(SessionRow.id == bindparam("session_id"))
        .group_by(SessionRow.id)
    )


def _range_statement() -> Any:
    statement = select(_events).where(
        _events.c.session_id == bindparam("session_id"),
        _events.c.kind.in_(bindparam("kinds", expanding=True)),
        _events.c.start_time >= bindparam("lowest_start"),
        _events.c.start_time <= bindparam("t1"),
        _events.c.end_time >= bindparam("t0"),
    )
    return statement.order_by(_events.c.start_time, _events.c.end_time, _events.c.id)


_SPAN = _span_statement()
_RANGE = _range_statement()
_ALL_KINDS = [str(kind) for kind in EventKind]
_BY_PK = select(_events).where(_events.c.id.in_(bindparam("pks", expanding=True)))


def events_overlapping(
    conn: Connection, session_id: str, t0: float, t1: float, kinds: list[str] | None
) -> list[Event]:
    """Events of ``session_id`` (of ``kinds``, default all) overlapping [t0, t1], by start."""
    if t1 < t0:
        t0, t1 = t1, t0
    # "All kinds" is spelled out so that the (session, kind, start) index serves every query.
    params: dict[str, Any] = {"session_id": session_id, "kinds": kinds or _ALL_KINDS}
    found = None if "\x00" in session_id else conn.execute(_SPAN, params).first()
    if found is None:
        raise MemoryError(f"no session {session_id!r}; see `moss-agent sessions`")
    span = float(found[1] or 0.0)
    params.update(t0=t0, t1=t1, lowest_start=t0 - span)
    return [event_from_row(row) for row in conn.execute(_RANGE, params).all()]


def events_by_pk(conn: Connection, pks: Sequence[int]) -> dict[int, Event]:
    """Events by their row id."""
    rows = conn.execute(_BY_PK, {"pks": list(pks)}).all()
    return {row.id: event_from_row(row) for row in rows}
