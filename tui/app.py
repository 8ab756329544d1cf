"""The terminal UI: browse recorded sessions, follow a live one, ask questions about it.

Everything on screen comes from memory queries (sessions, events, speakers) or from
events arriving on the bus; answers come from a reasoner. The app only lays them out
and moves the cursor: choosing a minute or a citation jumps the transcript there.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Collapsible, Footer, Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from tools.clock import format_clock as clock
from tools.clock import format_span as span
from tui.render import SpeakerPalette, kind_of, minute_row, transcript_row

log = logging.getLogger(__name__)

# Kinds shown as transcript rows; voice events become emotion badges on those rows and
# speaker turns are already visible as the speaker of each line.
ROW_KINDS = ("transcript", "sound", "music")
BADGE_KINDS = ("voice",)

# An answer-producing callable: question and session id in, the reasoner's answer out.
Asker = Callable[[str, str], Awaitable[Any]]


@dataclass
class SessionView:
    """What the screen currently shows of one session: rows in time order plus badges."""

    session: Any
    rows: list[Any] = field(default_factory=list)
    voices: list[Any] = field(default_factory=list)
    palette: SpeakerPalette = field(default_factory=SpeakerPalette)

    @property
    def id(self) -> str:
        return str(self.session.id)

    def starts(self) -> list[float]:
        return [r.start for r in self.rows]

    def emotions_for(self, row: Any) -> list[str]:
        if kind_of(row) != "transcript":
            return []
        found: list[str] = []
        for voice in self.voices:
            emotion = getattr(voice, "emotion", None)
            same_voice = voice.speaker is None or row.speaker is None or voice.speaker == row.speaker
            overlaps = voice.start < row.end and voice.end > row.start
            if emotion and same_voice and overlaps and emotion not in found:
                found.append(str(emotion))
        return found

    def row_index_at(self, t: float) -> int | None:
        """The row being said at ``t``, else the nearest one starting after (or the last)."""
        if not self.rows:
            return None
        for i, row in enumerate(self.rows):
            if row.start <= t < max(row.end, row.start + 0.01):
                return i
        i = bisect.bisect_left(self.starts(), t)
        return min(i, len(self.rows) - 1)


class MossTUI(App[None]):
    """Sessions on the left, the transcript in the middle, questions on the right."""

    CSS_PATH = "app.tcss"
    TITLE = "moss-agents"
    BINDINGS: ClassVar = [
        Binding("ctrl+q", "quit", "Quit"),
        Binding("f2", "focus('sessions')", "Sessions"),
        Binding("f3", "focus('timeline')", "Timeline"),
        Binding("f4", "focus('transcript')", "Transcript"),
        Binding("f5", "focus('question')", "Ask"),
        Binding("f6", "toggle_reasoning", "Reasoning"),
        Binding("ctrl+r", "reload", "Reload"),
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
        self.last_answer: Any = None
        self._sessions: list[Any] = []
        self._citations: list[Any] = []

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield OptionList(id="sessions")
                yield OptionList(id="timeline")
            yield OptionList(id="transcript")
            with Vertical(id="ask"):
                yield Input(placeholder="Ask about this session…", id="question")
                with VerticalScroll(id="answer-box"):
                    yield Static("", id="answer")
                    yield OptionList(id="citations")
                    with Collapsible(title="Reasoning", collapsed=True, id="reasoning"):
                        yield Static("", id="trace")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sessions", OptionList).border_title = "Sessions"
        self.query_one("#timeline", OptionList).border_title = "Timeline (minutes)"
        self.query_one("#transcript", OptionList).border_title = "Transcript"
        self.query_one("#answer-box").border_title = "Answer"
        self.query_one("#citations", OptionList).display = False
        self.query_one("#reasoning", Collapsible).display = False
        self.refresh_sessions()
        chosen = self._initial_session()
        if chosen is not None:
            self.open_session(chosen)
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
        return self._sessions[0] if self._sessions else None

    # --- sessions ---------------------------------------------------------------------

    def refresh_sessions(self) -> None:
        self._sessions = list(self.memory.list_sessions())
        options = [Option(self._session_prompt(s), id=str(s.id)) for s in self._sessions]
        sessions = self.query_one("#sessions", OptionList)
        sessions.set_options(options)
        if self.view is not None:
            self._highlight_session(self.view.id)

    @staticmethod
    def _session_prompt(session: Any) -> Text:
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

    def _highlight_session(self, session_id: str) -> None:
        sessions = self.query_one("#sessions", OptionList)
        for i, s in enumerate(self._sessions):
            if str(s.id) == session_id:
                sessions.highlighted = i
                return

    @on(OptionList.OptionSelected, "#sessions")
    def _session_chosen(self, event: OptionList.OptionSelected) -> None:
        session = self._sessions[event.option_index]
        self.open_session(session)

    def open_session(self, session: Any) -> None:
        """Show ``session``: its events from memory, its minutes, its speaker names."""
        names = self._speaker_names(session.id)
        view = SessionView(session=session, palette=SpeakerPalette(names))
        events = self.memory.session_events(session.id, kinds=[*ROW_KINDS, *BADGE_KINDS])
        for event in events:
            (view.voices if kind_of(event) in BADGE_KINDS else view.rows).append(event)
        view.rows.sort(key=lambda e: (e.start, e.end))
        self.view = view
        self.sub_title = str(session.title)
        self._highlight_session(view.id)
        self._render_transcript()
        self._render_timeline()
        self._clear_answer()

    def _speaker_names(self, session_id: str) -> dict[str, str]:
        """Display names given to speaker ids (``moss-agent speakers --rename``)."""
        names = self.memory.speaker_names(session_id)
        return {sid: name for sid, name in names.items() if name and name != sid}

    def action_reload(self) -> None:
        self.refresh_sessions()
        if self.view is not None:
            self.open_session(self.view.session)

    # --- transcript and timeline ------------------------------------------------------

    def _render_transcript(self) -> None:
        transcript = self.query_one("#transcript", OptionList)
        view = self.view
        if view is None:
            transcript.clear_options()
            return
        transcript.set_options([self._row_prompt(r) for r in view.rows])
        transcript.border_title = f"Transcript · {view.session.title}"
        transcript.border_subtitle = f"{len(view.rows)} lines"

    def _row_prompt(self, row: Any) -> Text:
        assert self.view is not None
        return transcript_row(row, self.view.palette, emotions=self.view.emotions_for(row))

    def _render_timeline(self) -> None:
        timeline = self.query_one("#timeline", OptionList)
        view = self.view
        if view is None:
            timeline.clear_options()
            return
        minutes = self._minutes(view)
        widest = max((m[1] for m in minutes), default=0)
        timeline.set_options(
            [
                Option(minute_row(m, lines, speakers, sounds, view.palette, widest), id=f"minute-{m}")
                for m, lines, speakers, sounds in minutes
            ]
        )
        timeline.highlighted = 0

    @staticmethod
    def _minutes(view: SessionView) -> list[tuple[int, int, list[str], list[str]]]:
        """Per minute of the session: lines said, who spoke, which sounds were heard."""
        duration = max(
            float(getattr(view.session, "duration", 0.0) or 0.0),
            max((r.end for r in view.rows), default=0.0),
        )
        count = max(1, math.ceil(duration / 60.0))
        lines = [0] * count
        speakers: list[list[str]] = [[] for _ in range(count)]
        sounds: list[list[str]] = [[] for _ in range(count)]
        for row in view.rows:
            m = min(count - 1, int(row.start // 60))
            if kind_of(row) == "transcript":
                lines[m] += 1
                if row.speaker and row.speaker not in speakers[m]:
                    speakers[m].append(row.speaker)
            else:
                label = str(getattr(row, "label", kind_of(row)))
                if label not in sounds[m]:
                    sounds[m].append(label)
        return [(m, lines[m], speakers[m], sounds[m]) for m in range(count)]

    @on(OptionList.OptionSelected, "#timeline")
    def _minute_chosen(self, event: OptionList.OptionSelected) -> None:
        self.show_minute(event.option_index)

    def show_minute(self, minute: int) -> None:
        """Jump the transcript to what was said during ``minute`` (0-based)."""
        if self.view is None:
            return
        start, end = minute * 60.0, minute * 60.0 + 60.0
        inside = [i for i, r in enumerate(self.view.rows) if start <= r.start < end]
        transcript = self.query_one("#transcript", OptionList)
        transcript.border_subtitle = f"minute {span(start, end)} · {len(inside)} lines"
        if inside:
            self.jump_to_row(inside[0])
        else:
            self.notify(f"nothing was heard in minute {clock(start)}", severity="information")

    def jump_to_row(self, index: int) -> None:
        transcript = self.query_one("#transcript", OptionList)
        transcript.highlighted = index
        transcript.scroll_to_highlight(top=True)

    def jump_to_time(self, t: float) -> int | None:
        """Highlight the transcript row at ``t`` seconds; returns its index."""
        if self.view is None:
            return None
        index = self.view.row_index_at(t)
        if index is not None:
            self.jump_to_row(index)
        return index

    # --- questions --------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    def _question_asked(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.view is None:
            self.notify("choose a session first", severity="warning")
            return
        if self.asker is None:
            self.notify("no reasoner configured", severity="error")
            return
        self.query_one("#answer", Static).update(Text(f"Thinking about: {question}", style="dim"))
        self.ask(question)

    @work(exclusive=True, group="ask")
    async def ask(self, question: str) -> None:
        assert self.view is not None and self.asker is not None
        try:
            answer = await self.asker(question, self.view.id)
        except Exception as exc:  # the reasoner's failure is shown, the app keeps running
            log.exception("question failed")
            self.query_one("#answer", Static).update(Text(f"Could not answer: {exc}", style="red"))
            return
        self.show_answer(answer)

    def show_answer(self, answer: Any) -> None:
        """Render a reasoner's answer: text, citations to jump to, the reasoning trace."""
        self.last_answer = answer
        self.query_one("#answer", Static).update(Text(str(answer.answer)))
        self._citations = list(getattr(answer, "citations", []) or [])
        citations = self.query_one("#citations", OptionList)
        citations.set_options([self._citation_prompt(c) for c in self._citations])
        citations.border_title = f"Citations ({len(self._citations)})"
        citations.display = bool(self._citations)
        steps = list(getattr(answer, "reasoning", []) or [])
        calls = list(getattr(answer, "tool_calls", []) or [])
        reasoning = self.query_one("#reasoning", Collapsible)
        reasoning.title = (
            f"Reasoning · {len(steps)} step{'s' if len(steps) != 1 else ''} · {len(calls)} tool call{'s' if len(calls) != 1 else ''}"
        )
        reasoning.collapsed = True
        reasoning.display = bool(steps or calls)
        self.query_one("#trace", Static).update(self._trace(steps, calls))

    def _citation_prompt(self, citation: Any) -> Text:
        palette = self.view.palette if self.view else SpeakerPalette()
        prompt = Text(f"{span(citation.start, citation.end)} ", style="bold")
        speaker = getattr(citation, "speaker", None)
        if speaker:
            prompt.append(f"{palette.label(speaker)}: ", style=f"bold {palette.colour(speaker)}")
        label = getattr(citation, "text", None) or getattr(citation, "label", None) or ""
        kind = str(getattr(citation, "kind", "") or "")
        if kind and kind != "transcript":
            prompt.append(f"[{kind}] ", style="dim")
        prompt.append(str(label))
        return prompt

    @staticmethod
    def _trace(steps: list[Any], calls: list[Any]) -> Text:
        trace = Text()
        for i, step in enumerate(steps, 1):
            trace.append(f"{i}. ", style="bold")
            trace.append(f"{step}\n")
        if calls:
            trace.append("Tool calls\n", style="bold underline")
        for call in calls:
            args = ", ".join(f"{k}={v!r}" for k, v in (getattr(call, "arguments", {}) or {}).items())
            trace.append(f"→ {call.name}", style="bold #4fc3f7")
            trace.append(f"({args})\n", style="dim")
            error = getattr(call, "error", None)
            if error:
                trace.append(f"   error: {error}\n", style="red")
            else:
                trace.append(f"   {getattr(call, 'result_summary', '')}\n")
        return trace

    @on(OptionList.OptionSelected, "#citations")
    def _citation_chosen(self, event: OptionList.OptionSelected) -> None:
        citation = self._citations[event.option_index]
        self.jump_to_time(float(citation.start))
        self.query_one("#transcript", OptionList).focus()

    def action_toggle_reasoning(self) -> None:
        reasoning = self.query_one("#reasoning", Collapsible)
        if reasoning.display:
            reasoning.collapsed = not reasoning.collapsed

    def _clear_answer(self) -> None:
        self.last_answer = None
        self._citations = []
        self.query_one("#answer", Static).update("")
        self.query_one("#citations", OptionList).display = False
        self.query_one("#reasoning", Collapsible).display = False

    # --- live events ------------------------------------------------------------------

    @work(group="live")
    async def follow_live(self) -> None:
        assert self.live is not None
        async for event in self.live:
            self.receive_event(event)

    def receive_event(self, event: Any) -> None:
        """An event just heard: show it if it belongs to the shown session (or adopt one)."""
        session_id = str(getattr(event, "session_id", "") or "")
        known = {str(s.id) for s in self._sessions}
        if session_id and session_id not in known:
            self.refresh_sessions()
        if self.view is None and session_id:
            session = next((s for s in self._sessions if str(s.id) == session_id), None)
            if session is not None:
                self.open_session(session)
                return
        view = self.view
        if view is None or session_id != view.id:
            return
        kind = kind_of(event)
        if kind in BADGE_KINDS:
            view.voices.append(event)
            self._refresh_rows_overlapping(event)
        elif kind in ROW_KINDS:
            self._append_row(event)
            self._render_timeline()

    def _append_row(self, event: Any) -> None:
        assert self.view is not None
        view = self.view
        if any(getattr(r, "event_id", None) == event.event_id for r in view.rows):
            return  # the same event twice (overlap, replay) is shown once
        transcript = self.query_one("#transcript", OptionList)
        at_end = transcript.highlighted is None or transcript.highlighted >= len(view.rows) - 1
        if view.rows and event.start < view.rows[-1].start:
            view.rows.append(event)
            view.rows.sort(key=lambda e: (e.start, e.end))
            self._render_transcript()
        else:
            view.rows.append(event)
            transcript.add_option(self._row_prompt(event))
            transcript.border_subtitle = f"{len(view.rows)} lines · live"
        if at_end:  # follow the tail unless the user is reading further up
            transcript.highlighted = len(view.rows) - 1
            transcript.scroll_to_highlight()

    def _refresh_rows_overlapping(self, voice: Any) -> None:
        assert self.view is not None
        transcript = self.query_one("#transcript", OptionList)
        for i, row in enumerate(self.view.rows):
            if row.start < voice.end and row.end > voice.start and kind_of(row) == "transcript":
                transcript.replace_option_prompt_at_index(i, self._row_prompt(row))
