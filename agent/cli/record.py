"""``moss-agent record`` and ``moss-agent demo``: audio into memory, then questions about it."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agent.cli.options import add_backend_option, add_db_option

if TYPE_CHECKING:
    import numpy as np
    from rich.console import Console

    from agent.bus.mqtt import MqttSettings
    from agent.reasoning.answer import Answer
    from agent.reasoning.triggers import Trigger, TriggerFiring
    from agent.recording.recorder import EventSink, Recorder, RecordingResult
    from agent.recording.trigger_sink import TriggerSink
    from memory import Memory
    from perception.events import Event
    from tools.reminders import Reminder

SinkT = TypeVar("SinkT", bound="contextlib.AbstractContextManager[Any]")


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add ``record`` and ``demo``."""
    record = sub.add_parser(
        "record",
        help="record an audio file (or stdin) into memory",
        description=(
            "Run perception over FILE and store every event in memory, with a progress bar. "
            "An interrupted recording resumes where it stopped when run again; nothing is "
            "stored twice. FILE '-' reads raw 16 kHz mono s16le PCM or a WAV stream from stdin."
        ),
    )
    record.add_argument("file", metavar="FILE|-", help="audio file, or - for stdin")
    record.add_argument("--session", metavar="NAME", help="session title (default: the file name)")
    add_db_option(record)
    add_backend_option(record)
    record.add_argument(
        "--archive-audio", action="store_true", help="also keep the audio (FLAC) for re-listening"
    )
    record.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="also publish each stored event on this MQTT broker (moss/<session>/<kind>), "
        "e.g. for `moss-agent tui --mqtt HOST:PORT` in another terminal",
    )
    record.add_argument(
        "--triggers",
        metavar="FILE",
        help="run these trigger rules (TOML or JSON) on the events as they are stored: "
        "publish alerts (to --mqtt when given), write notes, schedule reminders",
    )
    record.add_argument(
        "--from-start",
        action="store_true",
        help="process the whole audio again instead of resuming (stored events are not duplicated)",
    )
    record.set_defaults(func=_record_command)

    demo = sub.add_parser(
        "demo",
        help="record a meeting and answer questions about it (the main job)",
        description=(
            "With no FILE, make a short three-voice meeting with espeak-ng (with a doorbell and a "
            "phone), record it with the CPU backend into a fresh SQLite file, show its minutes "
            "(decisions, action items, next meeting) and answer five questions about it, showing "
            "the reasoning, tool calls and citations. With FILE, the same on your audio."
        ),
    )
    demo.add_argument("file", nargs="?", metavar="FILE", help="your own audio file")
    add_db_option(demo, help="memory to use (default: a fresh SQLite file)")
    add_backend_option(demo)
    demo.set_defaults(func=_demo_command)


# --- shared pieces ------------------------------------------------------------------------


def _open_memory(url: str | None) -> Memory:
    from memory import open_memory

    return open_memory(url)


def _make_recorder(
    memory: Memory,
    backend_name: str,
    archive_audio: bool = False,
    on_events: EventSink | None = None,
) -> Recorder:
    from agent.cli.errors import UsageError
    from agent.recording.recorder import Recorder
    from perception.backend import BackendError
    from perception.backends import get_backend

    try:
        backend = get_backend(backend_name)
        _ = (
            backend.model
        )  # a remote backend asks its server now: a dead URL fails before any progress
    except (BackendError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    return Recorder(memory, backend, archive_audio=archive_audio, on_events=on_events)


def _run_with_progress(
    recorder: Recorder, label: str, start: Any, console: Console
) -> RecordingResult:
    """Run ``start(on_progress)`` with a rich progress bar on ``console`` (stderr)."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from agent.cli.errors import UsageError
    from agent.cli.record_feedback import progress_lines
    from agent.recording.recorder import RecorderError, RecordingProgress
    from perception.audio import AudioDecodeError
    from perception.backend import BackendError

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[clock]}"),
        TextColumn("[dim]{task.fields[events]} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None, clock="", events=0)
        lines = progress_lines(console, label)  # the bar draws nothing when not a terminal

        def on_progress(p: RecordingProgress) -> None:
            clock = f"{p.seconds:6.1f}" + (f"/{p.total:.1f} s" if p.total else " s")
            progress.update(task, completed=p.seconds, total=p.total, clock=clock, events=p.events)
            if lines is not None:
                lines(p)

        try:
            result = start(on_progress)
            if lines is not None:
                lines.close()
            return result
        except AudioDecodeError as exc:
            raise UsageError(
                f"{exc} (events heard before the problem are stored; fix the audio and run again to resume)"
            ) from exc
        except (RecorderError, BackendError) as exc:
            raise UsageError(str(exc)) from exc


def _summary(result: RecordingResult, memory: Memory) -> str:
    from tools.clock import format_clock

    session = result.session
    if result.already_complete:
        return (
            f"session {session.title!r} ({session.id}) is already recorded to its end "
            f"({format_clock(session.duration)}, {session.event_count} events); "
            "use --from-start to process it again"
        )
    resumed = f", resumed at {format_clock(result.resumed_from)}" if result.resumed_from else ""
    return (
        f"session {session.title!r} ({session.id}): {result.stored} new events stored "
        f"({session.event_count} in total, {format_clock(session.duration)} of audio{resumed}) "
        f"in {memory.url}"
    )


def _check_audio(path: Path) -> None:
    """Fail fast, before loading models or touching memory, on audio that cannot be read."""
    from perception.audio import decode_file

    next(decode_file(path, chunk_seconds=1.0))


# --- record -------------------------------------------------------------------------------


def _record_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agent.cli.record_feedback import nothing_heard

    console = Console(stderr=True)
    settings = _mqtt_settings(args.mqtt) if args.mqtt else None
    triggers = _load_triggers(args.triggers) if args.triggers else None
    stdin_chunks = _open_stdin() if args.file == "-" else None
    if args.file != "-":
        _check_audio(Path(args.file))
    memory = _open_memory(args.db)
    try:
        if args.file != "-" and not args.from_start:
            done = _already_recorded(memory, Path(args.file), args.session)
            if done is not None:  # nothing to do: no model to load, nothing to publish
                sys.stdout.write(_summary(done, memory) + "\n")
                return 0
        trigger_sink = None
        with contextlib.ExitStack() as stack:
            sinks: list[EventSink] = []
            if settings:
                from agent.recording.mqtt_sink import MqttEventSink

                sinks.append(_connected(stack, MqttEventSink(settings, give_up_after=2.0)))
            if triggers is not None:
                trigger_sink = _connected(stack, _trigger_sink(triggers, memory, settings, console))
                sinks.append(trigger_sink)
            recorder = _make_recorder(
                memory, args.backend, args.archive_audio, on_events=_fan_out(sinks)
            )
            result = _record_source(recorder, args, console, stdin_chunks)
        sys.stdout.write(_summary(result, memory) + "\n")
        if (warning := nothing_heard(result)) is not None:
            console.print(warning, style="yellow", markup=False, highlight=False)
        if trigger_sink is not None:
            fired = len(trigger_sink.engine.firings)
            sys.stdout.write(f"triggers fired {fired} time{'s' if fired != 1 else ''}\n")
    finally:
        memory.close()
    return 0


def _open_stdin() -> Iterator[np.ndarray]:
    """stdin's audio, its header and first block read before memory is opened."""
    from agent.recording.pcm_stream import open_pcm_stream

    return open_pcm_stream(sys.stdin.buffer)


def _record_source(
    recorder: Recorder,
    args: argparse.Namespace,
    console: Console,
    stdin_chunks: Iterator[np.ndarray] | None,
) -> RecordingResult:
    if stdin_chunks is not None:
        title = args.session or "stdin"
        chunks = stdin_chunks
        return _run_with_progress(
            recorder,
            f"recording stdin as {title!r}",
            lambda cb: recorder.record_stream(
                chunks, title, on_progress=cb, from_start=args.from_start
            ),
            console,
        )
    return _run_with_progress(
        recorder,
        f"recording {Path(args.file).name}",
        lambda cb: recorder.record_file(
            args.file, args.session, on_progress=cb, from_start=args.from_start
        ),
        console,
    )


def _already_recorded(memory: Memory, path: Path, title: str | None) -> RecordingResult | None:
    from agent.recording.recorder import RecordingResult, completed_recording
    from perception.audio import probe_duration

    session = completed_recording(
        memory, title or path.stem, str(path.resolve()), probe_duration(path)
    )
    if session is None:
        return None
    return RecordingResult(session, session.duration, 0, 0, already_complete=True)


def _mqtt_settings(value: str) -> MqttSettings:
    from agent.bus.mqtt import MqttSettings
    from agent.cli.errors import UsageError

    try:
        return MqttSettings.from_url(value)
    except ValueError as exc:
        raise UsageError(f"--mqtt {value!r}: {exc}; use HOST:PORT") from exc


def _fan_out(sinks: list[EventSink]) -> EventSink | None:
    """One ``on_events`` sink calling ``sinks`` in order (None when there are none)."""
    if len(sinks) <= 1:
        return sinks[0] if sinks else None

    def every_sink(events: Sequence[Event]) -> None:
        for sink in sinks:
            sink(events)

    return every_sink


def _load_triggers(path: str) -> list[Trigger]:
    """The rules of ``--triggers``, checked against the tools before any model loads."""
    from agent.reasoning.triggers import load_triggers
    from tools import builtin_registry

    return load_triggers(path, registry=builtin_registry())


def _trigger_sink(
    triggers: list[Trigger],
    memory: Memory,
    settings: MqttSettings | None,
    console: Console,
) -> TriggerSink:
    """The ``--triggers`` sink; prints each firing (and reminder falling due) on ``console``."""
    from rich.markup import escape

    from agent.recording.trigger_sink import TriggerSink
    from tools.clock import format_clock

    def show(firing: TriggerFiring) -> None:
        style = "red" if firing.result.error else "yellow"
        console.print(
            f"[bold {style}]trigger[/] {escape(firing.trigger)} at {format_clock(firing.event.start)}: "
            f"{firing.result.name} -> {escape(firing.result.summary())}",
            soft_wrap=True,
        )

    def remind(reminder: Reminder) -> None:
        console.print(f"[bold cyan]due[/] {escape(reminder.summary_line())}", soft_wrap=True)

    return TriggerSink(
        triggers, memory, mqtt=settings, on_firing=show, on_reminder=remind, give_up_after=2.0
    )


def _connected(stack: contextlib.ExitStack, sink: SinkT) -> SinkT:
    """Enter ``sink`` (connecting to the broker if it uses one) for the rest of ``stack``;
    an unreachable broker is a one-line error."""

    return stack.enter_context(sink)


# --- demo ---------------------------------------------------------------------------------

DEMO_QUESTIONS = (
    "What was said at 0:05?",
    "When did someone mention the budget?",
    "Who spoke the most?",
    "What are the action items?",
    "What did they decide about the servers?",
)


def _demo_command(args: argparse.Namespace) -> int:
    import tempfile

    from rich.console import Console
    from rich.rule import Rule

    console = Console()
    err = Console(stderr=True)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="moss-demo-"))
    if args.file:
        audio = Path(args.file)
        _check_audio(audio)
        title = audio.stem
    else:
        from perception.synthetic import demo_meeting

        console.print(Rule("[bold]moss-agents demo"))
        console.print("Making a three-voice meeting with espeak-ng (a doorbell, a phone ringing)…")
        scene = demo_meeting()
        audio = work / "meeting.wav"
        scene.write(str(audio))
        title = "demo meeting"
        console.print(f"  audio: [cyan]{audio}[/] ({scene.duration:.1f} s)")
    db = args.db or str(work / "memory.db")
    console.print(
        f"  memory: [cyan]{db}[/] (SQLite)" if not args.db else f"  memory: [cyan]{db}[/]"
    )
    memory = _open_memory(db)
    try:
        recorder = _make_recorder(memory, args.backend)
        console.print(f"Recording with the [bold]{args.backend}[/] backend…")
        result = _run_with_progress(
            recorder,
            f"recording {audio.name}",
            lambda cb: recorder.record_file(audio, title, on_progress=cb),
            err,
        )
        console.print(_summary(result, memory))
        session_id = result.session.id
        console.print(render_minutes(memory, session_id))
        questions = DEMO_QUESTIONS if not args.file else _questions_for(memory, session_id)
        for question in questions:
            answer = _ask(memory, session_id, question)
            console.print(render_answer(question, answer))
        console.print(
            f"[dim]Done in {time.perf_counter() - started:.0f} s. Explore it: "
            f'moss-agent tui --db {db}   ·   moss-agent ask {session_id} "…" --db {db}[/]'
        )
    finally:
        memory.close()
    return 0


def _ask(memory: Memory, session_id: str, question: str) -> Answer:
    import asyncio

    from agent.reasoning.ask import ask
    from agent.reasoning.registry import get_reasoner

    async def run() -> Answer:
        async with get_reasoner("rules") as reasoner:
            return await ask(memory, session_id, question, reasoner)

    return asyncio.run(run())


def _questions_for(memory: Memory, session_id: str) -> tuple[str, ...]:
    """The same kinds of question, fitted to someone's own recording."""
    from tools.clock import format_clock

    session = memory.find_session(session_id)
    duration = session.duration if session else 0.0
    at = format_clock(min(duration / 3, 12 * 60) if duration else 0.0)
    topic = _frequent_word(memory, session_id) or "the plan"
    return (
        f"What was said at {at}?",
        f"When did someone mention {topic}?",
        "Who spoke the most?",
        "What was decided?",
    )


_STOP_WORDS = frozenset(
    """a about after again all also am an and any are as at be because been before being but by
    can could did do does doing don't down for from get got had has have having he her here hers
    him his how i i'm if in into is it it's its just know let's like me more most my no not now
    of off on once one only or other our out over own really right said same say she should so
    some such than that that's the their them then there these they this those through to too
    under until up us very was we we're well were what when where which while who why will with
    would yeah yes you your okay oh um uh going think want thing things get go""".split()  # noqa: SIM905
)


def _frequent_word(memory: Memory, session_id: str) -> str | None:
    """The most repeated content word of the transcript: a topic that was surely mentioned."""
    import re
    from collections import Counter

    counts: Counter[str] = Counter()
    for segment in memory.session_events(session_id, kinds=["transcript"]):
        for word in re.findall(r"[a-zA-Z']{4,}", getattr(segment, "text", "")):
            if word.lower() not in _STOP_WORDS:
                counts[word.lower()] += 1
    return counts.most_common(1)[0][0] if counts else None


def render_minutes(memory: Memory, session_id: str) -> Any:
    """A rich panel: the session's minutes as ``moss-agent minutes`` writes them."""
    from rich.markdown import Markdown
    from rich.panel import Panel

    from memory.exports import minutes_markdown
    from memory.minutes import minutes_for

    text = minutes_markdown(minutes_for(memory, session_id), memory.speaker_names(session_id))
    body = text.removeprefix("# Minutes\n").lstrip("\n")  # the panel's title says it
    return Panel(Markdown(body), title="[bold]Minutes", title_align="left", border_style="green")


def render_answer(question: str, answer: Answer) -> Any:
    """A rich panel: the answer, numbered reasoning, tool calls and mm:ss citations."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from tools.clock import format_span

    parts: list[Any] = [Text(answer.answer, style="bold")]
    if answer.reasoning:
        steps = Text("\nReasoning\n", style="underline")
        for i, step in enumerate(answer.reasoning, 1):
            steps.append(f"  {i}. {step}\n", style="")
        parts.append(steps)
    if answer.tool_calls:
        table = Table(title="Tool calls", title_justify="left", show_edge=False, expand=True)
        table.add_column("tool", style="cyan", no_wrap=True)
        table.add_column("arguments", style="dim")
        table.add_column("result")
        for call in answer.tool_calls:
            arguments = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
            result = Text(call.error, style="red") if call.error else Text(call.result_summary)
            table.add_row(call.name, arguments, result)
        parts.append(table)
    if answer.citations:
        cites = Text("\nCitations\n", style="underline")
        for c in answer.citations:
            cites.append(f"  [{format_span(c.start, c.end)}] ", style="bold green")
            if c.kind == "speaker":
                cites.append(f"{c.speaker or c.label} speaking\n", style="bold")
                continue
            if c.speaker:
                cites.append(f"{c.speaker}: ", style="bold")
            what = c.text if c.text is not None else (c.label or c.kind)
            cites.append(
                f"{what}\n" if c.kind in ("transcript", "relisten") else f"({c.kind}) {what}\n"
            )
        parts.append(cites)
    return Panel(
        Group(*parts), title=f"[bold]Q: {question}", title_align="left", border_style="blue"
    )
