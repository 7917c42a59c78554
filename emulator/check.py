"""The program checker's driver side (docs/machine.md, Program checker).

The C core (csrc/check.c) records, while the checker is on, every memory access that runs past
the end of the data symbol it starts in, every read of bytes nothing wrote, and every `sync` on a
register holding 0 — the first occurrence per instruction and kind.  This module hands it the
symbol extents of the loaded program and turns its records into `Diagnostic`s with the
instruction's file:line and the symbols involved.  Nothing here runs per instruction: the records
are drained in bulk when a run stops.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from ._native import check, decode_op, ffi, lib

KINDS = ("cross_read", "cross_write", "unwritten", "sync_empty")
MODES = ("off", "warn", "strict")
_CAPACITY = 4096            # first occurrences kept per run (one per instruction and kind)
_NONE = 2**64 - 1           # "no symbol" in a record


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the checker, at the first time its instruction did it."""
    kind: str                   # one of KINDS
    pc: int
    cycle: int
    addr: int                   # the access (0 for sync_empty)
    length: int
    symbol: str | None          # the symbol crossed, or holding the first unwritten byte
    at: int                     # the symbol's end (crossing) or the first unwritten byte
    location: str | None        # "file:line" of the instruction
    message: str                # one line, "file:line: warning: …" without the severity

    def to_dict(self) -> dict:
        return {"kind": self.kind, "pc": self.pc, "cycle": self.cycle, "addr": self.addr,
                "length": self.length, "symbol": self.symbol, "at": self.at,
                "location": self.location, "message": self.message}


def data_extents(program) -> dict[str, tuple[int, str]]:
    """Data label → (extent in bytes, element type): the assembler's record when the program
    has one (asm Program, or a .map of this version), else each label runs to the next label of
    its section or its segment's end, typed i8."""
    if program is None:
        return {}
    if program.data:
        return dict(program.data)
    out = {}
    addrs = sorted({v for s, v in program.symbols.values() if s == "data"})
    for name, (section, value) in program.symbols.items():
        if section != "data":
            continue
        end = next((a + len(d) for a, d in program.segments if a <= value < a + len(d)), value)
        i = bisect.bisect_right(addrs, value)
        if i < len(addrs):
            end = min(end, addrs[i])
        out[name] = (max(end - value, 0), "i8")
    return out


class Checker:
    """The checker attached to one Machine: `enable(mode)` before or after load, then
    `drain()` after runs; `diagnostics` accumulates every finding since the load."""

    def __init__(self, machine):
        self._m = machine
        self.mode = "off"
        self.diagnostics: list[Diagnostic] = []
        self._names: list[str] = []
        self._lo: list[int] = []
        self._hi: list[int] = []

    @property
    def on(self) -> bool:
        return self.mode != "off"

    def enable(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"checker mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.attach()

    def attach(self) -> None:
        """(Re)attach to the C core for the program now loaded: symbols, written bytes."""
        n = self._m._native.m
        self.diagnostics = []
        if not self.on or self._m.program is None:
            lib.nr_check_disable(n)
            return
        prog = self._m.program
        by_addr: dict[int, tuple[str, int]] = {}
        for name, (size, _t) in data_extents(prog).items():
            addr = prog.symbols[name][1]
            if size > 0 and addr not in by_addr and addr < self._m.memory.size:
                by_addr[addr] = (name, size)
        lo, hi, names, end = [], [], [], -1
        for addr in sorted(by_addr):
            name, size = by_addr[addr]
            if addr < end:          # nested in the previous extent: keep the outer one
                continue
            lo.append(addr)
            hi.append(min(addr + size, self._m.memory.size))
            names.append(name)
            end = hi[-1]
        self._lo, self._hi, self._names = lo, hi, names
        a_lo = np.array(lo or [0], dtype=np.uint64)
        a_hi = np.array(hi or [0], dtype=np.uint64)
        check(lib.nr_check_enable(n, ffi.from_buffer("uint64_t[]", a_lo),
                                  ffi.from_buffer("uint64_t[]", a_hi), len(lo),
                                  int(self.mode == "strict"), _CAPACITY), "enable the checker")
        for addr, data in prog.segments:
            check(lib.nr_check_mark_written(n, addr, len(data)), "checker: data segment")

    def drain(self) -> list[Diagnostic]:
        """The findings recorded since the last drain (also appended to `diagnostics`)."""
        if not self.on:
            return []
        n = self._m._native.m
        buf = ffi.new("nr_check_event[]", _CAPACITY)
        got = int(lib.nr_check_drain(n, buf, _CAPACITY))
        new = [self._diagnostic(buf[i]) for i in range(got)]
        self.diagnostics.extend(new)
        return new

    def findings(self) -> list[Diagnostic]:
        """Every finding since the load (drains the C core first)."""
        self.drain()
        return list(self.diagnostics)

    def explain(self, pc: int, op: str, addr: int | None) -> str:
        """The detail of a strict fault `check` at pc: its finding's message."""
        found = [g for g in self.findings() if g.pc == pc]
        if found:
            return found[-1].message.split(": ", 1)[-1]
        return f"{op}: program checker finding at address {addr or 0:#x}"

    @property
    def total(self) -> int:
        """Every finding, repeats of the same instruction included."""
        return int(lib.nr_check_total(self._m._native.m))

    def symbols_in(self, lo: int, hi: int) -> list[str]:
        """Names of the symbol extents overlapping [lo, hi)."""
        i = bisect.bisect_right(self._hi, lo)
        out = []
        while i < len(self._lo) and self._lo[i] < hi:
            out.append(self._names[i])
            i += 1
        return out

    def _diagnostic(self, ev) -> Diagnostic:
        m = self._m
        kind = KINDS[int(ev.kind)]
        pc, addr, length, at = int(ev.pc), int(ev.addr), int(ev.len), int(ev.at)
        sym = None if int(ev.sym) == _NONE else self._names[int(ev.sym)]
        loc = m.source_location(pc)
        word = m._word(pc)
        op = decode_op(word) if word is not None else "?"
        if kind in ("cross_read", "cross_write"):
            lo = self._lo[int(ev.sym)]
            verb = "reads" if kind == "cross_read" else "writes"
            into = self.symbols_in(at, addr + length)
            what = (f"into {', '.join(repr(s) for s in into)}" if into
                    else "into memory no symbol holds")
            text = (f"{op} {verb} {length} bytes at {addr:#x}, {addr + length - at} past the end "
                    f"of '{sym}' ({at - lo} bytes at {lo:#x}), {what}")
        elif kind == "unwritten":
            where = f" ('{sym}' + {at - self._lo[int(ev.sym)]})" if sym else ""
            text = (f"{op} reads {length} bytes at {addr:#x}, but byte {at:#x}{where} was never "
                    "written (no data, store or completed scan-out put it there)")
        else:
            text = "sync on a register holding 0 waits for no core (sync x0 waits for all)"
        prefix = loc or (m.program.name if m.program else "<program>")
        return Diagnostic(kind, pc, int(ev.cycle), addr, length, sym, at, loc,
                          f"{prefix}: {text}")
