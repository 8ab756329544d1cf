"""Sub-commands of the memory package (see agent/cli/__init__.py): db upgrade, sessions, export,
speakers, minutes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli.options import add_db_option
from perception.formats import format_duration

if TYPE_CHECKING:
    from memory import Memory, SessionInfo


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add this package's sub-commands to ``sub``."""
    db = sub.add_parser("db", help="manage the memory database")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="create or migrate the database schema")
    add_db_option(upgrade)
    upgrade.set_defaults(func=_db_upgrade)
    db.set_defaults(func=lambda args: _usage(db))

    sessions = sub.add_parser(
        "sessions", help="list recorded sessions (or delete one)",
        description="List recorded sessions. --delete removes one session with all its "
        "events, speakers, answers and archived audio.",
    )  # fmt: skip
    add_db_option(sessions)
    sessions.add_argument(
        "--delete",
        metavar="SESSION",
        help="delete this session (id or title) and its audio archive",
    )
    sessions.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    sessions.set_defaults(func=_sessions)

    export = sub.add_parser("export", help="export a session as subtitles, minutes or JSON")
    export.add_argument("session", help="session id or title")
    export.add_argument(
        "--format", "-f", choices=("srt", "vtt", "md", "json"), default="md",
        help="md: minutes (default); srt or vtt: subtitles with speaker names; json: every event",
    )  # fmt: skip
    export.add_argument("--output", "-o", type=Path, help="write to this file (default stdout)")
    add_db_option(export)
    export.set_defaults(func=_export)

    speakers = sub.add_parser("speakers", help="show (and name) a session's speakers")
    speakers.add_argument("session", help="session id or title")
    speakers.add_argument(
        "--rename", action="append", default=[], metavar="ID=NAME",
        help="give speaker ID the name NAME; several at once separated by commas or by "
        "repeating the option, e.g. --rename S1=Alice,S3=Carol",
    )  # fmt: skip
    speakers.add_argument(
        "--recluster",
        action="store_true",
        help="regroup the speakers over the whole session from the stored voice embeddings "
        "(no audio needed; names given with --rename are kept)",
    )
    add_db_option(speakers)
    speakers.set_defaults(func=_speakers)

    minutes = sub.add_parser(
        "minutes", help="a session's minutes: topics, decisions, action items, open questions"
    )
    minutes.add_argument("session", help="session id or title")
    minutes.add_argument("--json", action="store_true", help="as JSON (one line per item)")
    minutes.add_argument("--refresh", action="store_true", help="derive them again first")
    add_db_option(minutes)
    minutes.set_defaults(func=_minutes)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _open(url: str | None) -> Memory:
    from memory import open_memory

    return open_memory(url)


def _session(memory: Memory, id_or_title: str) -> SessionInfo:
    from agent.cli.errors import UsageError

    info = memory.find_session(id_or_title)
    if info is None:
        raise UsageError(f"no session {id_or_title!r}; `moss-agent sessions` lists them")
    return info


def _db_upgrade(args: argparse.Namespace) -> int:
    from memory.database import current_revision

    with _open(args.db) as memory:
        print(f"{memory.url}: schema at revision {current_revision(memory.engine)}")
    return 0


def _sessions(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    if args.delete:
        return _delete_session(args)
    with _open(args.db) as memory:
        sessions = memory.list_sessions()
    if not sessions:
        print("no sessions yet; record one with `moss-agent record`")
        return 0
    table = Table("id", "title", "started (UTC)", "duration", "events", "backend", "source")
    for s in sessions:
        table.add_row(
            s.id,
            s.title,
            s.started_at.strftime("%Y-%m-%d %H:%M"),
            format_duration(s.duration),
            str(s.event_count),
            " ".join(x for x in (s.backend, s.model) if x),
            s.source or "",
        )
    Console(width=max(100, Console().width)).print(table)
    return 0


def _delete_session(args: argparse.Namespace) -> int:
    from agent.cli.errors import UsageError

    with _open(args.db) as memory:
        session = _session(memory, args.delete)
        what = (
            f"session {session.id} ({session.title!r}: {session.event_count} events, "
            f"{format_duration(session.duration)} of audio and its archive)"
        )
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError(f"deleting {what} needs confirmation: add --yes")
            reply = input(f"Delete {what}? [y/N] ").strip().lower()
            if reply not in ("y", "yes"):
                print("nothing deleted", file=sys.stderr)
                return 1
        memory.delete_session(session.id)
    print(f"deleted {what}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from agent.cli.errors import UsageError
    from memory.exports import export_session

    with _open(args.db) as memory:
        text = export_session(memory, _session(memory, args.session).id, args.format)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from exc
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _speakers(args: argparse.Namespace) -> int:
    from agent.cli.errors import UsageError

    renames = []
    for item in args.rename:
        for part in item.split(","):
            speaker, sep, name = part.partition("=")
            if not sep or not speaker.strip() or not name.strip() or "=" in name:
                raise UsageError(
                    f"--rename takes ID=NAME (e.g. S1=Alice, several as S1=Alice,S3=Carol; "
                    f"names cannot hold commas), got {item!r}"
                )
            renames.append((speaker.strip(), name.strip()))
    with _open(args.db) as memory:
        session = _session(memory, args.session)
        known = memory.speaker_names(session.id)
        missing = [speaker for speaker, _ in renames if speaker not in known]
        if missing and len(renames) > 1:  # all or nothing: no half-applied list of renames
            raise UsageError(
                f"no speaker {', '.join(map(repr, missing))} in session {session.id}; nothing renamed "
                f"(its speakers: {', '.join(sorted(known)) or 'none'})"
            )
        if args.recluster:
            done = memory.recluster_speakers(session.id)
            if not done.segments:
                print(
                    f"session {session.id} has no stored voice embeddings to regroup "
                    "(transcribed before they were kept, or by a backend without them)",
                    file=sys.stderr,
                )
            else:
                print(
                    f"regrouped {done.segments} segments: {len(done.speakers_before)} -> "
                    f"{len(done.speakers_after)} speakers, {done.changed} events changed",
                    file=sys.stderr,
                )
        for speaker, name in renames:
            memory.rename_speaker(session.id, speaker, name)
        talk = memory.speakers_with_talk_time(session.id)
        names = memory.speaker_names(session.id)
    if not names:
        print(f"no speakers in session {session.id} ({session.title})")
        return 0
    talked = {t.speaker for t in talk}
    print(f"{'id':<10} {'name':<20} {'talk':>9} {'turns':>6}")
    for t in talk:
        print(
            f"{t.speaker:<10} {t.display_name:<20} {format_duration(t.talk_seconds):>9} {t.turns:>6}"
        )
    for speaker, name in sorted(names.items()):
        if speaker not in talked:
            print(f"{speaker:<10} {name:<20} {format_duration(0):>9} {0:>6}")
    return 0


def _minutes(args: argparse.Namespace) -> int:
    import json

    from memory.exports import minutes_markdown
    from memory.minutes import minutes_for, refresh_minutes

    with _open(args.db) as memory:
        session = _session(memory, args.session)
        found = (refresh_minutes if args.refresh else minutes_for)(memory, session.id)
        names = memory.speaker_names(session.id)
    if args.json:
        print(json.dumps(found.compact(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(minutes_markdown(found, names))
    return 0
