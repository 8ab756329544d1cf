"""The session by minute: a bar as long as the talk in it, who spoke, what was heard.
Choosing a minute scrolls the transcript there (it does not filter it)."""

from __future__ import annotations

from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.render import minute_row
from tui.view import SessionView

TITLE = "Timeline (minutes)"
HINT = "Enter: scroll to minute"


class Timeline(OptionList):
    """One row per minute of the shown session; choosing one posts ``MinuteChosen``."""

    view: reactive[SessionView | None] = reactive(None, always_update=True, init=False)

    class MinuteChosen(Message):
        def __init__(self, minute: int) -> None:
            super().__init__()
            self.minute = minute

    _shown: str | None = None

    def on_mount(self) -> None:
        self.border_title = TITLE
        self.border_subtitle = HINT

    def watch_view(self, view: SessionView | None) -> None:
        """Draw the minutes again (a new session, or new events of the shown one)."""
        if view is None:
            self.clear_options()
            return
        minutes = view.minutes()
        widest = max((m.lines for m in minutes), default=0)
        # the same session again (live events) keeps the user's place; a new one starts at 0
        highlighted = self.highlighted if view.id == self._shown else None
        self._shown = view.id
        self.set_options(
            [
                Option(
                    minute_row(m.index, m.lines, m.speakers, m.sounds, view.palette, widest),
                    id=f"minute-{m.index}",
                )
                for m in minutes
            ]
        )
        self.highlighted = (
            highlighted if highlighted is not None and highlighted < len(minutes) else 0
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.MinuteChosen(event.option_index))


__all__ = ["Timeline"]
