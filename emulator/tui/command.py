"""Command line: the same commands as --batch and line mode."""
from __future__ import annotations

from textual.widgets import Input


class CommandLine(Input):
    def __init__(self, **kw):
        super().__init__(placeholder=": command (help, break demo.s:82, watch core 0 v, print x1 …)", **kw)
        self.history: list[str] = []
