"""A scripted harness for agent tests: script a session, ask, then assert on what happened.

In the style of LiveKit's ``RunResult.expect``::

    script = EventScript().say("S1", "Let's talk about the budget", at=720).sound("doorbell", at=9.9)
    async with ScriptedSession(script, names={"S1": "Bob"}) as session:
        result = await session.ask("what was said at minute 12?")
        result.expect.next_tool_call(name="session_info")
        result.expect.next_tool_call(name="transcript_between", arguments={"start": 720})
        result.expect.contains_citation(at=720, speaker="Bob")
        result.expect.answer_contains("budget")

Sessions live in a real memory (a temporary SQLite file unless one is given); audio files
can be scripted too (``add_audio``), run through a real perception backend.
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.reasoning.answer import Answer, Citation, ToolCallRecord
from agent.reasoning.ask import ask
from agent.reasoning.reasoner import Reasoner
from agent.reasoning.registry import get_reasoner
from perception.events import (
    BaseEvent,
    MusicEvent,
    SoundCategory,
    SoundEvent,
    SpeakerTurn,
    TranscriptSegment,
    VoiceTraits,
    Word,
)
from tools.clock import format_clock
from tools.context import Publisher
from tools.reminders import ReminderScheduler

if TYPE_CHECKING:
    from memory import Memory
    from perception.backend import PerceptionBackend

# espeak-ish speaking rate for scripted lines without an explicit duration.
SECONDS_PER_WORD = 0.4


class EventScript:
    """Events for one session, written the way a test reads: who said what when."""

    def __init__(self) -> None:
        self.events: list[BaseEvent] = []
        self.names: dict[str, str] = {}

    def say(
        self, speaker: str | None, text: str, at: float, duration: float | None = None
    ) -> EventScript:
        """A transcript segment with evenly spread words (and no speaker turn)."""
        words = text.split()
        length = duration if duration is not None else max(0.5, SECONDS_PER_WORD * len(words))
        step = length / max(1, len(words))
        word_events = [
            Word(text=w, start=at + i * step, end=at + (i + 1) * step, speaker=speaker)
            for i, w in enumerate(words)
        ]
        self.events.append(
            TranscriptSegment(
                start=at, end=at + length, text=text, speaker=speaker, words=word_events
            )
        )
        return self

    def turn(self, speaker: str, at: float, duration: float) -> EventScript:
        self.events.append(SpeakerTurn(start=at, end=at + duration, speaker=speaker))
        return self

    def sound(
        self, label: str, at: float, duration: float = 1.0, heuristic: bool = False
    ) -> EventScript:
        category = (
            SoundCategory.TONAL if label in {"doorbell", "phone ringing"} else SoundCategory.OTHER
        )
        self.events.append(
            SoundEvent(
                start=at, end=at + duration, label=label, category=category, heuristic=heuristic
            )
        )
        return self

    def music(self, at: float, duration: float, description: str | None = None) -> EventScript:
        self.events.append(MusicEvent(start=at, end=at + duration, description=description))
        return self

    def emotion(
        self,
        speaker: str | None,
        emotion: str,
        at: float,
        duration: float = 2.0,
        heuristic: bool = False,
        **traits: str,
    ) -> EventScript:
        self.events.append(
            VoiceTraits(
                start=at,
                end=at + duration,
                speaker=speaker,
                emotion=emotion,
                traits=traits,
                heuristic=heuristic,
            )
        )
        return self

    def add(self, *events: BaseEvent) -> EventScript:
        self.events.extend(events)
        return self

    def name(self, speaker: str, display_name: str) -> EventScript:
        """Call speaker id ``speaker`` ``display_name`` in answers."""
        self.names[speaker] = display_name
        return self


_TEMPLATE: tempfile.TemporaryDirectory[str] | None = None


def _migrated_template() -> Path:
    """An empty, migrated SQLite file made once per process: copying it is ten times
    faster than migrating a new database for every scripted session."""
    global _TEMPLATE
    if _TEMPLATE is None:
        from memory import open_memory

        _TEMPLATE = tempfile.TemporaryDirectory(prefix="moss-agents-template-")
        open_memory(f"sqlite:///{Path(_TEMPLATE.name) / 'template.db'}").close()
    return Path(_TEMPLATE.name) / "template.db"


class ScriptedSession:
    """One session in a real memory with a reasoner to question it.

    Use as ``async with``; the temporary database (if any) is removed at the end.
    """

    def __init__(
        self,
        script: EventScript | Iterable[BaseEvent] | None = None,
        *,
        reasoner: Reasoner | str = "rules",
        memory: Memory | None = None,
        names: Mapping[str, str] | None = None,
        title: str = "scripted session",
        duration: float | None = None,
        backend: PerceptionBackend | None = None,
        bus: Publisher | None = None,
        record: bool = True,
    ) -> None:
        self._script = script
        self.reasoner = get_reasoner(reasoner) if isinstance(reasoner, str) else reasoner
        self._memory = memory
        self._own_memory = memory is None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.names = dict(names or {})
        self.title = title
        self.duration = duration
        self.backend = backend
        self.bus = bus
        self.reminders = ReminderScheduler()
        self.record = record
        self.session_id = ""

    @property
    def memory(self) -> Memory:
        if self._memory is None:
            raise RuntimeError("use ScriptedSession with `async with` first")
        return self._memory

    async def __aenter__(self) -> ScriptedSession:
        from memory import open_memory

        if self._memory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="moss-agents-test-")
            path = Path(self._tmp.name) / "memory.db"
            shutil.copyfile(_migrated_template(), path)
            self._memory = open_memory(f"sqlite:///{path}")
        self.session_id = self._memory.create_session(self.title).id
        if isinstance(self._script, EventScript):
            self.names = {**self._script.names, **self.names}
            self.add(self._script.events)
        elif self._script is not None:
            self.add(self._script)
        if self.duration is not None:
            self._memory.set_duration(self.session_id, self.duration)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.reasoner.aclose()
        if self._own_memory and self._memory is not None:
            self._memory.close()
            self._memory = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def add(self, events: Iterable[BaseEvent]) -> int:
        """Store more events (copies, moved to this session); names speakers as scripted."""
        copies = [e.model_copy(update={"session_id": self.session_id}) for e in events]
        added = self.memory.ingest(self.session_id, copies)  # type: ignore[arg-type]
        known = {s.speaker for s in self.memory.speakers_with_talk_time(self.session_id)}
        for speaker, name in self.names.items():
            if speaker in known:
                self.memory.rename_speaker(self.session_id, speaker, name)
        return added

    def add_audio(self, path: str | Path, backend: PerceptionBackend, archive: bool = True) -> int:
        """Run ``backend`` over an audio file (the real perception engine) and store the events."""
        from perception.audio import decode_file
        from perception.engine import Perceiver

        events = list(Perceiver(backend).process_file(path, self.session_id))
        added = self.add(events)
        if archive:
            offset = 0.0
            for chunk in decode_file(path):
                self.memory.archive_audio(self.session_id, offset, chunk)
                offset += len(chunk) / 16_000
        return added

    async def ask(self, question: str) -> RunResult:
        answer = await ask(
            self.memory,
            self.session_id,
            question,
            self.reasoner,
            backend=self.backend,
            bus=self.bus,
            reminders=self.reminders,
            record=self.record,
        )
        return RunResult(question, answer)


class RunResult:
    """A question, its Answer, and ``expect`` to assert on them."""

    def __init__(self, question: str, answer: Answer) -> None:
        self.question = question
        self.answer = answer
        self.expect = RunExpectation(self)

    def describe(self) -> str:
        a = self.answer
        lines = [f"question: {self.question!r}", f"answer: {a.answer!r}", "tool calls:"]
        lines += [
            f"  {c.name}({c.arguments}) -> {c.error or c.result_summary}" for c in a.tool_calls
        ] or ["  (none)"]
        lines.append("citations:")
        lines += [f"  {c.kind} {c.describe()}" for c in a.citations] or ["  (none)"]
        lines.append("reasoning:")
        lines += [f"  - {step}" for step in a.reasoning] or ["  (none)"]
        return "\n".join(lines)


class RunExpectation:
    """Assertions over one RunResult; each failure shows the whole run."""

    def __init__(self, result: RunResult) -> None:
        self._result = result
        self._cursor = 0

    def _fail(self, message: str) -> AssertionError:
        return AssertionError(f"{message}\n--- run ---\n{self._result.describe()}")

    # -- tool calls, in order ------------------------------------------------------------

    def next_tool_call(
        self, name: str | None = None, arguments: Mapping[str, Any] | None = None
    ) -> ToolCallRecord:
        """The next tool call (after the previous ``next_tool_call``) is ``name`` with
        ``arguments`` among its arguments (numbers compared to 0.01)."""
        calls = self._result.answer.tool_calls
        if self._cursor >= len(calls):
            raise self._fail(f"expected another tool call ({name or 'any'}), but there are no more")
        call = calls[self._cursor]
        self._cursor += 1
        if name is not None and call.name != name:
            raise self._fail(
                f"expected tool call #{self._cursor} to be {name!r}, got {call.name!r}"
            )
        if arguments is not None and not _subset(arguments, call.arguments):
            raise self._fail(
                f"tool call {call.name} had arguments {call.arguments}, expected to include {dict(arguments)}"
            )
        return call

    def skip_next_tool_call(self, count: int = 1) -> RunExpectation:
        for _ in range(count):
            self.next_tool_call()
        return self

    def no_more_tool_calls(self) -> RunExpectation:
        rest = self._result.answer.tool_calls[self._cursor :]
        if rest:
            raise self._fail(f"expected no more tool calls, got {[c.name for c in rest]}")
        return self

    def contains_tool_call(
        self, name: str, arguments: Mapping[str, Any] | None = None
    ) -> ToolCallRecord:
        for call in self._result.answer.tool_calls:
            if call.name == name and (arguments is None or _subset(arguments, call.arguments)):
                return call
        raise self._fail(f"no tool call {name}({dict(arguments or {})})")

    def no_tool_errors(self) -> RunExpectation:
        failed = [c for c in self._result.answer.tool_calls if c.error]
        if failed:
            raise self._fail(f"tool calls failed: {[(c.name, c.error) for c in failed]}")
        return self

    # -- citations -----------------------------------------------------------------------

    def contains_citation(
        self,
        at: float | None = None,
        *,
        kind: str | None = None,
        speaker: str | None = None,
        text: str | None = None,
        label: str | None = None,
        tolerance: float = 0.5,
    ) -> Citation:
        """A citation covering second ``at`` (give or take ``tolerance``) that matches the
        other criteria (``text`` and ``label`` as case-insensitive substrings)."""
        for c in self._result.answer.citations:
            if at is not None and not (c.start - tolerance <= at <= c.end + tolerance):
                continue
            if kind is not None and c.kind != kind:
                continue
            if speaker is not None and (c.speaker or "").lower() != speaker.lower():
                continue
            if text is not None and text.lower() not in (c.text or "").lower():
                continue
            if label is not None and label.lower() not in (c.label or "").lower():
                continue
            return c
        wanted = {
            k: v
            for k, v in {
                "at": at,
                "kind": kind,
                "speaker": speaker,
                "text": text,
                "label": label,
            }.items()
            if v is not None
        }
        where = f" ({format_clock(at)})" if at is not None else ""
        raise self._fail(f"no citation matching {wanted}{where}")

    def no_citations(self) -> RunExpectation:
        if self._result.answer.citations:
            raise self._fail("expected no citations")
        return self

    # -- the answer ----------------------------------------------------------------------

    def answer_contains(self, *parts: str, case_sensitive: bool = False) -> RunExpectation:
        text = self._result.answer.answer
        for part in parts:
            if (part not in text) if case_sensitive else (part.lower() not in text.lower()):
                raise self._fail(f"answer does not contain {part!r}")
        return self

    def answer_not_contains(self, *parts: str) -> RunExpectation:
        text = self._result.answer.answer.lower()
        for part in parts:
            if part.lower() in text:
                raise self._fail(f"answer contains {part!r}")
        return self

    def answer_matches(self, pattern: str) -> RunExpectation:
        if not re.search(pattern, self._result.answer.answer, re.I | re.S):
            raise self._fail(f"answer does not match /{pattern}/")
        return self

    def reasoning_contains(self, part: str) -> RunExpectation:
        if not any(part.lower() in step.lower() for step in self._result.answer.reasoning):
            raise self._fail(f"no reasoning step contains {part!r}")
        return self

    def understood(self) -> RunExpectation:
        if not self._result.answer.understood:
            raise self._fail("expected the question to be understood")
        return self

    def not_understood(self) -> RunExpectation:
        if self._result.answer.understood:
            raise self._fail("expected the reasoner to say it did not understand")
        return self


def _subset(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    for key, want in expected.items():
        if key not in actual:
            return False
        have = actual[key]
        if (
            isinstance(want, int | float)
            and isinstance(have, int | float)
            and not isinstance(want, bool)
        ):
            if not math.isclose(float(want), float(have), abs_tol=0.01):
                return False
        elif want != have:
            return False
    return True


__all__ = ["EventScript", "RunExpectation", "RunResult", "ScriptedSession"]
