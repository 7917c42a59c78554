"""`neurram debug prog.s`: the textual app.  It only draws a Session; every key is a command of
the shared command language (see emulator.debug.commands), so the TUI, --batch and line mode
behave identically."""
from __future__ import annotations

import time

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Header

from .._native import NUM_CORES
from ..debug.commands import CommandInterpreter
from .command import CommandLine
from .coredetail import CoreDetail
from .coremap import CoreMap
from .eventlog import EventLog
from .help import HelpScreen
from .memory import DTYPES as MEM_DTYPES, MemoryView
from .registers import RegistersView
from .source import SourcePane

# the key-binding table: key, action, description (the footer and the help screen show it)
KEYS = [
    ("s", "cmd('step')", "step line"),
    ("n", "cmd('next')", "next (over calls)"),
    ("i", "cmd('stepi')", "step instruction"),
    ("c", "cmd('continue')", "continue"),
    ("f", "cmd('finish')", "finish"),
    ("r", "cmd('reverse-stepi')", "reverse step"),
    ("R", "cmd('reverse-continue')", "reverse continue"),
    ("t", "cmd('cycle')", "cycle step"),
    ("T", "cmd('reverse-cycle')", "reverse cycle"),
    ("b", "toggle_break", "toggle breakpoint"),
    ("up", "cursor(-1)", "cursor up"),
    ("down", "cursor(1)", "cursor down"),
    ("left_square_bracket", "core(-1)", "previous core"),
    ("right_square_bracket", "core(1)", "next core"),
    ("plus", "zoom(1)", "zoom heatmap in"),
    ("minus", "zoom(-1)", "zoom heatmap out"),
    ("shift+up", "pan(-16, 0)", "pan heatmap up"),
    ("shift+down", "pan(16, 0)", "pan heatmap down"),
    ("shift+left", "pan(0, -16)", "pan heatmap left"),
    ("shift+right", "pan(0, 16)", "pan heatmap right"),
    ("d", "dtype", "memory dtype"),
    ("g", "goto_mem", "memory: go to address"),
    ("colon", "focus_command", "command line"),
    ("question_mark", "help", "help"),
    ("q", "quit", "quit"),
]
_SHOWN = {"s", "n", "c", "r", "R", "t", "b", "colon", "question_mark", "q"}


class DebuggerApp(App):
    CSS_PATH = "debugger.tcss"
    TITLE = "neurram debug"
    BINDINGS = [Binding(k, a, d, show=k in _SHOWN) for k, a, d in KEYS] + [
        Binding("escape", "focus_source", "back to source", show=False)]

    pc = reactive(0)
    cycle = reactive(0)

    def __init__(self, session, startup=()):
        super().__init__()
        self.session = session
        self.interp = CommandInterpreter(session)
        self.startup = list(startup)
        self.redraw_times: list[float] = []
        session.listeners.append(self._on_event)

    def compose(self) -> ComposeResult:
        s = self.session
        yield Header(show_clock=False)
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield SourcePane(s, id="source")
                yield EventLog(id="log")
            with Vertical(id="right"):
                yield RegistersView(s, id="regs")
                yield CoreMap(s, id="coremap")
                yield CoreDetail(s, id="coredetail")
                yield MemoryView(s, id="memory")
        yield CommandLine(id="command")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.session.program.name
        for w, title in (("#source", "source"), ("#log", "events"), ("#regs", "registers"),
                         ("#coremap", "cores (8 chains × 6)"), ("#coredetail", "core detail"),
                         ("#memory", "memory")):
            self.query_one(w).border_title = title
        self.refresh_views()
        self.query_one(SourcePane).focus()
        for line in self.startup:
            self.run_command(line)

    # ------------------------------------------------------------------ engine → view
    def _on_event(self, e) -> None:
        if e.kind in ("core", "info"):
            try:
                self.query_one(EventLog).add_event(e)
            except Exception:  # noqa: BLE001 - before mount
                pass

    def refresh_views(self) -> None:
        t0 = time.perf_counter()
        s = self.session
        self.pc, self.cycle = s.m.pc, s.m.cycle
        self.query_one(SourcePane).follow()
        self.query_one(RegistersView).update_view()
        cm = self.query_one(CoreMap)
        cm.update_view()
        self.query_one(CoreDetail).show(cm.selected)
        self.query_one(MemoryView).update_view()
        self.redraw_times.append(time.perf_counter() - t0)

    def watch_cycle(self, cycle: int) -> None:
        self.sub_title = f"{self.session.program.name} — cycle {cycle}, pc {self.pc:#06x}"

    def run_command(self, line: str) -> None:
        log = self.query_one(EventLog)
        log.add_output(f"(nr48) {line}")
        for r in self.interp.execute(line):
            log.add_output(r)
        self.refresh_views()
        if self.interp.quit:
            self.exit()

    # ------------------------------------------------------------------ actions
    def action_cmd(self, line: str) -> None:
        self.run_command(line)

    def action_toggle_break(self) -> None:
        src = self.query_one(SourcePane)
        b = self.session.toggle_break(src.cursor)
        where = self.session.location(src.cursor) or f"{src.cursor:#x}"
        self.query_one(EventLog).add_output(
            f"breakpoint {b.id} at {where}" if b else f"removed the breakpoints at {where}")
        src.update_view()

    def action_cursor(self, delta: int) -> None:
        self.query_one(SourcePane).move(delta)

    def action_core(self, delta: int) -> None:
        cm = self.query_one(CoreMap)
        cm.select(cm.selected + delta)
        self.query_one(CoreDetail).show(cm.selected)

    def select_core(self, i: int) -> None:
        self.query_one(CoreMap).select(i)
        self.query_one(CoreDetail).show(i)

    def action_zoom(self, d: int) -> None:
        cd = self.query_one(CoreDetail)
        cd.zoom_in() if d > 0 else cd.zoom_out()

    def action_pan(self, dr: int, dc: int) -> None:
        self.query_one(CoreDetail).pan(dr, dc)

    def action_dtype(self) -> None:
        self.query_one(MemoryView).cycle_dtype()

    def action_goto_mem(self) -> None:
        cl = self.query_one(CommandLine)
        cl.value = "goto "
        cl.focus()
        cl.cursor_position = len(cl.value)

    def action_focus_command(self) -> None:
        self.query_one(CommandLine).focus()

    def action_focus_source(self) -> None:
        self.query_one(SourcePane).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(KEYS))

    def on_input_submitted(self, event: CommandLine.Submitted) -> None:
        line = event.value.strip()
        event.input.value = ""
        if line:
            self.query_one(CommandLine).history.append(line)
        # TUI-only view commands: goto ADDR [dtype], core N, zoom ROW COL
        word, _, rest = line.partition(" ")
        if word == "goto":
            parts = rest.split()
            mv = self.query_one(MemoryView)
            if len(parts) > 1 and parts[1] in MEM_DTYPES:
                mv.dtype = parts[1]
            mv.jump(parts[0] if parts else "0")
        elif word == "core" and rest.strip().lstrip("-").isdigit():
            if 0 <= int(rest) < NUM_CORES:
                self.select_core(int(rest))
            else:
                self.query_one(EventLog).add_output(
                    Text(f"error: no core {rest.strip()} (cores 0..{NUM_CORES - 1})", style="bold red"))
        elif word == "zoom" and len(rest.split()) == 2:
            cd = self.query_one(CoreDetail)
            try:
                r, c = (int(x, 0) for x in rest.split())
                if r < 0 or c < 0:
                    raise ValueError("ROW and COL cannot be negative")
            except ValueError as e:
                self.query_one(EventLog).add_output(Text(f"error: zoom ROW COL: {e}", style="bold red"))
                self.query_one(SourcePane).focus()
                return
            cd.origin = (r, c)
            cd.zoom = max(cd.zoom, 2)
            cd.update_view()
        elif line:
            self.run_command(line)
        self.query_one(SourcePane).focus()
