"""Voice apps: LiveKit Agents adapters (``livekit``), the browser endpoint (``browser``), TTS.

The modules import livekit-agents or aiortc, so import them directly.
"""
