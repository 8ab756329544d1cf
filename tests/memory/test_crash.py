"""kill -9 in the middle of ingestion loses at most the open batch; the database opens."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, text

from memory import open_memory
from memory.schema import EventRow
from tests.memory.ingest_until_killed import WORDS_PER_SEGMENT, segment

ROOT = Path(__file__).resolve().parents[2]
BATCH = 200


def test_sigkill_during_ingestion_loses_at_most_the_open_batch(db_url: str) -> None:
    with open_memory(db_url) as memory:
        session = memory.create_session("crash", session_id="crash")
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "memory" / "ingest_until_killed.py"),
         db_url, session.id, str(BATCH)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    committed = 0
    deadline = time.monotonic() + 60
    try:
        assert child.stdout is not None
        while committed < 3 * BATCH:
            line = child.stdout.readline()
            assert line, f"child exited early: {child.stderr.read() if child.stderr else ''}"
            committed = int(line.split()[1])
            assert time.monotonic() < deadline, "child ingested too slowly"
        # The child is busy filling or writing the next batch: kill it without warning.
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    with open_memory(db_url) as memory:
        if memory.engine.dialect.name == "sqlite":
            with memory.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                conn.execute(text("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')"))
        stored = memory.find_session(session.id).event_count
        # Whole batches only: every committed batch is there, the open one is not half-there.
        assert stored >= committed
        assert stored % BATCH == 0
        with memory.engine.connect() as conn:
            packed = conn.execute(select(EventRow.words)).scalars().all()
        # Every stored segment came with all its words (rows and words commit together).
        assert [len(words) for words in packed] == [WORDS_PER_SEGMENT] * stored
        # Restarting the ingestion from the beginning stores only what is missing.
        assert memory.ingest(session.id, (segment(i) for i in range(stored + BATCH))) == BATCH
        assert memory.find_session(session.id).event_count == stored + BATCH
        last = memory.transcript_at(session.id, stored + BATCH - 1, before=0, after=0)
        assert [s.text for s in last] == [segment(stored + BATCH - 1).text]
        assert memory.search_text(session.id, f"w{stored + 5}_2")[0].start == stored + 5
