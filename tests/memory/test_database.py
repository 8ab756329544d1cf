"""Finding, opening and migrating the database; clear errors when that fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from memory import MemoryStoreError, open_memory
from memory.database import (
    alembic_config,
    current_revision,
    head_revision,
    include_in_autogenerate,
    upgrade,
)
from memory.schema import Base
from perception.events import TranscriptSegment


def test_default_database_lives_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOSS_AGENTS_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with open_memory() as memory:
        memory.create_session("default")
        with memory.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "data" / "moss-agents" / "memory.db").is_file()


def test_environment_variable_and_plain_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOSS_AGENTS_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with open_memory() as memory:
        memory.create_session("from env")
    assert (tmp_path / "env.db").is_file()
    with open_memory(str(tmp_path / "plain.db")) as memory:  # a bare path is a SQLite file
        assert memory.list_sessions() == []
    assert (tmp_path / "plain.db").is_file()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://me:s3cret@127.0.0.1:1/nothing", "cannot open the database"),
        ("mysql://me@localhost/db", "unsupported database 'mysql'"),
        ("sqlite:////no/such/folder/memory.db", "folder /no/such/folder does not exist"),
        ("://nothing", "is not a database URL"),
        ("postgresql://me:s3cret@host:notaport/db", "is not a database URL"),
    ],
)
def test_broken_urls_give_one_clear_line(url: str, message: str) -> None:
    with pytest.raises(MemoryStoreError, match=message) as caught:
        open_memory(url)
    assert "\n" not in str(caught.value)
    assert "s3cret" not in str(caught.value) or "notaport" in url


def test_not_a_database_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not a database\n" * 100)
    with pytest.raises(MemoryStoreError, match="not a database"):
        open_memory(str(bogus))
    assert bogus.read_text().startswith("this is not a database")


# SQLite cannot reflect expression indexes; the PostgreSQL-only GIN index is left out anyway.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
def test_fresh_database_is_at_head_and_matches_the_models(db_url: str) -> None:
    with open_memory(db_url) as memory:
        assert current_revision(memory.engine) == head_revision() == "0008_sentence_vectors"
        with memory.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": include_in_autogenerate, "compare_type": True}
            )
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
        # Down to nothing and up again: the migrations are complete in both directions.
        config = alembic_config(memory.engine)
        with memory.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert current_revision(memory.engine) is None
        assert upgrade(memory.engine) == "0008_sentence_vectors"
        session = memory.create_session("after re-migration")
        memory.ingest(session.id, [TranscriptSegment(start=0, end=1, text="still searchable")])
        assert memory.search_text(session.id, "searchable")


def test_text_search_uses_the_full_text_index(db_url: str) -> None:
    from memory.fulltext import _POSTGRESQL_SEARCH, _SQLITE_SEARCH

    with open_memory(db_url) as memory, memory.engine.begin() as conn:
        params = {"session_id": "s", "limit": 5}
        if conn.dialect.name == "sqlite":
            plan = conn.execute(
                text(f"EXPLAIN QUERY PLAN {_SQLITE_SEARCH.text}"), {**params, "match": '"x"'}
            ).all()
            assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan), plan
        else:
            # The search's match condition (on an empty table the planner would rather
            # scan the session's rows, so it is asked about the match alone).
            match = _POSTGRESQL_SEARCH.text.split(" AND ")[-1].split(" ORDER BY")[0]
            assert match.startswith("search_vector @@ ")
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = (
                conn.execute(
                    text(f"EXPLAIN SELECT id FROM events WHERE {match}"), {"any_words": "x"}
                )
                .scalars()
                .all()
            )
            assert any("ix_events_search_vector" in line for line in plan), plan


def test_talk_time_migration_backfills_from_stored_events(db_url: str) -> None:
    from tests.memory.scenes import meeting_events

    with open_memory(db_url) as memory:
        session = memory.create_session("before 0002")
        memory.ingest(session.id, meeting_events())
        expected = memory.speakers_with_talk_time(session.id)
        config = alembic_config(memory.engine)
        with memory.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001_initial")  # drops the running totals
        assert upgrade(memory.engine) == head_revision()  # rebuilds them from events
        assert memory.speakers_with_talk_time(session.id) == expected
        assert [t.speaker for t in expected] == ["S1", "S2", "S3"]


def _downgrade(memory_engine, revision: str) -> None:  # type: ignore[no-untyped-def]
    config = alembic_config(memory_engine)
    with memory_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_packed_words_migration_moves_every_word_exactly(db_url: str) -> None:
    from tests.memory.ingest_until_killed import segment

    # More segments than one migration batch, odd float times, a NUL-free unicode word,
    # a segment without words and a word without speaker or confidence.
    segments = [segment(i) for i in range(2100)]
    segments[7].words[1] = (
        segments[7]
        .words[1]
        .model_copy(
            update={"text": "Zürich", "speaker": None, "confidence": None, "start": 7.1 + 1e-9}
        )
    )
    segments[8] = segments[8].model_copy(update={"words": []})
    with open_memory(db_url) as memory:
        session = memory.create_session("words")
        memory.ingest(session.id, segments)
        before = memory.session_events(session.id)
        _downgrade(memory.engine, "0002_talk_times")  # words back in a table of their own
        with memory.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM words")).scalar() == 2099 * 4
        assert upgrade(memory.engine) == head_revision()
        after = memory.session_events(session.id)
        assert after == before
        assert after[7].words[1].text == "Zürich" and after[7].words[1].start == 7.1 + 1e-9
        assert after[8].words == []
        assert memory.search_text(session.id, "w2050_3")[0].start == 2050.0


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_several_openers_of_a_new_database_at_once_migrate_it_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Recorders started together on a database nobody created yet all open it (threads
    here; each has its own engine and connections, as separate processes would)."""
    import threading

    for attempt in range(6):
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'new{attempt}.db'}"
        else:
            url = request.getfixturevalue("postgres_server").create_database()
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def open_it(
            url: str = url, start: threading.Barrier = start, errors: list = errors
        ) -> None:
            start.wait()
            try:
                open_memory(url).close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        with open_memory(url) as memory:
            assert current_revision(memory.engine) == head_revision()
