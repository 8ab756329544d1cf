"""Meeting minutes derived by rules from a realistic planning meeting, stored and exported."""

from __future__ import annotations

import dataclasses

import pytest

from memory import Memory
from memory.exports import export_session
from memory.minutes import Minutes, build_minutes, derive_minutes, minutes_for, refresh_minutes
from memory.minutes.records import Citation, MinutesItem
from perception.events import TranscriptSegment
from tests.memory.planning_meeting import TRUTH, layout, planning_meeting_events

TIMES = [start for start, *_ in layout()]


def line_of(t: float) -> int:
    return min(range(len(TIMES)), key=lambda i: abs(TIMES[i] - t))


def cited_lines(item: MinutesItem) -> set[int]:
    return {line_of(c.start) for c in item.citations}


@pytest.fixture
def meeting(memory: Memory) -> str:
    session = memory.create_session("planning")
    memory.ingest(session.id, planning_meeting_events())
    return session.id


@pytest.fixture
def minutes(memory: Memory, meeting: str) -> Minutes:
    return refresh_minutes(memory, meeting)


def test_topics_follow_the_agenda(minutes: Minutes) -> None:
    starts = [line_of(t.start) for t in minutes.topics]
    for expected in TRUTH["topic_starts"]:
        assert any(abs(s - expected) <= 2 for s in starts), (expected, starts)
    assert len(minutes.topics) <= 7
    assert [t.index for t in minutes.topics] == list(range(len(minutes.topics)))
    titles = " ".join(t.title.lower() for t in minutes.topics)
    for word in ("budget", "launch", "hiring", "office move"):
        assert word in titles
    for topic in minutes.topics:
        assert topic.start < topic.end and topic.speakers and topic.keywords
        assert all(topic.start <= c.start <= topic.end for c in topic.citations)


def test_decisions_are_found_and_cited(minutes: Minutes) -> None:
    found = [cited_lines(d) for d in minutes.decisions]
    for line in TRUTH["decisions"]:
        assert any(line in lines for lines in found), (line, [d.text for d in minutes.decisions])
    for line in TRUTH["not_decisions"]:
        assert not any(line in lines for lines in found)
    launch = next(d for d in minutes.decisions if "June twelfth" in d.text)
    assert launch.text.startswith("So the decision is") and launch.speaker == "S1"
    assert launch.topic is not None


def test_action_items_have_owners_and_deadlines(minutes: Minutes) -> None:
    by_line = {line_of(a.start): a for a in minutes.actions}
    for line, (owner, deadline) in TRUTH["actions"].items():
        matching = [a for a in minutes.actions if line_of(a.start) == line and a.owner == owner]
        assert matching, (
            line,
            owner,
            [(line_of(a.start), a.owner, a.text) for a in minutes.actions],
        )
        assert any(a.deadline == deadline for a in matching) or deadline is None, (line, matching)
    # The accepted request cites the acceptance too.
    carol = by_line[14]
    assert carol.owner == "S3" and any(c.text == "Sure, I can do that." for c in carol.citations)
    # "let me recap" is not an action item.
    assert 58 not in by_line


def test_open_and_answered_questions(minutes: Minutes) -> None:
    open_lines = {line_of(q.start) for q in minutes.open_questions}
    assert set(TRUTH["open_questions"]) <= open_lines, open_lines
    answered = {line_of(q.start): q for q in minutes.questions if q.resolved}
    for line in TRUTH["answered_questions"]:
        assert line in answered and answered[line].resolution
    assert not open_lines & set(TRUTH["answered_questions"])


def test_disagreement_and_its_resolution(minutes: Minutes) -> None:
    line, (lo, hi) = TRUTH["disagreement"]
    [item] = [d for d in minutes.disagreements if line in cited_lines(d)]
    assert item.resolved and item.resolution
    assert {"S2", "S3"} <= {c.speaker for c in item.citations}
    assert any(lo <= cited <= hi for cited in cited_lines(item))


def test_next_meeting(minutes: Minutes) -> None:
    assert minutes.next_meeting is not None
    assert line_of(minutes.next_meeting.start) == TRUTH["next_meeting"]
    assert minutes.next_meeting.deadline == "next Tuesday at ten"


def test_minutes_are_stored_and_read_back(memory: Memory, meeting: str, minutes: Minutes) -> None:
    assert memory.minutes(meeting) == minutes
    assert minutes.method == "rules" and minutes.through == pytest.approx(layout()[-1][1])
    # A model's minutes replace the rules' ones and are kept while they cover the transcript.
    written = Minutes(
        session_id=meeting, topics=[], method="openai:some-model", through=minutes.through,
        decisions=[MinutesItem(kind="decision", text="Ship in June.", start=10.0, end=12.0, speaker="S1",
                               citations=[Citation(10.0, 12.0, "S1", "We ship in June.")])],
        actions=[], questions=[], disagreements=[], next_meeting=None,
    )  # fmt: skip
    memory.store_minutes(meeting, written)
    assert minutes_for(memory, meeting) == written
    assert refresh_minutes(memory, meeting) == written
    # New speech makes them stale: derived again.
    memory.ingest(
        meeting,
        [
            TranscriptSegment(
                start=900.0, end=903.0, speaker="S2", text="We decided to buy a new printer."
            )
        ],
    )
    fresh = minutes_for(memory, meeting)
    assert fresh.method == "rules" and any("printer" in d.text for d in fresh.decisions)


def test_stored_minutes_are_decoded_once_per_version(
    memory: Memory, db_url: str, meeting: str, minutes: Minutes
) -> None:
    from memory import open_memory
    from memory.minutes import records

    # What store_minutes keeps is what a fresh reader decodes from the rows.
    with open_memory(db_url) as other:
        assert other.minutes(meeting) == memory.minutes(meeting) == minutes
        decoded = 0
        real_from_rows = records.from_rows

        def counting(*args: object, **kw: object) -> Minutes:
            nonlocal decoded
            decoded += 1
            return real_from_rows(*args, **kw)  # type: ignore[arg-type]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(records, "from_rows", counting)
            first = memory.minutes(meeting)
            assert memory.minutes(meeting) is first and minutes_for(memory, meeting) is first
            assert decoded == 0
            # Minutes written by another connection (another process) are read afresh.
            written = dataclasses.replace(
                first, decisions=first.decisions[:1], through=first.through + 1
            )
            other.store_minutes(meeting, written)
            assert decoded == 1  # the writer keeps what it wrote
            assert memory.minutes(meeting) == written and decoded == 2
            assert memory.minutes(meeting) == written and decoded == 2
    # New speech is noticed although the stored minutes are cached.
    memory.ingest(
        meeting,
        [
            TranscriptSegment(
                start=900.0, end=903.0, speaker="S2", text="We decided to buy a new printer."
            )
        ],
    )
    fresh = minutes_for(memory, meeting)
    assert any("printer" in d.text for d in fresh.decisions)
    assert memory.minutes(meeting) == fresh


def test_export_markdown_shows_the_minutes(memory: Memory, meeting: str) -> None:
    memory.rename_speaker(meeting, "S3", "Carol")
    text = export_session(memory, meeting, "md")
    assert "## Minutes" in text and "### Decisions" in text and "### Action items" in text
    assert "owner: Carol; due: by Friday" in text
    assert "### Next meeting" in text and "next Tuesday at ten" in text
    assert text.index("## Minutes") < text.index("## Transcript")


def test_minutes_of_an_empty_session(memory: Memory) -> None:
    session = memory.create_session("silence")
    built = build_minutes(memory, session.id)
    assert built.topics == [] and built.items() == [] and built.through == 0.0
    assert "## Minutes" in export_session(memory, session.id, "md")


def test_labelled_and_named_action_items() -> None:
    said = [
        TranscriptSegment(
            start=0.0,
            end=3.0,
            speaker="S1",
            text="Action item: Alice will write the job description by Friday.",
        ),
        TranscriptSegment(
            start=4.0, end=6.0, speaker="S2", text="Action item: the slides go out on Monday."
        ),
        TranscriptSegment(
            start=7.0, end=9.0, speaker="S1", text="Okay, let me recap the action items."
        ),
        TranscriptSegment(start=10.0, end=12.0, speaker="S3", text="It will be fine, I think."),
    ]
    actions = derive_minutes("s", said).actions
    assert [(a.owner, a.deadline, a.start) for a in actions] == [
        ("Alice", "by Friday", 0.0),
        (None, "on Monday", 4.0),
    ]


def test_a_decision_keeps_the_date_the_recogniser_split_off() -> None:
    said = [
        TranscriptSegment(
            start=0.0,
            end=4.0,
            speaker="S1",
            text="We decided to move the server first. In the last week of August,",
        ),
        TranscriptSegment(
            start=90.0, end=93.0, speaker="S2", text="We decided to keep it. The room is small."
        ),
    ]
    decided = [d.text for d in derive_minutes("s", said).decisions]
    assert decided == [
        "We decided to move the server first. In the last week of August",
        "We decided to keep it.",  # the next sentence says no date: not part of it
    ]


def test_a_failure_to_build_minutes_does_not_fail_the_recording(
    memory: Memory, meeting: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from memory.minutes import build, minutes_after_recording

    def broken(*_: object) -> Minutes:
        raise RuntimeError("rules exploded")

    monkeypatch.setattr(build, "derive_minutes", broken)
    assert minutes_after_recording(memory, meeting) is None
    assert "could not build the minutes" in caplog.text
    assert memory.minutes(meeting) is None  # nothing half-written


def test_minutes_follow_a_live_recording(memory: Memory) -> None:
    session = memory.create_session("live")
    events = planning_meeting_events()  # a segment and a speaker turn per line
    half = 2 * 36  # up to the hiring decision
    memory.ingest(session.id, events[:half])
    early = minutes_for(memory, session.id)
    assert early.through == pytest.approx(layout()[35][1])
    memory.ingest(session.id, events[half:])
    later = minutes_for(memory, session.id)
    assert later.through == pytest.approx(layout()[-1][1])
    assert memory.minutes(session.id) == later
    # What came before the last topic of the early minutes is kept as it was.
    cut = early.topics[-1].start
    assert later.topics[: len(early.topics) - 1] == early.topics[:-1]
    assert [d for d in later.decisions if d.start < cut] == [
        d for d in early.decisions if d.start < cut
    ]
    # The new speech is in: the office move, its open questions, the next meeting.
    assert any("office move" in t.title.lower() for t in later.topics)
    assert {line_of(q.start) for q in later.open_questions} >= set(TRUTH["open_questions"])
    assert (
        later.next_meeting is not None
        and line_of(later.next_meeting.start) == TRUTH["next_meeting"]
    )
    assert [t.index for t in later.topics] == list(range(len(later.topics)))
    full = build_minutes(memory, session.id)
    assert len(later.actions) == len(full.actions)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("I will have the logs ready by the first of May.", "by the first of May"),
        ("We ship by the end of April.", "by the end of April"),
        ("Sure, I will send a short list next Monday.", "next Monday"),
        ("Alice will write it by Friday.", "by Friday"),
        ("We met on the road.", None),
    ],
)
def test_deadline_phrases(text: str, phrase: str | None) -> None:
    from memory.minutes.rules import DEADLINE

    found = DEADLINE.search(text)
    assert (found.group(0) if found else None) == phrase
