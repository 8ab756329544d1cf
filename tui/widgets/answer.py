"""The question box and the answer to it: text, citations to jump to, and the reasoning
trace (steps and tool calls) folded away until asked for."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Collapsible, Input, OptionList, Static

from tools.clock import format_span as span
from tui.render import SpeakerPalette

CITATIONS_HINT = "Tab: citations, Enter: jump"


class AnswerPanel(Vertical):
    """Posts ``Asked`` for a question typed in, ``CitationChosen`` for a citation picked."""

    answer: reactive[Any] = reactive(None, always_update=True, init=False)
    palette: SpeakerPalette | None = None  # the shown session's speaker names and colours

    class Asked(Message):
        def __init__(self, question: str) -> None:
            super().__init__()
            self.question = question

    class CitationChosen(Message):
        def __init__(self, citation: Any) -> None:
            super().__init__()
            self.citation = citation

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Ask about this session…", id="question")
        # not a focus stop of its own: Tab goes from the question straight to the citations
        with VerticalScroll(id="answer-box", can_focus=False):
            yield Static("", id="answer")
            yield OptionList(id="citations")
            with Collapsible(title="Reasoning", collapsed=True, id="reasoning"):
                yield Static("", id="trace")

    def on_mount(self) -> None:
        self.query_one("#answer-box").border_title = "Answer"
        citations = self.query_one("#citations", OptionList)
        citations.border_subtitle = CITATIONS_HINT
        citations.display = False
        self.query_one("#reasoning", Collapsible).display = False

    @property
    def citations(self) -> list[Any]:
        return list(getattr(self.answer, "citations", []) or [])

    def thinking(self, question: str) -> None:
        self.query_one("#answer", Static).update(Text(f"Thinking about: {question}", style="dim"))

    def failed(self, error: BaseException) -> None:
        self.query_one("#answer", Static).update(Text(f"Could not answer: {error}", style="red"))

    def watch_answer(self, answer: Any) -> None:
        citations = self.query_one("#citations", OptionList)
        reasoning = self.query_one("#reasoning", Collapsible)
        if answer is None:
            self.query_one("#answer", Static).update("")
            citations.display = False
            reasoning.display = False
            return
        self.query_one("#answer", Static).update(Text(str(answer.answer)))
        citations.set_options([self._citation_prompt(c) for c in self.citations])
        citations.border_title = f"Citations ({len(self.citations)})"
        citations.display = bool(self.citations)
        steps = list(getattr(answer, "reasoning", []) or [])
        calls = list(getattr(answer, "tool_calls", []) or [])
        reasoning.title = (
            f"Reasoning · {_count(len(steps), 'step')} · {_count(len(calls), 'tool call')}"
        )
        reasoning.collapsed = True
        reasoning.display = bool(steps or calls)
        self.query_one("#trace", Static).update(trace(steps, calls))

    def toggle_reasoning(self) -> None:
        reasoning = self.query_one("#reasoning", Collapsible)
        if reasoning.display:
            reasoning.collapsed = not reasoning.collapsed

    @on(Input.Submitted, "#question")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        if question:
            self.post_message(self.Asked(question))

    @on(OptionList.OptionSelected, "#citations")
    def _citation_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.CitationChosen(self.citations[event.option_index]))

    def _citation_prompt(self, citation: Any) -> Text:
        palette = self.palette or SpeakerPalette()
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


def trace(steps: list[Any], calls: list[Any]) -> Text:
    """The reasoning steps, numbered, then each tool call with its arguments and result."""
    text = Text()
    for i, step in enumerate(steps, 1):
        text.append(f"{i}. ", style="bold")
        text.append(f"{step}\n")
    if calls:
        text.append("Tool calls\n", style="bold underline")
    for call in calls:
        args = ", ".join(f"{k}={v!r}" for k, v in (getattr(call, "arguments", {}) or {}).items())
        text.append(f"→ {call.name}", style="bold #4fc3f7")
        text.append(f"({args})\n", style="dim")
        error = getattr(call, "error", None)
        if error:
            text.append(f"   error: {error}\n", style="red")
        else:
            text.append(f"   {getattr(call, 'result_summary', '')}\n")
    return text


__all__ = ["CITATIONS_HINT", "AnswerPanel", "trace"]


def _count(n: int, noun: str) -> str:
    """ "1 tool call", "2 tool calls"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
