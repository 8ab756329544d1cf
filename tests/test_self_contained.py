"""The test suite reads only files inside the repository: a bare clone runs it anywhere."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A path leaving the repository: a ".." path part, or parents[n] beyond the repository root.
OUTSIDE = re.compile(r"""/\s*["']\.\.["']|["']\.\./|/\s*["']shared["']""")


def test_no_test_or_benchmark_reads_outside_the_repository() -> None:
    offenders = []
    for folder in ("tests", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if OUTSIDE.search(line) and path != Path(__file__).resolve():
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "paths outside the repository:\n" + "\n".join(offenders)


def test_parity_fixture_lives_in_the_repository() -> None:
    from tests.fixtures.moss import PARITY_DIR
    from tests.perception.tiny_moss import PARITY_CHECKPOINT

    for path in (PARITY_DIR, PARITY_CHECKPOINT):
        assert path.resolve().is_relative_to(REPO)
        assert path.is_dir()
    assert (PARITY_DIR / "checkpoint" / "model.safetensors").is_file()
    assert (PARITY_DIR / "expected.safetensors").is_file()
