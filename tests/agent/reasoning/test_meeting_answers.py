"""The rules reasoner on the questions people ask about a meeting (real memory and tools)."""

from __future__ import annotations

import re

import pytest

from agent.reasoning.ask import ask
from agent.testing import EventScript, ScriptedSession


def _meeting() -> EventScript:
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
    s.sound("tonal sound (chime-like)", at=9.9, duration=1.6, heuristic=True)
    s.say("S1", "Someone is at the door. Let's move on to the hiring plan.", at=12.3, duration=3.5)
    s.say("S2", "We want to hire two engineers before March.", at=16.6, duration=2.8)
    s.say(
        "S3",
        "I disagree, we cannot afford two engineers because the budget is tight.",
        at=20.0,
        duration=3.5,
    )
    s.say("S1", "Okay, we agree to hire one engineer in March.", at=24.0, duration=3.0)
    s.say("S3", "I will write the job description by Friday.", at=27.5, duration=3.0)
    s.sound("tonal sound (ringing, phone-like)", at=31.0, duration=2.0, heuristic=True)
    s.say("S2", "Let's meet again next Tuesday. Thanks everyone.", at=33.5, duration=2.5)
    return s


async def _ask(question: str):  # type: ignore[no-untyped-def]
    async with ScriptedSession(_meeting(), record=False) as session:
        return await session.ask(question)


def _cited(result, at: float) -> bool:  # type: ignore[no-untyped-def]
    return any(abs(c.start - at) <= 2.0 for c in result.answer.citations)


async def test_any_label_keeps_its_first_letter() -> None:
    result = await _ask("was there any doorbell?")
    assert " ny " not in result.answer.answer
    assert result.answer.answer.startswith("Yes") and _cited(result, 9.9)


async def test_a_tonal_doorbell_is_not_music() -> None:
    result = await _ask("was there any music?")
    assert result.answer.answer.startswith("No"), result.answer.answer


async def test_lower_case_speaker_id_filters_to_that_speaker() -> None:
    result = await _ask("what did s2 say?")
    text = result.answer.answer
    assert (
        "budget is tight" in text and "Good morning" not in text and "job description" not in text
    )


async def test_noises_besides_talking_are_the_sounds() -> None:
    result = await _ask("what noises were there besides talking?")
    kinds = {c.kind for c in result.answer.citations}
    assert kinds == {"sound"} and _cited(result, 9.9) and _cited(result, 31.0)


async def test_what_happened_with_a_topic_keeps_the_topic() -> None:
    result = await _ask("what happened with the hiring plan?")
    text = result.answer.answer
    assert "hiring" in text.lower() and "Good morning" not in text


async def test_talk_shares_list_every_speaker_without_double_brackets() -> None:
    text = (await _ask("who spoke most?")).answer.answer
    assert ") (" not in text and "((" not in text
    assert all(name in text for name in ("Bob", "Alice", "Carol")) and text.count("%") == 3


@pytest.mark.parametrize(
    ("question", "fact", "at"),
    [
        ("what did they agree on for hiring?", "one engineer", 24.0),
        ("what did they decide about the engineers?", "one engineer", 24.0),
        ("when is the next meeting?", "Tuesday", 33.5),
        ("what are the action items?", "job description", 27.5),
        ("were any deadlines set?", "Friday", 27.5),
        ("did anyone disagree?", "afford", 20.0),
        ("who volunteered to write the job description?", "Carol", 27.5),
        ("who objected to hiring two engineers?", "Carol", 20.0),
        ("who proposed hiring two engineers?", "Alice", 16.6),
        ("why was only one engineer hired?", "budget is tight", 20.0),
        ("tell me about the servers", "servers", 5.3),
    ],
)
async def test_meeting_questions_are_answered_with_citations(
    question: str, fact: str, at: float
) -> None:
    result = await _ask(question)
    assert result.answer.understood
    assert fact.lower() in result.answer.answer.lower(), result.answer.answer
    assert _cited(result, at), result.answer.citations


async def test_summary_cites_every_line_and_is_not_cut_silently() -> None:
    result = await _ask("summarize the meeting")
    text = result.answer.answer
    assert "and 4 more segments" not in text
    assert re.search(r"engineer", text) and result.answer.citations


async def test_never_discussed_says_so_with_what_came_closest() -> None:
    result = await _ask("what was said about the christmas party?")
    assert result.answer.understood
    assert "I found nothing about 'christmas party'" in result.answer.answer


async def test_a_question_without_content_is_not_understood() -> None:
    result = await _ask("hello?")
    assert not result.answer.understood


async def test_follow_up_resolves_it_from_the_previous_turn() -> None:
    async with ScriptedSession(_meeting()) as session:
        first = await ask(
            session.memory,
            session.session_id,
            "who objected to hiring two engineers?",
            session.reasoner,
            conversation="new",
        )
        assert first.conversation
        follow = await ask(
            session.memory, session.session_id, "why?", session.reasoner, conversation="latest"
        )
        assert follow.conversation == first.conversation
        assert "budget is tight" in follow.answer and any(
            abs(c.start - 20.0) <= 2 for c in follow.citations
        )
        said = await ask(
            session.memory,
            session.session_id,
            "who said that?",
            session.reasoner,
            conversation=first.conversation,
        )
        assert "Carol" in said.answer


async def test_questions_to_the_assistant_are_not_evidence() -> None:
    from agent.reasoning.answer import Answer
    from agent.reasoning.ask import record_turn

    script = _meeting()
    script.say("S1", "Assistant, what did we decide about the budget?", at=40.0, duration=3.0)
    async with ScriptedSession(script) as session:
        record_turn(
            session.memory,
            session.session_id,
            "Assistant, what did we decide about the budget?",
            Answer(answer="x"),
            session_time=40.0,
        )
        result = await session.ask("when did someone mention the budget?")
        assert not _cited(result, 40.0)
        assert _cited(result, 0.5)
        spoke = await session.ask("who spoke most?")
        assert "Bob spoke most" in spoke.answer.answer
        bob = re.search(r"Bob spoke most in the whole session: (\d+) s", spoke.answer.answer)
        assert bob and int(bob.group(1)) == 10  # 4 + 3.5 + 3 s, not the 3 s question
        between = await session.ask("what was said between 0:38 and 0:45?")
        assert "Assistant" not in between.answer.answer


@pytest.mark.parametrize(
    ("question", "present", "absent"),
    [
        ("what happened after the doorbell?", ["hiring plan", "00:12"], ["Good morning"]),
        ("what was said before the phone rang?", ["job description"], ["Thanks everyone"]),
        ("summarize the discussion about the budget", ["budget is tight"], ["job description"]),
        ("what did Carol think?", ["afford", "job description"], ["Good morning"]),
        ("what are Carol's tasks?", ["job description"], ["Good morning"]),
        ("what are Bob's tasks?", ["No action items of Bob"], []),
        ("how much will the engineers cost?", ["engineer"], ["Good morning everyone"]),
        ("what's still undecided?", [], ["I did not understand"]),
    ],
)
async def test_more_meeting_shapes(question: str, present: list[str], absent: list[str]) -> None:
    result = await _ask(question)
    text = result.answer.answer
    assert result.answer.understood
    assert all(p.lower() in text.lower() for p in present), text
    assert not any(a.lower() in text.lower() for a in absent), text


async def test_why_quotes_a_reason_split_over_two_segments_only_when_it_fits() -> None:
    s = EventScript().name("S1", "Bob").name("S2", "Alice").name("S4", "Bob")
    s.say("S2", "Let's push the launch to July.", at=1.0, duration=2.0)
    s.say("S1", "I disagree because the ads are already", at=4.0, duration=2.0)
    s.say("S4", "booked for the first of June.", at=6.2, duration=1.5)
    s.say("S2", "Fine, the launch stays on the first of June.", at=9.0, duration=2.5)
    s.say("S2", "That is too expensive anyway.", at=30.0, duration=2.0)
    s.say("S1", "We move the servers in August.", at=45.0, duration=2.0)
    async with ScriptedSession(s) as session:
        first = await ask(
            session.memory,
            session.session_id,
            "what did they decide about the launch?",
            session.reasoner,
            conversation="new",
        )
        why = await ask(
            session.memory,
            session.session_id,
            "why?",
            session.reasoner,
            conversation=first.conversation,
        )
        assert "ads are already booked for the first of June" in why.answer, why.answer
        servers = await ask(
            session.memory,
            session.session_id,
            "why are the servers moved in August?",
            session.reasoner,
        )
        assert "No reason was stated" in servers.answer and "too expensive" not in servers.answer


def _roadmap() -> EventScript:
    s = EventScript().name("S1", "Dan").name("S2", "Eve").name("S3", "Sam")
    s.say("S1", "Good. What about the pricing change?", at=11.0, duration=2.5)
    s.say("S2", "We want to raise the basic plan from $10 to $12.", at=14.1, duration=3.4)
    s.say("S3", "I am worried that customers will leave if we raise prices.", at=18.3, duration=3.2)
    s.say("S1", "Let's raise the price, but only for new customers.", at=27.1, duration=3.0)
    s.say("S3", "Maybe we can use a chatbot for the simple tickets.", at=77.5, duration=3.0)
    s.say("S1", "I like that idea. Please look into chatbot vendors.", at=81.1, duration=4.0)
    s.say("S2", "Sure, I will send a short list next Monday.", at=86.0, duration=2.6)
    s.say("S3", "Yes, I will have the logs ready by the first of May.", at=100.0, duration=3.0)
    s.say("S2", "We hired a second support team in Asia.", at=110.0, duration=2.5)
    return s


@pytest.mark.parametrize(
    ("question", "present", "absent", "at"),
    [
        ("what did they decide about the pricing?", ["new customers"], [], 27.1),
        ("how much more will customers pay?", ["$12"], [], 14.1),
        ("did anyone disagree?", ["worried"], [], 18.3),
        ("were any deadlines set?", ["first of May", "Monday"], [], 100.0),
        (
            "did anyone talk about hiring interns?",
            ["nothing about 'hiring interns'"],
            ["came up"],
            None,
        ),
    ],
)
async def test_roadmap_shapes(
    question: str, present: list[str], absent: list[str], at: float | None
) -> None:
    async with ScriptedSession(_roadmap(), record=False) as session:
        result = await session.ask(question)
    text = result.answer.answer
    assert all(p.lower() in text.lower() for p in present), text
    assert not any(a.lower() in text.lower() for a in absent), text
    if at is not None:
        assert _cited(result, at), result.answer.citations


async def test_who_takes_on_the_task_of_a_follow_up() -> None:
    async with ScriptedSession(_roadmap()) as session:
        first = await ask(
            session.memory,
            session.session_id,
            "who suggested the chatbot?",
            session.reasoner,
            conversation="new",
        )
        assert "Sam" in first.answer
        who = await ask(
            session.memory,
            session.session_id,
            "who will look into it?",
            session.reasoner,
            conversation=first.conversation,
        )
        assert who.answer.startswith("Eve took it on") and any(
            abs(c.start - 86.0) < 1 for c in who.citations
        )


async def test_summary_and_topics_list_the_items_the_meeting_named() -> None:
    s = EventScript().name("S1", "Dan").name("S2", "Eve")
    s.say("S1", "Let's go over the roadmap for the next quarter.", at=0.5, duration=2.5)
    s.say("S2", "The biggest item is the redesign of the mobile app.", at=4.0, duration=2.8)
    s.say("S1", "Mockups are ready in April.", at=7.5, duration=2.0)
    s.say("S2", "Next item is the security audit.", at=33.0, duration=2.0)
    s.say("S1", "The auditors arrive in May.", at=36.0, duration=2.0)
    s.say("S2", "Last point: the website is slow on phones.", at=60.0, duration=2.5)
    async with ScriptedSession(s, record=False) as session:
        summary = (await session.ask("summarize the meeting")).answer
        topics = (await session.ask("what were the main topics?")).answer
    for answer in (summary, topics):
        for item in ("redesign of the mobile app", "security audit", "website is slow"):
            assert item in answer.answer, answer.answer
        assert any(abs(c.start - 33.0) < 0.5 for c in answer.citations)
