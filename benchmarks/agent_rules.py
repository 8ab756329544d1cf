"""Question -> answer latency of the ``rules`` reasoner over a day of memory.

Fills a temporary SQLite memory with 24 hours of a meeting-like session (a transcript
segment every 6 s from four speakers, voice traits every 30 s, a sound every 5 minutes),
then asks each question several times through the real tool registry and memory, with
the memory tools run in a worker thread (the default) and inline, alternating.

    .venv/bin/python benchmarks/agent_rules.py [--hours 24] [--repeats 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agent.reasoning.ask import ask
from agent.reasoning.rules import RulesReasoner
from memory import open_memory
from memory.passages import forget_query_vectors
from perception.events import SoundEvent, TranscriptSegment, VoiceTraits
from tools import builtin_registry

QUESTIONS = (
    "What was said at minute 12?",
    "What was said at 7:00?",
    "What was said at 12:30?",
    "What was said at 1h05m?",
    "What was said between minute 3 and 5?",
    "What was said in the last 30 seconds?",
    "What was said at the start?",
    "When did someone mention the budget?",
    "Who said action item?",
    "Who spoke most?",
    "How many people spoke?",
    "Was there a doorbell?",
    "When did the phone ring?",
    "What was the mood at the end?",
    # meeting questions: minutes and hybrid (full-text + semantic) passage search
    "What did they decide about the launch date?",
    "What are the action items?",
    "When is the next meeting?",
    "Who volunteered to write the job description?",
    "What was said about the costs?",
    "Did anyone disagree?",
    "Summarize the last five minutes",
    "Why?",
)
LINES = (
    "Let's go through the budget for the next quarter.",
    "The servers need an upgrade before March.",
    "Action item: write the job description by Friday.",
    "I think we should hire two more engineers.",
    "Can everyone hear me? The connection is bad.",
    "Let's move on to the roadmap and the launch date.",
)


def fill(memory_url: str, hours: float) -> tuple[str, int, float]:
    started = time.perf_counter()
    with open_memory(memory_url) as memory:
        session = memory.create_session("a long day").id
        events: list = []
        t = 0.0
        i = 0
        end = hours * 3600.0
        while t < end:
            speaker = f"S{i % 4 + 1}"
            events.append(
                TranscriptSegment(start=t, end=t + 5.0, text=LINES[i % len(LINES)], speaker=speaker)
            )
            if i % 5 == 0:
                events.append(
                    VoiceTraits(
                        start=t,
                        end=t + 5.0,
                        speaker=speaker,
                        emotion=("neutral", "happy", "tense")[i % 3],
                    )
                )
            if i % 50 == 0:
                events.append(
                    SoundEvent(
                        start=t + 5.2,
                        end=t + 6.0,
                        label=("doorbell", "phone ringing")[(i // 50) % 2],
                    )
                )
            t += 6.0
            i += 1
        count = memory.ingest(session, events, batch_size=5000)
        for n, name in enumerate(("Bob", "Alice", "Carol", "Dan"), 1):
            memory.rename_speaker(session, f"S{n}", name)
    return session, count, time.perf_counter() - started


async def measure(memory_url: str, session: str, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per question, per mode (sync tools in a worker thread / inline), the times in ms;
    the two modes alternate run by run so they see the same machine."""
    reasoners = {
        "thread": RulesReasoner(builtin_registry(sync_in_thread=True)),
        "inline": RulesReasoner(builtin_registry(sync_in_thread=False)),
    }
    timings: dict[str, dict[str, list[float]]] = {}
    with open_memory(memory_url) as memory:
        for question in QUESTIONS:
            runs: dict[str, list[float]] = {mode: [] for mode in reasoners}
            for reasoner in reasoners.values():
                await ask(memory, session, question, reasoner, record=False)  # warm caches
            for _ in range(repeats):
                for mode, reasoner in reasoners.items():
                    forget_query_vectors()  # each run pays its question's sentence encoding
                    t0 = time.perf_counter()
                    answer = await ask(memory, session, question, reasoner, record=False)
                    runs[mode].append((time.perf_counter() - t0) * 1000)
                    assert answer.understood, question
            timings[question] = runs
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'memory.db'}"
        session, count, fill_seconds = fill(url, args.hours)
        print(f"memory: {args.hours:g} h, {count} events, filled in {fill_seconds:.1f} s")
        timings = asyncio.run(measure(url, session, args.repeats))
    print("\n| question | p50 ms (thread) | p95 ms (thread) | p50 ms (inline) | p95 ms (inline) |")
    print("|---|---:|---:|---:|---:|")
    every: dict[str, list[float]] = {"thread": [], "inline": []}
    for question, runs in timings.items():
        cells = []
        for mode in ("thread", "inline"):
            every[mode] += runs[mode]
            cells += [f"{statistics.median(runs[mode]):.1f}", f"{_p95(runs[mode]):.1f}"]
        print(f"| {question} | {' | '.join(cells)} |")
    cells = [
        f"**{f(every[m]):.1f}**" for m in ("thread", "inline") for f in (statistics.median, _p95)
    ]
    print(f"| **all questions** | {' | '.join(cells)} |")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


if __name__ == "__main__":
    main()
