"""Fixtures for agent tests."""

from __future__ import annotations

import pytest

from agent.testing import EventScript
from tests.agent.scripts import meeting_script


@pytest.fixture
def meeting() -> EventScript:
    """The lines and sounds of ``synthetic.meeting()`` as events (Bob, Alice, Carol)."""
    return meeting_script()
