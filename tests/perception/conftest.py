"""Fixtures of the perception tests: a tokenizer for the tiny MOSS-Audio checkpoint and a
real ``moss-agent serve`` process running it on loopback."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.perception.tiny_moss import (
    MOSS_AGENT,
    PARITY_CHECKPOINT,
    REPO_ROOT,
    write_byte_tokenizer,
)


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_byte_tokenizer(tmp_path_factory.mktemp("tokenizer"))


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    url: str
    log: list[str]


@pytest.fixture(scope="session")
def moss_server(
    tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    """``moss-agent serve`` with the tiny parity checkpoint, on a free loopback port (local
    audio files allowed under the tests' temporary directory)."""
    yield from start_server(
        tokenizer_dir, "--allowed-local-media-path", str(tmp_path_factory.getbasetemp())
    )


def start_server(tokenizer_dir: Path, *extra: str) -> Iterator[ServeProcess]:
    """A ``moss-agent serve`` process with the tiny parity checkpoint and ``extra`` flags."""
    command = [
        *MOSS_AGENT, "serve", "--checkpoint", str(PARITY_CHECKPOINT),
        "--tokenizer", str(tokenizer_dir), "--port", "0", "--dtype", "float32",
        "--served-model-name", "tiny-moss", "--batch-wait-ms", "50", *extra,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    ready = threading.Event()
    found: list[str] = []

    def read() -> None:  # keep draining stderr so the server never blocks on it
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if "listening on" in line and not found:
                found.append(line.rsplit(" ", 1)[-1].strip())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(timeout=180)
    if not found:
        process.kill()
        pytest.fail("moss-agent serve did not start:\n" + "".join(log))
    try:
        yield ServeProcess(process, found[0], log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
