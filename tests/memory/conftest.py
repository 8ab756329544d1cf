"""Every memory test runs on SQLite and on a real PostgreSQL server (tests/fixtures/postgres.py).

Each test gets its own database, copied from one migrated once per run (a file copy on
SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL): fresh state without paying for
the migrations every time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory import Memory, open_memory
from tests.fixtures.postgres import TemporaryPostgres

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
TEMPLATE = "memory_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "memory.db"
    open_memory(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: TemporaryPostgres) -> str:
    open_memory(postgres_server.create_database(TEMPLATE)).close()
    return TEMPLATE


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database on each backend, schema already at head."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("memory") / "memory.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    server: TemporaryPostgres = request.getfixturevalue("postgres_server")
    return server.create_database(template=request.getfixturevalue("postgres_template"))


@pytest.fixture
def memory(db_url: str) -> Iterator[Memory]:
    with open_memory(db_url) as opened:
        yield opened
