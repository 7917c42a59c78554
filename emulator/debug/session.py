"""The debug session: a Machine, its program's source map, break/watch/log points, and
forward and reverse execution.  No UI code here: the TUI, the batch mode and the line mode are
all views over a `Session` (plus `commands.CommandInterpreter` for the shared command language).

Positions.  The session stops only at two kinds of states, both of which `Machine` can rebuild
exactly: the *landing point* of k instructions (the state `Machine.step(k)` leaves after load) and
the state at a cycle (`Machine.run_until(T)`).  A breakpoint "arrives" at a landing point whose pc
carries it (the C core's breakpoints fire exactly there), so forward and reverse execution agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..machine import Machine, RunResult
from .._native import NUM_CORES, lib
from .expr import Evaluator, ExprError, snapshot_value, values_equal
from .history import History, normalize

DEFAULT_MAX_CYCLES = 10**10          # one continue: a runaway program stops with "limit"
DEFAULT_MAX_STEPS = 5_000_000        # instructions stepped one by one in a checking run


class DebugError(Exception):
    """A command that cannot be carried out (bad location, no such breakpoint, …)."""


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
                       # history
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
            if over_calls and self._is_call(self.m.pc):
                ret = self.m.pc + 4
                st = self._run_fast(bps, set(temp) | {ret}, final=False)
                if st is not None:
                    return st
                r = None
            else:
                r = self.m.step(1)
                if r.stop == "fault":
                    return self._stop_fault(r)
            done += 1
            self.history.maybe_save(self.m, landing=True)
            if self.m.halted:
                return self._stop_halt()
            if r is not None and r.stop == "ebreak":
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
        """Continue on the C core's breakpoints.  With final=False (next over a call), None
        when a temporary address was reached, so the caller's loop goes on."""
        # step off the current instruction first: its breakpoint already had its chance
        r = self.m.step(1)
        if r.stop == "fault":
            return self._stop_fault(r)
        if self.m.halted:
            return self._stop_halt()
        if r.stop == "ebreak":
            return self._stop_ebreak(bps)
        addrs = set(bps) | set(temp)
        while True:
            b = self._arrive(bps) if self.m.pc in bps else None
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                if not final:
                    normalize(self.m)
                    return None
                return self._finish_stop("step", "")
            for a in addrs:
                lib.nr_bp_set(self.m._native.m, a)
            try:
                r = self.m.run(self.max_cycles)
            finally:
                lib.nr_bp_clear_all(self.m._native.m)
            if r.stop == "fault" and r.fault == "cycle_limit":
                return self._finish_stop("limit", f"still running after {self.max_cycles} cycles")
            if r.stop == "fault":
                return self._stop_fault(r)
            if r.stop in ("halt",) or self.m.halted:
                return self._stop_halt()
            if r.stop == "ebreak":
                return self._stop_ebreak(bps)
            if r.stop != "breakpoint":
                return self._finish_stop(r.stop, "")
            # at a breakpoint address: evaluate it; logging or false conditions continue
            normalize(self.m)
            b = self._arrive(bps) if self.m.pc in bps else None
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                if not final:
                    return None
                return self._finish_stop("step", "")
            r = self.m.step(1)
            if r.stop == "fault":
                return self._stop_fault(r)
            if self.m.halted:
                return self._stop_halt()
            if r.stop == "ebreak":
                return self._stop_ebreak(bps)

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
    def stepi(self, n: int = 1) -> Stop:
        self.mark()
        return self._run_checked(max_insns=max(1, n))

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

    def next(self, n: int = 1) -> Stop:
        return self.step(n, over=True)

    def finish(self) -> Stop:
        """Run until the return address in x1 (the call convention's ra)."""
        self.mark()
        ret = int(self.m.regs[1])
        return self._run_checked(temp={ret})

    def cont(self) -> Stop:
        self.mark()
        return self._run_checked()

    def until(self, expr: str) -> Stop:
        self.mark()
        try:
            self.ev.parse(expr)
        except ExprError as e:
            raise DebugError(str(e)) from None
        return self._run_checked(until_expr=expr)

    def advance(self, spec: str) -> Stop:
        self.mark()
        return self._run_checked(temp={self.resolve(spec)})

    def stepc(self, n: int = 1) -> Stop:
        """Advance n cycles (halt and faults stop earlier; break/watch points do not)."""
        self.mark()
        return self.run_to_cycle(self.m.cycle + max(1, n))

    def run_to_cycle(self, target: int) -> Stop:
        self._can_run()
        self.mark()
        if target <= self.m.cycle:
            return self.goto_cycle(target)
        r = self.m.run_until(target)
        if r.stop == "fault":
            return self._stop_fault(r)
        if self.m.halted:
            return self._stop_halt()
        if r.stop == "ebreak":
            return self._stop_ebreak({})        # cycle steps do not stop at breakpoints
        return self._finish_stop("cycle", "")

    def restart(self) -> Stop:
        self.mark()
        return self.goto_instret(0)

    # ================================================================ reverse execution
    def _replay(self, cp, reached, advance) -> None:
        """Restore checkpoint `cp` and run forward with `advance()` until `reached()`.  An ebreak
        stops a replay early, so the replay goes on past it; a fault ends it."""
        self.history.restore(self.m, cp)
        self.fault = None
        while not reached() and not self.m.halted:
            r = advance()
            if r.stop == "fault":
                self.fault = r
                break
            if r.stop != "ebreak":
                break
        normalize(self.m)

    def goto_instret(self, k: int) -> Stop:
        """The landing point of k instructions (rebuilt from a checkpoint)."""
        self.mark()
        k = max(0, k)
        self._replay(self.history.for_instret(k), lambda: self.m.instret >= k,
                     lambda: self.m.step(k - self.m.instret))
        return self._record("step", "")

    def goto_cycle(self, cycle: int) -> Stop:
        """The state at `cycle` (rebuilt from a checkpoint)."""
        self.mark()
        cycle = max(0, cycle)
        self._replay(self.history.for_cycle(cycle), lambda: self.m.cycle >= cycle,
                     lambda: self.m.run_until(cycle))
        return self._record("cycle", "")

    def reverse_stepi(self, n: int = 1) -> Stop:
        k = self.m.instret
        # between landing points (after a cycle step) the first step back goes to the landing
        back = n if self.at_landing() or self.m.halted or self.fault else n - 1
        if k == 0 and back > 0:
            st = self.goto_instret(0)
            st.text = "at the beginning of the program"
            return st
        return self.goto_instret(k - back)

    def reverse_step(self, n: int = 1) -> Stop:
        """Back one source line: to the first instruction of the previous line executed."""
        self.mark()
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

    def reverse_stepc(self, n: int = 1) -> Stop:
        return self.goto_cycle(self.m.cycle - max(1, n))

    def reverse_continue(self) -> Stop:
        """Back to the most recent breakpoint arrival or watchpoint change before now."""
        self.mark()
        bps = {a: [b for b in lst if b.kind != "log"] for a, lst in self._enabled_breaks().items()}
        cur_k = self.m.instret
        end_k = cur_k - 1 if self.at_landing() or self.fault else cur_k
        checkpoints = [c for c in self.history.points if c.instret <= end_k]
        seg_end = end_k
        for cp in reversed(checkpoints):
            if cp.instret > seg_end:
                continue
            self.history.restore(self.m, cp)
            normalize(self.m)
            for w in self.watches.values():
                w.old = self._watch_value(w)
            hits: list[tuple[int, str, Any]] = []
            if cp.landing and cp.instret > 0:
                b = self._arrive(bps, count=False)
                if b is not None:
                    hits.append((cp.instret, f"breakpoint {b.id} at {self.location(b.addr) or hex(b.addr)}", b.id))
            while self.m.instret < seg_end and not self.m.halted:
                r = self.m.step(1)
                if r.stop == "fault":
                    break
                w = self._check_watches(count=False)
                if w is not None:
                    hits.append((self.m.instret, f"watchpoint {w[0].id}: {w[0].expr}: "
                                 f"{_short(w[1])} → {_short(w[2])}", w[0].id))
                b = self._arrive(bps, count=False)
                if b is not None:
                    hits.append((self.m.instret, f"breakpoint {b.id} at "
                                 f"{self.location(b.addr) or hex(b.addr)}", b.id))
            if hits:
                k, text, pid = hits[-1]
                st = self.goto_instret(k)
                st.reason = "breakpoint" if text.startswith("breakpoint") else "watchpoint"
                st.text = "reverse: " + text
                st.point = pid
                self._emit("stop", st.text)
                return st
            seg_end = cp.instret - (1 if cp.landing else 0)
            if seg_end < 0:
                break
        st = self.goto_instret(0)
        st.reason = "history"
        st.text = "reverse: reached the beginning of the program"
        self._emit("stop", st.text)
        return st

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
