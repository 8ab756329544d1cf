"""Shared fixtures. Each fixture module owns one real component the tests start."""

pytest_plugins = [
    "tests.fixtures.audio",
    "tests.fixtures.postgres",
    "tests.fixtures.mosquitto",
    "tests.fixtures.moss",
    "tests.fixtures.lite",
]
