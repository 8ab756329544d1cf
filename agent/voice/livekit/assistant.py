"""The voice assistant assembled from our adapters: one ``AgentSession`` per call.

``VoiceAssistant`` holds what calls share (the perception backend and its models, memory,
the bus, the reasoner, the voice); ``start_call`` builds one call's session: our STT,
reasoner-LLM, espeak-ng TTS and webrtcvad VAD, a memory session that records every event
and every answered question, and the bus carrying the same events. Calls work the same
with any audio I/O: a LiveKit room (``examples/voice_assistant.py``), the local WebRTC
page (``agent/voice/browser``) or the custom I/O of the tests.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from livekit import rtc
from livekit.agents import Agent, AgentSession, ModelSettings

from agent.voice.livekit.llm import ReasonerLLM, SpokenAnswer
from agent.voice.livekit.stt import PerceptionSTT
from agent.voice.livekit.tools import ToolResultMemo, livekit_tools
from agent.voice.livekit.tts import EspeakTTS
from agent.voice.livekit.vad import WebRTCVAD
from agent.voice.quick_transcript import QuickTranscriber
from agent.voice.reasoning_filter import strip_reasoning_stream
from perception.backend import SAMPLE_RATE
from perception.events import Event, event_to_json
from tools.context import ToolContext

if TYPE_CHECKING:
    from agent.bus.in_process import EventBus
    from agent.reasoning.reasoner import Reasoner
    from memory import Memory
    from perception.backend import PerceptionBackend

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You are a voice assistant that listens to the whole call. Answer questions about what "
    "was said and heard earlier in the call, briefly, citing times."
)
# Longest a reply waits for perception to catch up with the question (then answers anyway).
MEMORY_WAIT_SECONDS = 10.0
# Archive the call's audio to memory in pieces of this many seconds (for re-listening).
ARCHIVE_SECONDS = 10.0

MessageSink = Callable[[dict[str, Any]], Awaitable[None] | None]


class MossVoiceAgent(Agent):
    """Our agent: reasoning is filtered out of what is spoken whatever the LLM."""

    async def tts_node(
        self, text: AsyncIterable[str], model_settings: ModelSettings
    ) -> AsyncIterable[rtc.AudioFrame]:
        async for frame in Agent.default.tts_node(
            self, strip_reasoning_stream(text), model_settings
        ):
            yield frame


class _AudioArchiver:
    """Collects the call's 16 kHz audio on the perception thread and archives it in pieces."""

    def __init__(self, memory: Memory, session_id: str) -> None:
        self.memory = memory
        self.session_id = session_id
        self._start = 0.0
        self._pieces: list[np.ndarray] = []
        self._lock = threading.Lock()

    def add(self, start: float, samples: np.ndarray) -> None:
        with self._lock:
            if not self._pieces:
                self._start = start
            self._pieces.append(samples)
            if sum(len(p) for p in self._pieces) >= ARCHIVE_SECONDS * SAMPLE_RATE:
                self._write_locked()

    def flush(self) -> None:
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        if not self._pieces:
            return
        audio = np.concatenate(self._pieces)
        self._pieces = []
        try:
            self.memory.archive_audio(self.session_id, self._start, audio)
        except Exception:  # re-listening degrades; the call goes on
            logger.exception("could not archive %.1f s of call audio", len(audio) / SAMPLE_RATE)


@dataclass
class CallRecord:
    """One call's memory session and what happened in it (also handy for tests)."""

    session_id: str
    stt: PerceptionSTT
    llm: ReasonerLLM
    archiver: _AudioArchiver
    tools: list[Any]  # LiveKit function tools bound to this call's memory session
    events: list[Event] = field(default_factory=list)
    answers: list[SpokenAnswer] = field(default_factory=list)
    sinks: list[MessageSink] = field(default_factory=list)

    async def send(self, message: dict[str, Any]) -> None:
        for sink in list(self.sinks):
            try:
                result = sink(message)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("a message sink of call %s failed", self.session_id)


class VoiceAssistant:
    """What every call shares; ``start_call`` makes one call's ``AgentSession``."""

    def __init__(
        self,
        backend: PerceptionBackend,
        memory: Memory,
        reasoner: Reasoner,
        *,
        bus: EventBus | None = None,
        voice: str = "en-us",
        words_per_minute: int = 175,
        instructions: str = INSTRUCTIONS,
        interim_transcripts: bool = False,
        quick_transcripts: bool = False,
    ) -> None:
        self.backend = backend
        self.memory = memory
        self.reasoner = reasoner
        self.bus = bus
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.instructions = instructions
        self.tts = EspeakTTS(voice=voice, words_per_minute=words_per_minute)
        # Whisper on the utterance so far (interim results) and/or on each finished utterance
        # (quick finals, no speaker id). Both cost reply latency on a small CPU (measured in
        # docs/BENCHMARKS.md), so both are off by default.
        self.quick: QuickTranscriber | None = None
        self.quick_finals = quick_transcripts
        if (interim_transcripts or quick_transcripts) and backend.name == "lite":
            self.quick = QuickTranscriber(language=getattr(backend, "language", "en"))

    async def new_call(
        self, title: str | None = None, source: str = "voice", session_id: str | None = None
    ) -> CallRecord:
        """A memory session (``session_id``: its id, default a fresh one) plus the per-call
        STT and LLM (not started yet)."""
        started = datetime.now(UTC)
        info = await asyncio.to_thread(
            self.memory.create_session,
            title or f"voice call {started:%Y-%m-%d %H:%M:%S}",
            source=source,
            started_at=started,
            backend=self.backend.name,
            model=self.backend.model,
            session_id=session_id,
        )
        context = ToolContext(
            memory=self.memory, session_id=info.id, backend=self.backend, bus=self.bus
        )
        memo = ToolResultMemo()
        stt = PerceptionSTT(
            self.backend, session_id=info.id, quick=self.quick, quick_finals=self.quick_finals
        )
        llm_ = ReasonerLLM(
            self.reasoner, context, memo=memo,
            # memory must hold everything heard before the question before it is answered
            before_answer=lambda: stt.wait_analysed(stt.last_final_start, timeout=MEMORY_WAIT_SECONDS),
        )  # fmt: skip
        record = CallRecord(
            session_id=info.id, stt=stt, llm=llm_,
            archiver=_AudioArchiver(self.memory, info.id),
            tools=livekit_tools(self.reasoner.registry, context, memo),
        )  # fmt: skip
        stt.on_audio = record.archiver.add
        stt.on_events = lambda events: self._on_events(record, events)
        llm_.on_answer = lambda answer: self._on_answer(record, answer)
        return record

    def make_session(
        self, record: CallRecord, *, close_transcript_timeout: float = 2.0
    ) -> tuple[AgentSession, MossVoiceAgent]:
        """The call's ``AgentSession`` and agent; ``close_transcript_timeout`` is how long
        closing waits for the last words' transcript."""
        session: AgentSession = AgentSession(
            stt=record.stt,
            vad=WebRTCVAD(),
            llm=record.llm,
            tts=self.tts,
            turn_handling={
                "turn_detection": "stt",
                "endpointing": {"min_delay": 0.3, "max_delay": 3.0},
                "interruption": {
                    "mode": "vad",
                    "min_duration": 0.4,
                    "resume_false_interruption": False,
                },
                "preemptive_generation": {"enabled": False},
            },
            user_away_timeout=None,
            max_tool_steps=2,
            session_close_transcript_timeout=close_transcript_timeout,
        )
        agent = MossVoiceAgent(instructions=self.instructions, tools=record.tools)
        _forward_session_events(session, record)
        return session, agent

    async def end_call(self, record: CallRecord) -> None:
        """Flush the audio archive and store the call's length."""
        await asyncio.to_thread(record.archiver.flush)
        seconds = record.stt.perceiver.seconds_received
        await asyncio.to_thread(self.memory.set_duration, record.session_id, seconds)
        await record.stt.aclose()

    async def _on_events(self, record: CallRecord, events: list[Event]) -> None:
        # memory first: the reasoner must see the question's own transcript
        await asyncio.to_thread(self.memory.ingest, record.session_id, events)
        record.events.extend(events)
        if self.bus is not None:
            for event in events:
                await self.bus.publish_event(event)
        for event in events:
            if event.kind != "transcript":
                await record.send({"type": "event", "event": _event_dict(event)})

    async def _on_answer(self, record: CallRecord, answer: SpokenAnswer) -> None:
        from agent.reasoning.ask import record_turn
        from agent.reasoning.conversation import question_spans

        record.answers.append(answer)
        await record.send(answer.to_message())
        # A question said aloud was said to the assistant, not in the meeting: later answers
        # leave its transcript out of search, time ranges and speaker statistics.
        asked_at = record.stt.last_final_start
        heard = await asyncio.to_thread(
            question_spans, self.memory, record.session_id, answer.question, asked_at
        )
        record.llm.context.extras.setdefault("addressed_spans", []).extend(heard)
        raw = answer.raw
        if raw is not None and hasattr(raw, "to_json_dict"):
            when = asked_at if heard else record.stt.perceiver.seconds_received
            await asyncio.to_thread(
                record_turn, self.memory, record.session_id, answer.question, raw, when
            )


def _event_dict(event: Event) -> dict[str, Any]:
    import json

    return json.loads(event_to_json(event))


def _forward_session_events(session: AgentSession, record: CallRecord) -> None:
    """LiveKit session events -> the call's message sinks (the page's data channel)."""

    def later(message: dict[str, Any]) -> None:
        asyncio.get_running_loop().create_task(record.send(message))

    @session.on("user_input_transcribed")
    def _transcribed(ev: Any) -> None:
        later(
            {
                "type": "transcript",
                "text": ev.transcript,
                "final": ev.is_final,
                "speaker": ev.speaker_id,
            }
        )

    @session.on("agent_state_changed")
    def _agent_state(ev: Any) -> None:
        later({"type": "state", "agent": ev.new_state})

    @session.on("function_tools_executed")
    def _tools(ev: Any) -> None:
        calls = [{"name": c.name, "arguments": c.arguments} for c in ev.function_calls]
        later({"type": "tool_calls", "calls": calls})
