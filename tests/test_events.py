"""The event contract: JSON round trips, absolute-time shifting, deterministic ids."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from perception.events import (
    _EVENT_NAMESPACE,
    EventKind,
    SoundCategory,
    SoundEvent,
    TranscriptSegment,
    VoiceTraits,
    Word,
    event_from_json,
    event_to_json,
)


def _segment(**kw: object) -> TranscriptSegment:
    base = dict(
        start=1.0,
        end=2.5,
        text="hello there",
        speaker="S1",
        session_id="s",
        words=[Word(start=1.0, end=1.4, text="hello"), Word(start=1.5, end=2.5, text="there")],
    )
    base.update(kw)
    return TranscriptSegment(**base)  # type: ignore[arg-type]


def test_json_round_trip_keeps_type_and_fields() -> None:
    events = [
        _segment(),
        SoundEvent(
            start=3.0, end=4.0, label="doorbell", category=SoundCategory.TONAL, heuristic=True
        ),
        VoiceTraits(start=0.0, end=2.0, speaker="S2", emotion="calm", traits={"pitch": "low"}),
    ]
    for event in events:
        line = event_to_json(event)
        data = json.loads(line)
        assert {"kind", "start", "end", "speaker", "event_id"} <= data.keys()
        back = event_from_json(line)
        assert type(back) is type(event)
        assert back == event
        assert back.event_id == event.event_id


def test_event_id_depends_on_content_not_identity() -> None:
    assert _segment().event_id == _segment().event_id
    assert _segment().event_id != _segment(text="hello their").event_id
    assert _segment().event_id != _segment(start=1.001).event_id
    assert _segment().event_id != _segment(session_id="other").event_id


def test_shift_moves_segment_and_words_to_absolute_time() -> None:
    shifted = _segment().shifted(600.0)
    assert (shifted.start, shifted.end) == (601.0, 602.5)
    assert [w.start for w in shifted.words] == [601.0, 601.5]
    assert shifted.kind is EventKind.TRANSCRIPT


def test_rejects_end_before_start_and_unknown_kind() -> None:
    with pytest.raises(ValidationError):
        _segment(start=3.0, end=2.0)
    with pytest.raises(ValidationError):
        event_from_json('{"kind": "smell", "start": 0, "end": 1}')
    with pytest.raises(ValidationError):
        SoundEvent(start=-1.0, end=1.0, label="x")


def test_every_kind_reads_as_text_or_label_and_round_trips() -> None:
    from perception.events import MusicEvent, SpeakerTurn

    events = [
        _segment(),
        SpeakerTurn(start=0.0, end=3.0, speaker="S1"),
        VoiceTraits(start=0.0, end=2.0, speaker="S1", emotion="happy"),
        VoiceTraits(start=0.0, end=2.0, speaker="S1", summary="a calm low voice"),
        SoundEvent(start=1.0, end=2.0, label="doorbell"),
        MusicEvent(start=0.0, end=9.0),
    ]
    for event in events:
        data = json.loads(event_to_json(event))
        assert data.get("text") or data.get("label"), data
        assert event_from_json(event_to_json(event)) == event
    assert json.loads(event_to_json(events[1]))["label"] == "S1 speaking"
    assert json.loads(event_to_json(events[2]))["label"] == "happy"
    assert json.loads(event_to_json(events[3]))["label"] == "a calm low voice"


@settings(deadline=None, max_examples=60)
@given(
    text=st.text(max_size=40),
    start=st.floats(0, 1e6, allow_nan=False),
    length=st.floats(0, 100, allow_nan=False),
    speaker=st.none() | st.text(max_size=8),
    session=st.text(max_size=12),
)
def test_event_id_is_the_name_based_uuid5_of_the_identity(
    text: str, start: float, length: float, speaker: str | None, session: str
) -> None:
    common = {"start": start, "end": start + length, "speaker": speaker, "session_id": session}
    for event in (TranscriptSegment(text=text, **common), SoundEvent(label=text, **common)):
        assert event.event_id == str(uuid.uuid5(_EVENT_NAMESPACE, event._identity()))
