"""Where speech starts and ends: one state machine over per-frame voice flags.

Every caller that turns 30 ms voice flags (``perception.vad``) into "the user started /
stopped talking" uses this, so turn-taking, barge-in and streaming transcripts agree on
what an utterance is.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from perception.vad import FRAME_SECONDS

__all__ = ["Endpointer", "EndpointChange", "frames_for"]

EndpointChange = Literal["start", "end"]


def frames_for(seconds: float) -> int:
    """Whole 30 ms frames that make at least ``seconds`` (0.45 s -> 15 frames)."""
    return max(1, math.ceil(seconds / FRAME_SECONDS - 1e-9))


class Endpointer:
    """Speech starts when ``start_after`` seconds of the recent frames are voiced and ends
    after ``end_after`` seconds of consecutive unvoiced frames.

    ``start_slack_frames`` lets a start tolerate a few unvoiced frames among the voiced
    ones (webrtcvad drops single frames inside words); 0 asks for consecutive speech.
    """

    def __init__(self, start_after: float, end_after: float, start_slack_frames: int = 0) -> None:
        if start_after <= 0 or end_after <= 0 or start_slack_frames < 0:
            raise ValueError("start_after and end_after must be > 0, start_slack_frames >= 0")
        self.start_frames = frames_for(start_after)
        self.end_frames = frames_for(end_after)
        self._recent: deque[bool] = deque(maxlen=self.start_frames + start_slack_frames)
        self.speaking = False
        self.speech_run = 0  # consecutive voiced frames up to now
        self.silence_run = 0  # consecutive unvoiced frames up to now
        self.frames_seen = 0

    def push(self, is_speech: bool) -> EndpointChange | None:
        """Take the next frame's flag; say whether speech started or ended with it."""
        self.frames_seen += 1
        self._recent.append(is_speech)
        if is_speech:
            self.speech_run += 1
            self.silence_run = 0
        else:
            self.silence_run += 1
            self.speech_run = 0
        if not self.speaking and sum(self._recent) >= self.start_frames:
            self.speaking = True
            return "start"
        if self.speaking and self.silence_run >= self.end_frames:
            self.speaking = False
            return "end"
        return None

    def reset(self) -> None:
        """Forget everything but the frame count (a flushed stream starts a new utterance)."""
        self._recent.clear()
        self.speaking = False
        self.speech_run = self.silence_run = 0

    @property
    def speech_seconds(self) -> float:
        return self.speech_run * FRAME_SECONDS

    @property
    def silence_seconds(self) -> float:
        return self.silence_run * FRAME_SECONDS
