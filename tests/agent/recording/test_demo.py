"""`moss-agent demo` end to end: espeak-ng meeting -> lite -> fresh SQLite -> minutes and rules answers."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from agent.cli import main


def test_demo_records_the_meeting_and_answers_its_questions(
    capsys, monkeypatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the fresh work dir lands here
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    db = re.search(r"memory: (\S+memory\.db)", out)
    assert db and Path(db.group(1)).is_file() and Path(db.group(1)).is_relative_to(tmp_path)
    assert out.count("Q: ") == 5
    before, by_time, by_topic, by_speaker, actions, decision = out.split("Q: ")
    # The minutes come first: the decision, the action item with its owner and deadline, the next meeting.
    minutes = before[before.index("Minutes") :]
    assert re.search(r"Decisions\W+\[00:2[3-6], S\d\] We decided to keep the old servers", minutes)
    assert re.search(r"Action items\W+\[00:2[0-2], S\d\] .*job description", minutes)
    assert "owner: Alice; due: by Friday" in minutes
    assert re.search(r"Next meeting\W+\[00:3[0-3], S\d\] .*Monday", minutes)
    assert "What was said at 0:05?" in by_time and "budget is tight" in by_time.lower()
    assert "Tool calls" in by_time and "Reasoning" in by_time and "Citations" in by_time
    assert (
        "budget" in by_topic
        and re.search(r"\[00:0[0-3]", by_topic)
        and re.search(r"\[00:0[5-6]", by_topic)
    )
    assert re.search(r"S[123] spoke most", by_speaker)
    assert (
        "job description" in actions and "Friday" in actions and re.search(r"\[00:2[0-2]", actions)
    )
    assert "What did they decide about the servers?" in decision
    answer = decision[: decision.index("Reasoning")]
    assert (
        "Decided about 'servers'" in answer and "keep the old servers for one more year" in answer
    )
    assert "Called minutes()" in decision
    citations = decision[decision.index("Citations") :]
    assert re.search(r"\[00:2[3-6]-00:2\d\] S\d: We decided to keep the old servers", citations)
