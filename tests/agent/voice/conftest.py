"""Real components for the voice tests: the lite perception backend, memory, the rules reasoner."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def memory(tmp_path: Path):
    from memory import open_memory

    mem = open_memory(str(tmp_path / "memory.db"))
    yield mem
    mem.close()
