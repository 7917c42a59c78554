"""The debug session: a Machine, its program's source map, break/watch/log points, and
forward and reverse execution.  No UI code here: the TUI, the batch mode and the line mode are
all views over a `Session` (plus `commands.CommandInterpreter` for the shared command language).

Positions.  The session stops only at two kinds of states, both of which `Machine` can rebuild
exactly: the *landing point* of k instructions (the state `Machine.step(k)` leaves after load) and
the state at a cycle (`Machine.run_until(T)`).  A breakpoint "arrives" at a landing point whose pc
carries it (the C core's breakpoints fire exactly there), so forward and reverse execution agree.

The engine is split by concern; `Session` is the one facade that the TUI and the batch and line
modes drive: `points` (break/log/watch points), `runctl` (slices, interrupts, the command
wrapper), `forward` and `reverse` (execution), `history` (checkpoints), `stops` (shared
records), `expr` (the expression language).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from ..machine import NUM_CORES, Machine, RunResult
from .edit import Edit
from .expr import Evaluator, ExprError
from .forward import Forward
from .history import History, normalize
from .points import Breakpoint, Points, Watchpoint
from .reverse import Reverse
from .runctl import RunControl
from .stops import DebugError, Event, Interrupted, Stop

DEFAULT_MAX_CYCLES = 10**10          # one continue: a runaway program stops with "limit"
DEFAULT_MAX_STEPS = 5_000_000        # instructions stepped one by one in a checking run

__all__ = ["Session", "Stop", "Event", "Breakpoint", "Watchpoint", "DebugError", "Interrupted",
           "DEFAULT_MAX_CYCLES", "DEFAULT_MAX_STEPS"]

_LOC_RE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")


class Session(Points, RunControl, Forward, Reverse, Edit):
    """A Machine with a loaded program under the debugger (see the module docstring)."""

    def __init__(self, program=None, *, model: str | None = None, seed: int | None = None,
                 config=None, interval: int = 32, history_bytes: int = 256 << 20,
                 machine: Machine | None = None, check: str = "off"):
        self.m = machine or Machine(model=model, seed=seed, config=config, check=check)
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
        # slicing and interrupts (see runctl.py)
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
        self.floor, self.edited = (0, 0), False
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

    # ================================================================ state
    @property
    def halted(self) -> bool:
        return self.m.halted

    def changed_regs(self) -> set[int]:
        return {i for i in range(16) if self.m.regs[i] != self.prev_regs[i]}

    def at_landing(self) -> bool:
        return self.m.at_landing

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

    # ================================================================ reporting
    def state_bytes(self) -> bytes:
        """The machine snapshot bytes (what reverse execution must reproduce)."""
        return self.m.snapshot().data
