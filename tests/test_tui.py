"""The debugger TUI driven with textual's Pilot; golden text screens; the tmux end-to-end run."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("textual")

from emulator.debug import Session  # noqa: E402
from emulator.tui.app import DebuggerApp  # noqa: E402
from emulator.tui.coredetail import CoreDetail  # noqa: E402
from emulator.tui.eventlog import EventLog  # noqa: E402
from emulator.tui.memory import MemoryView  # noqa: E402
from emulator.tui.source import SourcePane  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = "programs/demo.s"
GOLDEN = Path(__file__).parent / "golden_tui"
SIZE = (160, 56)


def run(coro):
    return asyncio.run(coro)


def screen_text(app) -> str:
    return "\n".join(s.text.rstrip() for s in app.screen._compositor.render_strips())


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("NEURRAM_UPDATE_GOLDEN") or not path.exists():
        if not os.environ.get("NEURRAM_UPDATE_GOLDEN") and not path.exists():
            pytest.fail(f"{path} missing: regenerate with NEURRAM_UPDATE_GOLDEN=1")
        path.write_text(text + "\n", encoding="utf-8")
        return
    assert text + "\n" == path.read_text(encoding="utf-8"), \
        f"screen differs from {path} (regenerate with NEURRAM_UPDATE_GOLDEN=1 if intended)"


def session():
    os.chdir(ROOT)
    return Session(DEMO)


def test_done_when_scenario_in_the_tui():
    """Open demo.s, break on a source line, continue, watch core 0's V change after the MVM,
    step backwards over it, quit."""
    async def go():
        s = session()
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            src = app.query_one(SourcePane)
            # move the cursor to line 99 (mvm.fwd) and toggle a breakpoint there with `b`
            while s.line_of(src.cursor)[1] < 99:
                await pilot.press("down")
            await pilot.press("b")
            assert [b.addr for b in s.breaks.values()] == [s.resolve("demo.s:99")]
            await pilot.press("c")
            await wait_stopped(app, pilot)       # a run longer than RUN_GRACE goes on in a thread
            assert s.last_stop.reason == "breakpoint" and s.location(s.m.pc).endswith(":99")
            assert app.pc == s.m.pc and app.cycle == s.m.cycle
            await pilot.press("colon", *"watch core 0 v", "enter")
            before = s.m.cores[0].v.copy()
            await pilot.press("c")
            await wait_stopped(app, pilot)
            assert s.last_stop.reason == "watchpoint"
            after = s.m.cores[0].v.copy()
            assert list(after[:4]) == [33, 2, -28, 27] and not (before == after).all()
            changed_at = s.m.instret
            log = app.query_one(EventLog).lines_text
            assert any("watchpoint" in line and "33 2 -28 27" in line for line in log)
            await pilot.press("r")                   # step back over the change
            await wait_stopped(app, pilot)
            assert s.m.instret == changed_at - 1
            assert list(s.m.cores[0].v[:4]) == [0, 0, 0, 0]
            await pilot.press("q")
        assert app.return_code in (0, None)
    run(go())


async def _startup_done(app, pilot, timeout: float = 30.0) -> None:
    """Wait until the startup commands have run: a `continue` may go on in the background on a
    loaded machine, and keys pressed meanwhile would reach a running debugger."""
    t0 = time.perf_counter()
    while (app.running or app._queue) and time.perf_counter() - t0 < timeout:
        await pilot.pause(0.05)
    assert not app.running


def test_keys_core_selection_zoom_memory_and_help():
    async def go():
        s = session()
        app = DebuggerApp(s, startup=["break demo.s:104", "continue"])
        async with app.run_test(size=SIZE) as pilot:
            await _startup_done(app, pilot)
            cd = app.query_one(CoreDetail)
            await pilot.press("right_square_bracket")
            assert cd.core == 1
            await pilot.press("left_square_bracket")
            assert cd.core == 0
            await pilot.press("plus", "plus")
            assert cd.zoom == 2
            await pilot.press("minus")
            assert cd.zoom == 1
            mv = app.query_one(MemoryView)
            await pilot.press("d")
            assert mv.dtype == "u8"
            await pilot.press("g")
            from emulator.tui.command import CommandLine
            cl = app.query_one(CommandLine)
            assert cl.value == "goto " and cl.has_focus
            cl.value = "goto y_fwd i16"
            await pilot.press("enter")
            assert mv.addr == s.m.sym("y_fwd") and mv.dtype == "i16"
            n = s.m.instret
            await pilot.press("i")
            await wait_stopped(app, pilot)
            assert s.m.instret == n + 1
            for key in "tTR":
                await pilot.press(key)
                await wait_stopped(app, pilot)
            assert s.location(s.m.pc).endswith(":104")
            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            assert type(app.screen).__name__ != "HelpScreen"
            await pilot.press("colon", *"print frobnicate(", "enter")
            assert any("error" in t for t in app.query_one(EventLog).lines_text)
            await pilot.press("q")
    run(go())


def test_bad_core_and_zoom_commands_are_errors_and_help_mentions_ebreak():
    async def go():
        s = session()
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            cd = app.query_one(CoreDetail)
            log = app.query_one(EventLog).lines_text
            await pilot.press("colon", *"core 5", "enter")
            assert cd.core == 5
            for bad in ("core -1", "core 48", "zoom a b", "zoom -1 3"):
                n = len(log)
                await pilot.press("colon", *bad, "enter")
                assert cd.core == 5, bad                 # not wrapped round to another core
                assert any("error" in t for t in log[n:]), (bad, log[n:])
            await pilot.press("q")
    run(go())
    from emulator.debug.commands import COMMANDS      # the help screen's command table
    cont = next(c for c in COMMANDS if c.names[0] == "continue")
    assert "ebreak" in cont.help


def test_golden_screens():
    async def go():
        s = session()
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            check_golden("start", screen_text(app))
            await pilot.press("colon", *"break demo.s:105", "enter", "c")
            await wait_stopped(app, pilot)
            await pilot.pause()
            check_golden("after_mvm", screen_text(app))
            await pilot.press("plus", "plus")
            await pilot.pause()
            check_golden("heatmap_zoom", screen_text(app))
            await pilot.press("q")
    run(go())


def test_redraw_time_with_heatmap_is_small():
    async def go():
        s = session()
        app = DebuggerApp(s, startup=["break demo.s:104", "continue"])
        async with app.run_test(size=SIZE) as pilot:
            await _startup_done(app, pilot)
            times = []
            for _ in range(8):
                t = time.perf_counter()
                await pilot.press("i")
                await pilot.pause()
                times.append(time.perf_counter() - t)
            times.sort()
            print(f"\nstep→refresh median {1000 * times[len(times) // 2]:.1f} ms, view update "
                  f"median {1000 * sorted(app.redraw_times)[len(app.redraw_times) // 2]:.1f} ms")
            assert times[len(times) // 2] < 1.0
            await pilot.press("q")
    run(go())


def test_tmux_end_to_end(tmp_path):
    tmux = shutil.which("tmux") or ("/usr/bin/tmux" if Path("/usr/bin/tmux").exists() else None)
    exe = Path(sys.executable).with_name("neurram")
    if tmux is None or not exe.exists():
        pytest.skip("tmux or the neurram entry point is missing")
    name = f"nrdbg{os.getpid()}"
    sock = str(tmp_path / "tmux.sock")
    base = [tmux, "-S", sock]
    subprocess.run(base + ["new-session", "-d", "-s", name, "-x", "160", "-y", "56",
                           f"cd {ROOT} && TERM=xterm-256color {exe} debug {DEMO}; echo EXITED $?; sleep 30"],
                   check=True)
    subprocess.run(base + ["resize-window", "-t", name, "-x", "160", "-y", "56"], capture_output=True)

    def pane() -> str:
        return subprocess.run(base + ["capture-pane", "-p", "-t", name], capture_output=True,
                              text=True).stdout

    def wait_for(text: str, timeout: float = 20) -> str:
        end = time.time() + timeout
        while time.time() < end:
            out = pane()
            if text in out:
                return out
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen:\n{pane()}")

    def keys(*k):
        subprocess.run(base + ["send-keys", "-t", name, *k], check=True)
        time.sleep(0.3)

    try:
        wait_for("registers")
        keys(":")
        keys("-l", "break demo.s:99")
        keys("Enter")
        keys("c")
        wait_for("instret 32")                # stopped on demo.s:99 (pc 0x80)
        keys(":")
        keys("-l", "watch core 0 v")
        keys("Enter")
        keys("c")
        wait_for("instret 35")                # core 0 V changed after the MVM
        keys("r")
        wait_for("instret 34")
        keys("q")
        wait_for("EXITED 0")
    finally:
        subprocess.run(base + ["kill-server"], capture_output=True)


# ---------------------------------------------------------------------- interrupts and the mouse
from .test_debug_engine import ENDLESS  # noqa: E402  (the same endless loop)


async def wait_stopped(app, pilot, timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while app.running and time.perf_counter() < end:
        await pilot.pause(0.01)
    assert not app.running, "the run did not stop"


def test_interrupt_a_long_continue(tmp_path):
    """`c` on an endless loop runs in the background with its progress in the header and ctrl+c
    in the footer; the app stays responsive; ctrl+c stops it at an instruction boundary with a
    consistent, inspectable state; stepping, reverse stepping and continuing work afterwards."""
    from emulator.tui.registers import RegistersView
    prog = tmp_path / "endless.s"
    prog.write_text(ENDLESS, encoding="utf-8")

    async def go():
        s = Session(str(prog))
        s.checkpoint_seconds = 0.5                   # reverse steps replay at most this long
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("c")
            assert app.running and s.running
            p0 = s.progress
            await pilot.pause(0.3)                   # the UI thread goes on: progress updates
            assert s.progress[1] > p0[1] and "running `continue`" in app.sub_title
            assert "ctrl+c or escape interrupts" in app.sub_title
            screen = screen_text(app)
            assert "^c interrupt" in screen.splitlines()[-1]
            assert app.check_action("cmd", ("stepi",)) is None     # greyed out while running
            assert app.check_action("interrupt", ()) is True
            await pilot.press("ctrl+c")
            await wait_stopped(app, pilot)
            print(f"\nctrl+c → stopped and redrawn in {1000 * app.interrupt_times[0]:.0f} ms")
            assert app.interrupt_times[0] < 10.0     # it stopped; the speed is measured, not tested
            st = s.last_stop
            assert st.reason == "interrupted" and s.at_landing() and not s.running
            log = app.query_one(EventLog).lines_text
            assert any(line.startswith(f"interrupted at pc {s.m.pc:#06x} cycle {s.m.cycle}")
                       for line in log)
            regs = app.query_one(RegistersView).render_text().plain
            assert f"{int(s.m.regs[3]):>12}" in regs and f"instret {s.m.instret}" in regs
            assert s.m.regs[4] == 2 * s.m.regs[3] or s.m.regs[4] == 2 * s.m.regs[3] - 2
            screen = screen_text(app)
            assert f"cycle {s.m.cycle}, pc {s.m.pc:#06x}" in screen.splitlines()[0]
            assert "^c interrupt" not in screen.splitlines()[-1]
            here, k = s.state_bytes(), s.m.instret
            await pilot.press("r")                   # reverse step after an interrupt
            assert s.m.instret == k - 1
            await pilot.press("i")
            assert s.m.instret == k and s.state_bytes() == here
            await app.run_command("until x3 < 0")   # a checking run; escape interrupts too
            assert app.running
            await pilot.press("escape")
            await wait_stopped(app, pilot)
            assert s.last_stop.reason == "interrupted" and s.m.instret > k
            await pilot.press("q")
        assert app.return_code in (0, None)
    run(go())


def test_quit_and_startup_commands_while_running(tmp_path):
    prog = tmp_path / "endless.s"
    prog.write_text(ENDLESS, encoding="utf-8")

    async def go():
        s = Session(str(prog))
        app = DebuggerApp(s, startup=["continue", "print x3"])
        async with app.run_test(size=SIZE) as pilot:
            assert app.running                       # the startup continue goes on
            await pilot.press("q")                   # interrupts, then quits
            await pilot.pause(0.2)
        assert s.last_stop.reason == "interrupted" and not s.running
    run(go())


def test_mouse_clicks_toggle_breakpoints_and_select_cores_and_wheel_scrolls():
    from textual import events
    from emulator.tui.coremap import CoreMap

    async def go():
        s = session()
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            src = app.query_one(SourcePane)
            row = src._targets.index((DEMO, 86))     # cprog c0, x5 (content row)
            await pilot.click("#source", offset=(12, row + 1))     # +1: the border
            assert [s.location(b.addr) for b in s.breaks.values()] == [f"{DEMO}:86"]
            assert s.location(src.cursor) == f"{DEMO}:86"
            assert src._targets.index((DEMO, 86)) == row          # the view stays put
            await pilot.click("#source", offset=(12, row + 1))     # the same line again: off
            assert not s.breaks
            blank = src._targets.index((DEMO, 84))   # no code: the next line with code (85)
            await pilot.click("#source", offset=(30, blank + 1))
            assert [s.location(b.addr) for b in s.breaks.values()] == [f"{DEMO}:85"]
            await pilot.click("#source", offset=(12, 1))           # the file name row: nothing
            assert len(s.breaks) == 1
            # the core map: core 14 is chain 2, position 2
            await pilot.click("#coremap", offset=(1 + 7 + 2 * 11 + 4, 1 + 1 + 2))
            assert app.query_one(CoreMap).selected == 14
            assert app.query_one(CoreDetail).core == 14
            assert "core 14  chain 2" in screen_text(app)
            # the wheel: source and memory panes scroll
            first = src._first
            src.post_message(events.MouseScrollDown(src, 5, 5, 0, 1, 0, False, False, False))
            await pilot.pause()
            assert src._first == first + 3 and src._targets[1] == (DEMO, first + 3)
            mv = app.query_one(MemoryView)
            a0 = mv.addr
            mv.post_message(events.MouseScrollDown(mv, 5, 5, 0, 1, 0, False, False, False))
            await pilot.pause()
            assert mv.addr == a0 + 48 and f"{a0 + 48:06x}" in screen_text(app)
            mv.post_message(events.MouseScrollUp(mv, 5, 5, 0, -1, 0, False, False, False))
            await pilot.pause()
            assert mv.addr == a0
            await pilot.press("i")                   # a stop follows pc again
            assert src.scroll_first is None
            await pilot.press("q")
    run(go())


def test_help_lists_the_interrupt_keys():
    from emulator.tui.app import KEYS
    keys = {k: d for k, _a, d in KEYS}
    assert "interrupt" in keys["ctrl+c"] and "interrupt" in keys["escape"]
    doc = (ROOT / "docs" / "debugger.md").read_text(encoding="utf-8")
    assert "ctrl+c" in doc and "escape" in doc and "click" in doc


def test_resize_while_running_does_not_read_the_session(tmp_path, monkeypatch):
    """The worker thread owns the session while a command runs: a resize then only marks the
    source pane dirty; it is redrawn (at its new size) once the command is done."""
    prog = tmp_path / "endless.s"
    prog.write_text(ENDLESS, encoding="utf-8")
    reads: list[bool] = []
    orig = SourcePane.rows

    def rows(self, h):
        reads.append(self.session.running)
        return orig(self, h)
    monkeypatch.setattr(SourcePane, "rows", rows)

    async def go():
        s = Session(str(prog))
        app = DebuggerApp(s)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("c")
            await pilot.pause(0.2)
            n = len(reads)
            await pilot.resize_terminal(140, 50)
            await pilot.pause(0.3)
            assert app.running and len(reads) == n and True not in reads
            assert app.query_one(SourcePane).dirty
            await pilot.press("ctrl+c")
            await wait_stopped(app, pilot)
            assert len(reads) > n and not app.query_one(SourcePane).dirty
            await pilot.press("q")
    run(go())
