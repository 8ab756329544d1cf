"""Real components for the voice tests: the lite perception backend, memory, the rules reasoner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perception.backend import PerceptionBackend


@pytest.fixture(scope="session")
def lite_backend() -> Iterator[PerceptionBackend]:
    from perception.backends import get_backend

    backend = get_backend("lite")
    yield backend
    backend.close()


@pytest.fixture
def memory(tmp_path: Path):
    from memory import open_memory

    mem = open_memory(str(tmp_path / "memory.db"))
    yield mem
    mem.close()
