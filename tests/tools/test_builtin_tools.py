"""Each built-in tool against a real memory holding the scripted meeting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pytest

from agent.bus.in_process import EventBus
from agent.testing import ScriptedSession
from perception import synthetic
from perception.backend import PerceptionBackend, Window
from perception.events import Event, SoundEvent, TranscriptSegment, VoiceTraits
from tools import (
    Alert,
    Relistened,
    Reminder,
    SessionOverview,
    SpeakersOverview,
    ToolContext,
    builtin_registry,
)
from tools.audio_scene import label_matches

registry = builtin_registry()


async def call(ctx: ToolContext, name: str, **arguments: object) -> object:
    result = await registry.call(name, arguments, ctx)
    assert result.ok, result.error
    return result.value


async def test_session_info(ctx: ToolContext, session: ScriptedSession) -> None:
    info = await call(ctx, "session_info")
    assert isinstance(info, SessionOverview)
    assert info.id == session.session_id
    assert info.duration == pytest.approx(29.8)
    assert info.event_count == 12
    assert "00:29 long, 12 events" in info.summary_line()


async def test_transcript_at_and_between(ctx: ToolContext) -> None:
    around = await call(ctx, "transcript_at", time=18.0, before=2.0, after=3.0)
    assert [s.text for s in around] == [  # type: ignore[attr-defined]
        "We want to hire two engineers before March.",
        "Action item: Alice will write the job description by Friday.",
    ]
    between = await call(ctx, "transcript_between", start=0.0, end=10.0)
    assert all(isinstance(s, TranscriptSegment) for s in between)  # type: ignore[attr-defined]
    assert [s.speaker for s in between] == ["S1", "S2"]  # type: ignore[attr-defined]


async def test_transcript_between_refuses_backwards_and_huge_spans(ctx: ToolContext) -> None:
    backwards = await registry.call("transcript_between", {"start": 10, "end": 5}, ctx)
    assert (
        backwards.error
        == "invalid arguments for transcript_between: end (5 s) is before start (10 s)"
    )
    huge = await registry.call("transcript_between", {"start": 0, "end": 86400}, ctx)
    assert huge.error is not None and "at most 21600 s" in huge.error
    negative = await registry.call("transcript_at", {"time": -3}, ctx)
    assert negative.error is not None and "greater than or equal to 0" in negative.error


async def test_search_transcript(ctx: ToolContext) -> None:
    hits = await call(ctx, "search_transcript", query="budget")
    assert sorted(round(s.start, 1) for s in hits) == [0.5, 5.3]  # type: ignore[attr-defined]
    assert await call(ctx, "search_transcript", query="giraffe") == []
    empty = await registry.call("search_transcript", {"query": ""}, ctx)
    assert empty.error is not None and "at least 1 character" in empty.error


async def test_speakers_most_talk_first(ctx: ToolContext) -> None:
    overview = await call(ctx, "speakers")
    assert isinstance(overview, SpeakersOverview)
    assert [s.name for s in overview.speakers] == ["Alice", "Bob", "Carol"]
    assert overview.speakers[0].talk_seconds == pytest.approx(3.8 + 2.8 + 2.5)
    assert sum(s.share for s in overview.speakers) == pytest.approx(1.0, abs=0.01)
    assert overview.summary_line().startswith("3 speakers: Alice 9 s")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (None, ["doorbell", "phone ringing"]),
        ("phone", ["phone ringing"]),
        ("door", ["doorbell"]),
        ("chime", []),
        ("ring", ["doorbell", "phone ringing"]),
    ],
)
async def test_sound_events_between(
    ctx: ToolContext, label: str | None, expected: list[str]
) -> None:
    args = {"label": label} if label else {}
    sounds = await call(ctx, "sound_events_between", **args)
    assert [s.label for s in sounds] == expected  # type: ignore[attr-defined]


async def test_sound_events_in_a_range(ctx: ToolContext) -> None:
    sounds = await call(ctx, "sound_events_between", start=20.0, end=30.0)
    assert [s.label for s in sounds] == ["phone ringing"]  # type: ignore[attr-defined]


def test_label_synonyms() -> None:
    assert label_matches("telephone ringing", "phone")
    assert label_matches("door bell", "doorbell")
    assert label_matches("chime", "doorbell")
    assert not label_matches("dog barking", "doorbell")


async def test_voice_traits_by_speaker_name_or_id(ctx: ToolContext) -> None:
    everyone = await call(ctx, "voice_traits_between")
    assert all(isinstance(v, VoiceTraits) for v in everyone)  # type: ignore[attr-defined]
    assert len(everyone) == 4  # type: ignore[arg-type]
    alice = await call(ctx, "voice_traits_between", speaker="Alice")
    assert [v.emotion for v in alice] == ["sad", "happy"]  # type: ignore[attr-defined]
    s2_late = await call(ctx, "voice_traits_between", start=20.0, end=30.0, speaker="S2")
    assert [v.emotion for v in s2_late] == ["happy"]  # type: ignore[attr-defined]


async def test_publish_puts_an_alert_on_the_bus(ctx: ToolContext, bus: EventBus) -> None:
    sub = bus.subscribe(f"moss/{ctx.session_id}/#")
    alert = await call(ctx, "publish", message="doorbell rang", level="alert", at=9.9)
    assert isinstance(alert, Alert)
    message = await sub.get()
    assert message.topic == f"moss/{ctx.session_id}/alerts"
    assert message.payload == alert and message.payload.level == "alert"
    bad_topic = await registry.call("publish", {"message": "x", "topic": "a/#"}, ctx)
    assert bad_topic.error is not None and "topic" in bad_topic.error


async def test_publish_without_a_bus_says_so(session: ScriptedSession) -> None:
    bare = ToolContext(memory=session.memory, session_id=session.session_id)
    result = await registry.call("publish", {"message": "hello"}, bare)
    assert result.error == "publish needs an event bus; this run has none"


async def test_schedule_reminder_fires_on_stream_time(ctx: ToolContext) -> None:
    assert ctx.reminders is not None
    await ctx.reminders.advance(ctx.session_id, 10.0)
    later = await call(ctx, "schedule_reminder", message="check the budget", in_seconds=5)
    fixed = await call(ctx, "schedule_reminder", message="wrap up", at=30.0)
    assert isinstance(later, Reminder) and later.due == 15.0
    assert await ctx.reminders.advance(ctx.session_id, 14.9) == []
    assert await ctx.reminders.advance("other-session", 100.0) == []  # another session's clock
    assert [r.message for r in await ctx.reminders.advance(ctx.session_id, 15.0)] == [
        "check the budget"
    ]
    assert [r.message for r in await ctx.reminders.advance(ctx.session_id, 60.0)] == ["wrap up"]
    assert fixed.due == 30.0 and ctx.reminders.pending() == []
    both = await registry.call("schedule_reminder", {"message": "x", "at": 3, "in_seconds": 3}, ctx)
    assert (
        both.error
        == "invalid arguments for schedule_reminder: give exactly one of `at` and `in_seconds`"
    )


class PitchBackend(PerceptionBackend):
    """Answers with the dominant frequency of the clip: enough to check re-listening
    hears the archived audio of the right stretch."""

    name: ClassVar[str] = "pitch"
    model = "fft"

    def analyze(self, windows: Sequence[Window]) -> list[list[Event]]:
        return [[] for _ in windows]

    def ask(self, samples: np.ndarray, question: str) -> str:
        spectrum = np.abs(np.fft.rfft(samples))
        peak = float(np.fft.rfftfreq(len(samples), 1 / 16_000)[int(np.argmax(spectrum))])
        return f"{question} The loudest tone is at {peak:.0f} Hz."


async def test_relisten_reads_the_archive_and_asks_the_backend(
    ctx: ToolContext, session: ScriptedSession
) -> None:
    audio = np.zeros(30 * 16_000, np.float32)
    bell = synthetic.doorbell()
    start = int(9.9 * 16_000)
    audio[start : start + len(bell)] = bell
    session.memory.archive_audio(session.session_id, 0.0, audio)
    ctx.backend = PitchBackend()
    heard = await call(ctx, "relisten", start=9.9, end=10.6, question="Which tone?")
    assert isinstance(heard, Relistened)
    assert heard.answer == "Which tone? The loudest tone is at 659 Hz."  # the doorbell's E5
    silent = await registry.call("relisten", {"start": 40, "end": 45, "question": "Anything?"}, ctx)
    assert silent.error is not None and "no archived audio at 00:40-00:45" in silent.error
    too_long = await registry.call("relisten", {"start": 0, "end": 500, "question": "?"}, ctx)
    assert too_long.error is not None and "at most 120 s" in too_long.error


async def test_relisten_without_a_backend_says_so(ctx: ToolContext) -> None:
    result = await registry.call("relisten", {"start": 0, "end": 5, "question": "?"}, ctx)
    assert result.error == "re-listening needs a perception backend; this run has none"


async def test_results_are_compact_json_for_models(ctx: ToolContext) -> None:
    result = await registry.call("sound_events_between", {"label": "doorbell"}, ctx)
    assert (
        result.content()
        == '[{"start":9.9,"end":11.5,"kind":"sound","label":"doorbell","category":"tonal"}]'
    )
    assert result.summary() == "1 sound event at 00:09-00:11"
    assert isinstance(result.value[0], SoundEvent)


def test_music_is_not_a_tonal_doorbell_but_a_chime_is_a_doorbell() -> None:
    from tools.audio_scene import label_matches

    assert not label_matches("tonal sound (chime-like)", "music")
    assert not label_matches("tonal sound (chime-like)", "any music")
    assert label_matches("tonal sound (chime-like)", "doorbell")
    assert label_matches("background music", "music")
