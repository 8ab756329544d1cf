"""Time expressions as people say them -> seconds of the session."""

from __future__ import annotations

import pytest

from agent.reasoning.time_expressions import (
    find_time_expression,
    parse_clock,
    parse_compact,
    strip_time_expression,
)

DURATION = 2 * 3600.0


@pytest.mark.parametrize(
    ("question", "span"),
    [
        ("what was said at minute 12", (720, 780)),
        ("what happened in minute 0", (0, 60)),
        ("what happened at 7:00", (410, 440)),
        ("what was said at 12:30?", (740, 770)),
        ("what did they say at 1:02:03", (3713, 3743)),
        ("what did they say at 1h05m", (3890, 3920)),
        ("at 1h 5m 30s", (3920, 3950)),
        ("what about 5m30s", (320, 350)),
        ("between minute 3 and 5", (180, 360)),
        ("between minutes 3 and 5", (180, 360)),
        ("from minute 1 to 2", (60, 180)),
        ("between 3:00 and 5:30", (180, 330)),
        ("from 10 to 20 seconds", (10, 20)),
        ("between 1h and 1h10m", (3600, 4200)),
        ("the last 30 seconds", (7170, 7200)),
        ("in the last two minutes", (7080, 7200)),
        ("the last minute", (7140, 7200)),
        ("the first 30 seconds", (0, 30)),
        ("what was said at the start", (0, 60)),
        ("at the beginning", (0, 60)),
        ("what was said at the end", (7140, 7200)),
        ("2 minutes in", (110, 140)),
        ("after 90 seconds", (80, 110)),
    ],
)
def test_expressions_resolve_to_spans(question: str, span: tuple[float, float]) -> None:
    expr = find_time_expression(question)
    assert expr is not None, question
    assert expr.resolve(DURATION) == pytest.approx(span)


@pytest.mark.parametrize(
    "question", ["who spoke most", "when did someone mention the budget", "was there a doorbell"]
)
def test_no_time_in_plain_questions(question: str) -> None:
    assert find_time_expression(question) is None


def test_spans_are_clamped_to_the_session() -> None:
    expr = find_time_expression("the last 5 minutes")
    assert expr is not None and expr.resolve(100.0) == (0.0, 100.0)
    late = find_time_expression("between minute 1 and 5")
    assert late is not None and late.resolve(200.0) == (60.0, 200.0)


def test_clock_and_compact_forms() -> None:
    assert parse_clock("12:30") == 750
    assert parse_clock("1:00:01") == 3601
    assert parse_compact("1h05m") == 3900
    assert parse_compact("90s") == 90


def test_strip_leaves_the_topic() -> None:
    text = "when was the budget mentioned between minute 3 and 5"
    assert (
        strip_time_expression(text, find_time_expression(text)) == "when was the budget mentioned"
    )
