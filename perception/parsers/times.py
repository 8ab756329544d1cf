"""Reading times out of model text and keeping them inside the window they describe.

MOSS-Audio reads a time marker every 2 s counted from the start of its audio input, so the
times it writes are seconds from the window start. Models also write clock times
(``1:02.5``), unit suffixes (``3.2s``) and decimal commas; all of them are read here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# One time: a clock (m:ss or h:mm:ss, optional fraction) or plain seconds, optional unit.
TIME = r"(?:\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(?:\s*(?:seconds|secs|sec|s)\b)?"
# What models put between the two ends of a range.
RANGE_SEPARATOR = r"(?:-->|->|→|–|—|-|~|\bto\b)"

_UNIT = re.compile(r"\s*(?:seconds|secs|sec|s)$")


def parse_time(token: str) -> float | None:
    """Seconds from one time token, or None when it is not a finite, non-negative time."""
    token = _UNIT.sub("", token.strip()).replace(",", ".")
    try:
        parts = [float(p) for p in token.split(":")]
    except ValueError:
        return None
    if not parts or len(parts) > 3 or any(p < 0 for p in parts):
        return None
    if any(p >= 60 for p in parts[1:]):  # 1:75 is not a clock time
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds if math.isfinite(seconds) else None


@dataclass(frozen=True)
class TimeFence:
    """The window's extent [0, duration], with a little slack for rounding in model text.

    A span that starts inside the window is trusted (its end is clamped to the window);
    one that starts outside it, ends before it starts, or is not a number is not.
    """

    duration: float
    slack: float = 0.5

    def admit(self, start: float, end: float | None) -> tuple[float, float, str | None] | str:
        """``(start, end, note)`` for a trusted span (note says what was adjusted), or why not."""
        if not math.isfinite(start) or (end is not None and not math.isfinite(end)):
            return "time is not a finite number"
        if end is None:
            end = start
        if start >= self.duration:
            return f"starts at {start:.2f} s, past the end of the {self.duration:.2f} s window"
        if end < start:
            return f"ends ({end:.2f}) before it starts ({start:.2f})"
        note = None
        if end > self.duration:
            if end > self.duration + self.slack:
                note = f"end {end:.2f} s clamped to the window end {self.duration:.2f} s"
            end = self.duration
        return max(0.0, start), max(0.0, end), note


# `0.00 - 2.50: text`, `[00:01.2 --> 00:03.0] text`, `1. (3s to 4s) text`, ...
_RANGE_LINE = re.compile(
    rf"""^\s*(?:[-*•]\s+|\d+[.)]\s+)?          # bullet or list number
    [\[(<{{]?\s*(?P<start>{TIME})\s*{RANGE_SEPARATOR}\s*(?P<end>{TIME})\s*[\])>}}]?
    \s*[:|,\-–—]?\s*(?P<text>.*?)\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# `[2.5] text`: a start time only, in brackets so that a sentence starting with a number
# is not read as a time.
_POINT_LINE = re.compile(
    rf"^\s*(?:[-*•]\s+)?[\[(<]\s*(?P<start>{TIME})\s*[\])>]\s*[:|,\-–—]?\s*(?P<text>.*?)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimedLine:
    """One line of model text; ``start``/``end`` are None where the line had no time."""

    number: int
    text: str
    start: float | None = None
    end: float | None = None
    has_time: bool = False


def read_lines(text: str) -> list[TimedLine]:
    """Every non-empty line, with the time range it starts with (if any)."""
    out: list[TimedLine] = []
    for number, raw in enumerate(_strip_fences(text).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _RANGE_LINE.match(line)
        if m is not None:
            start, end = parse_time(m["start"]), parse_time(m["end"])
            if end is None:  # half a range is not a time we can trust
                start = None
            out.append(TimedLine(number, _clean(m["text"]), start, end, True))
            continue
        m = _POINT_LINE.match(line)
        if m is not None:
            out.append(TimedLine(number, _clean(m["text"]), parse_time(m["start"]), None, True))
            continue
        out.append(TimedLine(number, _clean(line)))
    return out


def _strip_fences(text: str) -> str:
    return re.sub(r"^\s*```[\w-]*\s*$", "", text, flags=re.MULTILINE)


def _clean(text: str) -> str:
    text = text.strip().strip("\"'“”").strip()
    return re.sub(r"\s+", " ", text)
