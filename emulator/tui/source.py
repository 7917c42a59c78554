"""Source pane: the current line, breakpoint markers, disassembly where there is no source."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class SourcePane(Static):
    """Shows the file of the current pc (or the disassembly around it).  `cursor` is the address
    the breakpoint toggle acts on; it follows pc after every stop and moves with up/down."""

    can_focus = True

    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session
        self.cursor: int = session.m.pc

    def follow(self) -> None:
        self.cursor = self.session.m.pc
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
            first = max(1, min(focus - height // 2, len(src) - height + 1))
            t.append(f" {f}\n", style="bold underline")
            for ln in range(first, min(len(src), first + height - 2) + 1):
                is_cur = cur == (f, ln)
                style = ("bold white on red" if fault else "bold black on yellow") if is_cur else ""
                mark = line_bp.get(ln, " ")
                t.append(mark, style="bold red")
                t.append("▶" if is_cur else ("›" if cursor_line == (f, ln) else " "), style="bold")
                t.append(f"{ln:>4} ", style="dim")
                t.append(src[ln - 1].expandtabs(8) + "\n", style=style)
            return t
        n = len(s.program.words)
        centre = self.cursor
        first = max(0, min(centre // 4 - height // 2, n - height + 1))
        t.append(f" disassembly of {s.program.name}\n", style="bold underline")
        for i in range(first, min(n, first + height - 1)):
            a = 4 * i
            is_cur = a == pc
            t.append(bp.get(a, " "), style="bold red")
            t.append("▶" if is_cur else ("›" if a == self.cursor else " "))
            t.append(f"{a:#06x}  {s.disasm(a)}\n",
                     style=("bold black on yellow" if not fault else "bold white on red") if is_cur else "")
        return t

    def update_view(self) -> None:
        self.update(self.rows(max(5, self.size.height or 20)))

    def on_resize(self) -> None:
        self.update_view()
