"""The LiveKit worker example loads and refuses to start without LiveKit credentials."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "voice_assistant.py"


def _load():
    spec = importlib.util.spec_from_file_location("voice_assistant_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_defines_an_agent_server_with_an_entrypoint() -> None:
    from livekit.agents import AgentServer

    module = _load()
    assert isinstance(module.server, AgentServer)
    assert callable(module.entrypoint) and callable(module.prewarm)


def test_example_without_credentials_says_what_to_set(monkeypatch, capsys) -> None:
    import pytest

    module = _load()
    for key in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("sys.argv", [str(EXAMPLE), "dev"])
    with pytest.raises(SystemExit) as exc:
        module._check_environment()
    assert "LIVEKIT_URL" in str(exc.value) and "serve --webrtc" in str(exc.value)
    monkeypatch.setattr("sys.argv", [str(EXAMPLE), "--help"])
    module._check_environment()  # help needs no credentials
