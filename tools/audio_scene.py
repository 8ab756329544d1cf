"""What was heard besides words: sounds and music, and how voices sounded."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from perception.events import EventKind, MusicEvent, SoundEvent, VoiceTraits
from tools.context import ToolContext
from tools.transcript import Seconds, check_span

# An "end" later than any session (a million hours): plain float that every SQL backend stores.
UNTIL_THE_END = 3.6e9

# Words people use for a sound -> words detectors put in labels. Lets "phone" find
# "telephone ringing" and "door" find "doorbell" without the caller knowing the label set.
SOUND_SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "ring"),
    "telephone": ("phone", "telephone", "ring"),
    "ring": ("ring", "phone", "bell"),
    "doorbell": ("doorbell", "door bell", "chime", "ding"),
    "door": ("door", "doorbell", "knock"),
    "bell": ("bell", "chime", "ding"),
    "knock": ("knock", "door"),
    # not "tonal": the detector's "tonal sound (chime-like)" is a doorbell or a beep
    "music": ("music", "song", "melody"),
    "song": ("music", "song"),
    "laugh": ("laugh",),
    "laughter": ("laugh",),
    "applause": ("applause", "clap"),
    "clap": ("applause", "clap"),
    "dog": ("dog", "bark"),
    "bark": ("dog", "bark"),
    "alarm": ("alarm", "siren", "beep"),
    "beep": ("beep", "alarm", "tonal"),
    "cough": ("cough",),
    "noise": ("noise",),
}


def label_matches(label: str, wanted: str) -> bool:
    """True when a detector's ``label`` is what a person means by ``wanted``."""
    have = label.lower()
    compact = have.replace(" ", "").replace("-", "").replace("_", "")
    for word in wanted.lower().split():
        for alias in SOUND_SYNONYMS.get(word, (word,)):
            if alias in have or alias.replace(" ", "") in compact:
                return True
    return False


def sound_events_between(
    ctx: ToolContext,
    start: Seconds = 0.0,
    end: Seconds | None = None,
    label: Annotated[str | None, Field(min_length=1)] = None,
) -> list[SoundEvent | MusicEvent]:
    """Non-speech sounds and music heard between two times (the whole session by default).

    Args:
        start: Seconds from the start of the session.
        end: Seconds from the start of the session; omit for "until the end".
        label: Only sounds like this, e.g. "doorbell", "phone", "music".
    """
    stop = UNTIL_THE_END if end is None else end
    if end is not None:
        check_span(start, end, max_span=float("inf"))
    events = ctx.memory.events_between(
        ctx.session_id, start, stop, kinds=[EventKind.SOUND, EventKind.MUSIC]
    )
    out = [e for e in events if isinstance(e, SoundEvent | MusicEvent)]
    if label:
        wants_music = bool(set(label.lower().split()) & set(SOUND_SYNONYMS["music"]))
        out = [
            e
            for e in out
            if label_matches(e.label, label) or (wants_music and isinstance(e, MusicEvent))
        ]
    return out


def voice_traits_between(
    ctx: ToolContext,
    start: Seconds = 0.0,
    end: Seconds | None = None,
    speaker: Annotated[str | None, Field(min_length=1)] = None,
) -> list[VoiceTraits]:
    """How voices sounded (emotion, pitch, pace, ...) between two times.

    Args:
        start: Seconds from the start of the session.
        end: Seconds from the start of the session; omit for "until the end".
        speaker: Only this speaker (id or name as listed by ``speakers``).
    """
    stop = UNTIL_THE_END if end is None else end
    if end is not None:
        check_span(start, end, max_span=float("inf"))
    events = ctx.memory.events_between(ctx.session_id, start, stop, kinds=[EventKind.VOICE])
    out = [e for e in events if isinstance(e, VoiceTraits)]
    if speaker:
        wanted = {speaker.lower()} | _speaker_ids_named(ctx, speaker)
        out = [e for e in out if (e.speaker or "").lower() in wanted]
    return out


def _speaker_ids_named(ctx: ToolContext, name: str) -> set[str]:
    ids = set()
    for row in ctx.memory.speakers_with_talk_time(ctx.session_id):
        if (row.display_name or "").lower() == name.lower():
            ids.add(row.speaker.lower())
    return ids


__all__ = [
    "SOUND_SYNONYMS",
    "UNTIL_THE_END",
    "label_matches",
    "sound_events_between",
    "voice_traits_between",
]
