"""Parsers of MOSS-Audio text: known formats, malformed answers, and fuzzing."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.backend import PerceptionBackend, Window
from perception.events import MusicEvent, SoundCategory, SoundEvent, TranscriptSegment, VoiceTraits
from perception.parsers import (
    PROMPTS,
    Task,
    parse_sound_events,
    parse_task,
    parse_transcript,
    parse_voice_traits,
    split_reasoning,
)
from perception.parsers.times import parse_time

# --- times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "seconds"),
    [("2.5", 2.5), ("12", 12.0), ("1:02.5", 62.5), ("01:00:01", 3601.0), ("3.2s", 3.2),
     ("4 sec", 4.0), ("0,75", 0.75), ("1:75", None), ("abc", None), ("", None)],
)  # fmt: skip
def test_parse_time(token: str, seconds: float | None) -> None:
    assert parse_time(token) == seconds


# --- transcript ------------------------------------------------------------------------


def test_transcript_reads_the_prompted_format() -> None:
    result = parse_transcript("0.00 - 2.50: Hello there.\n3.10 - 5.00: How are you?", 30.0)
    assert [(e.start, e.end, e.text) for e in result.events] == [
        (0.0, 2.5, "Hello there."),
        (3.1, 5.0, "How are you?"),
    ]
    assert result.warnings == []


def test_transcript_variants_and_speaker_prefix() -> None:
    text = "1. [00:01.0 --> 00:02.0] Speaker 2: One.\n- (3s to 4s) Two.\n<5.0 - 6.0> Three."
    result = parse_transcript(text, 10.0)
    assert [(e.start, e.end, e.text, e.speaker) for e in result.events] == [
        (1.0, 2.0, "One.", "Speaker 2"),
        (3.0, 4.0, "Two.", None),
        (5.0, 6.0, "Three.", None),
    ]


def test_transcript_whisper_style_markers() -> None:
    result = parse_transcript("<|0.00|> Good morning. <|1.80|><|2.00|> Let's start. <|3.50|>", 10.0)
    assert [(e.start, e.end, e.text) for e in result.events] == [
        (0.0, 1.8, "Good morning."),
        (2.0, 3.5, "Let's start."),
    ]


def test_transcript_start_only_lines_end_at_the_next_start() -> None:
    result = parse_transcript("[0.5] first\n[2.0] second", 4.0)
    assert [(e.start, e.end) for e in result.events] == [(0.5, 2.0), (2.0, 4.0)]


def test_transcript_malformed_lines_are_dropped_with_warnings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = "\n".join([
        "Here is the transcript:",
        "4.0 - 5.0: later line first",
        "0.0 - 2.0: hello",
        "1.0 - 1.5: hello",  # a repeat inside the previous segment
        "1.5 - 3.0: overlapping",  # trimmed to start at 2.0
        "9.0 - 8.0: backwards",
        "40 - 45: past the window",
        "7 - 12: runs past the end",
        "nan - 3: not a time",
    ])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="perception.parsers"):
        result = parse_transcript(text, 10.0)
    assert [(e.start, e.end, e.text) for e in result.events] == [
        (0.0, 2.0, "hello"),
        (2.0, 3.0, "overlapping"),
        (4.0, 5.0, "later line first"),
        (7.0, 10.0, "runs past the end"),
    ]
    joined = " | ".join(result.warnings)
    for fragment in ("without a timestamp", "out of order", "repeats", "overlaps", "before it starts",
                     "past the end", "clamped"):  # fmt: skip
        assert fragment in joined
    assert len(caplog.records) == len(result.warnings)


def test_transcript_without_times_covers_the_window() -> None:
    result = parse_transcript("Hello everyone.\nLet's begin.", 12.0)
    assert [(e.start, e.end, e.text) for e in result.events] == [
        (0.0, 12.0, "Hello everyone. Let's begin.")
    ]
    assert "no timestamps" in result.warnings[0]


@pytest.mark.parametrize("text", ["", "none", "None.", "   \n  "])
def test_transcript_nothing_said(text: str) -> None:
    result = parse_transcript(text, 5.0)
    assert result.events == [] and result.warnings == []


# --- sound events ----------------------------------------------------------------------


def test_sound_timeline_reference_format() -> None:
    text = "0.00 - 57.00: birds chirping\n3.00 - 9.00: piano music playing\n10.5 - 12.0: a man speaking"
    result = parse_sound_events(text, 30.0)
    kinds = [(type(e).__name__, e.start, e.end, e.label) for e in result.events]
    assert kinds == [
        ("SoundEvent", 0.0, 30.0, "birds chirping"),
        ("MusicEvent", 3.0, 9.0, "piano music playing"),
        ("SoundEvent", 10.5, 12.0, "a man speaking"),
    ]
    assert (
        isinstance(result.events[1], MusicEvent)
        and result.events[1].description == "piano music playing"
    )
    assert result.events[2].category is SoundCategory.SPEECH
    assert "clamped" in result.warnings[0]


def test_sound_overlaps_kept_repeats_merged() -> None:
    text = "5 - 8: dog barking\n2 - 6: doorbell ringing\n7 - 9: Dog barking.\n5 - 8: dog barking"
    result = parse_sound_events(text, 10.0)
    assert [(e.start, e.end, e.label) for e in result.events] == [
        (2.0, 6.0, "doorbell ringing"),
        (5.0, 9.0, "dog barking"),
    ]
    assert any("out of order" in w for w in result.warnings)


def test_sound_none_is_not_a_warning() -> None:
    result = parse_sound_events("none", 10.0)
    assert result.events == [] and result.warnings == []


# --- voice traits ----------------------------------------------------------------------


def test_voice_traits_json_in_fences_with_prose() -> None:
    text = (
        'Sure!\n```json\n{"gender": "female", "pitch": "high", "age": 30, "emotion": "happy",\n'
        ' "summary": "A cheerful young woman.",}\n```'
    )
    result = parse_voice_traits(text, 20.0)
    (event,) = result.events
    assert isinstance(event, VoiceTraits)
    assert (event.start, event.end, event.emotion, event.summary) == (
        0.0,
        20.0,
        "happy",
        "A cheerful young woman.",
    )
    assert event.traits == {"gender": "female", "pitch": "high", "age": "30"}


def test_voice_traits_single_quotes_list_and_times() -> None:
    text = (
        "[{'speaker': 'A', 'emotion': 'calm', 'start': 0, 'end': 4}, "
        "{'speaker': 'B', 'emotion': 'angry', 'start': '5.5', 'end': 99}, "
        "{'start': 50, 'emotion': 'x'}]"
    )
    result = parse_voice_traits(text, 10.0)
    assert [(e.speaker, e.emotion, e.start, e.end) for e in result.events] == [
        ("A", "calm", 0.0, 4.0),
        ("B", "angry", 5.5, 10.0),
    ]
    assert any("past the end" in w for w in result.warnings)


def test_voice_traits_cut_off_json_and_key_lines() -> None:
    cut = parse_voice_traits('{"gender": "male", "emotion": "sad"', 5.0)
    assert [(e.emotion, e.traits) for e in cut.events] == [("sad", {"gender": "male"})]
    lines = parse_voice_traits("- **Gender**: male\n- Emotion: neutral\nSomething else", 5.0)
    assert [(e.emotion, e.traits) for e in lines.events] == [("neutral", {"gender": "male"})]


def test_voice_traits_free_text_yields_nothing_but_a_warning() -> None:
    result = parse_voice_traits("The speaker sounds rather tired today.", 5.0)
    assert result.events == [] and len(result.warnings) == 1


# --- reasoning -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("<think>\nhmm\n</think>\n\nAnswer", ("hmm", "Answer")),
     ("<think></think>Answer", ("", "Answer")),
     ("hidden\n</think>\nAnswer", ("hidden", "Answer")),
     ("<think>cut off", ("cut off", "")),
     ("Just an answer", ("", "Just an answer"))],
)  # fmt: skip
def test_split_reasoning(text: str, expected: tuple[str, str]) -> None:
    assert split_reasoning(text) == expected


def test_parse_task_ignores_the_think_block() -> None:
    result = parse_task(Task.SOUNDS, "<think>0 - 1: imagined sound</think>\n2 - 3: door knock", 5.0)
    assert [e.label for e in result.events] == ["door knock"]
    assert set(PROMPTS) == set(Task)


# --- anchoring: window-relative -> absolute ---------------------------------------------


class _Stamper(PerceptionBackend):
    name = "test"
    model = "parser-test"

    def analyze(self, windows):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def ask(self, samples, question):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_relative_times_become_absolute() -> None:
    import numpy as np

    window = Window("s1", 7, 3600.0, np.zeros(16000 * 30, np.float32))
    events = parse_transcript("2.0 - 4.0: at two seconds", window.duration).events
    (event,) = _Stamper().stamp(events, window)
    assert (event.start, event.end, event.window_id, event.session_id) == (3602.0, 3604.0, 7, "s1")


# --- fuzzing ---------------------------------------------------------------------------

_number = st.one_of(
    st.floats(min_value=-50, max_value=200, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.integers(min_value=0, max_value=10**12).map(str),
    st.sampled_from(["nan", "inf", "-1", "1:75", "00:00:05.5", "99:99", "1e400", "", "0,5", "3s"]),
)
_words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_line = st.one_of(
    st.tuples(_number, st.sampled_from([" - ", "-", " --> ", " to ", "~", " — "]), _number,
              st.sampled_from([": ", " ", "] ", ""]), _words)
    .map(lambda t: f"{t[0]}{t[1]}{t[2]}{t[3]}{t[4]}"),
    st.tuples(_number, _words).map(lambda t: f"[{t[0]}] {t[1]}"),
    st.tuples(_number, _number, _words).map(lambda t: f"<|{t[0]}|>{t[2]}<|{t[1]}|>"),
    _words,
    st.sampled_from(["{", "}", "[", "]", '{"emotion": ', "'", '"', "```json", "```", "<think>",
                     "</think>", "none", '{"start": 5, "end": 1, "emotion": "x"}',
                     '[{"start": "nan"}]', '{"gender": {"a": [1, 2]}}']),
)  # fmt: skip
_answers = st.one_of(st.lists(_line, max_size=12).map("\n".join), st.text(max_size=300))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_answers, duration=st.floats(min_value=0.0, max_value=120.0))
def test_fuzz_parsers_never_raise_and_stay_in_the_window(text: str, duration: float) -> None:
    for task in Task:
        result = parse_task(task, text, duration)
        starts = [e.start for e in result.events]
        assert starts == sorted(starts)
        for event in result.events:
            assert 0.0 <= event.start <= event.end <= duration
        if task is Task.TRANSCRIPT:
            assert all(isinstance(e, TranscriptSegment) and e.text for e in result.events)
            ends = [e.end for e in result.events]
            assert all(
                b.start >= a.end - 0.05
                for a, b in zip(result.events, result.events[1:], strict=False)
            )
            assert ends == sorted(ends)
        if task is Task.SOUNDS:
            assert all(isinstance(e, SoundEvent | MusicEvent) and e.label for e in result.events)
