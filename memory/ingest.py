"""Storing events: idempotent batches, with speakers, talk time and span bookkeeping kept
up to date in the same transaction."""

from __future__ import annotations

import logging
import operator
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    insert,
    select,
    update,
)

from memory import bulk, semantic, timeline
from memory.records import talk_totals
from memory.rows import (
    ROW_END,
    ROW_KIND,
    ROW_SPEAKER,
    ROW_START,
    ROW_TEXT,
    event_id_of,
    event_row,
)
from memory.schema import (
    KindSpanRow,
    SessionRow,
    SpeakerRow,
    TalkTimeRow,
)
from memory.store import Store
from perception.events import BaseEvent, Event

_speaker_of = operator.attrgetter("speaker")

log = logging.getLogger(__name__)


class EventIngest(Store):
    """Writes events in batches, one transaction each (a crash loses at most one batch)."""

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
            inserted_ids = bulk.insert_events(conn, list(rows.values()))
            inserted = [eid for eid, _ in inserted_ids]
            new_rows = [rows[eid] for eid in inserted]
            # Segments are embedded in the same transaction: a stored segment has its vector.
            said = [
                (pk, rows[eid][ROW_TEXT])
                for eid, pk in inserted_ids
                if rows[eid][ROW_KIND] == "transcript" and rows[eid][ROW_TEXT]
            ]
            if said:
                semantic.embed_segments(conn, semantic.WORDS, session_id, said)
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
                [{"session_id": session_id, "speaker": s} for s in sorted(filter(None, speakers))],
            )

    def _add_talk_time(
        self, conn: Connection, session_id: str, new_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        totals = talk_totals(
            (row[ROW_SPEAKER], row[ROW_KIND], row[ROW_START], row[ROW_END]) for row in new_rows
        )
        if not totals:
            return
        rows = [
            {
                "sid": session_id,
                "who": speaker,
                "what": kind,
                "s": t.seconds,
                "n": t.turns,
                "f": t.first_start,
                "l": t.last_end,
            }
            for (speaker, kind), t in totals.items()
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
