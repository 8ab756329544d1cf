"""What the screen shows of one session: its rows in time order, the voice events that
become emotion badges on them, its speakers' colours, and its minutes. Plain data read
from memory or the bus; the widgets render it."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from tui.render import SpeakerPalette, kind_of

# Kinds shown as transcript rows; voice events become emotion badges on those rows and
# speaker turns are already visible as the speaker of each line.
ROW_KINDS = ("transcript", "sound", "music")
BADGE_KINDS = ("voice",)


@dataclass(frozen=True)
class Minute:
    """One minute of a session: lines said, who spoke, which sounds were heard."""

    index: int
    lines: int
    speakers: list[str]
    sounds: list[str]


@dataclass
class SessionView:
    """What the screen currently shows of one session: rows in time order plus badges."""

    session: Any
    rows: list[Any] = field(default_factory=list)
    voices: list[Any] = field(default_factory=list)
    palette: SpeakerPalette = field(default_factory=SpeakerPalette)

    @classmethod
    def load(cls, memory: Any, session: Any) -> SessionView:
        """``session``'s events from memory, with the speaker names given to it."""
        names = {
            sid: name
            for sid, name in memory.speaker_names(session.id).items()
            if name and name != sid
        }
        view = cls(session=session, palette=SpeakerPalette(names))
        for event in memory.session_events(session.id, kinds=[*ROW_KINDS, *BADGE_KINDS]):
            (view.voices if kind_of(event) in BADGE_KINDS else view.rows).append(event)
        view.rows.sort(key=lambda e: (e.start, e.end))
        return view

    @property
    def id(self) -> str:
        return str(self.session.id)

    def starts(self) -> list[float]:
        return [r.start for r in self.rows]

    def has_row(self, event: Any) -> bool:
        return any(getattr(r, "event_id", None) == event.event_id for r in self.rows)

    def emotions_for(self, row: Any) -> list[str]:
        if kind_of(row) != "transcript":
            return []
        found: list[str] = []
        for voice in self.voices:
            emotion = getattr(voice, "emotion", None)
            same_voice = (
                voice.speaker is None or row.speaker is None or voice.speaker == row.speaker
            )
            overlaps = voice.start < row.end and voice.end > row.start
            if emotion and same_voice and overlaps and emotion not in found:
                found.append(str(emotion))
        return found

    def row_index_at(self, t: float) -> int | None:
        """The row being said at ``t``, else the nearest one starting after (or the last)."""
        if not self.rows:
            return None
        for i, row in enumerate(self.rows):
            if row.start <= t < max(row.end, row.start + 0.01):
                return i
        i = bisect.bisect_left(self.starts(), t)
        return min(i, len(self.rows) - 1)

    def rows_in_minute(self, minute: int) -> list[int]:
        start, end = minute * 60.0, minute * 60.0 + 60.0
        return [i for i, r in enumerate(self.rows) if start <= r.start < end]

    def minutes(self) -> list[Minute]:
        """Per minute of the session: lines said, who spoke, which sounds were heard."""
        duration = max(
            float(getattr(self.session, "duration", 0.0) or 0.0),
            max((r.end for r in self.rows), default=0.0),
        )
        count = max(1, math.ceil(duration / 60.0))
        lines = [0] * count
        speakers: list[list[str]] = [[] for _ in range(count)]
        sounds: list[list[str]] = [[] for _ in range(count)]
        for row in self.rows:
            m = min(count - 1, int(row.start // 60))
            if kind_of(row) == "transcript":
                lines[m] += 1
                if row.speaker and row.speaker not in speakers[m]:
                    speakers[m].append(row.speaker)
            else:
                label = str(getattr(row, "label", kind_of(row)))
                if label not in sounds[m]:
                    sounds[m].append(label)
        return [Minute(m, lines[m], speakers[m], sounds[m]) for m in range(count)]


__all__ = ["BADGE_KINDS", "ROW_KINDS", "Minute", "SessionView"]
