"""The list of recorded sessions: title, length, events and backend of each."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tools.clock import format_clock as clock

EMPTY_HINT = "No sessions yet. Record one:\nmoss-agent record FILE"


class SessionList(OptionList):
    """Sessions, newest first; choosing one posts ``SessionList.Chosen``."""

    sessions: reactive[tuple[Any, ...]] = reactive((), always_update=True, init=False)
    current: reactive[str | None] = reactive(None, init=False)

    class Chosen(Message):
        def __init__(self, session: Any) -> None:
            super().__init__()
            self.session = session

    def on_mount(self) -> None:
        self.border_title = "Sessions"

    def watch_sessions(self, sessions: tuple[Any, ...]) -> None:
        if not sessions:
            self.set_options([Option(Text(EMPTY_HINT, style="dim"), disabled=True)])
            return
        self.set_options([Option(session_prompt(s), id=str(s.id)) for s in sessions])
        self.watch_current(self.current)

    def watch_current(self, session_id: str | None) -> None:
        for i, s in enumerate(self.sessions):
            if str(s.id) == session_id:
                self.highlighted = i
                return

    def find(self, session_id: str) -> Any:
        return next((s for s in self.sessions if str(s.id) == session_id), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.sessions:
            self.post_message(self.Chosen(self.sessions[event.option_index]))


def session_prompt(session: Any) -> Text:
    prompt = Text(str(session.title), style="bold")
    duration = getattr(session, "duration", None) or 0.0
    count = getattr(session, "event_count", None)
    details = f"\n{clock(duration)}"
    if count is not None:
        details += f" · {count} events"
    backend = getattr(session, "backend", None)
    if backend:
        details += f" · {backend}"
    prompt.append(details, style="dim")
    return prompt


__all__ = ["EMPTY_HINT", "SessionList", "session_prompt"]
