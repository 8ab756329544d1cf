"""Perception backends behind one interface, created by name.

Backends are imported only when asked for, so choosing ``lite`` never imports the MOSS
model code and vice versa.
"""

from __future__ import annotations

import importlib
import inspect
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
    """Create the backend called ``name`` with backend-specific keyword ``options``.

    Options given as plain values (e.g. ``-o beam_size=abc`` on the command line) are
    checked against the constructor's type hints first: ``ValueError`` says which option
    is wrong, before any model loads."""
    cls = backend_class(name)
    return cls(**validate_options(cls, name, options))


def validate_options(
    cls: type[PerceptionBackend], name: str, options: dict[str, Any]
) -> dict[str, Any]:
    """``options`` converted to the types ``cls.__init__`` declares; ``ValueError`` for an
    unknown option or a value of the wrong type."""
    parameters = inspect.signature(cls.__init__).parameters
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = [p for p, param in parameters.items() if p != "self" and param.kind in named]
    annotations = inspect.get_annotations(cls.__init__)
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in accepted:
            raise ValueError(
                f"backend {name!r} has no option {key!r}; its options: {', '.join(accepted)}"
            )
        checked[key] = _typed(key, value, annotations.get(key), cls)
    return checked


_PLAIN = (str, int, float, bool)


def _typed(key: str, value: Any, annotation: Any, cls: type) -> Any:
    if not isinstance(value, _PLAIN) or annotation is None:
        return value  # objects passed by code (a loaded model) are the caller's business
    from pydantic import TypeAdapter, ValidationError

    try:
        hint = (
            eval(annotation, vars(importlib.import_module(cls.__module__)))
            if isinstance(annotation, str)
            else annotation
        )  # noqa: S307 - the class's own annotation text
        adapter: TypeAdapter[Any] = TypeAdapter(hint)
    except Exception:  # a hint that names a type only imported for type checking
        return value
    problems: list[str] = []
    for candidate in (value, str(value)) if not isinstance(value, str) else (value,):
        try:
            return adapter.validate_python(candidate)  # e.g. api_key=123 read as a number: a str
        except ValidationError as exc:
            problems.append(exc.errors()[0]["msg"])
    problem = problems[0]
    raise ValueError(f"backend option {key}={value!r}: {problem[0].lower() + problem[1:]}")


__all__ = ["BACKENDS", "backend_class", "get_backend", "validate_options"]
