"""What ``serve --webrtc`` says on stderr by default: that it is loading its models (which
takes seconds before the first line otherwise), and one line per call as it starts,
connects and ends (the endpoint's INFO lines)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
ENDPOINT_LOGGER = "agent.voice.browser"


def show_call_log() -> None:
    """Let the endpoint's INFO lines (calls, rejected offers) through at default verbosity."""
    endpoint = logging.getLogger(ENDPOINT_LOGGER)
    if endpoint.getEffectiveLevel() > logging.INFO:
        endpoint.setLevel(logging.INFO)


def announce_loading(backend: str, reasoner: str) -> None:
    show_call_log()
    log.info(
        "loading the %s perception backend and the %s reasoner (a few seconds)...",
        backend,
        reasoner,
    )


__all__ = ["announce_loading", "show_call_log"]
