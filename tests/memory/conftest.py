"""Every memory test runs on SQLite and on a real PostgreSQL server (tests/fixtures/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memory import Memory, open_memory

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('memory') / 'memory.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def memory(db_url: str) -> Iterator[Memory]:
    with open_memory(db_url) as opened:
        yield opened
