"""How times and events are written for people and players: clocks, SRT and WebVTT cues.

One place for these so that ``moss-agent transcribe`` (streaming) and memory's exports
(whole sessions) write the same, valid files.
"""

from __future__ import annotations

__all__ = [
    "VTT_HEADER",
    "format_clock",
    "format_duration",
    "format_span",
    "format_timestamp",
    "srt_cue",
    "vtt_cue",
]

VTT_HEADER = "WEBVTT\n"


def format_clock(seconds: float) -> str:
    """75.5 -> "01:15", 3725 -> "1:02:05": mm:ss below an hour, h:mm:ss from an hour on.

    Seconds are floored, never rounded up, so a citation never points past what was said.
    """
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def format_duration(seconds: float) -> str:
    """76 -> "0:01:16": always h:mm:ss, so durations line up in a column."""
    total = max(0, int(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def format_span(start: float, end: float) -> str:
    """ "01:15" for a point-like span, "01:15-01:20" otherwise."""
    a, b = format_clock(start), format_clock(end)
    return a if a == b else f"{a}-{b}"


def format_timestamp(seconds: float, separator: str = ".") -> str:
    """Subtitle time "HH:MM:SS.mmm" (WebVTT) or, with separator ",", "HH:MM:SS,mmm" (SRT)."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt_cue(number: int, start: float, end: float, text: str) -> str:
    """One SRT cue, blank line excluded. A blank line inside the text would end the cue early."""
    body = "\n".join(line for line in text.strip().splitlines() if line.strip())
    return f"{number}\n{format_timestamp(start, ',')} --> {format_timestamp(end, ',')}\n{body}\n"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_cue(start: float, end: float, text: str, voice: str | None = None) -> str:
    """One WebVTT cue, blank line excluded; text and voice name escaped as the format requires.

    "-->" may not appear in a cue's text, "<" and "&" must be escaped, and a blank line would
    end the cue early.
    """
    body = "\n".join(line for line in text.strip().splitlines() if line.strip())
    body = _escape_vtt(body.replace("-->", "→"))
    span = f"{format_timestamp(start, '.')} --> {format_timestamp(end, '.')}"
    if voice:
        return f"{span}\n<v {_escape_vtt(voice)}>{body}\n"
    return f"{span}\n{body}\n"
