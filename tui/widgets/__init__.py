"""The screen's parts, one module each: the session list, the minute timeline, the
transcript and the question-and-answer panel. Each renders what it is given (reactive
state) and tells the app what the user chose (messages); none queries memory itself."""

from tui.widgets.answer import AnswerPanel
from tui.widgets.sessions import SessionList
from tui.widgets.timeline import Timeline
from tui.widgets.transcript import TranscriptPane

__all__ = ["AnswerPanel", "SessionList", "Timeline", "TranscriptPane"]
