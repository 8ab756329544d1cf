"""A fast subset of benchmarks/answers.py: the question sets over their scripted truth."""

from __future__ import annotations

import tempfile

import pytest

from benchmarks.answers import ask_set, load_sets, scripted_events, table


@pytest.mark.parametrize("name", ["office"])
def test_question_set_over_scripted_meeting(name: str) -> None:
    from memory import open_memory

    (qset,) = load_sets([name])
    events, truth = scripted_events(qset)
    with tempfile.TemporaryDirectory() as tmp, open_memory(f"sqlite:///{tmp}/m.db") as memory:
        outcomes = ask_set(memory, qset, events, truth)
    rows = {r["category"]: r for r in table(outcomes)}
    failures = [(o.text, o.missing) for o in outcomes if not o.correct]
    assert rows["all"]["refused"] == 0, failures
    assert rows["negative"]["correct"] == rows["negative"]["questions"], failures
    assert rows["all"]["correct"] >= 0.85 * rows["all"]["questions"], failures
