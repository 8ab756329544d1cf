"""Scripted sessions shared by the agent and tools tests."""

from __future__ import annotations

from agent.testing import EventScript


def meeting_script() -> EventScript:
    s = EventScript().name("S1", "Bob").name("S2", "Alice").name("S3", "Carol")
    s.say(
        "S1",
        "Good morning everyone. Let's start with the budget for the next quarter.",
        at=0.5,
        duration=4.0,
    )
    s.say(
        "S2", "The budget is tight. We spent most of it on the new servers.", at=5.3, duration=3.8
    )
    s.sound("doorbell", at=9.9, duration=1.6)
    s.say("S1", "Someone is at the door. Let's move on to the hiring plan.", at=12.3, duration=3.5)
    s.say("S2", "We want to hire two engineers before March.", at=16.6, duration=2.8)
    s.say(
        "S3", "Action item: Alice will write the job description by Friday.", at=20.2, duration=3.5
    )
    s.sound("phone ringing", at=24.5, duration=2.0)
    s.say("S2", "Thanks everyone. That's all for today.", at=27.3, duration=2.5)
    s.emotion("S1", "neutral", at=0.5, duration=4.0)
    s.emotion("S2", "sad", at=5.3, duration=3.8)
    s.emotion("S3", "neutral", at=20.2, duration=3.5)
    s.emotion("S2", "happy", at=27.3, duration=2.5)
    return s
