"""The terminal UI: browse recorded sessions, follow a live one, ask questions about it.

Everything on screen comes from memory queries (sessions, events, speakers) or from
events arriving on the bus; answers come from a reasoner. The widgets (``tui.widgets``)
render and report what the user chose; this app wires those choices to each other:
choosing a session opens it, a minute or a citation scrolls the transcript there.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.widgets import Footer, Header

from tools.clock import format_clock as clock
from tui.render import kind_of
from tui.view import BADGE_KINDS, ROW_KINDS, SessionView
from tui.widgets import AnswerPanel, SessionList, Timeline, TranscriptPane

log = logging.getLogger(__name__)

# An answer-producing callable: question and session id in, the reasoner's answer out.
Asker = Callable[[str, str], Awaitable[Any]]
# While recording, the session's entry (length, events) is redrawn at most this often.
SESSION_REFRESH_SECONDS = 0.5

__all__ = ["BADGE_KINDS", "ROW_KINDS", "Asker", "MossTUI", "SessionView"]


class MossTUI(App[None]):
    """Sessions and timeline on the left, the transcript in the middle, questions on the
    right; narrower terminals put the questions under the transcript, and below 100
    columns the left panels fold away (F2 / F3 bring them back, Escape folds them)."""

    CSS_PATH = "app.tcss"
    TITLE = "moss-agents"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (140, "-wide")]
    BINDINGS: ClassVar = [
        Binding("ctrl+q", "quit", "Quit"),
        Binding("f2", "show_panel('sessions')", "Sessions"),
        Binding("f3", "show_panel('timeline')", "Timeline"),
        Binding("f4", "focus('transcript')", "Transcript"),
        Binding("f5", "focus('question')", "Ask"),
        Binding("f6", "toggle_reasoning", "Reasoning"),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("escape", "fold_panels", "Fold", show=False),
    ]

    def __init__(
        self,
        memory: Any,
        *,
        session: str | None = None,
        asker: Asker | None = None,
        live: AsyncIterator[Any] | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.memory = memory
        self.initial_session = session
        self.asker = asker
        self.live = live
        self.on_start = on_start
        self.view: SessionView | None = None
        self._session_refresh_pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SessionList(id="sessions")
                yield Timeline(id="timeline")
            with Container(id="centre"):
                yield TranscriptPane(id="transcript")
                yield AnswerPanel(id="ask")
        yield Footer()

    @property
    def sessions(self) -> SessionList:
        return self.query_one(SessionList)

    @property
    def transcript(self) -> TranscriptPane:
        return self.query_one(TranscriptPane)

    @property
    def answer_panel(self) -> AnswerPanel:
        return self.query_one(AnswerPanel)

    @property
    def last_answer(self) -> Any:
        return self.answer_panel.answer

    def on_mount(self) -> None:
        self.refresh_sessions()
        chosen = self._initial_session()
        if chosen is not None:
            self.open_session(chosen)
        else:
            self.transcript.show_hint(waiting=self.live is not None)
        if self.live is not None:
            self.follow_live()
        if self.on_start is not None:
            self.on_start()

    def _initial_session(self) -> Any:
        if self.initial_session:
            found = self.memory.find_session(self.initial_session)
            if found is None:
                self.notify(f"no session called {self.initial_session!r}", severity="warning")
            return found
        return self.sessions.sessions[0] if self.sessions.sessions else None

    # --- sessions ---------------------------------------------------------------------

    def refresh_sessions(self) -> None:
        self.sessions.sessions = tuple(self.memory.list_sessions())
        if self.view is not None:
            self.sessions.current = self.view.id

    def open_session(self, session: Any) -> None:
        """Show ``session``: its events from memory, its minutes, its speaker names."""
        view = SessionView.load(self.memory, session)
        self.view = view
        self.sub_title = str(session.title)
        self.sessions.current = view.id
        self.transcript.view = view
        self.query_one(Timeline).view = view
        self.answer_panel.palette = view.palette
        self.answer_panel.answer = None

    @on(SessionList.Chosen)
    def _session_chosen(self, message: SessionList.Chosen) -> None:
        self.open_session(message.session)
        self.action_fold_panels()

    def action_reload(self) -> None:
        self.refresh_sessions()
        if self.view is not None:
            self.open_session(self.view.session)

    # --- panels -----------------------------------------------------------------------

    def action_show_panel(self, panel: str) -> None:
        """Focus the sessions or timeline panel, unfolding the left column when folded."""
        self.screen.add_class("-show-left")
        self.set_focus(self.query_one(f"#{panel}"))

    def action_fold_panels(self) -> None:
        if self.screen.has_class("-show-left"):
            self.screen.remove_class("-show-left")
            if self.screen.has_class("-narrow"):
                self.transcript.focus()

    # --- transcript and timeline ------------------------------------------------------

    @on(Timeline.MinuteChosen)
    def _minute_chosen(self, message: Timeline.MinuteChosen) -> None:
        self.show_minute(message.minute)
        self.action_fold_panels()  # on a narrow screen, show the transcript it scrolled

    def show_minute(self, minute: int) -> None:
        """Scroll the transcript to what was said during ``minute`` (0-based)."""
        if self.view is None:
            return
        if not self.transcript.show_minute(minute):
            self.notify(
                f"nothing was heard in minute {clock(minute * 60.0)}", severity="information"
            )

    def jump_to_row(self, index: int) -> None:
        self.transcript.jump_to_row(index)

    def jump_to_time(self, t: float) -> int | None:
        """Highlight the transcript row at ``t`` seconds; returns its index."""
        return self.transcript.jump_to_time(t)

    # --- questions --------------------------------------------------------------------

    @on(AnswerPanel.Asked)
    def _question_asked(self, message: AnswerPanel.Asked) -> None:
        if self.view is None:
            self.notify("choose a session first", severity="warning")
            return
        if self.asker is None:
            self.notify("no reasoner configured", severity="error")
            return
        self.answer_panel.thinking(message.question)
        self.ask(message.question)

    @work(exclusive=True, group="ask")
    async def ask(self, question: str) -> None:
        assert self.view is not None and self.asker is not None
        try:
            answer = await self.asker(question, self.view.id)
        except Exception as exc:  # the reasoner's failure is shown, the app keeps running
            log.exception("question failed")
            self.answer_panel.failed(exc)
            return
        self.show_answer(answer)

    def show_answer(self, answer: Any) -> None:
        """Render a reasoner's answer: text, citations to jump to, the reasoning trace."""
        self.answer_panel.answer = answer

    @on(AnswerPanel.CitationChosen)
    def _citation_chosen(self, message: AnswerPanel.CitationChosen) -> None:
        self.jump_to_time(float(message.citation.start))
        self.transcript.focus()

    def action_toggle_reasoning(self) -> None:
        self.answer_panel.toggle_reasoning()

    # --- live events ------------------------------------------------------------------

    @work(group="live")
    async def follow_live(self) -> None:
        assert self.live is not None
        async for event in self.live:
            self.receive_event(event)

    def receive_event(self, event: Any) -> None:
        """An event just heard: show it if it belongs to the shown session (or adopt one)."""
        session_id = str(getattr(event, "session_id", "") or "")
        if session_id and self.sessions.find(session_id) is None:
            self.refresh_sessions()
        if self.view is None and session_id:
            session = self.sessions.find(session_id)
            if session is not None:
                self.open_session(session)
                return
        view = self.view
        if view is None or session_id != view.id:
            return
        kind = kind_of(event)
        if kind in BADGE_KINDS:
            self.transcript.add_badge(event)
        elif kind in ROW_KINDS:
            self.transcript.append(event)
            self.query_one(Timeline).view = view
        self._refresh_session_soon()

    def _refresh_session_soon(self) -> None:
        """The session's entry (length, event count) follows the recording, redrawn at
        most every ``SESSION_REFRESH_SECONDS`` however fast events arrive."""
        if self._session_refresh_pending:
            return
        self._session_refresh_pending = True

        def refresh() -> None:
            self._session_refresh_pending = False
            self.refresh_sessions()

        self.set_timer(SESSION_REFRESH_SECONDS, refresh)
