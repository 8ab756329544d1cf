"""What every part of the memory repository shares: one engine, its read-only view, the
dialect's INSERT (for ON CONFLICT) and the cache of segment vectors.

``Memory`` (memory/repository.py) is assembled from parts split by concern, each a
subclass of ``Store``: sessions, ingest, timeline, speakers, search, minutes, agent turns
and the audio archive. Each method is one unit of work (its own transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from memory import semantic
from memory.database import describe


def aware_utc(moment: datetime) -> datetime:
    """As UTC; SQLite gives timestamps back without a zone (they were stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Store:
    """One engine and what the queries over it share."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Read-only queries that are one statement (or need no common snapshot) run in
        # autocommit: no BEGIN and ROLLBACK round trips around them on PostgreSQL.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )
        self._vectors = semantic.VectorCache(engine, semantic.WORDS)
        self._sentence_vectors = semantic.VectorCache(engine, semantic.SENTENCES)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return describe(self.engine.url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
