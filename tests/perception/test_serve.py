"""``moss-agent serve``: the OpenAI-compatible server over the moss backend.

Over HTTP against a real ``moss-agent serve`` process (tiny parity checkpoint), and
in-process to count encoder passes when concurrent requests are batched.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from aiohttp.test_utils import TestClient, TestServer

from perception.backends.moss import MossBackend
from perception.server import MossChatServer, RequestError, parse_chat_request


def _wav_bytes(seconds: float = 1.5, seed: int = 0, rate: int = 16000) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    sf.write(
        buffer,
        (0.2 * rng.standard_normal(int(rate * seconds))).astype(np.float32),
        rate,
        format="WAV",
    )
    return buffer.getvalue()


def _body(url: str, question: str = "What do you hear?", **extra) -> dict:  # type: ignore[no-untyped-def]
    content = [{"type": "audio_url", "audio_url": {"url": url}}, {"type": "text", "text": question}]
    return {
        "model": "tiny-moss",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 6,
        **extra,
    }


def _data_url(data: bytes, mime: str = "audio/wav") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


# --- a real server process ------------------------------------------------------------------


def test_health_and_models(moss_server) -> None:  # type: ignore[no-untyped-def]
    base = moss_server.url.removesuffix("/v1")
    assert httpx.get(base + "/health").json()["status"] == "ok"
    models = httpx.get(moss_server.url + "/models").json()
    assert [m["id"] for m in models["data"]] == ["tiny-moss"]


def test_chat_completion_shape_and_greedy_repeatability(moss_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wav = _wav_bytes()
    first = httpx.post(
        moss_server.url + "/chat/completions", json=_body(_data_url(wav)), timeout=60
    ).json()
    choice = first["choices"][0]
    assert first["object"] == "chat.completion" and first["model"] == "tiny-moss"
    assert choice["message"]["role"] == "assistant" and isinstance(
        choice["message"]["content"], str
    )
    assert "reasoning_content" in choice["message"]
    assert choice["finish_reason"] in ("stop", "length")
    assert first["usage"]["completion_tokens"] <= 6 and first["usage"]["prompt_tokens"] > 20
    # The same audio from a local file (path and file:// URL) gives the same greedy answer.
    path = tmp_path / "clip.wav"
    path.write_bytes(wav)
    for url in (str(path), path.as_uri()):
        again = httpx.post(
            moss_server.url + "/chat/completions", json=_body(url), timeout=60
        ).json()
        assert again["choices"][0]["message"] == choice["message"]


def test_streaming_equals_the_whole_answer(moss_server) -> None:  # type: ignore[no-untyped-def]
    body = _body(_data_url(_wav_bytes(seed=4)), max_tokens=12)
    whole = httpx.post(moss_server.url + "/chat/completions", json=body, timeout=60).json()
    chunks = []
    with httpx.stream(
        "POST", moss_server.url + "/chat/completions", json={**body, "stream": True}, timeout=60
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                chunks.append(line[6:])
    assert chunks[-1] == "[DONE]"
    deltas = [json.loads(c)["choices"][0] for c in chunks[:-1]]
    content = "".join(d["delta"].get("content") or "" for d in deltas)
    reasoning = "".join(d["delta"].get("reasoning_content") or "" for d in deltas)
    message = whole["choices"][0]["message"]
    assert content or reasoning  # the random model says real (nonsense) text
    assert content == message["content"] and reasoning == (message["reasoning_content"] or "")
    assert deltas[-1]["finish_reason"] == whole["choices"][0]["finish_reason"]


@pytest.mark.parametrize(
    ("body", "status", "match"),
    [(b"not json", 400, "not valid JSON"),
     ({"messages": []}, 400, "non-empty list"),
     ({"messages": [{"role": "robot", "content": "hi"}]}, 400, "unknown message role"),
     ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, 400, "`tools` must be"),
     ({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}, 400, "tool_choice"),
     ({"messages": [_body(_data_url(_wav_bytes()))["messages"][0], {"role": "user", "content": "and?"}]},
      400, "last user message"),
     (_body("http://example.com/a.wav"), 400, "does not fetch http URLs"),
     (_body(_data_url(b"RIFF....WAVEjunk")), 400, "cannot decode the audio"),
     (_body("data:audio/wav,notbase64"), 400, "base64"),
     (_body(_data_url(_wav_bytes()), question=" "), 400, "add a text part"),
     (_body(_data_url(_wav_bytes()), max_tokens=-1), 400, "max_tokens"),
     (_body(_data_url(_wav_bytes(seconds=121, rate=8000))), 400, "at most 120 s"),
     (_body("/no/such/file.wav"), 400, "no such file")],
)  # fmt: skip
def test_bad_requests_get_clear_errors(moss_server, body, status: int, match: str) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = httpx.post(moss_server.url + "/chat/completions", timeout=60, **kwargs)
    assert response.status_code == status
    error = response.json()["error"]
    assert pytest.approx(error["code"]) == status
    assert match in error["message"]


def test_request_parsing_accepts_openai_input_audio_and_system() -> None:
    body = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": base64.b64encode(_wav_bytes()).decode(), "format": "wav"}},
            {"type": "text", "text": "What?"}]}],
        "temperature": 0.7, "top_p": 0.9, "seed": 3}  # fmt: skip
    chat = parse_chat_request(body)
    assert (chat.system, chat.question, chat.temperature, chat.top_p, chat.seed) == (
        "Be brief.",
        "What?",
        0.7,
        0.9,
        3,
    )
    assert len(chat.audio) == 24000
    with pytest.raises(RequestError, match="does not read local files"):
        parse_chat_request(_body("/tmp/x.wav"), allow_local_files=False)
    with pytest.raises(RequestError, match="one audio part"):
        two = _body(_data_url(_wav_bytes()))
        two["messages"][0]["content"].insert(0, two["messages"][0]["content"][0])
        parse_chat_request(two)


# --- text chats with tools (an agent's tool loop) ---------------------------------------------

TOOLS = [{"type": "function", "function": {
    "name": "speakers", "description": "Who spoke and how much.",
    "parameters": {"type": "object", "properties": {}}}}]  # fmt: skip


def _text_body(**extra) -> dict:  # type: ignore[no-untyped-def]
    messages = [{"role": "system", "content": "You answer questions about a meeting."},
                {"role": "user", "content": "Who spoke most?"}]  # fmt: skip
    return {"model": "tiny-moss", "messages": messages, "tools": TOOLS, "max_tokens": 6, **extra}


def test_text_chat_with_tools_runs_the_language_model(moss_server) -> None:  # type: ignore[no-untyped-def]
    url = moss_server.url + "/chat/completions"
    first = httpx.post(url, json=_text_body(), timeout=60).json()
    choice = first["choices"][0]
    assert first["object"] == "chat.completion" and choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] in ("stop", "length", "tool_calls")
    assert 1 <= first["usage"]["completion_tokens"] <= 6
    without_tools = httpx.post(url, json=_text_body(tool_choice="none"), timeout=60).json()
    # The tools are in the prompt (Qwen3's <tools> block), and only when offered.
    assert first["usage"]["prompt_tokens"] > without_tools["usage"]["prompt_tokens"] + 50
    assert (
        httpx.post(url, json=_text_body(), timeout=60).json()["choices"] == first["choices"]
    )  # greedy
    with httpx.stream("POST", url, json=_text_body(stream=True), timeout=60) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert content == (choice["message"]["content"] or "")


def _scripted(
    moss_tiny, tokenizer_dir: Path, replies: list[str], prompts: list[str]
) -> MossBackend:  # type: ignore[no-untyped-def]
    """The tiny checkpoint's backend answering text chats with ``replies`` in place of what
    random weights would say (rendering, parsing and the HTTP side are real)."""
    from perception.moss import GenerationResult

    model, processor = moss_tiny
    backend = MossBackend(
        model=model, processor=processor, tokenizer=tokenizer_dir, model_name="tiny"
    )

    def generate_text(prompt: str, config=None, on_token=None):  # type: ignore[no-untyped-def]
        prompts.append(prompt)
        return GenerationResult([1] * 3, replies.pop(0), None, None, "stop")

    backend.generate_text = generate_text  # type: ignore[method-assign]
    return backend


async def test_tool_calls_come_back_structured(moss_tiny, tokenizer_dir: Path) -> None:  # type: ignore[no-untyped-def]
    prompts: list[str] = []
    backend = _scripted(moss_tiny, tokenizer_dir, [
        '<think>I need the talk times.</think>\n<tool_call>\n{"name": "speakers", "arguments": {}}\n</tool_call>',
        '<tool_call>\n{"name": "speakers", "arguments": {broken\n</tool_call>',
    ], prompts)  # fmt: skip
    async with TestClient(TestServer(MossChatServer(backend).create_app())) as client:
        good = await (await client.post("/v1/chat/completions", json=_text_body())).json()
        bad = await (await client.post("/v1/chat/completions", json=_text_body())).json()
    message = good["choices"][0]["message"]
    assert good["choices"][0]["finish_reason"] == "tool_calls"
    assert message["reasoning_content"] == "I need the talk times." and message["content"] is None
    [call] = message["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "speakers", "arguments": "{}"}
    # A block that does not parse stays text, for the client to show the model its mistake.
    assert "tool_calls" not in bad["choices"][0]["message"]
    assert "<tool_call>" in bad["choices"][0]["message"]["content"]
    assert "<tools>" in prompts[0] and '"name": "speakers"' in prompts[0]
    assert prompts[0].endswith("<|im_start|>assistant\n")


async def test_the_openai_reasoner_runs_its_tool_loop_on_this_server(
    moss_tiny, tokenizer_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    from agent.reasoning.openai_chat import OpenAIReasoner
    from agent.testing import ScriptedSession
    from tests.agent.scripts import meeting_script

    prompts: list[str] = []
    backend = _scripted(moss_tiny, tokenizer_dir, [
        '<tool_call>\n{"name": "speakers", "arguments": {}}\n</tool_call>',
        "Alice spoke most.",
    ], prompts)  # fmt: skip
    server = TestServer(MossChatServer(backend).create_app())
    async with TestClient(server):
        reasoner = OpenAIReasoner(base_url=str(server.make_url("/v1")))
        async with ScriptedSession(meeting_script(), reasoner=reasoner) as session:
            result = await session.ask("Who spoke the most?")
    assert result.answer.answer == "Alice spoke most."
    assert [call.name for call in result.answer.tool_calls] == ["speakers"]
    # The tool's result went back to the model as a <tool_response> in the second prompt.
    assert "<tool_response>" in prompts[1] and "Alice" in prompts[1]


# --- batching, in process --------------------------------------------------------------------


async def test_concurrent_requests_share_one_encoder_pass(
    moss_tiny, tokenizer_dir: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    model, processor = moss_tiny
    backend = MossBackend(
        model=model, processor=processor, tokenizer=tokenizer_dir, model_name="tiny"
    )
    rows: list[int] = []
    encode = model.encode_audio

    def counting(mel, lengths):  # type: ignore[no-untyped-def]
        rows.append(int(lengths.shape[0]))
        return encode(mel, lengths)

    monkeypatch.setattr(model, "encode_audio", counting)
    server = MossChatServer(backend, batch_wait=1.0)
    a, b = _wav_bytes(seed=1), _wav_bytes(seed=2, seconds=2.2)
    bodies = [_body(_data_url(a), q) for q in ("one?", "two?", "three?")] + [
        _body(_data_url(b), "four?")
    ]
    async with TestClient(TestServer(server.create_app())) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=x) for x in bodies)
        )
        answers = [await r.json() for r in responses]
    # Three questions on one clip plus one on another: one batch, each clip encoded once.
    assert server.generate_calls == 1 and rows == [2]
    # Each batched answer equals the same question asked alone.
    for body, answer in zip(bodies, answers, strict=True):
        chat = parse_chat_request(body)
        [[alone]] = backend.generate(
            [chat.audio], [[chat.question]], backend.generation_config(max_new_tokens=6)
        )
        assert answer["usage"]["completion_tokens"] == len(alone.token_ids)
        assert answer["choices"][0]["message"]["content"] == (alone.answer or "")


def test_serve_command_without_a_checkpoint_is_a_one_line_error() -> None:
    import os
    import subprocess

    from tests.perception.tiny_moss import MOSS_AGENT, REPO_ROOT

    env = {k: v for k, v in os.environ.items() if k != "MOSS_AUDIO_CHECKPOINT"}
    done = subprocess.run([*MOSS_AGENT, "serve", "--port", "0"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "MOSS_AUDIO_CHECKPOINT" in done.stderr and len(done.stderr.strip().splitlines()) == 1
