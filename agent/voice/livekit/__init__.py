"""LiveKit Agents adapters: our perception as STT, our reasoners as an LLM, espeak-ng as TTS.

``VoiceAssistant`` (``agent.voice.livekit.assistant``) assembles them into one ``AgentSession``
per call; every event of the call goes into memory and onto the bus. The modules import
livekit-agents, so import them directly (``from agent.voice.livekit.stt import PerceptionSTT``).
"""
