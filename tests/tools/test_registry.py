"""The registry: signature + docstring -> JSON schema, validated calls, errors as results."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Literal

import pytest
from pydantic import Field

from tools import ToolContext, ToolRegistry, builtin_registry
from tools.context import ToolInputError


def area(
    ctx: ToolContext,
    width: float,
    height: Annotated[float, Field(gt=0)] = 1.0,
    unit: Literal["m", "cm"] = "m",
) -> str:
    """Area of a rectangle.

    Args:
        width: Width of the rectangle,
            in units.
        height: Height of the rectangle.
        unit: Unit of both sides.
    """
    return f"{width * height:g} {unit}2 for {ctx.session_id}"


async def slow(seconds: float) -> str:
    """Sleep, then answer.

    Args:
        seconds: How long to sleep.
    """
    await asyncio.sleep(seconds)
    return "done"


def blocking(seconds: float) -> str:
    """Block a thread."""
    time.sleep(seconds)
    return "done"


def broken() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


def picky(start: float, end: float) -> float:
    """Needs end after start."""
    if end < start:
        raise ToolInputError("end is before start")
    return end - start


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry(default_timeout=2.0)
    for func in (area, slow, blocking, broken, picky):
        reg.register(func)
    return reg


@pytest.fixture
def plain_ctx() -> ToolContext:
    return ToolContext(memory=None, session_id="s1")  # type: ignore[arg-type]


def test_schema_comes_from_signature_and_docstring(registry: ToolRegistry) -> None:
    spec = registry.get("area").openai_spec()  # type: ignore[union-attr]
    assert spec["type"] == "function"
    fn = spec["function"]
    assert fn["name"] == "area"
    assert fn["description"] == "Area of a rectangle."
    params = fn["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["width"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert set(props) == {"width", "height", "unit"}  # the context is not an argument
    assert props["width"] == {"type": "number", "description": "Width of the rectangle, in units."}
    assert props["height"]["exclusiveMinimum"] == 0
    assert props["height"]["default"] == 1.0
    assert props["unit"]["enum"] == ["m", "cm"]
    assert "title" not in json.dumps(params)


def test_qwen_prompt_lists_every_tool_as_json(registry: ToolRegistry) -> None:
    prompt = registry.qwen_tools_prompt()
    block = prompt.split("<tools>\n")[1].split("\n</tools>")[0]
    specs = [json.loads(line) for line in block.splitlines()]
    assert [s["function"]["name"] for s in specs] == registry.names()
    assert "<tool_call>" in prompt and '"arguments"' in prompt


async def test_call_validates_and_runs(registry: ToolRegistry, plain_ctx: ToolContext) -> None:
    result = await registry.call("area", {"width": 2, "height": 3}, plain_ctx)
    assert result.ok, result.error
    assert result.value == "6 m2 for s1"
    assert result.summary() == "6 m2 for s1"
    assert json.loads(result.content()) == "6 m2 for s1"


async def test_arguments_may_be_json_text(registry: ToolRegistry, plain_ctx: ToolContext) -> None:
    result = await registry.call("area", '{"width": 2, "unit": "cm"}', plain_ctx)
    assert result.value == "2 cm2 for s1"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"width": 2,', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"width": "wide"}, "width: Input should be a valid number"),
        ({"width": 1, "height": -1}, "height: Input should be greater than 0"),
        ({"width": 1, "depth": 3}, "depth: Extra inputs are not permitted"),
        ({}, "width: Field required"),
        ({"width": 1, "unit": "ft"}, "unit: Input should be 'm' or 'cm'"),
    ],
)
async def test_bad_arguments_come_back_as_errors(
    registry: ToolRegistry, plain_ctx: ToolContext, arguments: object, expected: str
) -> None:
    result = await registry.call("area", arguments, plain_ctx)  # type: ignore[arg-type]
    assert not result.ok
    assert expected in (result.error or "")
    assert json.loads(result.content()) == {"error": result.error}
    assert result.summary().startswith("error: ")


async def test_unknown_tool_lists_the_known_ones(
    registry: ToolRegistry, plain_ctx: ToolContext
) -> None:
    result = await registry.call("volume", {}, plain_ctx)
    assert (
        result.error is not None
        and "unknown tool 'volume'" in result.error
        and "area" in result.error
    )


async def test_async_and_sync_tools_time_out(
    registry: ToolRegistry, plain_ctx: ToolContext
) -> None:
    quick = await registry.call("slow", {"seconds": 0.01}, plain_ctx)
    assert quick.value == "done"
    late = await registry.call("slow", {"seconds": 5}, plain_ctx, timeout=0.1)
    assert late.error is not None and "timed out after 0.1 s" in late.error
    stuck = await registry.call("blocking", {"seconds": 0.5}, plain_ctx, timeout=0.05)
    assert stuck.error is not None and "timed out" in stuck.error


async def test_exceptions_become_errors(registry: ToolRegistry, plain_ctx: ToolContext) -> None:
    result = await registry.call("broken", None, plain_ctx)
    assert result.error == "broken failed: RuntimeError: disk on fire"
    picky = await registry.call("picky", {"start": 5, "end": 1}, plain_ctx)
    assert picky.error == "invalid arguments for picky: end is before start"


def test_duplicate_names_are_refused(registry: ToolRegistry) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(area)


def test_decorator_form_with_a_new_name() -> None:
    reg = ToolRegistry()

    @reg.register(name="double_it", description="Twice a number.")
    def double(x: int) -> int:
        return 2 * x

    assert reg.get("double_it").description == "Twice a number."  # type: ignore[union-attr]
    assert double(2) == 4


def test_variadic_functions_are_refused() -> None:
    def anything(*args: int) -> None: ...

    with pytest.raises(TypeError, match="cannot become a JSON schema"):
        ToolRegistry().register(anything)


def test_builtin_registry_has_every_builtin_and_valid_schemas() -> None:
    reg = builtin_registry()
    assert set(reg.names()) == {
        "session_info", "transcript_at", "transcript_between", "search_transcript", "speakers",
        "sound_events_between", "voice_traits_between", "relisten", "publish", "schedule_reminder", "note",
        "search_passages", "speaker_transcript", "minutes", "topics",
    }  # fmt: skip
    for tool in reg:
        spec = tool.openai_spec()["function"]
        assert spec["description"] and spec["parameters"]["type"] == "object"
        for name, prop in spec["parameters"]["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
    read_only = builtin_registry(actions=False, listen=False)
    assert "publish" not in read_only and "relisten" not in read_only and "speakers" in read_only


async def test_inline_sync_tools_run_on_the_loop(plain_ctx: ToolContext) -> None:
    inline = ToolRegistry(sync_in_thread=False)
    inline.register(blocking)
    inline.register(slow)
    done = await inline.call("blocking", {"seconds": 0.05}, plain_ctx, timeout=0.01)
    assert done.value == "done"  # inline: no thread to abandon, so no timeout for sync tools
    late = await inline.call("slow", {"seconds": 5}, plain_ctx, timeout=0.05)
    assert late.error is not None and "timed out" in late.error  # async tools keep theirs
    assert inline.subset(["slow"]).sync_in_thread is False
