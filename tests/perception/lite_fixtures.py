"""Real components for the lite tests, built once per run: the lite backend and its pass over
the espeak-ng meeting (shared by the WER, timing, speaker and sound tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perception.backends.lite import LiteBackend
from perception.engine import Perceiver
from perception.events import Event
from perception.synthetic import Scene


@pytest.fixture(scope="session")
def lite_backend() -> Iterator[LiteBackend]:
    backend = LiteBackend()
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def lite_meeting_events(lite_backend: LiteBackend, meeting_scene: Scene) -> list[Event]:
    """The lite backend's events for the whole meeting, default windows."""
    return list(Perceiver(lite_backend).process_array(meeting_scene.audio, "meeting"))

