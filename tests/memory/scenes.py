"""Small, hand-checkable sessions of events for the memory tests."""

from __future__ import annotations

from perception.events import (
    Event,
    MusicEvent,
    SoundCategory,
    SoundEvent,
    SpeakerTurn,
    TranscriptSegment,
    VoiceTraits,
    Word,
)

LINES = [
    # start, end, speaker, text
    (0.0, 4.0, "S1", "Good morning everyone, let's start the meeting."),
    (4.5, 9.0, "S2", "Thanks. First item is the budget for next quarter."),
    (9.5, 14.0, "S1", "The budget review is due on Friday."),
    (15.0, 21.0, "S3", "I can prepare the slides about hiring."),
    (21.5, 24.0, "S2", "Great, hiring is important."),
    (25.0, 30.0, "S1", "Let's wrap up, thanks everyone."),
    (70.0, 76.0, "S2", "One more thing: the office move happens in March."),
]


def _words(start: float, end: float, speaker: str, text: str) -> list[Word]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return [
        Word(
            start=round(start + i * step, 3),
            end=round(start + (i + 1) * step, 3),
            text=t,
            speaker=speaker,
            confidence=0.9,
        )
        for i, t in enumerate(tokens)
    ]


def meeting_events() -> list[Event]:
    """A 76 s meeting: three speakers, a doorbell, a phone, music, voice traits."""
    events: list[Event] = []
    for start, end, speaker, text in LINES:
        events.append(
            TranscriptSegment(
                start=start, end=end, speaker=speaker, text=text,
                words=_words(start, end, speaker, text), language="en",
                backend="lite", model="whisper-tiny", window_id=int(start // 10),
                confidence=0.87,
            )
        )  # fmt: skip
        events.append(SpeakerTurn(start=start, end=end, speaker=speaker, backend="lite"))
    events += [
        SoundEvent(
            start=9.9, end=10.6, label="doorbell", category=SoundCategory.TONAL,
            attributes={"f0_hz": 659.25, "peaks": [659.25, 523.25]}, confidence=0.8,
        ),
        SoundEvent(start=24.5, end=27.0, label="phone ringing", category=SoundCategory.TONAL),
        MusicEvent(start=40.0, end=60.0, description="soft piano", heuristic=True),
        VoiceTraits(
            start=4.5, end=9.0, speaker="S2", emotion="calm",
            traits={"gender": "female", "pitch": "high"}, summary="calm, high voice",
        ),
    ]  # fmt: skip
    return events
