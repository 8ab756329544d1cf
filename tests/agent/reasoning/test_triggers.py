"""Proactive triggers: config files, matching, cooldowns, templates, and the tools they run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.bus.in_process import EventBus
from agent.reasoning.triggers import TriggerConfigError, TriggerEngine, load_triggers
from agent.testing import EventScript, ScriptedSession
from perception.events import SoundEvent, TranscriptSegment, VoiceTraits
from tools import ReminderScheduler, builtin_registry

CONFIG = """
[[trigger]]
name = "doorbell"
kind = "sound"
match = "doorbell"
action = "publish"
arguments = { message = "{label} at {time}", level = "alert", at = "{start}" }
cooldown = 30

[[trigger]]
name = "tension"
kind = "emotion"
match = "angry|upset"
action = "note"
arguments = { title = "tension", text = "{speaker} sounded {emotion}", at = "{start}" }

[[trigger]]
name = "follow up"
kind = "phrase"
match = "action item"
action = "schedule_reminder"
arguments = { message = "Follow up: {text}", in_seconds = 60 }
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "triggers.toml"
    path.write_text(CONFIG)
    return path


async def test_each_kind_of_trigger_runs_its_tool(config: Path) -> None:
    registry = builtin_registry()
    bus = EventBus()
    alerts = bus.subscribe("moss/+/alerts")
    reminders = ReminderScheduler()
    async with ScriptedSession(EventScript()) as session:
        sid = session.session_id
        engine = TriggerEngine(
            load_triggers(config, registry), registry, session.memory, bus=bus, reminders=reminders
        )
        bell = SoundEvent(start=9.9, end=11.5, label="doorbell", session_id=sid)
        angry = VoiceTraits(start=12.0, end=14.0, emotion="Angry", speaker="S2", session_id=sid)
        calm = VoiceTraits(start=15.0, end=16.0, emotion="calm", speaker="S2", session_id=sid)
        said = TranscriptSegment(
            start=20.2,
            end=23.7,
            text="Action item: Alice writes the job description.",
            session_id=sid,
        )
        unrelated = TranscriptSegment(
            start=30.0, end=31.0, text="No actions here, items maybe.", session_id=sid
        )

        assert [f.trigger for f in await engine.handle(bell)] == ["doorbell"]
        alert = await alerts.get()
        assert (
            alert.payload.message == "doorbell at 00:09"
            and alert.payload.at == 9.9
            and alert.payload.level == "alert"
        )

        fired = await engine.handle(angry)
        assert [f.matched for f in fired] == ["Angry"] and fired[0].result.ok
        notes = session.memory.agent_turns(sid)
        assert [(n.question, n.answer, n.session_time) for n in notes] == [
            ("[note] tension", "S2 sounded Angry", 12.0)
        ]
        assert await engine.handle(calm) == []

        fired = await engine.handle(said)
        assert fired[0].matched == "Action item"
        assert [r.due for r in reminders.pending(sid)] == [pytest.approx(23.7 + 60)]
        assert await engine.handle(unrelated) == []
        due = await reminders.advance(sid, 90.0)
        assert [r.message for r in due] == [
            "Follow up: Action item: Alice writes the job description."
        ]


async def test_cooldown_is_in_stream_time_and_per_session(config: Path) -> None:
    registry = builtin_registry()
    async with ScriptedSession(EventScript()) as session:
        other = session.memory.create_session("other").id
        engine = TriggerEngine(
            load_triggers(config, registry), registry, session.memory, bus=EventBus()
        )

        def bell(at: float, sid: str = session.session_id) -> SoundEvent:
            return SoundEvent(start=at, end=at + 1, label="door bell", session_id=sid)

        assert len(await engine.handle(bell(10))) == 1
        assert await engine.handle(bell(25)) == []  # within 30 s
        assert len(await engine.handle(bell(10, other))) == 1  # another session has its own clock
        assert len(await engine.handle(bell(41))) == 1


async def test_a_failing_action_is_reported_not_raised(config: Path) -> None:
    registry = builtin_registry()
    async with ScriptedSession(EventScript()) as session:
        engine = TriggerEngine(load_triggers(config, registry), registry, session.memory)  # no bus
        fired = await engine.handle(
            SoundEvent(start=1, end=2, label="doorbell", session_id=session.session_id)
        )
        assert fired[0].result.error == "publish needs an event bus; this run has none"


def test_json_files_work_too(tmp_path: Path) -> None:
    path = tmp_path / "triggers.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "music",
                    "kind": "sound",
                    "match": "music",
                    "action": "note",
                    "arguments": {"text": "music"},
                }
            ]
        )
    )
    (trigger,) = load_triggers(path, builtin_registry())
    assert trigger.kind == "sound" and trigger.cooldown == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "[[trigger]]\nname = 'x'\nkind = 'smell'\nmatch = 'a'\naction = 'note'\n",
            r"trigger #1 \('x'\): kind: Input should be 'sound', 'emotion' or 'phrase'",
        ),
        (
            "[[trigger]]\nname = 'x'\nkind = 'sound'\nmatch = 'a'\naction = 'pubish'\n",
            "action 'pubish' is not a tool; tools: session_info",
        ),
        ("[[trigger]]\nname = 'x'\nkind = 'sound'\naction = 'note'\n", "match: Field required"),
        (
            "[[trigger]]\nname = 'x'\nkind = 'sound'\nmatch = 'a'\naction = 'note'\ncolor = 1\n",
            "color: Extra inputs are not permitted",
        ),
        ("[[trigger]\nname = ", "is not valid TOML"),
        ("title = 'no triggers'\n", "expected a list of triggers"),
        (
            "[[trigger]]\nname='x'\nkind='sound'\nmatch='a'\naction='note'\n[[trigger]]\nname='x'\nkind='sound'\nmatch='b'\naction='note'\n",
            "names must be unique",
        ),
    ],
)
def test_broken_configs_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "triggers.toml"
    path.write_text(content)
    with pytest.raises(TriggerConfigError, match=message):
        load_triggers(path, builtin_registry())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TriggerConfigError, match="cannot read trigger file .*missing.toml"):
        load_triggers(tmp_path / "missing.toml")
