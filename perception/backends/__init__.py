"""Perception backends behind one interface, created by name.

Backends are imported only when asked for, so choosing ``lite`` never imports the MOSS
model code and vice versa.
"""

from __future__ import annotations

import importlib
from typing import Any

from perception.backend import BackendUnavailableError, PerceptionBackend

# name -> "module:Class"; each module is imported on first use.
BACKENDS: dict[str, str] = {
    "lite": "perception.backends.lite:LiteBackend",
    "moss": "perception.backends.moss:MossBackend",
    "remote": "perception.backends.remote:RemoteBackend",
}


def backend_class(name: str) -> type[PerceptionBackend]:
    """The class registered under ``name`` (imports its module)."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown perception backend {name!r}; choose one of: {', '.join(BACKENDS)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise BackendUnavailableError(
            f"backend {name!r} cannot be imported ({exc}); reinstall with `pip install -e .`"
        ) from exc
    return getattr(module, class_name)


def get_backend(name: str = "lite", **options: Any) -> PerceptionBackend:
    """Create the backend called ``name`` with backend-specific keyword ``options``."""
    return backend_class(name)(**options)


__all__ = ["BACKENDS", "backend_class", "get_backend"]
