"""How events look on screen: time codes, speaker colours, emotion and sound badges.

Pure presentation: every function takes what memory or the bus already produced and
returns Rich text. Nothing here decides anything about the audio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text

from tools.clock import format_clock as clock

# Distinct on dark and light themes; speakers get them in order of first appearance.
SPEAKER_COLOURS = (
    "#4fc3f7",  # light blue
    "#ffb74d",  # orange
    "#81c784",  # green
    "#f06292",  # pink
    "#ba68c8",  # purple
    "#e6ee9c",  # lime
    "#4db6ac",  # teal
    "#ff8a65",  # coral
)
SOUND_STYLE = "bold black on #ffd54f"
MUSIC_STYLE = "bold black on #ce93d8"
EMOTION_STYLE = "italic #b0bec5"


class SpeakerPalette:
    """Stable colour per speaker id within one session, in order of first appearance."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self._colours: dict[str, str] = {}
        self.names: dict[str, str] = dict(names or {})

    def colour(self, speaker: str | None) -> str:
        if not speaker:
            return "#9e9e9e"
        if speaker not in self._colours:
            self._colours[speaker] = SPEAKER_COLOURS[len(self._colours) % len(SPEAKER_COLOURS)]
        return self._colours[speaker]

    def label(self, speaker: str | None) -> str:
        if not speaker:
            return "?"
        return self.names.get(speaker, speaker)


def _field(event: Any, name: str, default: Any = None) -> Any:
    return getattr(event, name, default)


def kind_of(event: Any) -> str:
    return str(_field(event, "kind", ""))


def sound_badge(label: str, heuristic: bool = False) -> Text:
    mark = "~" if heuristic else ""
    return Text(f" {mark}{label} ", style=SOUND_STYLE)


def transcript_row(
    event: Any, palette: SpeakerPalette, emotions: Iterable[str] = (), sounds: Iterable[str] = ()
) -> Text:
    """One line of the transcript pane for a transcript, sound or music event."""
    kind = kind_of(event)
    row = Text()
    row.append(f"{clock(event.start)} ", style="dim")
    if kind == "transcript":
        speaker = _field(event, "speaker")
        row.append(f"{palette.label(speaker):>8} ", style=f"bold {palette.colour(speaker)}")
        row.append(str(_field(event, "text", "")).strip())
        for emotion in emotions:
            row.append(" ")
            row.append(f"({emotion})", style=EMOTION_STYLE)
    elif kind == "music":
        row.append(f"{'music':>8} ", style="dim")
        row.append(f" ♪ {_field(event, 'label', 'music')} ", style=MUSIC_STYLE)
        description = _field(event, "description")
        if description:
            row.append(f" {description}", style="dim")
    else:
        row.append(f"{'sound':>8} ", style="dim")
        row.append_text(
            sound_badge(str(_field(event, "label", "sound")), bool(_field(event, "heuristic")))
        )
        category = _field(event, "category")
        if category and str(category) not in ("other", str(_field(event, "label", ""))):
            row.append(f" {category}", style="dim")
        row.append(f" until {clock(event.end)}", style="dim")
    for label in sounds:
        row.append(" ")
        row.append_text(sound_badge(label))
    return row


def minute_row(
    minute: int,
    lines: int,
    speakers: list[str],
    sounds: list[str],
    palette: SpeakerPalette,
    widest: int,
) -> Text:
    """One minute of the timeline: a bar as long as the talk in it, who spoke, what was heard."""
    row = Text()
    row.append(f"{clock(minute * 60)} ", style="bold")
    width = 8
    filled = 0 if widest == 0 else max(1 if lines else 0, round(width * lines / widest))
    row.append("█" * filled, style="#4fc3f7")
    row.append("·" * (width - filled), style="dim")
    row.append(f" {lines:>3} ")
    for speaker in speakers:
        row.append("●", style=palette.colour(speaker))
    if sounds:
        row.append(" ")
        row.append_text(sound_badge(f"{len(sounds)} sound{'s' if len(sounds) > 1 else ''}"))
    return row
