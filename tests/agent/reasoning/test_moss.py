"""The moss reasoner: Qwen3 chat rendering and the tool loop, on a real (tiny) checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.reasoning.moss import MossReasoner
from agent.reasoning.reasoner import ReasonerUnavailableError
from agent.testing import ScriptedSession
from perception.moss.chat_format import parse_tool_calls, render_chat, split_thinking
from tests.agent.scripts import meeting_script
from tests.fixtures.moss import small_random_config, write_char_tokenizer, write_random_checkpoint
from tools import builtin_registry


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = write_random_checkpoint(
        small_random_config(lm_layers=2, encoder_layers=2, taps=(0, 1), inject=1),
        tmp_path_factory.mktemp("moss_reasoner"),
    )
    write_char_tokenizer(directory)
    return directory


async def test_text_mode_generation_runs_on_a_real_checkpoint(tiny_checkpoint: Path) -> None:
    # One tool keeps the prompt short: the character tokenizer makes a token of every letter.
    reasoner = MossReasoner(
        builtin_registry().subset(["speakers"]),
        checkpoint=tiny_checkpoint,
        max_new_tokens=6,
        max_steps=1,
    )
    async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
        result = await session.ask("Who spoke?")
    assert result.answer.reasoner == "moss" and result.answer.model == tiny_checkpoint.name
    assert result.answer.answer  # random weights: some text, but an answer
    prompt = reasoner.last_prompt
    assert prompt.startswith(
        "<|im_start|>system\nYou answer questions about a recorded audio session"
    )
    assert prompt.endswith("<|im_start|>assistant\n")


class ScriptedMoss(MossReasoner):
    """The real reasoner with scripted model output, to check the loop and the rendering."""

    def __init__(self, outputs: list[str]) -> None:
        super().__init__(checkpoint="scripted", max_steps=3)
        self.outputs = outputs
        self.prompts: list[str] = []

    async def _generate(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.outputs[len(self.prompts) - 1]


async def test_qwen_tool_calls_loop_through_the_tools() -> None:
    reasoner = ScriptedMoss([
        '<think>Search first.</think>\n<tool_call>\n'
        '{"name": "search_transcript", "arguments": {"query": "budget"}}\n</tool_call>',
        "<tool_call>\n{\"name\": \"speakers\", \"arguments\": {}\n</tool_call>",
        "The budget came up at 00:00 (Bob) and 00:05 (Alice).",
    ])  # fmt: skip
    async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
        result = await session.ask("When was the budget mentioned?")
    result.expect.next_tool_call(name="search_transcript", arguments={"query": "budget"})
    broken = result.expect.next_tool_call(name="speakers")
    assert broken.error is not None and "not valid JSON" in broken.error
    result.expect.answer_contains("00:00 (Bob)").reasoning_contains("Search first.")
    result.expect.contains_citation(at=0.5, speaker="Bob")
    first, second, third = reasoner.prompts
    assert "<tools>\n" in first and '"name": "relisten"' in first
    assert second.count("<tool_response>") == 1 and '"start":0.5' in second
    assert (
        '<|im_start|>assistant\n<tool_call>\n{"name": "search_transcript", "arguments": {"query": "budget"}}'
        in second
    )
    assert "not valid JSON" in third


def test_render_and_parse_round_trip() -> None:
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "speakers", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "session_info", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "a", "content": "[1]"},
        {"role": "tool", "tool_call_id": "b", "content": "[2]"},
    ]  # fmt: skip
    text = render_chat(messages, None)
    assert text == (
        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
        '<|im_start|>assistant\n<tool_call>\n{"name": "speakers", "arguments": {}}\n</tool_call>\n'
        '<tool_call>\n{"name": "session_info", "arguments": {}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\n[1]\n</tool_response>\n<tool_response>\n[2]\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    calls, rest = parse_tool_calls(text.split("<|im_start|>assistant\n")[1])
    assert [c.name for c in calls] == ["speakers", "session_info"] and all(
        c.error is None for c in calls
    )
    assert split_thinking("plan</think>answer") == ("plan", "answer")
    assert split_thinking("<think>unfinished") == ("unfinished", "")


def test_a_missing_checkpoint_or_tokenizer_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MOSS_AUDIO_CHECKPOINT", raising=False)
    with pytest.raises(ReasonerUnavailableError, match="pass --checkpoint DIR"):
        MossReasoner()


async def test_a_checkpoint_without_tokenizer(tmp_path: Path) -> None:
    directory = write_random_checkpoint(
        small_random_config(lm_layers=1, encoder_layers=1, taps=(0,), inject=1), tmp_path
    )
    reasoner = MossReasoner(checkpoint=directory)
    async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
        with pytest.raises(ReasonerUnavailableError, match="has no tokenizer"):
            await session.ask("Who spoke?")


def test_the_qwen_tool_prompt_carries_the_meeting_tools() -> None:
    from tools import builtin_registry

    prompt = builtin_registry().qwen_tools_prompt()
    for name in ("search_passages", "minutes", "topics", "speaker_transcript"):
        assert f'"name": "{name}"' in prompt or f'"name":"{name}"' in prompt, name
