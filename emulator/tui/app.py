"""`neurram debug prog.s`: the textual app.  It only draws a Session; every key is a command of
the shared command language (see emulator.debug.commands), so the TUI, --batch and line mode
behave identically.

Commands that run the machine run in a worker thread, so the UI stays responsive: the engine
runs in bounded slices and stops at the next slice boundary after `Session.interrupt()` (ctrl+c
or escape here).  A run that ends within RUN_GRACE seconds looks synchronous (no "running"
state flashes up, and keys pressed meanwhile run after it); a longer one shows its progress in
the header and the interrupt key in the footer, and greys out the keys that need a stopped
machine until it stops.  The event log gets only the command and its result, as for a short
run."""
from __future__ import annotations

import asyncio
import threading
import time
from collections import deque

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Header

from ..machine import NUM_CORES
from ..debug.commands import CommandInterpreter
from ..debug.keys import KEYS
from .command import CommandLine
from .coredetail import CoreDetail
from .coremap import CoreMap
from .eventlog import EventLog
from .help import HelpScreen
from .memory import DTYPES as MEM_DTYPES, MemoryView
from .registers import RegistersView
from .source import SourcePane

# the key-binding table (key, action, description) lives in emulator/debug/keys.py: the footer,
# the help screen and the `help` command of every mode show it
_SHOWN = {"s", "n", "c", "r", "R", "t", "b", "colon", "question_mark", "q", "ctrl+c"}
# ctrl+c only while a command runs (else it falls through to copy in the command line)
_PRIORITY = {"ctrl+c"}
# actions that need a stopped machine: greyed out while a command runs
_NEEDS_STOP = {"cmd", "toggle_break", "cursor", "core", "zoom", "pan", "dtype", "goto_mem"}
RUN_GRACE = 0.25          # seconds a run may take before the app shows it as running
PROGRESS_PERIOD = 0.1     # seconds between progress updates while running


class DebuggerApp(App):
    CSS_PATH = "debugger.tcss"
    TITLE = "neurram debug"
    BINDINGS = [Binding(k, a, d, show=k in _SHOWN, priority=k in _PRIORITY) for k, a, d in KEYS]

    pc = reactive(0)
    cycle = reactive(0)

    def __init__(self, session, startup=()):
        super().__init__()
        self.session = session
        self.interp = CommandInterpreter(session)
        self.startup = list(startup)
        self.redraw_times: list[float] = []
        self.running = False                  # a command runs in the worker thread
        self.run_line = ""
        self.interrupt_times: list[float] = []    # key press → stopped and redrawn, seconds
        self._run_future: asyncio.Future | None = None
        self._run_started = 0.0
        self._interrupt_pressed: float | None = None
        self._quit_after_run = False
        self._queue: list[str] = []
        self._pending_events: deque = deque()
        self._ui_thread = threading.get_ident()
        self._progress_timer = None
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

    async def on_mount(self) -> None:
        self._ui_thread = threading.get_ident()
        self.sub_title = self.session.program.name
        for w, title in (("#source", "source"), ("#log", "events"), ("#regs", "registers"),
                         ("#coremap", "cores (8 chains × 6)"), ("#coredetail", "core detail"),
                         ("#memory", "memory")):
            self.query_one(w).border_title = title
        self._progress_timer = self.set_interval(PROGRESS_PERIOD, self._show_progress, pause=True)
        self.refresh_views()
        self.query_one(SourcePane).focus()
        self._queue = list(self.startup)
        await self._run_queued()

    async def _run_queued(self) -> None:
        """The startup commands, one after the other (a long one goes on in the background)."""
        while self._queue and not self.running:
            await self.run_command(self._queue.pop(0))

    def on_unmount(self) -> None:
        if self.running:
            self.session.interrupt()      # let the worker thread end

    # ------------------------------------------------------------------ engine → view
    def _on_event(self, e) -> None:
        if e.kind in ("core", "info"):
            if threading.get_ident() != self._ui_thread:
                self._pending_events.append(e)      # from the worker: shown by the UI thread
                return
            try:
                self.query_one(EventLog).add_event(e)
            except Exception:  # noqa: BLE001 - before mount
                pass

    def _drain_events(self) -> None:
        log = self.query_one(EventLog)
        while self._pending_events:
            log.add_event(self._pending_events.popleft())

    def refresh_views(self) -> None:
        t0 = time.perf_counter()
        s = self.session
        self.pc, self.cycle = s.m.pc, s.m.cycle
        self.watch_cycle(self.cycle)
        self.query_one(SourcePane).follow()
        self.query_one(RegistersView).update_view()
        cm = self.query_one(CoreMap)
        cm.update_view()
        self.query_one(CoreDetail).show(cm.selected)
        self.query_one(MemoryView).update_view()
        self.redraw_times.append(time.perf_counter() - t0)

    def watch_cycle(self, cycle: int) -> None:
        self.sub_title = f"{self.session.program.name} — cycle {cycle}, pc {self.pc:#06x}"

    async def run_command(self, line: str) -> None:
        if self.running:
            self._busy()
            return
        log = self.query_one(EventLog)
        log.add_output(f"(nr48) {line}")
        if self.interp.runs(line):
            await self._start_run(line)
            return
        for r in self.interp.execute(line):
            log.add_output(r)
        self.refresh_views()
        if self.interp.quit:
            self.exit()

    # ------------------------------------------------------------------ running in a worker
    async def _start_run(self, line: str) -> None:
        """Run a machine-running command in a worker thread; wait up to RUN_GRACE for it."""
        self.running = True
        self.run_line = line
        self._run_started = time.perf_counter()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        self._run_future = fut
        interp = self.interp

        def settle(result, error) -> None:
            if not fut.done():
                if error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(result)

        def work() -> None:
            result, error = None, None
            try:
                result = interp.execute(line)
            except BaseException as e:  # noqa: BLE001 - reported in the event log
                error = e
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:          # the event loop is gone (the app has exited)
                pass

        threading.Thread(target=work, name=f"neurram debug: {line}", daemon=True).start()
        done, _ = await asyncio.wait({fut}, timeout=RUN_GRACE)
        if done:
            self._run_done(fut)
            return
        self.refresh_bindings()
        self._progress_timer.resume()
        self._show_progress()
        fut.add_done_callback(lambda f: self.call_later(self._run_done, f))

    def _show_progress(self) -> None:
        if not self.running:
            return
        self._drain_events()
        cycle, instret = self.session.progress
        secs = time.perf_counter() - self._run_started
        what = "interrupting" if self._interrupt_pressed is not None else "running"
        self.sub_title = (f"{self.session.program.name} — {what} `{self.run_line}`: cycle {cycle:,}, "
                          f"{instret:,} instructions, {secs:.1f} s — ctrl+c or escape interrupts")

    def _run_done(self, fut: asyncio.Future) -> None:
        if fut is not self._run_future:
            return                        # already handled
        self._run_future = None
        self.running = False
        self.session.clear_interrupt()
        if self._progress_timer is not None:
            self._progress_timer.pause()
        self._drain_events()
        log = self.query_one(EventLog)
        error = fut.exception()
        outputs = fut.result() if error is None else [
            Text(f"error: {type(error).__name__}: {error}", style="bold red")]
        for r in outputs:
            log.add_output(r)
        self.refresh_bindings()
        self.refresh_views()              # also redraws a SourcePane resized during the run
        if self._interrupt_pressed is not None:
            self.interrupt_times.append(time.perf_counter() - self._interrupt_pressed)
            self._interrupt_pressed = None
        if self._quit_after_run or self.interp.quit:
            self.exit()
            return
        if self.interp.interrupted:
            if self._queue:
                log.add_output(Text(f"interrupted: {len(self._queue)} startup command(s) skipped",
                                    style="bold yellow"))
            self._queue.clear()
        elif self._queue:
            self.call_later(self._run_queued)

    def _busy(self) -> None:
        self.notify("a command is running: ctrl+c or escape interrupts it", severity="warning",
                    timeout=2)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "interrupt":
            return self.running           # hidden (and ctrl+c copies text) unless running
        if self.running and action in _NEEDS_STOP:
            return None                   # shown greyed out
        return True

    # ------------------------------------------------------------------ actions
    async def action_cmd(self, line: str) -> None:
        await self.run_command(line)

    def action_interrupt(self) -> None:
        if not self.running:
            return
        if self._interrupt_pressed is None:
            self._interrupt_pressed = time.perf_counter()
        self.session.interrupt()
        self._show_progress()

    def action_interrupt_or_back(self) -> None:
        if self.running:
            self.action_interrupt()
        else:
            self.action_focus_source()

    async def action_quit(self) -> None:
        if self.running:                  # stop the worker first (at its next slice boundary)
            self._quit_after_run = True
            self.action_interrupt()
            return
        self.exit()

    def action_toggle_break(self, addr: int | None = None) -> None:
        src = self.query_one(SourcePane)
        if addr is not None:
            src.cursor = addr
        b = self.session.toggle_break(src.cursor)
        where = self.session.location(src.cursor) or f"{src.cursor:#x}"
        self.query_one(EventLog).add_output(
            f"breakpoint {b.id} at {where}" if b else f"removed the breakpoints at {where}")
        src.update_view()

    # ------------------------------------------------------------------ mouse
    def on_source_pane_line_clicked(self, message: SourcePane.LineClicked) -> None:
        if self.running:
            self._busy()
            return
        self.action_toggle_break(message.addr)

    def on_core_map_core_clicked(self, message: CoreMap.CoreClicked) -> None:
        if self.running:
            self._busy()
            return
        self.select_core(message.core)

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

    async def on_input_submitted(self, event: CommandLine.Submitted) -> None:
        line = event.value.strip()
        if line and self.running:
            self._busy()                  # keep the text: it can be sent after the stop
            return
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
            await self.run_command(line)
        self.query_one(SourcePane).focus()
