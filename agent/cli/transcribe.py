"""``moss-agent transcribe FILE``: timed events of an audio file as JSON lines, text, SRT or VTT."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from agent.cli.options import add_backend_option
from perception.formats import VTT_HEADER, format_timestamp, srt_cue, vtt_cue

FORMATS = ("json", "text", "srt", "vtt")


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add this package's sub-commands to ``sub``."""
    _add_transcribe(sub)


# --- transcribe ----------------------------------------------------------------------------


def _add_transcribe(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    p = sub.add_parser(
        "transcribe",
        help="turn an audio file into timed events (transcript, speakers, sounds)",
        description="Transcribe FILE into absolute-time events. Progress goes to stderr.",
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="any audio file FFmpeg can read (wav, flac, mp3, m4a, ogg, opus)",
    )
    add_backend_option(p)
    p.add_argument(
        "--format", choices=FORMATS, default="json", help="json = one event per line (default)"
    )
    p.add_argument(
        "--window",
        type=float,
        metavar="S",
        help="window length in seconds (default: the backend's)",
    )
    p.add_argument("--hop", type=float, metavar="S", help="hop between windows in seconds")
    p.add_argument("--session-id", help="session id stamped on events (default: the file name)")
    p.add_argument(
        "--kinds", help="comma-separated event kinds to print, e.g. transcript,sound (default: all)"
    )
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="backend option, repeatable (e.g. -o beam_size=5, -o url=http://host:8000/v1)",
    )
    p.add_argument(
        "--live-speakers",
        action="store_true",
        help="print events as they are perceived, with live speaker ids (default: at the end, "
        "with speaker ids regrouped over the whole file)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_transcribe)


def _transcribe(args: argparse.Namespace) -> int:
    from agent.cli.errors import UsageError
    from perception.audio import AudioDecodeError
    from perception.backend import BackendError, BackendUnavailableError
    from perception.events import EventKind

    kinds: set[str] | None = None
    if args.kinds:
        kinds = {k.strip() for k in args.kinds.split(",") if k.strip()}
        unknown = kinds - {k.value for k in EventKind}
        if unknown:
            raise UsageError(
                f"unknown event kind(s) {', '.join(sorted(unknown))}; choose from "
                + ", ".join(k.value for k in EventKind)
            )
    options = _parse_options(args.option, UsageError)
    progress = None if args.quiet else _Progress(sys.stderr)
    writer = _WRITERS[args.format](sys.stdout)
    from perception import transcribe

    try:
        for event in transcribe(
            args.file,
            backend=args.backend,
            session_id=args.session_id,
            window=args.window,
            hop=args.hop,
            on_progress=progress,
            refine_speakers=not args.live_speakers,
            **options,
        ):
            if kinds is None or event.kind in kinds:
                writer.write(event)
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except AudioDecodeError as exc:
        raise UsageError(str(exc)) from exc
    except BackendUnavailableError as exc:
        raise UsageError(str(exc)) from exc
    except BackendError as exc:  # e.g. a remote server that died or answered nonsense mid-run
        print(f"moss-agent transcribe: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except (ValueError, TypeError) as exc:  # bad window/hop or backend option
        raise UsageError(str(exc).splitlines()[0]) from exc
    finally:
        with contextlib.suppress(BrokenPipeError):
            writer.close()
        if progress is not None:
            progress.done()
    return 0


def _parse_options(items: list[str], error: type[Exception]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise error(f"backend option {item!r} is not KEY=VALUE")
        options[key.strip().replace("-", "_")] = _coerce(raw.strip())
    return options


def _coerce(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


class _Progress:
    """Seconds of audio done on stderr: one updating line on a terminal, a few lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.t0 = time.monotonic()
        self._last_step = -1

    def __call__(self, done: float, total: float | None) -> None:
        speed = done / max(time.monotonic() - self.t0, 1e-6)
        if total:
            pct = min(100, int(100 * done / total))
            text = f"transcribing: {done:7.1f} / {total:.1f} s ({pct:3d}%, {speed:.1f}x real time)"
            step = pct // 10
        else:
            text = f"transcribing: {done:7.1f} s ({speed:.1f}x real time)"
            step = int(done // 60)
        if self.tty:
            self.stream.write("\r" + text)
            self.stream.flush()
        elif step != self._last_step:
            self._last_step = step
            print(text, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --- output formats --------------------------------------------------------------------------


def _caption(event: Any) -> str | None:
    """The words a subtitle shows for an event, or None for events that are not shown."""
    kind = event.kind
    if kind == "transcript":
        return f"{event.speaker}: {event.text}" if event.speaker else event.text
    if kind in ("sound", "music") and getattr(event, "category", None) != "silence":
        return f"[{event.label}]"
    return None


class _JsonWriter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, event: Any) -> None:
        from perception.events import event_to_json

        self.out.write(event_to_json(event) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class _TextWriter(_JsonWriter):
    def write(self, event: Any) -> None:
        span = f"[{format_timestamp(event.start)} - {format_timestamp(event.end)}]"
        kind = event.kind
        if kind == "transcript":
            line = f"{span} {event.speaker or '?'}: {event.text}"
        elif kind in ("sound", "music"):
            line = f"{span} ({kind}) {event.label}"
        elif kind == "voice":
            line = f"{span} (voice) {event.speaker or '?'}: {event.summary or event.emotion or ''}"
        else:
            line = f"{span} (turn) {event.speaker or '?'}"
        self.out.write(line + "\n")
        self.out.flush()


class _SrtWriter(_JsonWriter):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.n = 0

    def write(self, event: Any) -> None:
        text = _caption(event)
        if text is None:
            return
        self.n += 1
        self.out.write(srt_cue(self.n, event.start, event.end, text) + "\n")
        self.out.flush()


class _VttWriter(_JsonWriter):
    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        out.write(VTT_HEADER + "\n")

    def write(self, event: Any) -> None:
        text = _caption(event)
        if text is None:
            return
        self.out.write(vtt_cue(event.start, event.end, text) + "\n")
        self.out.flush()


_WRITERS: dict[str, Callable[[TextIO], _JsonWriter]] = {
    "json": _JsonWriter,
    "text": _TextWriter,
    "srt": _SrtWriter,
    "vtt": _VttWriter,
}
