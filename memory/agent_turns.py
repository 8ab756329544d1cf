"""The questions asked about a session and the answers given, kept with the session."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from memory import timeline
from memory.records import (
    AgentTurnRecord,
)
from memory.schema import (
    AgentTurnRow,
)
from memory.store import Store, aware_utc

log = logging.getLogger(__name__)


class AgentTurnStore(Store):
    """Questions and answers, oldest first."""

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
                created_at=aware_utc(turn.created_at) if turn.created_at else datetime.now(UTC),
            )
            db.add(row)
            db.flush()
            turn.id = row.id
            turn.created_at = aware_utc(row.created_at)
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
                    created_at=aware_utc(row.created_at),
                    id=row.id,
                )
                for row in rows
            ]
