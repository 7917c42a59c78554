"""Event log: stops, core events, faults, log points and command output."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

STYLE = {"fault": "bold red", "log": "green", "core": "cyan", "stop": "yellow", "info": "dim"}


class EventLog(RichLog):
    def __init__(self, **kw):
        super().__init__(max_lines=2000, wrap=False, markup=False, highlight=False, **kw)
        self.lines_text: list[str] = []     # plain text, for tests

    def add_event(self, e) -> None:
        text = f"{e.cycle:>9} {e.kind:<5} {e.text}"
        self.lines_text.append(text)
        self.write(Text(text, style=STYLE.get(e.kind, "")))

    def add_output(self, renderable) -> None:
        self.lines_text.append(renderable.plain if isinstance(renderable, Text) else str(renderable))
        self.write(renderable)
