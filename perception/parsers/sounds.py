"""Sound-event timeline text -> sound and music events (window-relative times).

Reads `start - end: description` lines as MOSS-Audio writes them (`0.00 - 57.00: birds
chirping`). Sounds may overlap each other (a dog barks over music), so overlaps are kept;
exact repeats are dropped and overlapping pieces of the same sound are merged. Lines about
music become music events, lines about speech are marked as speech.
"""

from __future__ import annotations

import logging
import re

from perception.events import MusicEvent, SoundCategory, SoundEvent
from perception.parsers.result import ParseResult
from perception.parsers.times import TimeFence, read_lines

log = logging.getLogger(__name__)

_MUSIC = re.compile(
    r"\b(music|musical|song|songs|singing|sings|sung|melody|melodic|tune|chorus|choir|"
    r"orchestra\w*|piano|guitar|violin|cello|drums?|drumming|bass(?:line)?|synth\w*|jazz|"
    r"hip[- ]hop|classical|instrumental)\b",
    re.IGNORECASE,
)
_SPEECH = re.compile(
    r"\b(speech|speaking|speaks|talking|talks|conversation|voice|voices|narrat\w*|"
    r"whisper\w*|says|said)\b",
    re.IGNORECASE,
)
_SILENCE = re.compile(r"^\s*(silence|silent|quiet|no sound)\b", re.IGNORECASE)
_NOTHING = re.compile(r"^[\W_]*(none|no sound events?|nothing|n/?a)[\W_]*$", re.IGNORECASE)
_MAX_LABEL = 200
_SAME_TIME = 0.05


def parse_sound_events(text: str, duration: float) -> ParseResult[SoundEvent | MusicEvent]:
    """Sound and music events of a ``duration``-second window from timeline text."""
    result: ParseResult[SoundEvent | MusicEvent] = ParseResult()
    fence = TimeFence(duration)
    lines = read_lines(text)
    stray = [line for line in lines if not line.has_time and not _NOTHING.match(line.text)]
    if stray:
        result.warn(
            log,
            f"sound timeline: ignored {len(stray)} line(s) without a time range "
            f"(first: line {stray[0].number}: {stray[0].text[:60]!r})",
        )
    spans: list[tuple[float, float, str]] = []
    for line in lines:
        if not line.has_time:
            continue
        label = line.text.rstrip(".;,").strip()[:_MAX_LABEL]
        if not label:
            result.warn(log, f"sound timeline line {line.number}: no description, dropped")
            continue
        span = result.admit(fence, line.start, line.end, f"sound timeline line {line.number}", log)
        if span is not None:
            spans.append((*span, label))
    result.sort_by_time(spans, "sound timeline was", log)

    merged: list[list] = []  # [start, end, label]
    for start, end, label in spans:
        twin = next(
            (m for m in merged if _same_label(m[2], label) and start <= m[1] + _SAME_TIME), None
        )
        if twin is not None:
            twin[1] = max(twin[1], end)  # a repeat or a continuation of the same sound
            continue
        merged.append([start, end, label])

    for start, end, label in merged:
        result.events.append(_event(start, end, label))
    result.events.sort(key=lambda e: (e.start, e.end))
    return result


def _event(start: float, end: float, label: str) -> SoundEvent | MusicEvent:
    if _MUSIC.search(label):
        return MusicEvent(start=start, end=end, label=label, description=label)
    if _SILENCE.match(label):
        category = SoundCategory.SILENCE
    elif _SPEECH.search(label):
        category = SoundCategory.SPEECH
    else:
        category = SoundCategory.OTHER
    return SoundEvent(start=start, end=end, label=label, category=category)


def _same_label(a: str, b: str) -> bool:
    norm = lambda s: re.sub(r"[\W_]+", " ", s.lower()).strip()  # noqa: E731
    return norm(a) == norm(b)
