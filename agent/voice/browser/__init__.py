"""A local WebRTC endpoint for the voice assistant: a browser page, no LiveKit server.

``moss-agent serve --webrtc`` serves a page that sends the microphone over WebRTC (aiortc
on this side), shows the live transcript, events and answers on a data channel, and
plays the spoken answer on an audio track. Each connection is its own call.
"""
