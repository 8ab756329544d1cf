"""Minutes and hybrid search on real speech: an espeak-ng planning meeting recorded through
the lite backend (Whisper tiny.en), minutes built by the recorder at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.recording.recorder import Recorder
from memory import Memory, open_memory
from memory.exports import export_session
from perception import synthetic
from perception.backend import PerceptionBackend

SCRIPT = (
    (
        "say",
        "en-us+m3",
        "Good morning. First item, the budget. We spend too much on cloud servers.",
    ),
    (
        "say",
        "en-gb+f3",
        "We can turn off the test servers at night. That saves four thousand dollars a month.",
    ),
    ("say", "en-us+m3", "Good. We decided to turn off the test servers at night."),
    ("say", "en-us+m7", "I will set up the schedule by Friday."),
    ("say", "en-us+m3", "Next item, the office move. The new building is ready in September."),
    ("say", "en-gb+f3", "Who is going to book the movers?"),
    ("say", "en-us+m7", "I am not sure yet."),
    ("say", "en-us+m3", "Our next meeting is on Tuesday at ten."),
)


@pytest.fixture(scope="module")
def recorded(
    lite_backend: PerceptionBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Memory, str, synthetic.Scene]]:
    scene = synthetic.compose(SCRIPT)  # type: ignore[arg-type]
    folder = tmp_path_factory.mktemp("minutes-speech")
    wav = folder / "planning.wav"
    scene.write(str(wav))
    memory = open_memory(f"sqlite:///{folder / 'memory.db'}")
    result = Recorder(memory, lite_backend).record_file(Path(wav))
    yield memory, result.session.id, scene
    memory.close()


def _said_at(scene: synthetic.Scene, fragment: str) -> float:
    return next(u.start for u in scene.utterances if fragment in u.text)


def test_the_recorder_builds_minutes_of_what_was_said(
    recorded: tuple[Memory, str, synthetic.Scene],
) -> None:
    memory, session_id, scene = recorded
    minutes = memory.minutes(session_id)
    assert minutes is not None and minutes.method == "rules"
    decided = _said_at(scene, "We decided")
    assert any(
        abs(d.start - decided) <= 2.0 and "server" in d.text.lower() for d in minutes.decisions
    ), minutes.decisions
    schedule = _said_at(scene, "set up the schedule")
    action = next(a for a in minutes.actions if abs(a.start - schedule) <= 2.0)
    assert action.deadline is not None and "friday" in action.deadline.lower()
    assert action.owner is not None and action.owner == action.speaker
    assert minutes.next_meeting is not None and "tuesday" in minutes.next_meeting.text.lower()
    movers = _said_at(scene, "book the movers")
    assert any(abs(q.start - movers) <= 2.0 for q in minutes.open_questions), minutes.questions
    assert "## Minutes" in export_session(memory, session_id, "md")


def test_paraphrase_search_on_recorded_speech(
    recorded: tuple[Memory, str, synthetic.Scene],
) -> None:
    memory, session_id, scene = recorded
    found = memory.search_passages(session_id, "what about the costs?", limit=3)
    assert found.relevant
    budget = [_said_at(scene, "the budget"), _said_at(scene, "saves four thousand")]
    assert any(min(abs(h.start - t) for t in budget) <= 2.0 for h in found.hits), found.hits
    relocation = memory.search_passages(session_id, "office relocation", limit=3)
    assert any(abs(h.start - _said_at(scene, "the office move")) <= 2.0 for h in relocation.hits)
