"""The 48-core map: 8 scan chains × 6 positions; power, phase, busy-until and utilisation.
A click on a core selects it (`CoreClicked`: the app shows its detail)."""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from ..machine import NUM_CORES

PHASE_STYLE = {"off": "grey39", "idle": "green", "waking": "cyan", "scan_wait": "yellow",
               "scan_in": "bright_cyan", "scan_out": "bright_blue", "integrate": "bold magenta",
               "readout": "bold red", "program_wait": "yellow", "program": "bold yellow"}
PHASE_ABBR = {"off": "off", "idle": "idl", "waking": "wak", "scan_wait": "swt", "scan_in": "sin",
              "scan_out": "sou", "integrate": "int", "readout": "rdo", "program_wait": "pwt",
              "program": "prg"}


PREFIX = 7          # width of the "  N    " chain column
CELL = 11           # width of one core's cell


class CoreMap(Static):
    class CoreClicked(Message):
        def __init__(self, core: int) -> None:
            super().__init__()
            self.core = core

    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session
        self.selected = 0

    def select(self, i: int) -> None:
        self.selected = i % NUM_CORES
        self.update_view()

    def render_text(self) -> Text:
        m = self.session.m
        cyc = max(1, m.cycle)
        t = Text(no_wrap=True)
        t.append("chain  " + "".join(f"  pos{p}    " for p in range(6)) + "\n", style="dim")
        for chain in range(NUM_CORES // 6):
            t.append(f"  {chain}    ", style="dim")          # PREFIX characters
            for p in range(6):
                i = chain * 6 + p
                c = m.cores[i]
                phase = c.phase if c.powered else "off"
                util = c.counters["busy_cycles"] / cyc
                sel = i == self.selected
                cell = f"{i:>2}{PHASE_ABBR.get(phase, phase[:3]):>4}{min(99, round(100 * util)):>3}% "
                style = PHASE_STYLE.get(phase, "")
                t.append(cell, style=style + (" reverse" if sel else ""))
            t.append("\n")
        c = m.cores[self.selected]
        t.append(f"core {self.selected}: {'on' if c.powered else 'off'} {c.phase}, "
                 f"busy until {c.busy_until}", style="bold")
        return t

    def update_view(self) -> None:
        self.update(self.render_text())

    @staticmethod
    def core_at(x: int, y: int) -> int | None:
        """The core drawn at content offset (x, y): row 0 is the header, rows 1–8 the chains."""
        chain, pos = y - 1, (x - PREFIX) // CELL if x >= PREFIX else -1
        if 0 <= chain < NUM_CORES // 6 and 0 <= pos < 6:
            return chain * 6 + pos
        return None

    def on_click(self, event: events.Click) -> None:
        off = event.get_content_offset(self)
        core = None if off is None else self.core_at(off.x, off.y)
        if core is not None:
            event.stop()
            self.post_message(self.CoreClicked(core))
