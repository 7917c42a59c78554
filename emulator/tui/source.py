"""Source pane: the current line, breakpoint markers, disassembly where there is no source.

The pane draws a window of the file (a Static renderable); it remembers which file line or
address each drawn row shows, so a mouse click maps to a line (`LineClicked`, the app toggles a
breakpoint there, like `b`) and the wheel scrolls the window (until the next stop or cursor
move brings it back to the cursor)."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from ..debug.session import DebugError

SCROLL_LINES = 3


class SourcePane(Static):
    """Shows the file of the current pc (or the disassembly around it).  `cursor` is the address
    the breakpoint toggle acts on; it follows pc after every stop and moves with up/down."""

    can_focus = True

    class LineClicked(Message):
        """A click on a source (or disassembly) line: `addr` is its code address (for a line
        without code, that of the next line with code, like `break FILE:LINE`)."""

        def __init__(self, addr: int) -> None:
            super().__init__()
            self.addr = addr

    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session
        self.cursor: int = session.m.pc
        self.scroll_first: int | None = None   # first line (index) shown after wheel scrolling
        self._first = 0                        # first line (index) of the last drawing
        self._last_first = 0                   # largest useful first line of the last drawing
        self._targets: list[tuple[str, int] | int | None] = []   # per drawn row
        self.dirty = False                     # resized while a command ran: redraw after it

    def follow(self) -> None:
        self.cursor = self.session.m.pc
        self.scroll_first = None
        self.update_view()

    def move(self, delta: int) -> None:
        s = self.session
        n = len(s.program.words)
        loc = s.line_of(self.cursor)
        if loc is None:
            self.cursor = max(0, min(4 * n - 4, self.cursor + 4 * delta))
        else:
            # next / previous source line that has code
            lines = sorted({(f, l): a for a, (f, l, _c) in sorted(s.program.lines.items(), reverse=True)
                            if f == loc[0]}.items())
            keys = [k for k, _a in lines]
            i = keys.index(loc) + delta
            i = max(0, min(len(keys) - 1, i))
            self.cursor = lines[i][1]
        self.scroll_first = None
        self.update_view()

    def rows(self, height: int) -> Text:
        s = self.session
        pc = s.m.pc
        bp = {}
        for b in s.breaks.values():
            bp.setdefault(b.addr, "◆" if b.kind == "log" else ("●" if b.enabled else "○"))
        fault = s.fault is not None
        t = Text(no_wrap=True, overflow="ellipsis")
        loc = s.line_of(self.cursor) or s.line_of(pc)
        src = s.source_lines.get(loc[0]) if loc else None
        targets: list[tuple[str, int] | int | None] = [None]     # the title row
        if loc and src:
            f = loc[0]
            cur = s.line_of(pc)
            focus = loc[1]
            line_bp = {}
            for a, mark in bp.items():
                la = s.line_of(a)
                if la and la[0] == f:
                    line_bp[la[1]] = mark
            cursor_line = s.line_of(self.cursor)
            last_first = max(1, len(src) - height + 2)
            first = max(1, min(focus - height // 2, len(src) - height + 1))
            if self.scroll_first is not None:
                first = self.scroll_first = max(1, min(self.scroll_first, last_first))
            self._first, self._last_first = first, last_first
            t.append(f" {f}\n", style="bold underline")
            for ln in range(first, min(len(src), first + height - 2) + 1):
                is_cur = cur == (f, ln)
                style = ("bold white on red" if fault else "bold black on yellow") if is_cur else ""
                mark = line_bp.get(ln, " ")
                t.append(mark, style="bold red")
                t.append("▶" if is_cur else ("›" if cursor_line == (f, ln) else " "), style="bold")
                t.append(f"{ln:>4} ", style="dim")
                t.append(src[ln - 1].expandtabs(8) + "\n", style=style)
                targets.append((f, ln))
            self._targets = targets
            return t
        n = len(s.program.words)
        centre = self.cursor
        last_first = max(0, n - height + 1)
        first = max(0, min(centre // 4 - height // 2, n - height + 1))
        if self.scroll_first is not None:
            first = self.scroll_first = max(0, min(self.scroll_first, last_first))
        self._first, self._last_first = first, last_first
        t.append(f" disassembly of {s.program.name}\n", style="bold underline")
        for i in range(first, min(n, first + height - 1)):
            a = 4 * i
            is_cur = a == pc
            t.append(bp.get(a, " "), style="bold red")
            t.append("▶" if is_cur else ("›" if a == self.cursor else " "))
            t.append(f"{a:#06x}  {s.disasm(a)}\n",
                     style=("bold black on yellow" if not fault else "bold white on red") if is_cur else "")
            targets.append(a)
        self._targets = targets
        return t

    def update_view(self) -> None:
        self.dirty = False
        self.update(self.rows(max(5, self.size.height or 20)))

    def on_resize(self) -> None:
        if getattr(self.app, "running", False):
            # the worker thread owns the session while a command runs: redraw when it is done
            # (`DebuggerApp._run_done` refreshes every view)
            self.dirty = True
            return
        self.update_view()

    # ------------------------------------------------------------------ mouse
    def target_at(self, row: int) -> int | None:
        """The code address of drawn row `row` (content coordinates), or None."""
        if not 0 <= row < len(self._targets):
            return None
        t = self._targets[row]
        if t is None or isinstance(t, int):
            return t
        f, ln = t
        try:
            return self.session.resolve(f"{f}:{ln}")
        except DebugError:
            return None            # after the last line with code

    def on_click(self, event: events.Click) -> None:
        off = event.get_content_offset(self)
        if off is None:
            return
        addr = self.target_at(off.y)
        if addr is not None:
            event.stop()
            self.scroll_first = self._first      # keep the window still under the mouse
            self.post_message(self.LineClicked(addr))

    def _scroll(self, lines: int) -> None:
        if getattr(self.app, "running", False):
            return              # the machine is running: the view is redrawn when it stops
        self.scroll_first = max(0, min(self._first + lines, self._last_first))
        self.update_view()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._scroll(SCROLL_LINES)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._scroll(-SCROLL_LINES)
