"""Errors the command line turns into one line and exit code 2.

Each layer raises its own errors (memory's ``MemoryStoreError``, perception's
``AudioDecodeError``, ...); ``main`` maps them to exit code 2 in one place, so command
modules let them through instead of wrapping each one.
"""

from __future__ import annotations

__all__ = ["USER_ERRORS", "UsageError", "is_user_error"]


class UsageError(Exception):
    """A problem with the user's input found by a command itself: one line, exit code 2."""


# The layers' errors that mean "fix your input or set-up", by name: matching names instead
# of importing the classes keeps an error exit from loading torch and transformers.
USER_ERRORS = frozenset(
    {
        "agent.cli.errors.UsageError",
        "memory.errors.MemoryStoreError",
        "perception.audio.AudioDecodeError",
        "perception.audio.AudioSourceUnavailableError",
        "perception.backend.BackendError",
        "perception.moss.configuration.MossConfigError",
        "perception.moss.configuration.MossCheckpointError",
        "perception.moss.parity.ExpectedDataError",
        "perception.synthetic.SynthesisError",
        "perception.server.http.ServerConfigError",
        "agent.reasoning.reasoner.ReasonerError",
        "agent.reasoning.triggers.TriggerConfigError",
        "agent.recording.recorder.RecorderError",
        "agent.bus.mqtt.MqttUnavailableError",
        "agent.voice.espeak.EspeakError",
    }
)


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is (a subclass of) one of ``USER_ERRORS``."""
    return any(f"{cls.__module__}.{cls.__qualname__}" in USER_ERRORS for cls in type(exc).__mro__)
