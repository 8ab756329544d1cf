"""Where the database is, how to connect to it, and bringing its schema up to date.

SQLite is the embedded default (a file under the user's data directory, in WAL mode so a
reader never blocks the recorder and a killed writer loses only its open transaction);
PostgreSQL is the deployment database. Any other URL is refused with a clear message.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from pydantic_core import from_json
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from memory.errors import MemoryStoreError

log = logging.getLogger(__name__)

ENV_VAR = "MOSS_AGENTS_DB"
APP_NAME = "moss-agents"
DEFAULT_FILE = "memory.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def default_url() -> str:
    """``sqlite:///<user data dir>/moss-agents/memory.db`` (the directory is created)."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir(APP_NAME, appauthor=False))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / DEFAULT_FILE}"


def resolve_url(url: str | None = None) -> URL:
    """The URL to use: the argument, else ``$MOSS_AGENTS_DB``, else the default SQLite file.

    A bare file path is taken as a SQLite file; ``postgresql://`` gets the psycopg driver.
    """
    raw = url or os.environ.get(ENV_VAR) or default_url()
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser()}"
    try:
        parsed = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise MemoryStoreError(
            f"{raw!r} is not a database URL; use e.g. sqlite:///path/to/memory.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        ) from exc
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise MemoryStoreError(
            f"unsupported database {parsed.get_backend_name()!r} in "
            f"{describe(parsed)}; use a sqlite:/// or postgresql+psycopg:// URL"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe(url: URL) -> str:
    """The URL as it may be shown to a user: never with its password."""
    return url.render_as_string(hide_password=True)


SQLITE_BUSY_TIMEOUT_MS = 10_000


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode=WAL``, waiting out other connections doing the same to a new
    file: SQLite answers "locked" at once there, without its busy timeout, to avoid a
    deadlock between two readers upgrading their locks."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    # NORMAL is durable across process crashes in WAL mode (only a power cut can lose the
    # last commits), and several times faster than FULL for batched ingestion.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 32 MiB page cache (default 2 MiB): a day's event-id and full-text indexes stay in
    # memory, so batched inserts at random keys stop re-reading pages (~10% of ingest CPU).
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def make_engine(url: URL) -> Engine:
    """An engine for ``url``, checked by opening one connection.

    JSON columns are decoded by pydantic-core (about 4x faster than ``json.loads`` on the
    packed words every transcript read returns; same exact floats, NaN and infinities).
    """
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                path = Path(url.database).expanduser()
                if not path.parent.is_dir():
                    raise MemoryStoreError(
                        f"cannot create the database {path}: the folder {path.parent} does "
                        "not exist; create it or pass another --db"
                    )
            engine = create_engine(url, json_deserializer=from_json)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, json_deserializer=from_json)
    except (NoSuchModuleError, ImportError) as exc:
        raise MemoryStoreError(
            f"no database driver for {describe(url)} ({exc}); install the extra: "
            "pip install 'moss-agents[postgres]'"
        ) from exc
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MemoryStoreError(
            f"cannot open the database {describe(url)}: {reason}; check that the server is "
            f"running and the URL (--db or ${ENV_VAR}) is right"
        ) from exc
    return engine


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", describe(engine.url).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Apply the packaged Alembic migrations; returns the revision the database is now at."""
    from alembic import command

    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            _lock_for_migration(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MemoryStoreError(
            f"cannot bring the database {describe(engine.url)} up to date: {reason}"
        ) from exc
    return current_revision(engine)


# Any fixed 64-bit number: PostgreSQL's advisory lock for "migrating moss-agents memory".
_MIGRATION_LOCK_KEY = 0x6D6F73735F6D656D


def _lock_for_migration(connection: Connection) -> None:
    """Serialise migrations between processes opening the same database at once: the
    second waits, then finds the schema current, instead of creating tables twice."""
    if connection.dialect.name == "sqlite":
        # Take the write lock before Alembic reads the schema version (busy_timeout waits).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Leave the full-text machinery (written by hand in the migrations) out of autogenerate:
    the FTS5 table and its shadow tables on SQLite, the stored search vector and its GIN
    index on PostgreSQL."""
    if type_ == "table" and name and name.startswith("events_fts"):
        return False
    if type_ == "column" and name == "search_vector":
        return False
    return not (type_ == "index" and name == "ix_events_search_vector")
