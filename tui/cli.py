"""``moss-agent tui``: the terminal UI over a memory, optionally following a live session."""

from __future__ import annotations

import argparse

from agent.cli.options import add_db_option, add_reasoner_option


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add ``tui``."""
    tui = sub.add_parser(
        "tui",
        help="browse sessions, follow a live one and ask questions in the terminal",
        description=(
            "A terminal UI: sessions, a transcript with speakers, emotions and sounds, a "
            "timeline by minute and a question box with citations and the reasoning trace."
        ),
    )
    add_db_option(tui)
    tui.add_argument("--session", metavar="NAME", help="session to open first (title or id)")
    tui.add_argument(
        "--mqtt", metavar="HOST:PORT", help="follow live events published on this MQTT broker"
    )
    tui.add_argument(
        "--record", metavar="FILE", help="record FILE with the lite backend while watching it live"
    )
    add_reasoner_option(tui)
    tui.set_defaults(func=_tui_command)


def _tui_command(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from agent.bus.in_process import EventBus
    from agent.cli.errors import UsageError
    from agent.reasoning.ask import ask
    from agent.reasoning.registry import get_reasoner
    from memory import open_memory
    from tui.app import MossTUI
    from tui.live import bus_events, bus_publisher, record_beside

    memory = open_memory(args.db)
    if args.session and memory.find_session(args.session) is None:
        raise UsageError(f"no session called {args.session!r}; see `moss-agent sessions`")
    if args.record and not Path(args.record).is_file():
        raise UsageError(f"{args.record}: no such file")
    try:
        reasoner = get_reasoner(args.reasoner)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    conversations: dict[str, str] = {}  # one conversation per session browsed: follow-ups work

    async def asker(question: str, session_id: str):
        answer = await ask(
            memory,
            session_id,
            question,
            reasoner,
            conversation=conversations.get(session_id, "new"),
        )
        if answer.conversation:
            conversations[session_id] = answer.conversation
        return answer

    live = None
    bus = EventBus()
    if args.mqtt:
        from agent.bus.mqtt import MqttSettings
        from tui.live import mqtt_events

        try:
            settings = MqttSettings.from_url(args.mqtt)
        except ValueError as exc:
            raise UsageError(f"--mqtt {args.mqtt!r}: {exc}; use HOST:PORT") from exc
        live = mqtt_events(settings)
    elif args.record:
        live = bus_events(bus)

    on_start = None
    if args.record and not args.mqtt:
        from agent.recording.recorder import Recorder
        from perception.backends import get_backend

        def start_recording() -> None:
            loop = asyncio.get_running_loop()
            recorder = Recorder(memory, get_backend("lite"), on_events=bus_publisher(bus, loop))

            def done(error: BaseException | None) -> None:
                message = f"recording failed: {error}" if error else "recording finished"
                app.call_from_thread(
                    app.notify, message, severity="error" if error else "information"
                )

            record_beside(recorder, args.record, None, done)

        on_start = start_recording
    app = MossTUI(memory, session=args.session, asker=asker, live=live, on_start=on_start)
    try:
        app.run()
    finally:
        memory.close()
    return 0
