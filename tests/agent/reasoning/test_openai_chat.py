"""The OpenAI-compatible reasoner against a scripted fake server on loopback."""

from __future__ import annotations

import json
import socket

import pytest

from agent.reasoning.openai_chat import OpenAIReasoner
from agent.reasoning.reasoner import ReasonerError, ReasonerUnavailableError
from agent.testing import ScriptedSession
from tests.agent.reasoning.fake_openai import FakeOpenAIServer, message, tool_call
from tests.agent.scripts import meeting_script


async def ask(server: FakeOpenAIServer, question: str, **options: object):  # type: ignore[no-untyped-def]
    reasoner = OpenAIReasoner(base_url=server.base_url, **options)  # type: ignore[arg-type]
    async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
        return await session.ask(question)


async def test_tool_call_then_answer_with_reasoning_kept_apart() -> None:
    replies = [
        message(
            None,
            [tool_call("search_transcript", {"query": "budget"})],
            reasoning_content="I should search for budget.",
        ),
        message(
            "<think>Two hits, Bob first.</think>Bob brought up the budget at 00:00, Alice at 00:05."
        ),
    ]
    async with FakeOpenAIServer(replies) as server:
        result = await ask(server, "When was the budget mentioned?")
    result.expect.next_tool_call(name="search_transcript", arguments={"query": "budget"})
    result.expect.no_more_tool_calls().no_tool_errors()
    result.expect.answer_contains("Bob brought up the budget at 00:00").answer_not_contains(
        "think", "Two hits"
    )
    result.expect.reasoning_contains("I should search for budget").reasoning_contains(
        "Two hits, Bob first."
    )
    result.expect.contains_citation(at=0.5, speaker="Bob", text="budget")
    result.expect.contains_citation(at=5.3, speaker="Alice")
    assert result.answer.model == "fake-moss"
    first, second = server.requests
    assert first["model"] == "fake-moss"
    assert {t["function"]["name"] for t in first["tools"]} >= {
        "search_transcript",
        "transcript_between",
        "relisten",
    }
    assert "00:29 long, 12 events" in first["messages"][0]["content"]
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_1"
    assert [s["start"] for s in json.loads(tool_msg["content"])] == [0.5, 5.3]
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "search_transcript"


async def test_malformed_tool_call_json_goes_back_to_the_model() -> None:
    replies = [
        message(None, [tool_call("sound_events_between", '{"label": "doorbell"')]),
        message(None, [tool_call("sound_events_between", {"label": "doorbell"}, call_id="call_2")]),
        message("Yes, a doorbell rang at 00:09."),
    ]
    async with FakeOpenAIServer(replies) as server:
        result = await ask(server, "Was there a doorbell?")
    bad = result.expect.next_tool_call(name="sound_events_between")
    assert bad.error is not None and "not valid JSON" in bad.error
    result.expect.next_tool_call(name="sound_events_between", arguments={"label": "doorbell"})
    result.expect.answer_contains("doorbell rang at 00:09").contains_citation(
        at=10.0, label="doorbell"
    )
    error_sent = json.loads(server.requests[1]["messages"][-1]["content"])
    assert "not valid JSON" in error_sent["error"]


async def test_unknown_tools_and_bad_arguments_are_reported_not_raised() -> None:
    replies = [
        message(
            None,
            [
                tool_call("delete_everything", {}),
                tool_call("transcript_at", {"time": "noon"}, "call_2"),
            ],
        ),
        message("I could not read the transcript."),
    ]
    async with FakeOpenAIServer(replies) as server:
        result = await ask(server, "What was said at noon?")
    unknown = result.expect.next_tool_call(name="delete_everything")
    assert unknown.error is not None and "unknown tool" in unknown.error
    invalid = result.expect.next_tool_call(name="transcript_at")
    assert invalid.error is not None and "time: Input should be a valid number" in invalid.error
    sent = [json.loads(m["content"]) for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert all("error" in s for s in sent)


async def test_tool_loop_stops_at_the_cap_and_asks_for_an_answer() -> None:
    def reply(body: dict) -> dict:  # type: ignore[type-arg]
        if "tools" not in body:
            return message("Bob spoke first, at 00:00.")
        return message(None, [tool_call("speakers", {}, call_id=f"call_{len(body['messages'])}")])

    async with FakeOpenAIServer([reply]) as server:
        result = await ask(server, "Who spoke first?", max_steps=3)
    assert [c.name for c in result.answer.tool_calls] == ["speakers"] * 3
    result.expect.reasoning_contains("Stopped after 3 tool rounds")
    result.expect.answer_contains("Bob spoke first")
    assert len(server.requests) == 4 and "tools" not in server.requests[-1]
    assert "used all your tool calls" in server.requests[-1]["messages"][-1]["content"]


async def test_a_model_that_never_stops_gets_a_clear_answer() -> None:
    async with FakeOpenAIServer([message(None, [tool_call("speakers", {})])]) as server:
        result = await ask(server, "Who spoke?", max_steps=2)
    result.expect.answer_contains("kept calling tools for 2 rounds")
    result.expect.reasoning_contains("were not run")


async def test_qwen_tool_calls_written_in_the_text_are_run() -> None:
    replies = [
        message(
            '<think>Need speakers.</think>\n<tool_call>\n{"name": "speakers", "arguments": {}}\n</tool_call>'
        ),
        message("Alice talked most (9 s)."),
    ]
    async with FakeOpenAIServer(replies) as server:
        result = await ask(server, "Who talked most?")
    result.expect.next_tool_call(name="speakers")
    result.expect.answer_contains("Alice talked most").answer_not_contains(
        "tool_call", "Need speakers"
    )
    result.expect.reasoning_contains("Need speakers.")
    tool_turn = server.requests[1]["messages"][-2]
    assert tool_turn["tool_calls"][0]["function"] == {"name": "speakers", "arguments": "{}"}


async def test_server_down_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    reasoner = OpenAIReasoner(base_url=f"http://127.0.0.1:{port}/v1", model="m")
    async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
        with pytest.raises(
            ReasonerUnavailableError,
            match=r"cannot reach an OpenAI-compatible server at .*moss-agent serve",
        ):
            await session.ask("Who spoke?")


async def test_server_errors_and_garbage_are_clear_errors() -> None:
    async with FakeOpenAIServer([message("x")], status=503) as server:
        with pytest.raises(
            ReasonerError, match="answered 503 to /chat/completions: .*model overloaded"
        ):
            await ask(server, "Who spoke?")
    async with FakeOpenAIServer([{"choices": []}]) as server:
        with pytest.raises(ReasonerError, match=r"has no choices\[0\]\.message"):
            await ask(server, "Who spoke?")


async def test_meeting_tools_are_offered_and_their_results_cited() -> None:
    replies = [
        message(None, [tool_call("search_passages", {"query": "recruiting"})]),
        message(None, [tool_call("minutes", {}, call_id="call_2")]),
        message("Alice wants to hire two engineers before March (00:16)."),
    ]
    async with FakeOpenAIServer(replies) as server:
        result = await ask(server, "What was said about recruiting?")
    result.expect.next_tool_call(name="search_passages", arguments={"query": "recruiting"})
    result.expect.next_tool_call(name="minutes")
    result.expect.no_tool_errors()
    result.expect.contains_citation(at=16.6, speaker="Alice")
    first = server.requests[0]
    tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert {"search_passages", "minutes", "topics", "speaker_transcript"} <= set(tools)
    assert "speaker" in tools["search_passages"]["parameters"]["properties"]
    assert (
        "search_passages" in first["messages"][0]["content"]
        and "minutes" in first["messages"][0]["content"]
    )


async def test_a_follow_up_sends_the_earlier_turns() -> None:
    from agent.reasoning.ask import ask as ask_session

    replies = [
        message("The budget is tight (00:05)."),
        message("Because of the new servers (00:05)."),
    ]
    async with FakeOpenAIServer(replies) as server:
        reasoner = OpenAIReasoner(base_url=server.base_url)
        async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
            first = await ask_session(
                session.memory,
                session.session_id,
                "How is the budget?",
                reasoner,
                conversation="new",
            )
            await ask_session(
                session.memory,
                session.session_id,
                "why?",
                reasoner,
                conversation=first.conversation,
            )
    roles = [(m["role"], m["content"]) for m in server.requests[1]["messages"][1:]]
    assert roles == [
        ("user", "How is the budget?"),
        ("assistant", "The budget is tight (00:05)."),
        ("user", "why?"),
    ]


async def test_questions_to_the_assistant_never_reach_the_model() -> None:
    from agent.reasoning.answer import Answer
    from agent.reasoning.ask import record_turn

    script = meeting_script()
    script.say("S1", "Assistant, when did we talk about the budget?", at=40.0, duration=3.0)
    replies = [
        message(None, [tool_call("search_passages", {"query": "budget"})]),
        message("At 00:00 and 00:05."),
    ]
    async with FakeOpenAIServer(replies) as server:
        reasoner = OpenAIReasoner(base_url=server.base_url)
        async with ScriptedSession(script, reasoner=reasoner) as session:
            record_turn(
                session.memory,
                session.session_id,
                "Assistant, when did we talk about the budget?",
                Answer(answer="x"),
                session_time=40.0,
            )
            result = await session.ask("When was the budget mentioned?")
    sent = json.loads(server.requests[1]["messages"][-1]["content"])
    assert sent["passages"] and all(
        round(p["start"]) != 40 for p in sent["passages"]
    )  # 40 s holds "budget" too
    assert all(round(c.start) != 40 for c in result.answer.citations)
