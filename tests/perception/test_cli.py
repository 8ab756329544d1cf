"""`moss-agent transcribe` end to end with the real lite backend."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.cli import main
from perception.events import event_from_json
from perception.synthetic import compose

SCRIPT = (("say", "en-us+m3", "We want to hire two engineers before March."), ("sound", "doorbell"))


@pytest.fixture(scope="module")
def short_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "short.wav"
    compose(SCRIPT).write(str(path))  # type: ignore[arg-type]
    return path


def test_json_lines_carry_kind_times_text_or_label_and_speaker(
    short_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["transcribe", str(short_wav), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    kinds = {d["kind"] for d in lines}
    assert {"transcript", "sound"} <= kinds
    for d in lines:
        assert {"kind", "start", "end", "speaker", "backend", "model"} <= set(d)
        if d["kind"] == "transcript":
            assert "hire" in d["text"].lower() and d["speaker"] == "S1"
        if d["kind"] == "sound":
            assert "chime" in d["label"]
    for line in out.splitlines():  # the lines are the event contract, round-trippable
        assert event_from_json(line).kind in kinds
    assert "transcribing:" in err and "100%" in err  # progress on stderr, not stdout


def test_srt_vtt_and_text(short_wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["transcribe", str(short_wav), "--format", "srt", "-q", "--window", "20", "--hop", "15"]
        )
        == 0
    )
    srt, err = capsys.readouterr()
    assert err == ""
    assert re.search(r"^1\n00:00:00,\d{3} --> 00:00:0\d,\d{3}\nS1: .*hire", srt, re.M)
    assert re.search(r"^2\n00:00:0\d,\d{3} --> .*\n\[tonal sound \(chime-like\)\]", srt, re.M)

    assert (
        main(["transcribe", str(short_wav), "--format", "vtt", "-q", "--kinds", "transcript"]) == 0
    )
    vtt = capsys.readouterr().out
    assert vtt.startswith("WEBVTT\n\n") and "-->" in vtt and "chime" not in vtt

    assert main(["transcribe", str(short_wav), "--format", "text", "-q"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^\[00:00:00\.\d{3} - 00:00:0\d\.\d{3}\] S1: .*hire", text, re.M)
    assert "(sound) tonal sound (chime-like)" in text


@pytest.mark.parametrize(
    "make, argv_extra, message",
    [
        (lambda p: p.write_bytes(b"not audio at all" * 100), [], "not a readable audio file"),
        (lambda p: p.write_bytes(b""), [], "empty"),
        (None, [], "no such file"),
        (lambda p: p.write_bytes(b""), ["--kinds", "transcript,bogus"], "unknown event kind"),
        (lambda p: p.write_bytes(b""), ["-o", "nonsense"], "KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, argv_extra: list[str], message: str
) -> None:
    path = tmp_path / "in.wav"
    if make is not None:
        make(path)
    assert main(["transcribe", str(path), *argv_extra]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("moss-agent transcribe: error:")
        and message in lines[0]
    )


def test_window_longer_than_the_backend_allows_is_exit_2(
    short_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(short_wav), "--window", "300", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "maximum" in err and "--window" in err and len(err.splitlines()) == 1


def test_unknown_backend_option_is_exit_2(
    short_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", str(short_wav), "-q", "-o", "no_such_option=1"]) == 2
    assert "no_such_option" in capsys.readouterr().err
