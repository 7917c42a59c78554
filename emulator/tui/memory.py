"""Memory view: a window of data memory at an address (jump with `g`), dtype switching (`d`),
the mouse wheel scrolls by rows of 16 bytes."""
from __future__ import annotations

import numpy as np
from rich.text import Text
from textual import events
from textual.widgets import Static

from ..machine import DTYPES as MDTYPES

DTYPES = ("i8", "u8", "i16", "u16", "i32", "u32", "i64")


class MemoryView(Static):
    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session
        syms = [v for n, (sec, v) in session.program.symbols.items() if sec == "data"]
        self.addr = int(min(syms)) if syms else 0
        self.dtype = "i8"
        self.error = ""

    def jump(self, text: str) -> None:
        try:
            a = int(self.session.ev.eval(text))
            if not 0 <= a < self.session.m.memory.size:
                raise ValueError(f"{a:#x} is outside data memory")
            self.addr = a
            self.error = ""
        except Exception as e:  # noqa: BLE001 - shown in the pane
            self.error = str(e)
        self.update_view()

    def cycle_dtype(self) -> None:
        self.dtype = DTYPES[(DTYPES.index(self.dtype) + 1) % len(DTYPES)]
        self.update_view()

    def render_text(self, rows: int = 6) -> Text:
        m = self.session.m
        dt = np.dtype(MDTYPES[self.dtype])
        per = 16 // dt.itemsize
        n = min(rows * per, (m.memory.size - self.addr) // dt.itemsize)
        arr = m.mem(self.addr, n, self.dtype)
        names = {int(v): k for k, (sec, v) in self.session.program.symbols.items() if sec == "data"}
        t = Text(no_wrap=True)
        t.append(f"{self.addr:#x} {names.get(self.addr, '')} as {self.dtype}"
                 f"{'  ' + self.error if self.error else ''}\n", style="bold")
        w = {1: 4, 2: 6, 4: 11, 8: 20}[dt.itemsize]
        for r in range(0, n, per):
            a = self.addr + r * dt.itemsize
            t.append(f"{a:06x}", style="blue")
            t.append("".join(f"{int(v):>{w}}" for v in arr[r:r + per]) + "\n")
        return t

    def update_view(self) -> None:
        self.update(self.render_text(max(2, (self.size.height or 8) - 2)))

    def scroll_rows(self, rows: int) -> None:
        """Move the window by rows of 16 bytes (within data memory)."""
        if getattr(self.app, "running", False):
            return
        last = max(0, self.session.m.memory.size - 16)
        self.addr = max(0, min(last, self.addr + 16 * rows))
        self.error = ""
        self.update_view()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_rows(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_rows(-3)
