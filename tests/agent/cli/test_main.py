"""The ``moss-agent`` entry point itself: its version, and usage errors that show the usage
of the command they belong to."""

from __future__ import annotations

import pytest

from agent.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"moss-agent {version('moss-agents')}"


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["sessions", "--dleete"], "sessions"),
        (["export", "s1", "--fromat"], "export"),
        (["record", "a.wav", "--sesion"], "record"),
        (["model", "info", "ckpt", "--bogus"], "model info"),
    ],
)
def test_a_typo_in_an_option_shows_that_commands_usage(
    argv: list[str], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: moss-agent {command} ")
    assert f"moss-agent {command}: error: unrecognized arguments: {argv[-1]}" in err
