"""What checking a chat-completions body costs in ``moss-agent serve``, beside decoding it.

For three bodies (a 30 s 16 kHz question, a 120 s 48 kHz stereo question, an agent's
tool-loop chat of 40 messages with 10 tools), the median time of each step of
``parse_chat_request``: the bounded JSON load (size, container count, depth), the
pydantic validation (``validate_body``), and the whole parse with audio decoding.

    .venv/bin/python benchmarks/serve_requests.py [--reps 15]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from perception.server.requests import load_json_body, parse_chat_request, validate_body  # noqa: E402


def _question(seconds: float, rate: int, channels: int) -> bytes:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    url = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()
    content = [
        {"type": "audio_url", "audio_url": {"url": url}},
        {"type": "text", "text": "What is said?"},
    ]
    return json.dumps(
        {"messages": [{"role": "user", "content": content}], "max_tokens": 256}
    ).encode()


def _tool_loop() -> bytes:
    tools = [
        {
            "type": "function",
            "function": {
                "name": f"tool_{i}",
                "description": "Look something up in memory.",
                "parameters": {
                    "type": "object",
                    "properties": {"query": {"type": "string"}, "minutes": {"type": "number"}},
                    "required": ["query"],
                },
            },
        }
        for i in range(10)
    ]
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You answer about a meeting."}]
    for i in range(13):
        messages.append(
            {"role": "user", "content": f"Question {i}: who said what about the budget?"}
        )
        call = {
            "id": f"c{i}",
            "type": "function",
            "function": {"name": "tool_1", "arguments": '{"query": "x"}'},
        }
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append(
            {"role": "tool", "tool_call_id": f"c{i}", "content": "[00:12] S1: the budget " * 20}
        )
    return json.dumps({"messages": messages, "tools": tools, "max_tokens": 128}).encode()


def _median_ms(step: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    bodies = {
        "30 s 16 kHz mono question": _question(30, 16000, 1),
        "120 s 48 kHz stereo question": _question(120, 48000, 2),
        "tool-loop chat, 40 messages, 10 tools": _tool_loop(),
    }
    print("| body | size | JSON load (ms) | validation (µs) | whole parse incl. decode (ms) |")
    print("|---|---|---|---|---|")
    for name, raw in bodies.items():
        value = load_json_body(raw)
        load = _median_ms(lambda raw=raw: load_json_body(raw), args.reps)
        check = _median_ms(lambda value=value: validate_body(value), args.reps)
        whole = _median_ms(
            lambda raw=raw: parse_chat_request(load_json_body(raw), max_seconds=121.0), args.reps
        )
        print(
            f"| {name} | {len(raw) / 2**20:.1f} MiB | {load:.2f} | {1000 * check:.0f} | {whole:.1f} |"
        )


if __name__ == "__main__":
    main()
