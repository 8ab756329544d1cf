"""A transcript row whose wrapped lines start under its text, not under its time code:
``00:01      Bob Good morning everyone, let's``
``               start with the budget.``

It is still a Rich ``Text`` (so its plain text is the row's text for search and tests);
Textual renders it through ``visualize``, the hook it asks any prompt for."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

# Below this many cells for the text, indenting costs more than it helps.
MIN_BODY_WIDTH = 16


class HangingRow(Text):
    """``Text`` whose first ``head`` cells (time code, speaker) hang to the left."""

    head: int = 0

    @classmethod
    def of(cls, text: Text, head: int) -> HangingRow:
        row = cls()
        row.append_text(text)
        row.head = head
        return row

    def visualize(self) -> Visual:
        return HangingVisual(
            Content.from_rich_text(self[: self.head]), Content.from_rich_text(self[self.head :])
        )


class HangingVisual(Visual):
    """Renders ``body`` wrapped beside ``head``, every wrapped line indented by its width."""

    def __init__(self, head: Content, body: Content) -> None:
        self.head = head
        self.body = body
        self.indent = head.cell_length

    def _fits(self, width: int) -> bool:
        return width - self.indent >= MIN_BODY_WIDTH

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        if not self._fits(width):
            whole = Content.assemble(self.head, self.body)
            return whole.render_strips(width, height, style, options)
        body = self.body.render_strips(width - self.indent, None, style, options)
        head = self.head.render_strips(self.indent, 1, style, options)[0]
        pad = Strip.blank(self.indent, style.rich_style)
        strips = [
            Strip.join([head if i == 0 else pad, line])
            for i, line in enumerate(body or [Strip([])])
        ]
        return strips if height is None else strips[:height]

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self.indent + self.body.get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        if not self._fits(width):
            return Content.assemble(self.head, self.body).get_height(rules, width)
        return max(1, self.body.get_height(rules, width - self.indent))


__all__ = ["HangingRow", "HangingVisual"]
