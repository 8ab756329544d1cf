"""The transcript: one row per line said, sound or music, in time order, with speaker
colours and emotion badges; follows the tail of a live session unless the user scrolled up."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tools.clock import format_clock as clock
from tools.clock import format_span as span
from tui.render import kind_of, transcript_row
from tui.view import SessionView
from tui.widgets.hanging_row import HangingRow

TITLE = "Transcript"
# Speaker labels are right-aligned in this many cells (see ``tui.render.transcript_row``).
LABEL_CELLS = 8
EMPTY_HINT = (
    "Nothing recorded yet.\n"
    "Record a file into memory:   moss-agent record FILE\n"
    "or record and watch it here: moss-agent tui --record FILE"
)
WAITING_HINT = "Waiting for the first events of the live session…"


class TranscriptPane(OptionList):
    """The rows of ``view``; ``append`` adds a live event in place."""

    view: reactive[SessionView | None] = reactive(None, always_update=True, init=False)

    def on_mount(self) -> None:
        self.border_title = TITLE

    def watch_view(self, view: SessionView | None) -> None:
        if view is None:
            self.clear_options()
            return
        self.set_options([self.row_prompt(r) for r in view.rows])
        self.border_title = f"{TITLE} · {view.session.title}"
        self.border_subtitle = f"{len(view.rows)} lines"

    def show_hint(self, waiting: bool) -> None:
        """With no session to show: how to record one (or that one is on its way)."""
        self.set_options(
            [Option(Text(WAITING_HINT if waiting else EMPTY_HINT, style="dim"), disabled=True)]
        )

    def row_prompt(self, row: Any) -> HangingRow:
        assert self.view is not None
        text = transcript_row(row, self.view.palette, emotions=self.view.emotions_for(row))
        return HangingRow.of(text, head=len(clock(row.start)) + 1 + LABEL_CELLS + 1)

    # --- live rows ----------------------------------------------------------------------

    def append(self, event: Any) -> None:
        """Add an event just heard; the same event twice (overlap, replay) is shown once."""
        view = self.view
        assert view is not None
        if view.has_row(event):
            return
        at_end = self.highlighted is None or self.highlighted >= len(view.rows) - 1
        if view.rows and event.start < view.rows[-1].start:
            view.rows.append(event)
            view.rows.sort(key=lambda e: (e.start, e.end))
            self.view = view
        else:
            view.rows.append(event)
            self.add_option(self.row_prompt(event))
            self.border_subtitle = f"{len(view.rows)} lines · live"
        if at_end:  # follow the tail unless the user is reading further up
            self.highlighted = len(view.rows) - 1
            self.scroll_to_highlight()

    def add_badge(self, voice: Any) -> None:
        """A voice event: redraw the rows it overlaps with their emotion badges."""
        assert self.view is not None
        self.view.voices.append(voice)
        for i, row in enumerate(self.view.rows):
            if row.start < voice.end and row.end > voice.start and kind_of(row) == "transcript":
                self.replace_option_prompt_at_index(i, self.row_prompt(row))

    # --- moving -------------------------------------------------------------------------

    def jump_to_row(self, index: int) -> None:
        self.highlighted = index
        self.scroll_to_highlight(top=True)

    def jump_to_time(self, t: float) -> int | None:
        """Highlight the row at ``t`` seconds; returns its index."""
        index = self.view.row_index_at(t) if self.view is not None else None
        if index is not None:
            self.jump_to_row(index)
        return index

    def show_minute(self, minute: int) -> int:
        """Scroll to what was said during ``minute`` (0-based); returns how many rows it holds."""
        if self.view is None:
            return 0
        inside = self.view.rows_in_minute(minute)
        start = minute * 60.0
        self.border_subtitle = f"minute {span(start, start + 60.0)} · {len(inside)} lines"
        if inside:
            self.jump_to_row(inside[0])
        return len(inside)


__all__ = ["EMPTY_HINT", "TranscriptPane"]
