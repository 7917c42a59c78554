"""The debugger over a multi-chip System: a selected chip, every chip's state, breakpoints and
watchpoints that may name a chip, and reverse execution across chips.  No UI code; the batch
and line modes of `neurram debug system.toml` drive it through `SystemCommands`.

Positions.  Every stop is a state the scheduler rebuilds exactly: the landing point of the
selected chip after some instructions (System.step brings the other chips to its cycle), or a
cycle (System.run_until).  Reverse execution restores the nearest earlier checkpoint and
replays forward to the target: the scheduler's grants never depend on how a run is sliced, so
the replayed state is the state the forward run passed through.

Watchpoints compare a memory range at every instruction boundary of their chip: a change —
a store, a vector result, a scan-out landing, a receive — stops at the first boundary after it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CHECKPOINTS = 64


@dataclass
class SysBreak:
    id: int
    chip: int | None      # None: every chip
    addr: int
    where: str


@dataclass
class SysWatch:
    id: int
    chip: int
    addr: int
    size: int
    where: str
    value: bytes


class SystemSession:
    """A loaded System under the debugger."""

    def __init__(self, system):
        self.s = system
        self.chip = 0
        self.breaks: dict[int, SysBreak] = {}
        self.watches: dict[int, SysWatch] = {}
        self._next = 1
        self.checkpoints = [self._mark()]       # (chip instrets, cycles, snapshot), oldest first
        self.max_steps = 5_000_000

    # ------------------------------------------------------------ state

    def _mark(self):
        return (tuple(m.instret for m in self.s.chips), tuple(m.cycle for m in self.s.chips),
                self.s.snapshot())

    def _checkpoint(self) -> None:
        ins = tuple(m.instret for m in self.s.chips)
        if ins != self.checkpoints[-1][0]:
            self.checkpoints.append(self._mark())
            if len(self.checkpoints) > MAX_CHECKPOINTS:   # keep the load state, thin the rest
                del self.checkpoints[1::2]

    def select(self, chip: int) -> None:
        if not 0 <= chip < self.s.n_chips:
            raise ValueError(f"no chip {chip} (chips 0..{self.s.n_chips - 1})")
        self.chip = chip

    def chip_state(self, k: int) -> dict:
        m = self.s.chips[k]
        w = self.s.waiting(k)
        st = ("halted" if m.halted else f"waits in {w['op']}" + (f" ({'to' if w['op'] == 'send' else 'from'} "
              f"chip {w['peer']})" if w["peer"] is not None else "") if w else "running")
        return {"chip": k, "cycle": m.cycle, "pc": m.pc, "instret": m.instret,
                "where": m.source_location(m.pc) or "", "state": st}

    def resolve(self, chip: int, loc: str) -> int:
        """A code address on `chip`: a number, a label or file:line."""
        m = self.s.chips[chip]
        try:
            return int(loc, 0)
        except ValueError:
            pass
        syms = m.program.symbols
        if loc in syms:
            return int(syms[loc][1])
        f, _, line = loc.rpartition(":")
        if line.isdigit():
            for pc, (file, ln, _c) in sorted(m.program.lines.items()):
                if ln == int(line) and (not f or file.endswith(f)):
                    return pc
        raise ValueError(f"chip {chip}: no address, label or file:line {loc!r}")

    # ------------------------------------------------------------ points

    def add_break(self, loc: str, chip: int | None = None) -> SysBreak:
        chips = range(self.s.n_chips) if chip is None else [chip]
        addrs = {k: self.resolve(k, loc) for k in chips}
        b = SysBreak(self._next, chip, addrs[chips[0]], loc)
        for k, a in addrs.items():
            self.s.chips[k].set_breakpoint(a)
        self.breaks[b.id] = b
        self._next += 1
        return b

    def add_watch(self, loc: str, size: int = 1, chip: int | None = None) -> SysWatch:
        k = self.chip if chip is None else chip
        m = self.s.chips[k]
        try:
            addr = int(loc, 0)
        except ValueError:
            addr = m.sym(loc)
        w = SysWatch(self._next, k, addr, size, loc, bytes(m.mem(addr, size)))
        self.watches[w.id] = w
        self._next += 1
        return w

    def delete(self, pid: int) -> None:
        if pid in self.breaks:
            b = self.breaks.pop(pid)
            for k in (range(self.s.n_chips) if b.chip is None else [b.chip]):
                still = any(o.addr == b.addr and (o.chip is None or o.chip == k) for o in self.breaks.values())
                if not still:
                    self.s.chips[k].clear_breakpoint(self.resolve(k, b.where))
        elif pid in self.watches:
            del self.watches[pid]
        else:
            raise ValueError(f"no break or watch point {pid}")

    def _watch_hit(self) -> SysWatch | None:
        for w in self.watches.values():
            now = bytes(self.s.chips[w.chip].mem(w.addr, w.size))
            if now != w.value:
                w.value = now
                return w
        return None

    # ------------------------------------------------------------ forward

    def step(self, n: int = 1) -> str:
        r = self.s.step(n, chip=self.chip)
        self._checkpoint()
        return self._describe(r)

    def until(self, cycle: int) -> str:
        r = self.s.run_until(cycle)
        self._checkpoint()
        return self._describe(r)

    def cont(self) -> str:
        if not self.watches:
            r = self.s.run()
            self._checkpoint()
            return self._describe(r)
        chips = sorted({w.chip for w in self.watches.values()})
        for _ in range(self.max_steps):
            k = min(chips, key=lambda c: (self.s.chips[c].cycle, c))
            if self.s.chips[k].halted:
                live = [c for c in chips if not self.s.chips[c].halted]
                if not live:
                    r = self.s.run()
                    self._checkpoint()
                    return self._describe(r)
                k = live[0]
            r = self.s.step(1, chip=k)
            w = self._watch_hit()
            if w is not None:
                self._checkpoint()
                self.chip = w.chip
                return (f"watch {w.id}: chip {w.chip} {w.where} changed to {w.value.hex()} — "
                        + self._describe(r))
            if r.stop not in ("step", "cycle"):
                self._checkpoint()
                return self._describe(r)
        return f"stopped after {self.max_steps} steps without a change"

    # ------------------------------------------------------------ reverse

    def reverse_step(self, n: int = 1) -> str:
        """Back n instructions of the selected chip (to the state its forward steps reached)."""
        k = self.chip
        target = self.s.chips[k].instret - n
        if target < 0:
            raise ValueError(f"chip {k} has retired only {self.s.chips[k].instret} instructions")
        base = max((c for c in self.checkpoints if c[0][k] <= target), key=lambda c: c[0][k])
        self.s.restore(base[2])
        if target > base[0][k]:
            self.s.step(target - base[0][k], chip=k)
        return f"back on chip {k}: " + self._where(k)

    def reverse_until(self, cycle: int) -> str:
        """Back to the state at `cycle` (every chip)."""
        base = max((c for c in self.checkpoints if max(c[1]) <= cycle), key=lambda c: max(c[1]))
        self.s.restore(base[2])
        self.s.run_until(cycle)
        return f"back at cycle {cycle}: " + self._where(self.chip)

    # ------------------------------------------------------------ text

    def _where(self, k: int) -> str:
        st = self.chip_state(k)
        return (f"chip {k} cycle {st['cycle']} pc {st['pc']:#x}"
                + (f" ({st['where']})" if st["where"] else "") + f" {st['state']}")

    def _describe(self, r) -> str:
        if r.stop in ("fault", "deadlock"):
            return f"{r.stop}: {r.message}"
        return f"{r.stop}: " + self._where(r.chip if r.stop in ("breakpoint", "ebreak") else self.chip)

    def chips_text(self) -> list[str]:
        out = [f"{'':2}{'chip':>4} {'cycle':>12} {'pc':>8} {'instret':>9}  state / source"]
        for k in range(self.s.n_chips):
            st = self.chip_state(k)
            mark = "*" if k == self.chip else " "
            out.append(f"{mark} {k:4d} {st['cycle']:12d} {st['pc']:#8x} {st['instret']:9d}  "
                       f"{st['state']}" + (f"  {st['where']}" if st["where"] else ""))
        return out

    def regs_text(self) -> list[str]:
        r = self.s.chips[self.chip].regs
        return [f"chip {self.chip}: " + " ".join(f"x{i}={int(r[i]) & (2**64 - 1):#x}" for i in range(1, 16))]

    def mem_text(self, loc: str, n: int, dtype: str) -> list[str]:
        m = self.s.chips[self.chip]
        try:
            addr = int(loc, 0)
        except ValueError:
            addr = m.sym(loc)
        return [f"chip {self.chip} {loc} ({n} × {dtype} at {addr:#x}): "
                + np.array2string(m.mem(addr, n, dtype), max_line_width=200)]


HELP = """commands (chip-aware; docs/debugger.md, Systems):
  chip K                 select chip K (step, regs, x, watch act on it)
  chips                  every chip: cycle, pc, instructions, running / waiting / halted, source
  step [N] | s [N]       N instructions of the selected chip; the others follow to its cycle
  until CYCLE            every chip to cycle CYCLE
  continue | c           to a breakpoint, watchpoint, fault, deadlock or until every chip halts
  break [chip K] LOC     breakpoint (all chips, or chip K) at an address, label or file:line
  watch [chip K] LOC [N] stop when N bytes at LOC (address or symbol) change on the chip
  delete ID              remove a break or watch point
  rstep [N]              back N instructions of the selected chip
  runtil CYCLE           back to the state at CYCLE
  regs | x/N[:DTYPE] LOC registers / memory of the selected chip
  links                  link counters so far"""


class SystemCommands:
    """The batch/line command language over a SystemSession; `run(line)` → output lines."""

    def __init__(self, session: SystemSession):
        self.ss = session

    def run(self, line: str) -> list[str]:
        words = line.split()
        if not words or words[0].startswith("#"):
            return []
        cmd, args = words[0], words[1:]
        ss = self.ss
        try:
            chip = None
            if len(args) >= 2 and args[0] == "chip" and cmd in ("break", "b", "watch"):
                chip = int(args[1])
                args = args[2:]
            if cmd == "chip":
                ss.select(int(args[0]))
                return [ss._where(ss.chip)]
            if cmd == "chips":
                return ss.chips_text()
            if cmd in ("step", "s"):
                return [ss.step(int(args[0]) if args else 1)]
            if cmd == "until":
                return [ss.until(int(args[0], 0))]
            if cmd in ("continue", "c"):
                return [ss.cont()]
            if cmd in ("break", "b"):
                if chip is not None and not 0 <= chip < ss.s.n_chips:
                    raise ValueError(f"no chip {chip}")
                b = ss.add_break(args[0], chip)
                return [f"breakpoint {b.id} at {args[0]} ({'every chip' if chip is None else f'chip {chip}'})"]
            if cmd == "watch":
                w = ss.add_watch(args[0], int(args[1]) if len(args) > 1 else 1, chip)
                return [f"watchpoint {w.id}: chip {w.chip} {w.where} ({w.size} bytes at {w.addr:#x})"]
            if cmd == "delete":
                ss.delete(int(args[0]))
                return [f"deleted {args[0]}"]
            if cmd == "rstep":
                return [ss.reverse_step(int(args[0]) if args else 1)]
            if cmd == "runtil":
                return [ss.reverse_until(int(args[0], 0))]
            if cmd == "regs":
                return ss.regs_text()
            if cmd.startswith("x/") or cmd == "x":
                spec = cmd[2:] if cmd.startswith("x/") else "1"
                n, _, dt = spec.partition(":")
                return ss.mem_text(args[0], int(n or 1), dt or "u8")
            if cmd == "links":
                tot = ss.s.link_report()["total"]
                return [f"links: {tot['transfers']} transfers, {tot['bytes']} bytes, "
                        f"{tot['busy_cycles']} busy cycles, {tot['queue_cycles']} queued"]
            if cmd in ("help", "h"):
                return HELP.splitlines()
            return [f"error: unknown command {cmd!r} (help lists them)"]
        except (ValueError, KeyError, IndexError) as e:
            return [f"error: {e}"]
