"""The debug session: a Machine, its program's source map, break/watch/log points, and
forward and reverse execution.  No UI code here: the TUI, the batch mode and the line mode are
all views over a `Session` (plus `commands.CommandInterpreter` for the shared command language).

Positions.  The session stops only at two kinds of states, both of which `Machine` can rebuild
exactly: the *landing point* of k instructions (the state `Machine.step(k)` leaves after load) and
the state at a cycle (`Machine.run_until(T)`).  A breakpoint "arrives" at a landing point whose pc
carries it (the C core's breakpoints fire exactly there), so forward and reverse execution agree.

Slices and interrupts.  Every command runs the machine in bounded slices (a number of
instructions, or of cycles for the cycle commands, sized to take about `slice_seconds` of wall
time) and checks between slices whether `interrupt()` was called — from another thread (the TUI
runs commands in a worker thread) or from a SIGINT handler (`sigint_interrupts()`, line and batch
mode).  An interrupted command stops with reason "interrupted" at a slice boundary: a landing
point (a cycle state for the cycle commands) whose breakpoint arrival has been dealt with, so
continuing afterwards reaches exactly the state and trace an uninterrupted run reaches.  Slicing
does not change the machine's behaviour (its state at a cycle does not depend on how the run was
cut up).  Long runs also take a checkpoint every `checkpoint_seconds`, so that reverse execution
after a long run replays at most that much.
"""
from __future__ import annotations

import contextlib
import functools
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..machine import Machine, RunResult, Snapshot
from .._native import NUM_CORES, STOP_NAMES, lib
from .expr import Evaluator, ExprError, snapshot_value, values_equal
from .history import History, normalize

DEFAULT_MAX_CYCLES = 10**10          # one continue: a runaway program stops with "limit"
DEFAULT_MAX_STEPS = 5_000_000        # instructions stepped one by one in a checking run
_NEVER = 2**64 - 1                   # "no cycle bound" for nr_run
# slice sizes adapt to take about slice_seconds each, within these bounds
_SLICE_BOUNDS = {"insns": (16, 1 << 24), "cycles": (1 << 10, 1 << 24), "budget": (1 << 10, 1 << 26)}
# a reverse step replaying more than _LONG_REPLAY instructions (cycles) from its checkpoint
# leaves a checkpoint _NEAR before its target on the way, for the next reverse steps
_LONG_REPLAY = 1 << 22
_NEAR = 1 << 12


class DebugError(Exception):
    """A command that cannot be carried out (bad location, no such breakpoint, …)."""


class Interrupted(Exception):
    """Raised inside the engine at a slice boundary after `Session.interrupt()`; the outermost
    command turns it into a Stop with reason "interrupted"."""


def _command(fn):
    """A command that runs the machine: the outermost one turns an interrupt into a stop."""
    @functools.wraps(fn)
    def run(self: "Session", *args, **kw):
        if self._depth:
            return fn(self, *args, **kw)
        self._depth += 1
        self.running = True
        self._run_started = self._last_checkpoint = time.perf_counter()
        self._progress = (self.m.cycle, self.m.instret)
        try:
            return fn(self, *args, **kw)
        except Interrupted:
            return self._stop_interrupted()
        except KeyboardInterrupt:
            # a KeyboardInterrupt that was not routed through interrupt() (no sigint_interrupts,
            # or a second Ctrl+C): the machine state is consistent (C calls are never torn)
            return self._stop_interrupted()
        finally:
            lib.nr_bp_clear_all(self.m._native.m)
            self._depth -= 1
            self.running = False
            self._cancel.clear()
            self._progress = (self.m.cycle, self.m.instret)
    return run


@dataclass
class Breakpoint:
    id: int
    addr: int
    spec: str
    kind: str = "break"                # break, tbreak, log
    condition: str | None = None
    message: str | None = None         # log points: the format string
    enabled: bool = True
    hits: int = 0
    ignore: int = 0

    @property
    def temporary(self) -> bool:
        return self.kind == "tbreak"


@dataclass
class Watchpoint:
    id: int
    expr: str
    enabled: bool = True
    hits: int = 0
    old: Any = None
    kind: str = "watch"


@dataclass
class Event:
    cycle: int
    kind: str          # stop, core, fault, log, info
    text: str


@dataclass
class Stop:
    reason: str        # step, breakpoint, watchpoint, halt, ebreak, fault, cycle, until, limit, start,
                       # history, interrupted
    text: str
    pc: int
    cycle: int
    instret: int
    location: str | None = None
    point: int | None = None          # break/watch point id
    old: Any = None                   # watchpoints: value before
    new: Any = None


_LOC_RE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


class Session:
    def __init__(self, program=None, *, model: str | None = None, seed: int | None = None,
                 config=None, interval: int = 32, history_bytes: int = 256 << 20,
                 machine: Machine | None = None):
        self.m = machine or Machine(model=model, seed=seed, config=config)
        self.ev = Evaluator(self.m)
        self.history = History(interval, history_bytes)
        self.breaks: dict[int, Breakpoint] = {}
        self.watches: dict[int, Watchpoint] = {}
        self._next_id = 1
        self.events: list[Event] = []
        self.listeners: list[Callable[[Event], None]] = []
        self.last_stop: Stop | None = None
        self.fault: RunResult | None = None     # set while the machine sits on a fault
        self.prev_regs = np.zeros(16, dtype=np.int64)
        self.max_cycles = DEFAULT_MAX_CYCLES
        self.max_steps = DEFAULT_MAX_STEPS
        self._core_state: list[tuple] = []
        self.source_lines: dict[str, list[str]] = {}
        # slicing and interrupts (see the module docstring)
        self._cancel = threading.Event()
        self.sigint_seen = False              # a SIGINT arrived (inside sigint_interrupts)
        self._hold = 0                        # > 0: slice boundaries do not raise Interrupted
        self._depth = 0
        self.running = False                  # a command is running the machine
        self.slice_seconds = 0.02             # target wall time of one slice
        self.fixed_slice: int | None = None   # tests: every slice this many instructions/cycles
        # insns: instructions per slice; cycles: cycles per slice of the cycle commands;
        # budget: the cycles an instruction slice may span at most (bounds its wall time when
        # the instructions turn costly, e.g. MVMs after a cheap loop grew the instruction count)
        self._slice = {"insns": 4096, "cycles": 1 << 16, "budget": 1 << 16}
        self.checkpoint_seconds = 1.0         # long runs: a checkpoint this often (0: never)
        self.on_poll: Callable[[], None] | None = None   # called at every slice boundary
        self._progress = (0, 0)
        self._run_started = self._last_checkpoint = 0.0
        if program is not None:
            self.load(program)

    # ================================================================ loading
    def load(self, program) -> None:
        self.m.load(program)
        self.fault = None
        self.history.clear()
        normalize(self.m)
        self.history.save(self.m, landing=True)
        self.prev_regs = self.m.regs.copy()
        self._core_state = self._cores_now()
        self.source_lines = {}
        for f, _line, _col in set(self.m.program.lines.values()):
            if f not in self.source_lines:
                try:
                    self.source_lines[f] = Path(f).read_text(encoding="utf-8").splitlines()
                except OSError:
                    self.source_lines[f] = []
        self._by_line: dict[tuple[str, int], list[int]] = {}
        for addr, (f, line, _c) in sorted(self.m.program.lines.items()):
            self._by_line.setdefault((f, line), []).append(addr)
        self.last_stop = Stop("start", f"loaded {self.m.program.name}", self.m.pc, 0, 0,
                              self.location(self.m.pc))
        for w in self.watches.values():
            w.old = self._watch_value(w)
        self._emit("info", f"loaded {self.m.program.name}: {len(self.m.program.words)} instructions")

    @property
    def program(self):
        return self.m.program

    # ================================================================ events
    def _emit(self, kind: str, text: str) -> Event:
        e = Event(self.m.cycle, kind, text)
        self.events.append(e)
        if len(self.events) > 5000:
            del self.events[:1000]
        for fn in self.listeners:
            fn(e)
        return e

    def _cores_now(self) -> list[tuple]:
        out = []
        for i in range(NUM_CORES):
            c = self.m.cores[i]
            k = c.counters
            out.append((c.powered, c.phase, k["mvms"], k["samples"], k["prog_cells"]))
        return out

    def _core_events(self) -> None:
        now = self._cores_now()
        for i, (a, b) in enumerate(zip(self._core_state, now)):
            if a == b:
                continue
            parts = []
            if a[0] != b[0]:
                parts.append("powered on" if b[0] else "powered off")
            if b[2] > a[2]:
                parts.append(f"{b[2] - a[2]} mvm")
            if b[3] > a[3]:
                parts.append(f"{b[3] - a[3]} sample")
            if b[4] > a[4]:
                parts.append(f"programmed {b[4] - a[4]} cells")
            if a[1] != b[1]:
                parts.append(f"{a[1]} → {b[1]}")
            self._emit("core", f"core {i}: " + ", ".join(parts))
        self._core_state = now

    # ================================================================ slices and interrupts
    def interrupt(self) -> None:
        """Ask the running command to stop at its next slice boundary (thread-safe; also safe
        from a signal handler).  A request made while no command runs is kept for the next
        command (clear it with `clear_interrupt`)."""
        self._cancel.set()

    def clear_interrupt(self) -> None:
        self._cancel.clear()

    @property
    def interrupt_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def progress(self) -> tuple[int, int]:
        """(cycle, instret) of the running command at its last slice boundary (safe to read from
        another thread while the command runs), else of the machine."""
        if self.running:
            return self._progress
        return self.m.cycle, self.m.instret

    @contextlib.contextmanager
    def sigint_interrupts(self):
        """While active, Ctrl+C (SIGINT) interrupts the running command at its next slice
        boundary instead of raising KeyboardInterrupt wherever Python happens to be (also a
        second one: the command still stops at its next boundary, which slices bound in wall
        time).  While no command runs the machine, Ctrl+C raises KeyboardInterrupt.  Every
        Ctrl+C sets `sigint_seen` (also one arriving after the command's last slice boundary,
        which the command itself no longer sees), so the caller can report it and, in batch mode,
        skip the rest.  Only in the main thread; elsewhere a no-op."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            self.sigint_seen = True
            if self._depth:
                # a command runs: it stops at its next slice boundary.  Never raise here: a
                # KeyboardInterrupt could land between a C slice and the Python code that deals
                # with where it stopped (a breakpoint arrival), losing that stop
                self._cancel.set()
                return
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGINT, handler)
        self.sigint_seen = False
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)
            self._cancel.clear()

    @contextlib.contextmanager
    def _uninterruptible(self):
        """Slice boundaries inside do not stop (an interrupt stays pending for the caller)."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1

    @contextlib.contextmanager
    def _or_back(self):
        """An interrupt inside puts the machine back where it was (a reverse step ends at its
        target or where it started, never somewhere in between)."""
        snap, fault = self.m.snapshot(), self.fault
        try:
            yield
        except (Interrupted, KeyboardInterrupt):
            self.m.restore(snap)
            self.fault = fault
            normalize(self.m)
            raise Interrupted from None

    def _poll(self, landing: bool = True) -> None:
        """A slice boundary: publish progress, take a checkpoint in long runs, and raise
        Interrupted when an interrupt was asked for.  `landing`: the state is a landing point."""
        self._progress = (self.m.cycle, self.m.instret)
        if self.on_poll is not None:
            self.on_poll()
        if self._cancel.is_set() and not self._hold:
            raise Interrupted
        if self.checkpoint_seconds and \
                time.perf_counter() - self._last_checkpoint >= self.checkpoint_seconds:
            normalize(self.m)
            self.history.save(self.m, landing=landing and self.at_landing())
            self._last_checkpoint = time.perf_counter()

    def _go(self, until: int = _NEVER, insns: int = 0) -> str:
        """One nr_run (no RunResult is built: `self.m._result()` when one is needed)."""
        return STOP_NAMES[self.m._native.run(until, insns)]

    def _slice_len(self, kind: str) -> int:
        if self.fixed_slice:
            return self.fixed_slice if kind != "budget" else self.fixed_slice * 64
        return self._slice[kind]

    def _adapt(self, kind: str, seconds: float) -> None:
        """Resize the slices of `kind` after a full slice that took `seconds`."""
        lo, hi = _SLICE_BOUNDS[kind]
        n = self._slice[kind]
        if seconds < self.slice_seconds / 2:
            n = min(hi, 2 * n)
        elif seconds > 2 * self.slice_seconds:
            n = max(lo, n // 2)
        self._slice[kind] = n

    def _slice_insns(self, left: int | None = None, until: int = _NEVER) -> str:
        """Up to one slice of instructions (at most `left`), stopping at cycle `until`."""
        n = self._slice_len("insns")
        if left is not None:
            n = min(n, left)
        budget = self._slice_len("budget")
        end = min(until, self.m.cycle + budget)
        t0 = time.perf_counter()
        stop = self._go(end, n)
        if stop == "cycle" and end < until:
            # the cycle budget ended the slice (not the caller's cycle limit), perhaps inside an
            # instruction's cost or a stall: one more instruction ends it on a landing point (a
            # breakpoint at the next pc fires here before it issues, as in an unsliced run)
            stop = self._go(until, 1)
            if budget == self._slice["budget"]:
                self._adapt("budget", time.perf_counter() - t0)
        elif stop == "step" and n == self._slice["insns"]:
            self._adapt("insns", time.perf_counter() - t0)
        return stop

    def _slice_cycles(self, target: int) -> str:
        """Up to one slice of cycles toward cycle `target`."""
        n = self._slice_len("cycles")
        end = min(target, self.m.cycle + n)
        t0 = time.perf_counter()
        stop = self._go(end)
        if stop == "cycle" and end < target and n == self._slice["cycles"]:
            self._adapt("cycles", time.perf_counter() - t0)
        return stop

    def _stop_interrupted(self) -> Stop:
        lib.nr_bp_clear_all(self.m._native.m)
        pc, where = self.m.pc, self.location(self.m.pc)
        return self._finish_stop("interrupted", f"interrupted at pc {pc:#06x} cycle {self.m.cycle}"
                                 + (f" ({where})" if where else ""))

    # ================================================================ locations
    def location(self, pc: int) -> str | None:
        return self.m.source_location(pc)

    def resolve(self, spec: str) -> int:
        """An address from `0x40`, `*0x40`, a label, `file:line` or `line`."""
        s = spec.strip().lstrip("*")
        if not s:
            raise DebugError("no location given")
        prog = self.m.program
        mt = _LOC_RE.match(s)
        if mt or s.isdigit() and not s.startswith("0"):
            if mt:
                fname, line = mt.group("file"), int(mt.group("line"))
            else:
                fname, line = self.current_file(), int(s)
            f = self._match_file(fname)
            lines = sorted(l for ff, l in self._by_line if ff == f and l >= line)
            if not lines:
                raise DebugError(f"{fname}:{line}: no code at or after this line")
            return self._by_line[(f, lines[0])][0]
        if prog and s in prog.symbols:
            sec, val = prog.symbols[s]
            if sec != "text":
                raise DebugError(f"{s!r} is a {sec} symbol, not a code label")
            return int(val)
        try:
            addr = int(s, 0)
        except ValueError:
            try:
                addr = int(self.ev.eval(s))
            except ExprError:
                raise DebugError(f"cannot resolve location {spec!r} (an address, a label, "
                                 f"file:line or a line number)") from None
        if addr % 4 or not 0 <= addr < 4 * len(prog.words):
            raise DebugError(f"{addr:#x} is not an instruction address (0..{4 * len(prog.words) - 4:#x})")
        return addr

    def _match_file(self, fname: str) -> str:
        """The program's source file meant by `fname`: an exact path (as stored, or the same file
        on disk), else the one file whose path ends with `/fname`; an error when none or several
        match (e.g. `x.s` for both `x.s` and `lib/x.s` given as absolute paths)."""
        files = sorted({f for f, _l in self._by_line})
        exact = [f for f in files if f == fname]
        if not exact:
            try:
                target = Path(fname).resolve()
                exact = [f for f in files if not f.startswith("<") and Path(f).resolve() == target]
            except (OSError, RuntimeError, ValueError):
                exact = []
        if len(exact) == 1:
            return exact[0]
        match = exact or [f for f in files if f.endswith("/" + fname)]
        if not match:
            raise DebugError(f"no source file {fname!r} in the program "
                             f"(files: {', '.join(files) or 'none'})")
        if len(match) > 1:
            raise DebugError(f"{fname!r} is ambiguous: it matches {', '.join(match)} "
                             "(give more of the path)")
        return match[0]

    def current_file(self) -> str:
        loc = self.m.program.lines.get(self.m.pc)
        if loc:
            return loc[0]
        files = sorted({f for f, _l in self._by_line})
        if not files:
            raise DebugError("the program has no source map")
        return files[0]

    def line_of(self, pc: int) -> tuple[str, int] | None:
        loc = self.m.program.lines.get(pc)
        return (loc[0], loc[1]) if loc else None

    def disasm(self, pc: int) -> str:
        from asm.disasm import disassemble_word
        words = self.m.program.words
        if pc % 4 or not 0 <= pc < 4 * len(words):
            return "<outside the program>"
        labels = {int(v): n for n, (sec, v) in self.m.program.symbols.items() if sec == "text"}
        return disassemble_word(int(words[pc // 4]), pc, labels)

    # ================================================================ points
    def _new_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    def add_break(self, spec: str, condition: str | None = None, temporary: bool = False) -> Breakpoint:
        addr = self.resolve(spec)
        if condition:
            self.ev.parse(condition)
        bp = Breakpoint(self._new_id(), addr, spec, "tbreak" if temporary else "break", condition)
        self.breaks[bp.id] = bp
        return bp

    def add_log(self, spec: str, message: str) -> Breakpoint:
        addr = self.resolve(spec)
        for e in _fields(message):
            self.ev.parse(e[0])
        bp = Breakpoint(self._new_id(), addr, spec, "log", None, message)
        self.breaks[bp.id] = bp
        return bp

    def add_watch(self, expr: str) -> Watchpoint:
        try:
            self.ev.parse(expr)
        except ExprError as e:
            raise DebugError(str(e)) from None
        w = Watchpoint(self._new_id(), expr)
        w.old = self._watch_value(w)
        self.watches[w.id] = w
        return w

    def toggle_break(self, addr: int) -> Breakpoint | None:
        """Remove the breakpoints at addr, or add one; the new breakpoint (or None)."""
        there = [b for b in self.breaks.values() if b.addr == addr and b.kind != "log"]
        if there:
            for b in there:
                del self.breaks[b.id]
            return None
        spec = self.location(addr) or f"{addr:#x}"
        bp = Breakpoint(self._new_id(), addr, spec)
        self.breaks[bp.id] = bp
        return bp

    def point(self, i: int):
        if i in self.breaks:
            return self.breaks[i]
        if i in self.watches:
            return self.watches[i]
        raise DebugError(f"no breakpoint or watchpoint {i}")

    def delete(self, ids: list[int] | None = None) -> int:
        if ids is None:
            n = len(self.breaks) + len(self.watches)
            self.breaks.clear()
            self.watches.clear()
            return n
        for i in ids:
            self.point(i)
        for i in ids:
            self.breaks.pop(i, None)
            self.watches.pop(i, None)
        return len(ids)

    def set_enabled(self, ids: list[int] | None, on: bool) -> None:
        pts = list(self.breaks.values()) + list(self.watches.values()) if ids is None \
            else [self.point(i) for i in ids]
        for p in pts:
            p.enabled = on
            if on and isinstance(p, Watchpoint):
                p.old = self._watch_value(p)

    def set_condition(self, i: int, cond: str | None) -> None:
        p = self.point(i)
        if not isinstance(p, Breakpoint):
            raise DebugError(f"{i} is a watchpoint; conditions are for breakpoints")
        if cond:
            try:
                self.ev.parse(cond)
            except ExprError as e:
                raise DebugError(str(e)) from None
        p.condition = cond or None

    def set_ignore(self, i: int, count: int) -> None:
        p = self.point(i)
        if not isinstance(p, Breakpoint):
            raise DebugError(f"{i} is a watchpoint")
        p.ignore = max(0, count)

    def _watch_value(self, w: Watchpoint):
        try:
            return snapshot_value(self.ev.eval(w.expr))
        except ExprError as e:
            return f"<error: {e}>"

    def format_message(self, message: str) -> str:
        out = []
        pos = 0
        for expr, spec, a, b in _fields(message):
            out.append(message[pos:a])
            try:
                v = self.ev.eval(expr)
                out.append(format(v, spec) if spec and not isinstance(v, np.ndarray) else _short(v))
            except (ExprError, ValueError, TypeError) as e:
                out.append(f"<{e}>")
            pos = b
        out.append(message[pos:])
        return "".join(out).replace("{{", "{").replace("}}", "}")

    # ================================================================ state
    @property
    def halted(self) -> bool:
        return self.m.halted

    def changed_regs(self) -> set[int]:
        return {i for i in range(16) if self.m.regs[i] != self.prev_regs[i]}

    def _next_issue(self) -> int:
        return int(self.m._native.m.next_issue)

    def at_landing(self) -> bool:
        return self.m.cycle >= self._next_issue()

    # ================================================================ forward execution
    def _can_run(self) -> None:
        if self.fault is not None:
            raise DebugError(f"the program faulted: {self.fault.message} — inspect the state, "
                             "reverse, or `restart`")
        if self.m.halted:
            raise DebugError("the program has halted (reverse or `restart`)")

    def _enabled_breaks(self) -> dict[int, list[Breakpoint]]:
        out: dict[int, list[Breakpoint]] = {}
        for b in self.breaks.values():
            if b.enabled:
                out.setdefault(b.addr, []).append(b)
        return out

    def _arrive(self, bps: dict[int, list[Breakpoint]], count: bool = True) -> Breakpoint | None:
        """Breakpoint logic on arriving at pc: log points print, conditions and ignore counts
        apply.  The breakpoint that stops, if any."""
        stop = None
        for b in bps.get(self.m.pc, ()):
            if b.condition:
                try:
                    if not self.ev.truth(b.condition):
                        continue
                except ExprError as e:
                    if count:
                        self._emit("info", f"breakpoint {b.id}: condition error: {e} (stopping)")
                    stop = stop or b
                    continue
            if not count:
                if b.kind != "log":
                    stop = stop or b
                continue
            if b.kind == "log":
                b.hits += 1
                self._emit("log", self.format_message(b.message or ""))
                continue
            if b.ignore > 0:
                b.ignore -= 1
                b.hits += 1
                continue
            b.hits += 1
            stop = stop or b
        return stop

    def _check_watches(self, count: bool = True) -> tuple[Watchpoint, Any, Any] | None:
        hit = None
        for w in self.watches.values():
            if not w.enabled:
                continue
            new = self._watch_value(w)
            if not values_equal(w.old, new):
                if hit is None:
                    hit = (w, w.old, new)
                    if count:
                        w.hits += 1
                w.old = new
        return hit

    def _run_checked(self, *, until_expr: str | None = None, temp: set[int] = frozenset(),
                     line_from: tuple | None = None, over_calls: bool = False,
                     max_insns: int | None = None, fast_ok: bool = True) -> Stop:
        """The one forward loop.  Stops at halt, fault, an arriving breakpoint, a watchpoint
        change, a true until-expression, a temporary address, or a source-line change."""
        self._can_run()
        bps = self._enabled_breaks()
        watches = any(w.enabled for w in self.watches.values())
        start_cycle, start_instret = self.m.cycle, self.m.instret
        # an unfinished instruction cost (after a cycle step) first runs to the landing point
        if not self.at_landing():
            r = self.m.run_until(self._next_issue())
            if r.stop == "fault":
                return self._stop_fault(r)
            if self.m.halted:
                return self._stop_halt()
            if r.stop == "ebreak":
                return self._stop_ebreak(bps)
            b = self._arrive(bps)
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                return self._finish_stop("step", "")
        fast = fast_ok and not watches and until_expr is None and line_from is None \
            and max_insns is None
        if fast:
            return self._run_fast(bps, temp)
        limit = max_insns if max_insns is not None else self.max_steps
        done = 0
        while True:
            # every instruction is a slice boundary here (its arrival was dealt with below)
            self._poll()
            stop = None
            if over_calls and self._is_call(self.m.pc):
                ret = self.m.pc + 4
                st = self._run_fast(bps, set(temp) | {ret}, final=False)
                if st is not None:
                    return st
            else:
                stop = self._go(insns=1)
                if stop == "fault":
                    return self._stop_fault(self.m._result())
            done += 1
            self.history.maybe_save(self.m, landing=True, throttle=True)
            if self.m.halted:
                return self._stop_halt()
            if stop == "ebreak":
                return self._stop_ebreak(bps)
            hit = self._check_watches()
            if hit is not None:
                w, old, new = hit
                return self._finish_stop("watchpoint", f"watchpoint {w.id}: {w.expr}: "
                                         f"{_short(old)} → {_short(new)}", point=w.id, old=old, new=new)
            b = self._arrive(bps)
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                return self._finish_stop("step", "")
            if until_expr is not None:
                try:
                    if self.ev.truth(until_expr):
                        return self._finish_stop("until", f"until: {until_expr} is true")
                except ExprError as e:
                    return self._finish_stop("until", f"until: {e}")
            if line_from is not None:
                here = self.line_of(self.m.pc)
                if here is None or here != line_from:
                    return self._finish_stop("step", "")
            if done >= limit:
                if max_insns is not None:
                    return self._finish_stop("step", "")
                return self._finish_stop("limit", f"stopped after {done} instructions "
                                         "(the step limit of one command)")

    def _run_fast(self, bps, temp, final: bool = True) -> Stop | None:
        """Continue on the C core's breakpoints, in slices of instructions.  With final=False
        (next over a call), None when a temporary address was reached, so the caller's loop
        goes on."""
        # step off the current instruction first: its breakpoint already had its chance
        stop = self._go(insns=1)
        if stop == "fault":
            return self._stop_fault(self.m._result())
        if self.m.halted:
            return self._stop_halt()
        if stop == "ebreak":
            return self._stop_ebreak(bps)
        addrs = set(bps) | set(temp)
        native = self.m._native.m
        limit = self.m.cycle + self.max_cycles
        while True:
            # arriving at a landing point (after the step off, a C breakpoint stop or a slice):
            # log points print, conditions and ignore counts apply, temporary addresses end
            b = self._arrive(bps) if self.m.pc in bps else None
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                if not final:
                    normalize(self.m)
                    return None
                return self._finish_stop("step", "")
            self._poll()
            # this arrival is dealt with: the C core must not fire its breakpoint again
            native.bp_skip = self.m.instret + 1
            for a in addrs:
                lib.nr_bp_set(native, a)
            try:
                stop = self._slice_insns(until=limit)
            finally:
                lib.nr_bp_clear_all(native)
            if stop in ("step", "breakpoint"):
                continue
            if stop == "cycle":
                return self._finish_stop("limit", f"still running after {self.max_cycles} cycles")
            if stop == "fault":
                return self._stop_fault(self.m._result())
            if stop == "halt" or self.m.halted:
                return self._stop_halt()
            if stop == "ebreak":
                return self._stop_ebreak(bps)
            return self._finish_stop(stop, "")

    def _is_call(self, pc: int) -> bool:
        from asm.disasm import decode
        words = self.m.program.words
        if pc % 4 or not 0 <= pc < 4 * len(words):
            return False
        spec, vals = decode(int(words[pc // 4]))
        return spec is not None and spec.mnemonic in ("jal", "jalr") and vals.get("rd", 0) != 0

    # ---------------------------------------------------------------- stops
    def _finish_stop(self, reason: str, text: str, **kw) -> Stop:
        normalize(self.m)
        self.history.maybe_save(self.m, landing=self.at_landing())
        for b in [b for b in self.breaks.values() if b.temporary and b.hits]:
            del self.breaks[b.id]
        return self._record(reason, text, **kw)

    def _record(self, reason: str, text: str, **kw) -> Stop:
        for w in self.watches.values():
            w.old = self._watch_value(w)
        st = Stop(reason, text, self.m.pc, self.m.cycle, self.m.instret, self.location(self.m.pc), **kw)
        self.last_stop = st
        self._core_events()
        if text:
            self._emit("fault" if reason == "fault" else "stop", text)
        return st

    def _stop_break(self, b: Breakpoint) -> Stop:
        where = self.location(b.addr) or f"{b.addr:#x}"
        kind = "temporary breakpoint" if b.temporary else "breakpoint"
        return self._finish_stop("breakpoint", f"{kind} {b.id} at {where} (hit {b.hits})", point=b.id)

    def _stop_halt(self) -> Stop:
        return self._finish_stop("halt", f"program halted at cycle {self.m.cycle} "
                                 f"({self.m.instret} instructions)")

    def _stop_ebreak(self, bps: dict[int, list[Breakpoint]]) -> Stop:
        """`ebreak` retired: the machine sits on the instruction after it, where it also
        arrives at any breakpoint there (which then reports the stop, so that the next
        `continue`, stepping off this instruction first, does not lose it)."""
        b = self._arrive(bps) if self.m.pc in bps else None
        if b is not None:
            return self._stop_break(b)
        where = self.location(self.m.pc - 4) or f"{self.m.pc - 4:#x}"
        return self._finish_stop("ebreak", f"stopped at ebreak ({where})")

    def _stop_fault(self, r: RunResult) -> Stop:
        self.fault = r
        return self._finish_stop("fault", r.message or f"fault {r.fault}")

    def mark(self) -> None:
        """Remember the registers, to highlight what the next command changes."""
        self.prev_regs = self.m.regs.copy()

    # ---------------------------------------------------------------- commands
    @_command
    def stepi(self, n: int = 1) -> Stop:
        self.mark()
        return self._run_checked(max_insns=max(1, n))

    @_command
    def step(self, n: int = 1, over: bool = False) -> Stop:
        """Source-line steps (an instruction at a time where there is no source)."""
        self.mark()
        st = None
        for _ in range(max(1, n)):
            here = self.line_of(self.m.pc)
            if here is None:
                st = self._run_checked(max_insns=1, over_calls=over)
            else:
                st = self._run_checked(line_from=here, over_calls=over)
            if st.reason != "step":
                break
        return st

    @_command
    def next(self, n: int = 1) -> Stop:
        return self.step(n, over=True)

    @_command
    def finish(self) -> Stop:
        """Run until the return address in x1 (the call convention's ra)."""
        self.mark()
        ret = int(self.m.regs[1])
        return self._run_checked(temp={ret})

    @_command
    def cont(self) -> Stop:
        self.mark()
        return self._run_checked()

    @_command
    def until(self, expr: str) -> Stop:
        self.mark()
        try:
            self.ev.parse(expr)
        except ExprError as e:
            raise DebugError(str(e)) from None
        return self._run_checked(until_expr=expr)

    @_command
    def advance(self, spec: str) -> Stop:
        self.mark()
        return self._run_checked(temp={self.resolve(spec)})

    @_command
    def stepc(self, n: int = 1) -> Stop:
        """Advance n cycles (halt and faults stop earlier; break/watch points do not)."""
        self.mark()
        return self.run_to_cycle(self.m.cycle + max(1, n))

    @_command
    def run_to_cycle(self, target: int) -> Stop:
        self._can_run()
        self.mark()
        if target <= self.m.cycle:
            return self.goto_cycle(target)
        while True:
            stop = self._slice_cycles(target)
            if stop != "cycle" or self.m.cycle >= target:
                break
            self._poll(landing=False)
        if stop == "fault":
            return self._stop_fault(self.m._result())
        if self.m.halted:
            return self._stop_halt()
        if stop == "ebreak":
            return self._stop_ebreak({})        # cycle steps do not stop at breakpoints
        return self._finish_stop("cycle", "")

    @_command
    def restart(self) -> Stop:
        self.mark()
        return self.goto_instret(0)

    # ================================================================ reverse execution
    def _replay(self, cp, reached, advance, landing: bool = True) -> None:
        """Restore checkpoint `cp` (None: go on from the current state) and run forward with
        `advance()` (one slice: the stop name) until `reached()`.  An ebreak stops a replay early,
        so the replay goes on past it; a fault ends it.  Between slices an interrupt leaves the
        machine where the replay got to."""
        if cp is not None:
            self.history.restore(self.m, cp)
            self.fault = None
        while not reached() and not self.m.halted and self.fault is None:
            stop = advance()
            if stop == "fault":
                self.fault = self.m._result()
                break
            if stop in ("step", "cycle") and not reached():
                self._poll(landing)
                continue
            if stop != "ebreak":
                break
        normalize(self.m)

    def _replay_near(self, cp, distance: int, position, target: int, advance, landing: bool) -> Any:
        """A long replay (after a long run: `distance` instructions or cycles from checkpoint `cp`)
        first goes to `target - _NEAR` and leaves a checkpoint there, so that the next reverse
        steps replay little.  The checkpoint to go on from (None: the current state)."""
        if distance < _LONG_REPLAY:
            return cp
        near = target - _NEAR
        self._replay(cp, lambda: position() >= near, lambda: advance(near), landing)
        if position() == near and self.fault is None and not self.m.halted:
            self.history.save(self.m, landing=landing and self.at_landing())
        return None

    @_command
    def goto_instret(self, k: int) -> Stop:
        """The landing point of k instructions (rebuilt from a checkpoint)."""
        self.mark()
        k = max(0, k)
        cp = self.history.for_instret(k)

        def advance(to: int) -> str:
            return self._slice_insns(to - self.m.instret)

        cp = self._replay_near(cp, k - cp.instret, lambda: self.m.instret, k, advance, True)
        self._replay(cp, lambda: self.m.instret >= k, lambda: advance(k))
        return self._record("step", "")

    @_command
    def goto_cycle(self, cycle: int) -> Stop:
        """The state at `cycle` (rebuilt from a checkpoint)."""
        self.mark()
        cycle = max(0, cycle)
        cp = self.history.for_cycle(cycle)
        cp = self._replay_near(cp, cycle - cp.cycle, lambda: self.m.cycle, cycle,
                               self._slice_cycles, False)
        self._replay(cp, lambda: self.m.cycle >= cycle, lambda: self._slice_cycles(cycle),
                     landing=False)
        return self._record("cycle", "")

    @_command
    def reverse_stepi(self, n: int = 1) -> Stop:
        k = self.m.instret
        # between landing points (after a cycle step) the first step back goes to the landing
        back = n if self.at_landing() or self.m.halted or self.fault else n - 1
        with self._or_back():
            if k == 0 and back > 0:
                st = self.goto_instret(0)
                st.text = "at the beginning of the program"
                return st
            return self.goto_instret(k - back)

    @_command
    def reverse_step(self, n: int = 1) -> Stop:
        """Back one source line: to the first instruction of the previous line executed."""
        self.mark()
        with self._or_back():
            return self._reverse_step(n)

    def _reverse_step(self, n: int) -> Stop:
        st = None
        for _ in range(max(1, n)):
            k = self.m.instret - (1 if self.at_landing() else 0)
            here = self.line_of(self.m.pc)
            st = self.goto_instret(max(0, k))
            # keep going back while the same line continues (multi-word pseudo instructions)
            while self.m.instret > 0:
                line = self.line_of(self.m.pc)
                prev_pc = int(self.m._native.m.prev_pc)
                if line is None or self.line_of(prev_pc) != line or line == here:
                    break
                st = self.goto_instret(self.m.instret - 1)
            if self.m.instret == 0:
                break
        return st

    @_command
    def reverse_stepc(self, n: int = 1) -> Stop:
        return self.goto_cycle(self.m.cycle - max(1, n))

    @_command
    def reverse_continue(self) -> Stop:
        """Back to the most recent breakpoint arrival or watchpoint change before now.  The history
        is scanned backwards one checkpoint segment at a time.  An interrupt leaves the machine at
        the start of the part scanned so far (nothing stops between there and where it was), or
        where it was when no segment was finished."""
        self.mark()
        bps = {a: [b for b in lst if b.kind != "log"] for a, lst in self._enabled_breaks().items()}
        watching = any(w.enabled for w in self.watches.values())
        cur_k = self.m.instret
        end_k = cur_k - 1 if self.at_landing() or self.fault else cur_k
        checkpoints = [c for c in self.history.points if c.instret <= end_k]
        seg_end = end_k
        back: tuple[Any, Any] = (self.m.snapshot(), self.fault)    # where an interrupt returns to
        found = None
        try:
            for cp in reversed(checkpoints):
                if cp.instret > seg_end:
                    continue
                hits = self._scan(cp, seg_end, bps, watching)
                if hits:
                    found = hits[-1]
                    break
                back = (cp, None)
                # the earlier segment ends just before this checkpoint's landing point, whose
                # arrival was evaluated here; with watchpoints it ends on it, so that the change
                # into the checkpoint's state is compared too (each segment seeds the watched
                # values from its own checkpoint)
                seg_end = cp.instret - (1 if cp.landing and not watching else 0)
                if seg_end < 0:
                    break
        except (Interrupted, KeyboardInterrupt):
            where, fault = back
            if isinstance(where, Snapshot):
                self.m.restore(where)
            else:
                self.history.restore(self.m, where)
            self.fault = fault
            normalize(self.m)
            raise Interrupted from None
        if found is not None:
            k, text, pid = found
            # the found stop is the result: its replay is not cut short by an interrupt
            with self._uninterruptible():
                st = self.goto_instret(k)
            st.reason = "breakpoint" if text.startswith("breakpoint") else "watchpoint"
            st.text = "reverse: " + text
            st.point = pid
            self._emit("stop", st.text)
            return st
        st = self.goto_instret(0)
        st.reason = "history"
        st.text = "reverse: reached the beginning of the program"
        self._emit("stop", st.text)
        return st

    def _scan(self, cp, seg_end: int, bps, watching: bool) -> list[tuple[int, str, Any]]:
        """The breakpoint arrivals and watchpoint changes (instret, text, point id) from checkpoint
        `cp` up to the landing point `seg_end`, without counting hits or printing log points.
        Without watchpoints it runs on the C core's breakpoints in slices; with them it steps."""
        self.history.restore(self.m, cp)
        normalize(self.m)
        for w in self.watches.values():
            w.old = self._watch_value(w)
        hits: list[tuple[int, str, Any]] = []
        arrived = -1                       # the instret whose arrival has been evaluated

        def arrive() -> None:
            nonlocal arrived
            arrived = self.m.instret
            b = self._arrive(bps, count=False)
            if b is not None:
                hits.append((self.m.instret, f"breakpoint {b.id} at "
                             f"{self.location(b.addr) or hex(b.addr)}", b.id))

        if cp.landing and cp.instret > 0:
            arrive()
        if watching:
            while self.m.instret < seg_end and not self.m.halted:
                self._poll()
                if self._go(insns=1) == "fault":
                    break
                w = self._check_watches(count=False)
                if w is not None:
                    hits.append((self.m.instret, f"watchpoint {w[0].id}: {w[0].expr}: "
                                 f"{_short(w[1])} → {_short(w[2])}", w[0].id))
                arrive()
            return hits
        native = self.m._native.m
        stop = None
        while self.m.instret < seg_end and not self.m.halted:
            self._poll()
            native.bp_skip = self.m.instret + 1 if arrived == self.m.instret else 0
            for a in bps:
                lib.nr_bp_set(native, a)
            try:
                stop = self._slice_insns(seg_end - self.m.instret)
            finally:
                lib.nr_bp_clear_all(native)
            if stop == "breakpoint":
                arrive()
            elif stop == "fault":
                break
        # the last landing point: stepping checks its arrival, a run ending there does not
        if self.m.instret == seg_end and arrived != seg_end and stop != "fault" \
                and not self.m.halted and self.m.pc in bps:
            arrive()
        return hits

    # ================================================================ reporting
    def state_bytes(self) -> bytes:
        """The machine snapshot bytes (what reverse execution must reproduce)."""
        return self.m.snapshot().data


_FIELD_RE = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")


def _fields(message: str):
    """(expression, format spec, start, end) of each {expr[:spec]} in a log message."""
    out = []
    for mt in _FIELD_RE.finditer(message):
        body = mt.group(1)
        expr, spec = body, ""
        # a trailing :spec (but not inside brackets, e.g. slices)
        depth = 0
        for i, ch in enumerate(body):
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif ch == ":" and depth == 0:
                expr, spec = body[:i], body[i + 1:]
                break
        out.append((expr, spec, mt.start(), mt.end()))
    return out


def _short(v: Any, limit: int = 16) -> str:
    if isinstance(v, np.ndarray):
        flat = v.ravel()
        s = " ".join(str(int(x)) if np.issubdtype(v.dtype, np.integer) else str(x)
                     for x in flat[:limit])
        return f"[{s}{' …' if flat.size > limit else ''}]"
    if isinstance(v, bool):
        return str(v)
    return str(v)
