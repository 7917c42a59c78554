"""Registers: x0–x15, pc, cycle, instret; those the last command changed are highlighted."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class RegistersView(Static):
    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session

    def render_text(self) -> Text:
        s = self.session
        changed = s.changed_regs()
        t = Text(no_wrap=True)
        for i in range(16):
            v = int(s.m.regs[i])
            t.append(f"x{i:<2}", style="dim")
            t.append(f"{v:>12}", style="bold yellow reverse" if i in changed else "")
            t.append("\n" if i % 2 else "  ")
        t.append(f"pc  {s.m.pc:#06x}  vl {s.m.vl}\n", style="bold")
        t.append(f"cycle {s.m.cycle}  instret {s.m.instret}\n")
        t.append(f"stalls {s.m.stall_cycles}")
        return t

    def update_view(self) -> None:
        self.update(self.render_text())
