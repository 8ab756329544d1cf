"""``moss-agent ask`` end to end on a real SQLite memory."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from agent.cli import main
from memory import open_memory
from tests.agent.scripts import meeting_script


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    with open_memory(url) as memory:
        session = memory.create_session("standup", session_id="standup-1")
        script = meeting_script()
        memory.ingest(session.id, script.events)  # type: ignore[arg-type]
        for speaker, name in script.names.items():
            memory.rename_speaker(session.id, speaker, name)
    return url


def test_json_output(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["ask", "standup", "When did someone mention the budget?", "--db", db, "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"answer", "reasoning", "tool_calls", "citations"}
    assert "at 00:00 by Bob" in out["answer"]
    assert isinstance(out["reasoning"], list) and out["reasoning"]
    assert [c["name"] for c in out["tool_calls"]] == ["session_info", "search_passages"]
    assert out["tool_calls"][1]["arguments"] == {
        "query": "budget",
        "limit": 10,
        "question": "When did someone mention the budget?",  # the subject came from it
    }
    assert out["tool_calls"][1]["result_summary"].endswith("passages about 'budget'")
    assert out["conversation"]
    first = out["citations"][0]
    assert first == {"start": 0.5, "end": 4.5, "kind": "transcript", "speaker": "Bob", "label": None,
                     "text": "Good morning everyone. Let's start with the budget for the next quarter."}  # fmt: skip


def test_readable_output_and_the_turn_is_recorded(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "standup-1", "when did the phone ring?", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.startswith("I heard it 1 time: phone ringing at 00:24-00:26.")
    assert "Sources:\n  [00:24-00:26] sound      phone ringing" in out
    assert (
        "Reasoning:\n  1. " in out and "Tool calls:\n  session_info() -> session 'standup'" in out
    )
    with open_memory(db) as memory:
        (turn,) = memory.agent_turns("standup-1")
    assert turn.question == "when did the phone ring?" and turn.answer.startswith(
        "I heard it 1 time"
    )
    assert turn.citations[0]["label"] == "phone ringing"


def test_no_record(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "standup", "who spoke?", "--db", db, "--no-record"]) == 0
    with open_memory(db) as memory:
        assert memory.agent_turns("standup-1") == []


def test_unknown_session_is_a_usage_error(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "retro", "who spoke?", "--db", db]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == "moss-agent ask: error: no session 'retro'; `moss-agent sessions` lists them"
    )


def test_bad_database_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "x", "who?", "--db", f"sqlite:///{tmp_path / 'nope' / 'm.db'}"]) == 2
    assert "folder" in capsys.readouterr().err


def test_openai_server_down(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(
        [
            "ask",
            "standup",
            "who spoke?",
            "--db",
            db,
            "--reasoner",
            "openai",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"moss-agent ask: cannot reach an OpenAI-compatible server at http://127.0.0.1:{port}/v1"
    )
    assert len(err.splitlines()) == 1


def test_the_reasoner_choices_match_the_factory() -> None:
    from agent.cli import build_parser
    from agent.reasoning import registry

    ask = build_parser()._subparsers._group_actions[0].choices["ask"]  # noqa: SLF001
    choices = next(a.choices for a in ask._actions if a.dest == "reasoner")  # noqa: SLF001
    assert tuple(choices) == registry.REASONER_NAMES
    for name in registry.REASONER_NAMES:  # every name leads to a class
        module_name, _, class_name = registry.REASONERS[name].partition(":")
        assert hasattr(__import__(module_name, fromlist=[class_name]), class_name)


def test_follow_up_continues_the_last_conversation(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["ask", "standup", "who will write the job description?", "--db", db, "--json"]) == 0
    )
    first = json.loads(capsys.readouterr().out)
    assert "Carol" in first["answer"] and first["conversation"]
    assert main(["ask", "standup", "who said that?", "--db", db, "--json", "--follow-up"]) == 0
    follow = json.loads(capsys.readouterr().out)
    assert follow["conversation"] == first["conversation"] and "Carol" in follow["answer"]
    assert (
        main(
            [
                "ask",
                "standup",
                "when was it due?",
                "--db",
                db,
                "--conversation",
                first["conversation"],
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Friday" in out and f"Conversation {first['conversation']}" in out
    with open_memory(db) as memory:
        turns = memory.agent_turns("standup-1")
    assert [t.question for t in turns][-3:] == [
        "who will write the job description?",
        "who said that?",
        "when was it due?",
    ]


def test_a_bad_conversation_id_is_a_usage_error(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "standup", "why?", "--db", db, "--conversation", "not an id!"]) == 2
    assert "--conversation takes the id" in capsys.readouterr().err
