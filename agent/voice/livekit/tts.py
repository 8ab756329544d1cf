"""espeak-ng as a LiveKit ``tts.TTS``: the assistant's local voice, no server or download.

Non-streaming in LiveKit's sense (one request per text); ``AgentSession`` wraps it in a
sentence ``StreamAdapter`` so the first sentence plays while the rest is still written.
"""

from __future__ import annotations

import logging
import uuid

from livekit.agents import tts
from livekit.agents._exceptions import APIConnectionError
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from agent.voice.espeak import EspeakError, check_voice, synthesize_pcm
from agent.voice.reasoning_filter import strip_reasoning

logger = logging.getLogger(__name__)

# espeak-ng's native rate; the output track resamples if it needs another.
ESPEAK_SAMPLE_RATE = 22_050


class EspeakTTS(tts.TTS):
    """Speak text with espeak-ng (``voice`` is any ``espeak-ng --voices`` name)."""

    def __init__(
        self, *, voice: str = "en-us", words_per_minute: int = 175, pitch: int = 50
    ) -> None:
        check_voice(voice)  # fail at construction, with the fix in the message
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=ESPEAK_SAMPLE_RATE,
            num_channels=1,
        )
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.pitch = pitch

    @property
    def model(self) -> str:
        return f"espeak-ng:{self.voice}"

    @property
    def provider(self) -> str:
        return "espeak-ng"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> EspeakChunkedStream:
        return EspeakChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class EspeakChunkedStream(tts.ChunkedStream):
    _tts: EspeakTTS

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        text = strip_reasoning(self.input_text)
        output_emitter.initialize(
            request_id=uuid.uuid4().hex[:12],
            sample_rate=ESPEAK_SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
            frame_size_ms=50,
        )
        if not text.strip():
            # nothing speakable (e.g. only a reasoning block): a short silence, not an error
            output_emitter.push(b"\x00\x00" * (ESPEAK_SAMPLE_RATE // 100))
            return
        try:
            async for rate, pcm in synthesize_pcm(
                text,
                voice=self._tts.voice,
                words_per_minute=self._tts.words_per_minute,
                pitch=self._tts.pitch,
            ):
                if rate != ESPEAK_SAMPLE_RATE:
                    raise EspeakError(
                        f"espeak-ng produced {rate} Hz, expected {ESPEAK_SAMPLE_RATE}"
                    )
                output_emitter.push(pcm)
        except EspeakError as exc:
            raise APIConnectionError(str(exc), retryable=False) from exc
        output_emitter.flush()
