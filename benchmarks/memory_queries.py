"""Memory benchmark: 24 h of synthetic events on SQLite and PostgreSQL, side by side.

Measures batched ingestion (events/s, segments embedded and their vectors stored on the
way), the sentence vectors computed after ingestion (CPU per segment, bytes), p50/p99
latency of ``transcript_at``, ``transcript_between`` (60 s ranges),
``search_text`` and hybrid ``search_passages`` (full-text + semantic, the session's vectors
cached after the first search, whose time is reported apart), and database size per hour
of audio (events only, and the FLAC audio archive of real espeak-ng speech).

    .venv/bin/python benchmarks/memory_queries.py            # 24 h, both databases
    .venv/bin/python benchmarks/memory_queries.py --hours 1  # quicker
    .venv/bin/python benchmarks/memory_queries.py --pg-url postgresql+psycopg://...

Without ``--pg-url`` a throw-away PostgreSQL server is started (Debian's initdb/pg_ctl;
fsync off like the tests, so PostgreSQL numbers are an upper bound for a durable server).
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import text

from memory import Memory, open_memory
from perception.events import Event, SoundCategory, SoundEvent, TranscriptSegment, Word

ROOT = Path(__file__).resolve().parents[1]
SEGMENTS_PER_DAY = 30_000
SOUNDS_PER_DAY = 10_000
WORDS_PER_SEGMENT = (6, 7, 7)  # cycles: ~6.7 words a segment, 200k words a day
SOUND_LABELS = ("doorbell", "phone ringing", "door slam", "dog bark", "alarm", "applause")
TOPIC_WORDS = ("budget", "hiring", "roadmap", "invoice", "deadline", "migration", "customer")


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mi", "ren", "sta", "tor", "vi", "pel", "dun", "sha", "ber", "qui"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(size)}
    common = [
        "the",
        "a",
        "and",
        "to",
        "of",
        "we",
        "is",
        "it",
        "that",
        "this",
        "for",
        "on",
        "you",
        "with",
        "so",
        "be",
        "have",
        "are",
    ]
    return sorted(words) + common * 20


def synthetic_day(hours: float, seed: int = 7) -> list[Event]:
    """``hours`` of meeting-like events: segments with words, speakers, sound events."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    seconds = hours * 3600
    n_segments = int(SEGMENTS_PER_DAY * hours / 24)
    n_sounds = int(SOUNDS_PER_DAY * hours / 24)
    step = seconds / n_segments
    events: list[Event] = []
    for i in range(n_segments):
        start = i * step
        count = WORDS_PER_SEGMENT[i % len(WORDS_PER_SEGMENT)]
        tokens = [rng.choice(vocab) for _ in range(count)]
        if rng.random() < 0.02:
            tokens[rng.randrange(count)] = rng.choice(TOPIC_WORDS)
        speaker = f"S{1 + (i // 5) % 4}"
        word_len = (step * 0.85) / count
        words = [
            Word(start=round(start + k * word_len, 3), end=round(start + (k + 1) * word_len, 3),
                 text=t, speaker=speaker, confidence=round(rng.uniform(0.6, 1.0), 3))
            for k, t in enumerate(tokens)
        ]  # fmt: skip
        events.append(
            TranscriptSegment(
                start=round(start, 3), end=words[-1].end, text=" ".join(tokens), words=words,
                speaker=speaker, backend="lite", model="whisper-small", language="en",
                window_id=int(start // 10), confidence=round(rng.uniform(0.6, 1.0), 3),
            )
        )  # fmt: skip
    for _ in range(n_sounds):
        start = rng.uniform(0, seconds - 3)
        events.append(
            SoundEvent(
                start=round(start, 3), end=round(start + rng.uniform(0.3, 2.5), 3),
                label=rng.choice(SOUND_LABELS), category=SoundCategory.TONAL,
                attributes={"f0_hz": round(rng.uniform(200, 2000), 1)}, backend="lite",
            )
        )  # fmt: skip
    events.sort(key=lambda e: e.start)
    return events


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Wall-clock p50 and p99 and this process's CPU p50, in ms (the machine is shared, so
    CPU time shows the cost that scheduling delays hide)."""
    samples, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    p50, p99 = percentiles(samples)
    return p50, p99, statistics.median(cpu) * 1000


def database_bytes(memory: Memory) -> int:
    with memory.engine.connect() as conn:
        if memory.engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            pages = conn.execute(text("PRAGMA page_count")).scalar() or 0
            size = conn.execute(text("PRAGMA page_size")).scalar() or 0
            return int(pages * size)
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)


def run(name: str, url: str, events: list[Event], hours: float, repeats: int) -> dict[str, float]:
    rng = random.Random(11)
    results: dict[str, float] = {}
    with open_memory(url) as memory:
        session = memory.create_session(f"benchmark {hours:g} h", source="synthetic")
        empty = database_bytes(memory)
        cpu0, t0 = time.process_time(), time.perf_counter()
        added = memory.ingest(session.id, events, batch_size=1000)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        assert added == len(events), (added, len(events))
        results["ingest events/s (wall)"] = len(events) / elapsed
        # This process's CPU only: for SQLite that is all the work, for PostgreSQL the client.
        results["ingest events/s per CPU-second of this process"] = len(events) / cpu
        results["ingest seconds (wall)"] = elapsed
        t0 = time.perf_counter()
        assert memory.ingest(session.id, events, batch_size=1000) == 0
        results["re-ingest (all duplicates) events/s"] = len(events) / (time.perf_counter() - t0)
        if memory.engine.dialect.name == "postgresql":
            with memory.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        end = hours * 3600
        # Sentence vectors come after ingestion (the recorder computes them when a
        # recording ends); timed apart, with the bytes they add.
        before = database_bytes(memory)
        cpu0, t0 = time.process_time(), time.perf_counter()
        embedded = memory.index_meaning(session.id)
        results["sentence vectors: segments embedded"] = embedded
        results["sentence vectors: CPU s (this process)"] = time.process_time() - cpu0
        results["sentence vectors: wall s"] = time.perf_counter() - t0
        results["sentence vectors: CPU ms per segment"] = (
            results["sentence vectors: CPU s (this process)"] * 1000 / max(embedded, 1)
        )
        results["sentence vectors: MB per hour"] = (database_bytes(memory) - before) / hours / 1e6
        t0 = time.perf_counter()
        memory.search_passages(session.id, "budget costs")
        results["search_passages first call (reads the vectors) ms"] = (
            time.perf_counter() - t0
        ) * 1000
        vocab = sorted(
            {w for e in events[:3000] if isinstance(e, TranscriptSegment) for w in e.text.split()}
        )
        queries = {
            "transcript_at": lambda: memory.transcript_at(session.id, rng.uniform(0, end)),
            "transcript_between": lambda: memory.transcript_between(
                session.id, (t := rng.uniform(0, end - 60)), t + 60
            ),
            "search_text (rare word)": lambda: memory.search_text(
                session.id, rng.choice(vocab[:2000])
            ),
            "search_text (topic word)": lambda: memory.search_text(
                session.id, rng.choice(("budget", "roadmap"))
            ),
            "search_text (two words)": lambda: memory.search_text(
                session.id, f"{rng.choice(vocab[:2000])} {rng.choice(vocab[:2000])}"
            ),
            "search_passages (topic word)": lambda: memory.search_passages(
                session.id, rng.choice(("what about the budget?", "any news on hiring?"))
            ),
            "search_passages (paraphrase, no keyword)": lambda: memory.search_passages(
                session.id, rng.choice(("what about the costs?", "anything on recruiting?"))
            ),
            "search_passages (speaker + 1 h range)": lambda: memory.search_passages(
                session.id,
                "budget",
                speakers=["S2"],
                start=(t := rng.uniform(0, end - 3600)),
                end=t + 3600,
            ),
            "speakers_with_talk_time": lambda: memory.speakers_with_talk_time(session.id),
            "events_between (sounds, 10 min)": lambda: memory.events_between(
                session.id, (t := rng.uniform(0, end - 600)), t + 600, kinds=["sound"]
            ),
        }
        for query, call in queries.items():
            call()  # warm-up
            p50, p99, cpu = timed(call, repeats)
            results[f"{query} p50 ms"] = p50
            results[f"{query} p99 ms"] = p99
            results[f"{query} p50 CPU ms (this process)"] = cpu
        results["MB per hour (events)"] = (database_bytes(memory) - empty) / hours / 1e6
        print(f"{name}: ingested {len(events)} events in {elapsed:.2f} s", flush=True)
    return results


def audio_archive_mb_per_hour(url: str) -> float:
    from perception import synthetic

    scene = synthetic.meeting()
    with open_memory(url) as memory:
        session = memory.create_session("archive size")
        memory.archive_audio(session.id, 0.0, scene.audio)
        with memory.engine.connect() as conn:
            stored = conn.execute(text("SELECT sum(length(data)) FROM audio_chunks")).scalar()
    return float(stored) / (len(scene.audio) / 16_000) * 3600 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=300, help="queries timed per kind")
    parser.add_argument(
        "--pg-url", help="use this PostgreSQL database instead of a throw-away server"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    events = synthetic_day(args.hours)
    segments = sum(isinstance(e, TranscriptSegment) for e in events)
    words = sum(len(e.words) for e in events if isinstance(e, TranscriptSegment))
    print(
        f"{args.hours:g} h: {segments} segments, {words} words, {len(events) - segments} sound "
        f"events (generated in {time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    # Loaded once per process (the recorder's first batch pays it): timed apart from ingest.
    from memory.embeddings import default_embedder

    c0 = time.process_time()
    default_embedder().embed(["warm up"])
    print(f"word vectors loaded in {time.process_time() - c0:.2f} s CPU (once per process)")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="moss-bench-")))
        sqlite_url = f"sqlite:///{folder / 'bench.db'}"
        pg_url = args.pg_url
        if pg_url is None:
            sys.path.insert(0, str(ROOT))  # the test suite's throw-away server
            from tests.fixtures.postgres import TemporaryPostgres

            pg_url = stack.enter_context(TemporaryPostgres()).create_database("bench")
        table = {
            "SQLite": run(
                "SQLite",
                sqlite_url,
                [e.model_copy(deep=True) for e in events],
                args.hours,
                args.repeats,
            ),
            "PostgreSQL": run("PostgreSQL", pg_url, events, args.hours, args.repeats),
        }
        archive = audio_archive_mb_per_hour(f"sqlite:///{folder / 'archive.db'}")

    print(f"\nmachine: {platform.machine()}, python {platform.python_version()}")
    print("| metric | SQLite | PostgreSQL | PostgreSQL / SQLite |\n|---|---|---|---|")
    for metric in table["SQLite"]:
        a, b = table["SQLite"][metric], table["PostgreSQL"][metric]
        print(f"| {metric} | {a:,.2f} | {b:,.2f} | {b / a if a else float('nan'):.2f}x |")
    print(
        f"| audio archive (FLAC, espeak-ng speech), MB per hour | {archive:.1f} | (same bytes) | |"
    )


if __name__ == "__main__":
    main()
