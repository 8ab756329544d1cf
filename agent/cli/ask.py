"""``moss-agent ask SESSION "question"``: answer a question about a recorded session."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from agent.cli.options import add_backend_option, add_db_option, add_reasoner_option

if TYPE_CHECKING:
    from agent.reasoning.answer import Answer

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


def register(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    """Add ``ask`` to ``sub`` (no heavy imports here: ``--help`` must stay instant)."""
    ask = sub.add_parser(
        "ask",
        help="ask a question about a recorded session",
        description="Answer a question about a session from memory, with the reasoning steps, "
        "the tool calls made and the moments of the audio the answer rests on.",
    )
    ask.add_argument("session", metavar="SESSION", help="session id, id prefix or title")
    ask.add_argument(
        "question",
        metavar="QUESTION",
        help='e.g. "who spoke most?" or "what was said at minute 12?"',
    )
    add_db_option(ask)
    add_reasoner_option(
        ask,
        help="rules: deterministic, CPU (default); openai: an OpenAI-compatible server; "
        "moss: the local MOSS-Audio model",
    )  # fmt: skip
    ask.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (answer, reasoning, tool_calls, citations)",
    )
    ask.add_argument(
        "--base-url", default=os.environ.get("MOSS_AGENTS_BASE_URL", DEFAULT_BASE_URL),
        help=f"OpenAI-compatible endpoint for --reasoner openai (default: $MOSS_AGENTS_BASE_URL or {DEFAULT_BASE_URL})",
    )  # fmt: skip
    ask.add_argument(
        "--model", help="model name for --reasoner openai (default: the server's first model)"
    )
    ask.add_argument("--checkpoint", help="MOSS-Audio checkpoint directory for --reasoner moss")
    ask.add_argument(
        "--max-steps",
        type=int,
        default=6,
        help="tool-call rounds before the model must answer (default 6)",
    )
    add_backend_option(
        ask, help="perception backend for re-listening to archived audio", default=None
    )
    ask.add_argument(
        "--no-record", action="store_true", help="do not store the question and answer in memory"
    )
    follow = ask.add_mutually_exclusive_group()
    follow.add_argument(
        "--follow-up", action="store_true",
        help='continue the conversation of the last question asked about this session ("why was it moved?")',
    )  # fmt: skip
    follow.add_argument(
        "--conversation", metavar="ID",
        help="continue conversation ID (printed with each answer), or start one with that id",
    )  # fmt: skip
    ask.set_defaults(func=run_ask)


def run_ask(args: argparse.Namespace) -> int:
    import asyncio

    from agent.cli.errors import UsageError
    from agent.reasoning.ask import ask
    from agent.reasoning.reasoner import ReasonerError
    from agent.reasoning.registry import get_reasoner
    from memory import open_memory

    if not args.question.strip():
        raise UsageError("the question is empty")
    if args.conversation is not None and not re.fullmatch(r"[0-9a-f]{6,32}", args.conversation):
        raise UsageError(
            "--conversation takes the id printed with an earlier answer (6-32 hex digits)"
        )
    if args.max_steps < 1:
        raise UsageError("--max-steps must be at least 1")
    memory = open_memory(args.db)
    with memory:
        info = memory.find_session(args.session)
        if info is None:
            raise UsageError(f"no session {args.session!r}; `moss-agent sessions` lists them")
        options: dict[str, Any] = {}
        if args.reasoner == "openai":
            options = {"base_url": args.base_url, "model": args.model, "max_steps": args.max_steps}
        elif args.reasoner == "moss":
            options = {"checkpoint": args.checkpoint, "max_steps": args.max_steps}
        backend = _backend(args.backend) if args.backend else None
        if args.reasoner == "rules":
            from tools import builtin_registry

            # One question per process, nothing else on the event loop: the memory reads
            # run inline, which saves a thread hop per tool call (see docs/BENCHMARKS.md).
            options["registry"] = builtin_registry(sync_in_thread=False)
        reasoner = get_reasoner(args.reasoner, **options)

        async def run() -> Answer:
            async with reasoner:
                conversation = "latest" if args.follow_up else args.conversation
                return await ask(
                    memory, info.id, args.question, reasoner, backend=backend, record=not args.no_record,
                    conversation=conversation or "new",
                )  # fmt: skip

        try:
            answer = asyncio.run(run())
        except ReasonerError as exc:
            sys.stderr.write(f"moss-agent ask: {exc}\n")
            return 1
        finally:
            if backend is not None:
                backend.close()
    sys.stdout.write(
        json.dumps(answer.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
        if args.json
        else readable(answer)
    )
    return 0


def _backend(name: str):
    from agent.cli.errors import UsageError
    from perception.backend import BackendUnavailableError
    from perception.backends import get_backend

    try:
        return get_backend(name)
    except (ValueError, BackendUnavailableError) as exc:
        raise UsageError(str(exc)) from exc


def readable(answer: Answer) -> str:
    """The answer for a terminal: the text, then its sources, steps and tool calls."""
    from tools.clock import format_span

    lines = [answer.answer.rstrip(), ""]
    if answer.conversation:
        lines += [f"Conversation {answer.conversation} (ask --follow-up to continue it).", ""]
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            who = f"{c.speaker}: " if c.speaker and c.kind != "speaker" else ""
            what = f'"{c.text}"' if c.text else (c.label or "")
            lines.append(f"  [{format_span(c.start, c.end)}] {c.kind:<10} {who}{what}")
        lines.append("")
    if answer.reasoning:
        lines.append("Reasoning:")
        lines += [f"  {i}. {step}" for i, step in enumerate(answer.reasoning, 1)]
        lines.append("")
    if answer.tool_calls:
        lines.append("Tool calls:")
        for call in answer.tool_calls:
            arguments = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
            lines.append(f"  {call.name}({arguments}) -> {call.error or call.result_summary}")
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["readable", "register", "run_ask"]
