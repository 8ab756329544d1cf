"""Minutes benchmark: CPU time to derive and store the minutes of one hour of meeting.

The hour is the planning meeting of the tests (three speakers, four topics, decisions,
action items, questions) repeated at a day-long recording's pace of speech (1,250
segments an hour), so the rules see as much text as a busy real hour. Reports CPU
seconds of ``build_minutes`` (read the transcript, embed, segment topics, run the rules)
and ``refresh_minutes`` (also store them), the p50 of reading stored minutes, and the CPU
of ``minutes_for`` keeping them current while recording (one more minute of speech:
only the last topic onwards is derived again).

    .venv/bin/python benchmarks/minutes_cpu.py               # SQLite
    .venv/bin/python benchmarks/minutes_cpu.py --segments 2500
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from memory import open_memory  # noqa: E402
from memory.minutes import build_minutes, minutes_for, refresh_minutes  # noqa: E402
from perception.events import Event, SpeakerTurn, TranscriptSegment  # noqa: E402
from tests.memory.planning_meeting import layout, planning_meeting_events  # noqa: E402


def one_hour(segments: int, seconds: float = 3600.0) -> list[Event]:
    """The planning meeting repeated until ``segments`` segments fill ``seconds``."""
    lines = len(layout())
    copies = -(-segments // lines)
    length = layout()[-1][1] + 2.0
    scale = seconds / (copies * length)
    events: list[Event] = []
    for copy in range(copies):
        for event in planning_meeting_events(offset=copy * length):
            data = event.model_dump(exclude={"event_id", "label"})
            data["start"], data["end"] = data["start"] * scale, data["end"] * scale
            if "words" in data:
                for word in data["words"]:
                    word["start"], word["end"] = word["start"] * scale, word["end"] * scale
            events.append(type(event).model_validate(data))
    said = [e for e in events if isinstance(e, TranscriptSegment)][:segments]
    turns = [e for e in events if isinstance(e, SpeakerTurn)][:segments]
    return [*said, *turns]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--segments", type=int, default=1250, help="transcript segments in the hour"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    events = one_hour(args.segments)
    last_minute = [e for e in events if e.start >= 3540.0]
    with (
        tempfile.TemporaryDirectory(prefix="moss-minutes-") as folder,
        open_memory(f"sqlite:///{folder}/m.db") as memory,
    ):
        live = memory.create_session("live hour")
        memory.ingest(live.id, [e.model_copy(deep=True) for e in events if e.start < 3540.0])
        minutes_for(memory, live.id)
        memory.ingest(live.id, [e.model_copy(deep=True) for e in last_minute])
        c0 = time.process_time()
        minutes_for(memory, live.id)
        extend_cpu = time.process_time() - c0
        session = memory.create_session("one hour")
        memory.ingest(session.id, events)
        build_minutes(memory, session.id)  # warm: word vectors loaded, caches filled
        build_cpu, refresh_cpu, read_wall = [], [], []
        for _ in range(args.repeats):
            c0 = time.process_time()
            minutes = build_minutes(memory, session.id)
            build_cpu.append(time.process_time() - c0)
            c0 = time.process_time()
            refresh_minutes(memory, session.id)
            refresh_cpu.append(time.process_time() - c0)
        for _ in range(50):
            t0 = time.perf_counter()
            minutes_for(memory, session.id)
            read_wall.append(time.perf_counter() - t0)
    said = sum(isinstance(e, TranscriptSegment) for e in events)
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(f"1 h: {said} segments -> {len(minutes.topics)} topics, {len(minutes.decisions)} decisions, "
          f"{len(minutes.actions)} action items, {len(minutes.questions)} questions")  # fmt: skip
    print("| metric | value |\n|---|---|")
    print(
        f"| build_minutes, CPU s (median of {args.repeats}) | {statistics.median(build_cpu):.3f} |"
    )
    print(f"| refresh_minutes (build + store), CPU s | {statistics.median(refresh_cpu):.3f} |")
    print(f"| minutes_for (stored, current) p50 ms | {statistics.median(read_wall) * 1000:.2f} |")
    print(f"| minutes_for after one more minute of speech (extend), CPU s | {extend_cpu:.3f} |")


if __name__ == "__main__":
    main()
