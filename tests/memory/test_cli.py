"""``moss-agent db upgrade / sessions / export / speakers`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from memory import open_memory
from tests.memory.scenes import meeting_events


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    with open_memory(url) as memory:
        session = memory.create_session("Board meeting", source="board.wav")
        memory.ingest(session.id, meeting_events())
    return url, session.id


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "schema at revision 0008_sentence_vectors" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", url]) == 0  # again: nothing to do, no error


def test_sessions_lists_a_table(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, session_id = recorded
    assert main(["sessions", "--db", url]) == 0
    out = capsys.readouterr().out
    assert session_id in out and "Board meeting" in out and "0:01:16" in out and "board.wav" in out


def test_export_to_stdout_and_file(
    recorded: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, session_id = recorded
    assert main(["export", "Board meeting", "--format", "srt", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("1\n00:00:00,000 --> 00:00:04,000\nS1: Good morning")
    target = tmp_path / "minutes.json"
    assert main(["export", session_id, "--format", "json", "--db", url, "-o", str(target)]) == 0
    assert json.loads(target.read_text())["session"]["title"] == "Board meeting"


def test_speakers_rename_and_show(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, session_id = recorded
    assert (
        main(["speakers", session_id, "--rename", "S1=Alice", "--rename", "S2=Bob", "--db", url])
        == 0
    )
    out = capsys.readouterr().out
    assert "Alice" in out and "Bob" in out and "S3" in out
    assert main(["export", session_id, "-f", "vtt", "--db", url]) == 0
    assert "<v Alice>Good morning" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "no-such-session"], "no session 'no-such-session'"),
        (["speakers", "no-such-session"], "no session 'no-such-session'"),
        (["speakers", "Board meeting", "--rename", "S1"], "--rename takes ID=NAME"),
        (["speakers", "Board meeting", "--rename", "S7=Zoe"], "no speaker 'S7'"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    url, _ = recorded
    assert main([*argv, "--db", url]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unreachable_database_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", "--db", "postgresql+psycopg://me:pw@127.0.0.1:1/db"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("moss-agent sessions: error: cannot open the database")
    assert "\n" not in err and ":pw@" not in err


def test_export_to_an_unwritable_place(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, session_id = recorded
    assert main(["export", session_id, "--db", url, "-o", "/no/such/dir/out.md"]) == 2
    assert "cannot write /no/such/dir/out.md" in capsys.readouterr().err


# --- deleting a session, several renames, help texts --------------------------------------


def _audio_chunks(url: str) -> int:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return int(db.execute("SELECT count(*) FROM audio_chunks").fetchone()[0])


def test_sessions_delete_removes_the_session_and_its_audio_archive(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    url, session_id = recorded
    with open_memory(url) as memory:
        memory.archive_audio(session_id, 0.0, np.zeros(16_000 * 3, np.float32))
        kept = memory.create_session("Keep me")
        memory.ingest(kept.id, meeting_events()[:2])
    assert _audio_chunks(url) > 0
    assert main(["sessions", "--delete", "Board meeting", "--db", url]) == 2  # stdin is no terminal
    assert "add --yes" in capsys.readouterr().err
    assert _audio_chunks(url) > 0  # nothing deleted without confirmation
    assert main(["sessions", "--delete", "Board meeting", "--yes", "--db", url]) == 0
    assert f"deleted session {session_id}" in capsys.readouterr().out
    assert _audio_chunks(url) == 0
    with open_memory(url) as memory:
        assert [s.title for s in memory.list_sessions()] == ["Keep me"]
        assert len(memory.session_events(kept.id)) == 2
    assert main(["sessions", "--delete", session_id, "--yes", "--db", url]) == 2
    assert "no session" in capsys.readouterr().err


def test_speakers_rename_accepts_several_separated_by_commas(
    recorded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, session_id = recorded
    assert main(["speakers", session_id, "--rename", "S1=Alice,S3=Carol", "--db", url]) == 0
    with open_memory(url) as memory:
        names = memory.speaker_names(session_id)
    assert names["S1"] == "Alice" and names["S3"] == "Carol"
    capsys.readouterr()
    # One unknown id in the list: a clear error and nothing renamed.
    assert main(["speakers", session_id, "--rename", "S2=Bob,S9=Zed", "--db", url]) == 2
    err = capsys.readouterr().err.strip()
    assert "no speaker 'S9'" in err and "nothing renamed" in err and "\n" not in err
    with open_memory(url) as memory:
        assert memory.speaker_names(session_id)["S2"] == "S2"
    # A comma inside a name is refused, not stored as "Alice,S3=Carol"-like names.
    assert main(["speakers", session_id, "--rename", "S1=Smith, Alice", "--db", url]) == 2
    assert "names cannot hold commas" in capsys.readouterr().err


def test_export_help_lists_the_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "md: minutes" in out and "srt or vtt: subtitles" in out and "json: every event" in out


def test_minutes_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.memory.planning_meeting import planning_meeting_events

    url = f"sqlite:///{tmp_path / 'minutes.db'}"
    with open_memory(url) as memory:
        session = memory.create_session("Planning")
        memory.ingest(session.id, planning_meeting_events())
        memory.rename_speaker(session.id, "S3", "Carol")
    assert main(["minutes", "Planning", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Minutes") and "## Decisions" in out and "## Action items" in out
    assert "(owner: Carol; due: by Friday)" in out and "## Next meeting" in out
    assert main(["minutes", "Planning", "--db", url, "--json", "--refresh"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["method"] == "rules" and payload["decisions"] and payload["open_questions"]
    assert main(["minutes", "Nope", "--db", url]) == 2
    assert "no session 'Nope'" in capsys.readouterr().err
