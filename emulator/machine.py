"""`Machine`: the Pythonic face of the C core.

    m = Machine(seed=1)                      # ideal model, the default `chip` profile
    m.load("programs/forward.s")             # .s, .img, source text, asm.Program or Image
    r = m.run(max_cycles=10_000_000)         # RunResult: stop reason, cycles, utilisation …
    print(m.mem(m.sym("y"), 256, "i8"))      # zero-copy view of data memory
    m.cores[0].v, m.cores[0].conductances    # core registers and arrays, zero-copy

Time is in controller cycles.  `step(n)` issues n instructions and stops at the cycle after the
last; `step_cycles(n)` / `run_until(cycle)` stop at a cycle; all of them give exactly the state
a single long run would have at that point.  `advance()` is the same call into the C core without
building a RunResult, for drivers (the debugger) that run in many short slices.

NUM_CORES, PHASE_NAMES and STOP_NAMES are re-exported here (read from the C core) so that layers
above the driver never import `emulator._native`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from isa.tables import CFG_ESCAPE, CFG_EXT_BASE, ENUMS, FIELDS

from ._native import (CFG_FIELDS, FAULT_NAMES, NO_DETAIL, NUM_CORES, NUM_REGS, PHASE_NAMES, STOP_NAMES,
                      CoreError, NativeMachine, check, decode_op, ffi, lib, view)
from .config import ChipConfig
from .core import Core, _Cores
from .program import LoadedProgram, load_program

__all__ = ["Machine", "Core", "RunResult", "Snapshot", "DTYPES", "NUM_CORES", "PHASE_NAMES",
           "STOP_NAMES", "DEFAULT_MAX_CYCLES", "MAX_CYCLES_LIMIT"]

# a run is sliced into calls of this many cycles, so that Ctrl-C works
_SLICE = 1 << 26
_NEVER = 2**64 - 1          # "no cycle bound" for nr_run
# run()'s default cycle limit: 100 s of chip time at 100 MHz, only a runaway program gets there
DEFAULT_MAX_CYCLES = 10**10
# the largest cycle limit: machine times stay below 2^62 (docs/machine.md, snapshots)
MAX_CYCLES_LIMIT = 2**62

DTYPES = {"i8": np.int8, "u8": np.uint8, "i16": np.int16, "u16": np.uint16, "i32": np.int32,
          "u32": np.uint32, "i64": np.int64, "u64": np.uint64}


def _dtype(d) -> np.dtype:
    return np.dtype(DTYPES.get(d, d) if isinstance(d, str) else d)


@dataclass(frozen=True)
class RunResult:
    """How a run, step or cycle advance ended, with the machine's totals at that point."""
    stop: str                    # halt, ebreak, breakpoint, cycle, step, fault
    cycles: int                  # machine cycle at the end
    instructions: int            # instructions retired since load
    stall_cycles: int            # cycles the controller waited for busy cores
    pc: int
    clock_hz: float
    core_busy: tuple[int, ...]   # busy cycles per core (including queueing on chain/programmer)
    fault: str | None = None     # fault name when stop == "fault"
    fault_pc: int | None = None
    fault_detail: int | None = None
    location: str | None = None  # "file:line" of the fault (or stop) pc, from the source map
    message: str | None = None   # one line: "file:line: fault <name> at pc 0x…: detail"
    per_inference: dict | None = None   # set by workload runners: emulator.perf per-inference figures

    @property
    def ok(self) -> bool:
        return self.stop == "halt"

    @property
    def time_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def core_utilisation(self) -> tuple[float, ...]:
        return tuple(b / self.cycles if self.cycles else 0.0 for b in self.core_busy)

    @property
    def cores_used(self) -> tuple[int, ...]:
        return tuple(i for i, b in enumerate(self.core_busy) if b)

    def to_dict(self) -> dict[str, Any]:
        util = self.core_utilisation
        return {
            "stop": self.stop, "cycles": self.cycles, "time_s": self.time_s,
            "clock_hz": self.clock_hz, "instructions": self.instructions,
            "stall_cycles": self.stall_cycles, "pc": self.pc,
            "fault": self.fault, "fault_pc": self.fault_pc, "fault_detail": self.fault_detail,
            "location": self.location, "message": self.message,
            "cores": {str(i): {"busy_cycles": self.core_busy[i], "utilisation": util[i]}
                      for i in self.cores_used},
        }


class Snapshot:
    """An opaque copy of the whole machine (struct, data memory, program)."""

    def __init__(self, data: bytes, program: LoadedProgram | None):
        self.data = data
        self.program = program

    def __eq__(self, other) -> bool:
        return isinstance(other, Snapshot) and self.data == other.data

    def __len__(self) -> int:
        return len(self.data)


class Machine:
    """The whole emulated chip.

    `model` ("ideal") and `seed` (0) override the configuration's values when given; left as
    None they come from `config`: a profile name ("chip", the default, or "board"), a TOML path
    (overrides on the profile its `base` key names), a dict of overrides or a ChipConfig; see
    emulator/profiles/ and docs/configuration.md.  `cores[i]` are the 48 cores, `memory`
    is the whole data memory as a zero-copy uint8 view.  `check` turns the program checker on
    ("warn": findings collect in `diagnostics`; "strict": each is a fault `check`); it is off
    by default and then costs nothing.
    """

    def __init__(self, model: str | None = None, seed: int | None = None,
                 config: "str | Path | dict | ChipConfig | None" = None, check: str = "off"):
        from .check import Checker

        self.config = ChipConfig.load(config, model=model, seed=seed)
        self._native = NativeMachine(self.config.to_c())
        m = self._native.m
        self.memory = view(m.mem, np.uint8, (int(m.cfg.mem_size),), self._native)
        self._regs = view(m.x, np.int64, (NUM_REGS,), self._native, writeable=False)
        self.cores = _Cores(self)
        self.program: LoadedProgram | None = None
        self.checker = Checker(self)
        if check != "off":
            self.checker.enable(check)

    # ------------------------------------------------------------ loading

    def load(self, program) -> "Machine":
        """Reset the machine and load a program (see emulator.program.load_program)."""
        prog = load_program(program)
        segs = list(prog.segments)
        for addr, data in segs:
            if addr + len(data) > self.memory.size:
                raise CoreError(f"{prog.name}: data segment at {addr:#x} ({len(data)} bytes) "
                                f"does not fit the {self.memory.size}-byte data memory")
        if len(prog.words) == 0:
            raise CoreError(f"{prog.name}: the program has no code")
        self._native.load(prog.words, segs, prog.entry)
        self.program = prog
        if self.checker.on:
            self.checker.attach()
        return self

    # ------------------------------------------------------------ running

    def run(self, max_cycles: int | None = DEFAULT_MAX_CYCLES) -> RunResult:
        """Run until halt, ebreak, a breakpoint or a fault.  A run still going after
        `max_cycles` cycles (default DEFAULT_MAX_CYCLES, at most MAX_CYCLES_LIMIT) stops with
        the fault "cycle_limit"; None runs without a limit."""
        self._require_program()
        if max_cycles is not None and (isinstance(max_cycles, bool) or not isinstance(max_cycles, int)
                                       or not 1 <= max_cycles <= MAX_CYCLES_LIMIT):
            raise ValueError(f"max_cycles must be an integer in 1..2^62 (or None), got {max_cycles!r}")
        n = self._native
        target = None if max_cycles is None else n.m.cycle + max_cycles
        while True:
            until = n.m.cycle + _SLICE if target is None else min(target, n.m.cycle + _SLICE)
            stop = n.run(until)
            if stop != lib.NR_STOP_CYCLE or (target is not None and n.m.cycle >= target):
                break
        if stop == lib.NR_STOP_CYCLE and target is not None:
            return self._result(limit=max_cycles)
        return self._result()

    def step(self, n: int = 1) -> RunResult:
        """Issue n instructions (waiting out stalls), stopping at the cycle after the last."""
        self._require_program()
        if n <= 0:
            return self._result()
        self._native.run(_NEVER, n)
        return self._result()

    def step_cycles(self, n: int = 1) -> RunResult:
        """Advance n cycles (or to an earlier stop)."""
        return self.run_until(self.cycle + n)

    def run_until(self, cycle: int) -> RunResult:
        """Advance to the state of cycle `cycle` (or to an earlier stop)."""
        self._require_program()
        self._native.run(cycle)
        return self._result()

    def advance(self, until: int | None = None, max_insns: int | None = None) -> str:
        """One call into the C core: run until the state of cycle `until` (None: no bound) or
        until `max_insns` instructions issued (None: no bound), or an earlier halt, ebreak,
        breakpoint or fault.  Returns the stop name ("cycle", "step", "halt", "ebreak",
        "breakpoint", "fault"); `result()` builds the RunResult when it is needed.  Unlike
        `run()`, a run without bounds is not sliced: give a bound to keep Ctrl-C responsive."""
        self._require_program()
        if until is not None and until < 0:
            raise ValueError(f"until must be a cycle (>= 0), got {until}")
        if max_insns is not None and max_insns < 1:
            raise ValueError(f"max_insns must be at least 1, got {max_insns}")
        stop = self._native.run(_NEVER if until is None else int(until),
                                0 if max_insns is None else int(max_insns))
        return STOP_NAMES[stop]

    def result(self) -> RunResult:
        """The RunResult of the state now: how the last run, step or advance ended."""
        return self._result()

    @property
    def diagnostics(self) -> list:
        """The program checker's findings since the load (emulator.check.Diagnostic)."""
        return self.checker.findings()

    def _require_program(self) -> None:
        if self.program is None:
            raise CoreError("no program loaded: call Machine.load() first")

    # ------------------------------------------------------------ state

    @property
    def cycle(self) -> int:
        """The cycle the state describes (instructions issued before it have executed)."""
        return int(self._native.m.cycle)

    @property
    def pc(self) -> int:
        """Byte address of the next instruction (of the faulting one after a fault)."""
        return int(self._native.m.pc)

    @property
    def instret(self) -> int:
        """Instructions retired since load."""
        return int(self._native.m.instret)

    @property
    def stall_cycles(self) -> int:
        """Cycles the controller has waited for busy cores."""
        return int(self._native.m.stall_cycles)

    @property
    def next_issue(self) -> int:
        """The cycle the next instruction issues at (later than `cycle` while an instruction's
        cost or a stall is still running, e.g. after `step_cycles`)."""
        return int(self._native.m.next_issue)

    @property
    def at_landing(self) -> bool:
        """True at an instruction boundary: the state `step(k)` leaves (nothing still running
        before the next instruction issues)."""
        return self.cycle >= self.next_issue

    @property
    def prev_pc(self) -> int | None:
        """Byte address of the last instruction issued (None before the first)."""
        pc = int(self._native.m.prev_pc)
        return None if pc == NO_DETAIL else pc

    @property
    def vl(self) -> int:
        """The vector length register."""
        return int(self._native.m.vl)

    @property
    def chip_time(self) -> float:
        """Chip wall-clock time in seconds: cycles / clock_hz plus time let pass by `age` and
        `cage` (the age that relaxation of programmed conductances follows)."""
        return float(lib.nr_chip_time(self._native.m))

    def age(self, seconds: float) -> None:
        """Let `seconds` of chip time pass without running (like `cage`): in the analog model
        the programmed conductances relax toward the 1-day σ(g) of the Wan-2022 fit."""
        check(lib.nr_age(self._native.m, float(seconds)), f"age by {seconds} s")

    @property
    def op_counts(self) -> dict[str, int]:
        """Retired instructions per mnemonic (only those that ran)."""
        from ._native import OP_NAMES
        m = self._native.m
        return {OP_NAMES[i]: int(m.op_count[i]) for i in range(len(OP_NAMES)) if m.op_count[i]}

    def enable_profile(self) -> "Machine":
        """Count cycles, stalls, MVMs and energy events per instruction from now until the next
        load (the C core's per-pc counters); read them with profile_report()."""
        self._require_program()
        self._native.profile_enable()
        return self

    def profile_report(self, inferences: int | None = None) -> dict[str, Any]:
        """The run's profile grouped by label (emulator.perf.profile)."""
        from .perf import profile

        return profile(self, inferences)

    def energy_report(self) -> dict[str, Any]:
        """Energy and latency report of the run so far (emulator.energy.report)."""
        from .energy import report
        return report(self)

    @property
    def halted(self) -> bool:
        """True after `halt`: further runs return at once."""
        return bool(self._native.m.halted)

    @property
    def regs(self) -> np.ndarray:
        """x0–x15 as a read-only int64 view (write with set_reg)."""
        return self._regs

    def set_reg(self, r: int, value: int) -> None:
        if not 0 <= r < NUM_REGS:
            raise IndexError(f"no register x{r}")
        lib.nr_set_reg(self._native.m, r, value & (2**64 - 1))

    def mem(self, addr: int, n: int, dtype="u8") -> np.ndarray:
        """A zero-copy view of n elements of `dtype` at byte address addr."""
        dt = _dtype(dtype)
        addr = self._addr(addr)
        end = addr + n * dt.itemsize
        if addr < 0 or n < 0 or end > self.memory.size:
            raise IndexError(f"{n} × {dt} at {addr:#x} leaves the {self.memory.size}-byte data memory")
        return self.memory[addr:end].view(dt)

    def write_mem(self, addr: int, array) -> None:
        """Copy an array's bytes into data memory at addr."""
        a = np.ascontiguousarray(array)
        addr = self._addr(addr)
        check(lib.nr_mem_write(self._native.m, addr, ffi.from_buffer(a), a.nbytes),
              f"write {a.nbytes} bytes at {addr:#x}")

    def _addr(self, addr) -> int:
        return self.sym(addr) if isinstance(addr, str) else int(addr)

    def sym(self, name: str) -> int:
        """Value of a program symbol (an address for labels)."""
        if self.program is None or name not in self.program.symbols:
            raise KeyError(f"no symbol {name!r} in the loaded program")
        return int(self.program.symbols[name][1])

    def source_location(self, pc: int) -> str | None:
        """'file:line' of a code address, from the program's source map."""
        if self.program is None or pc not in self.program.lines:
            return None
        f, line, _col = self.program.lines[pc]
        return f"{f}:{line}"

    # ------------------------------------------------------------ debugging

    def set_breakpoint(self, addr) -> None:
        check(lib.nr_bp_set(self._native.m, self._addr(addr)), f"breakpoint at {addr}")

    def clear_breakpoint(self, addr) -> None:
        check(lib.nr_bp_clear(self._native.m, self._addr(addr)), f"breakpoint at {addr}")

    def clear_breakpoints(self) -> None:
        """Remove every breakpoint."""
        lib.nr_bp_clear_all(self._native.m)

    def skip_breakpoint(self, on: bool = True) -> None:
        """With `on`, a breakpoint at the current pc does not fire when the next run starts here
        (it already stopped there); `on=False` re-arms it.  Runs keep the mark up to date
        themselves; this is for drivers that deal with breakpoint arrivals on their own."""
        self._native.m.bp_skip = self.instret + 1 if on else 0

    def normalize(self) -> None:
        """Clear the path-dependent bookkeeping of the last stop: its reason and fault fields
        (`result()` then reports stop "none") and the breakpoint skip mark.  They are the only
        bytes of a snapshot that depend on how the machine reached its state, so after this
        two snapshots of the same state compare equal however it was reached."""
        n = self._native.m
        n.bp_skip = 0
        n.result.stop = 0
        n.result.fault = 0
        n.result.fault_pc = 0
        n.result.fault_detail = 0

    def snapshot(self) -> Snapshot:
        return Snapshot(self._native.snapshot(), self.program)

    def restore(self, snap: Snapshot) -> None:
        self._native.restore(snap.data)
        self.program = snap.program

    @property
    def state_bytes(self) -> int:
        """Memory held by the chip state: the struct, data memory and program."""
        return int(lib.nr_snapshot_size(self._native.m))

    # ------------------------------------------------------------ results

    def _result(self, limit: int | None = None) -> RunResult:
        # one call for every figure (a result follows every run and step)
        buf = ffi.new("uint64_t[]", lib.NR_SUMMARY_LEN)
        lib.nr_result_summary(self._native.m, buf)
        v = ffi.unpack(buf, lib.NR_SUMMARY_LEN)
        stop_code, fault_code, fault_pc, detail, cycle, instret, stall, pc = v[:lib.NR_SUMMARY_BUSY]
        stop = STOP_NAMES[stop_code]
        kw: dict[str, Any] = {}
        if limit is not None:
            kw = dict(fault="cycle_limit", fault_pc=pc, fault_detail=limit)
            stop = "fault"
        elif stop == "fault":
            fault = FAULT_NAMES[fault_code]
            # only pc_bounds uses the "no detail" marker; elsewhere all ones is a real value
            none = fault == "pc_bounds" and detail == NO_DETAIL
            kw = dict(fault=fault, fault_pc=fault_pc, fault_detail=None if none else detail)
        if kw:
            kw["location"] = self._fault_location(kw["fault"], kw["fault_pc"], kw["fault_detail"])
            kw["message"] = self._fault_message(kw["fault"], kw["fault_pc"], kw["fault_detail"],
                                                kw["location"])
        else:
            kw["location"] = self.source_location(pc)
        return RunResult(stop, cycle, instret, stall, pc, self.config.clock_hz,
                         tuple(v[lib.NR_SUMMARY_BUSY:]), **kw)

    def _fault_location(self, fault: str, pc: int, detail: int | None) -> str | None:
        loc = self.source_location(pc)
        if loc is None and fault == "pc_bounds" and detail is not None:
            loc = self.source_location(detail)   # the jump that left the program
        return loc

    def _fault_message(self, fault: str, pc: int, detail: int | None, loc: str | None) -> str:
        where = loc or (self.program.name if self.program else "<program>")
        return f"{where}: fault {fault} at pc {pc:#x}: {self._explain(fault, pc, detail)}"

    def _word(self, pc: int) -> int | None:
        m = self._native.m
        return int(m.words[pc // 4]) if pc % 4 == 0 and pc // 4 < m.code_n else None

    def _explain(self, fault: str, pc: int, d: int | None) -> str:
        word = self._word(pc)
        op = decode_op(word) if word is not None else "?"
        size = self.memory.size
        if fault == "illegal":
            return f"word {d:#010x} is not an NR48 instruction"
        if fault == "pc_bounds":
            src = f", reached from pc {d:#x}" if d is not None else ""
            return f"pc is outside the program (0..{4 * int(self._native.m.code_n) - 4:#x}){src}"
        if fault == "mem_bounds":
            return f"{op} accesses address {d:#x}, outside the {size}-byte data memory"
        if fault == "mem_align":
            return f"{op} accesses misaligned address {d:#x}"
        if fault == "core_off":
            return f"{op} names core {d}, which is powered off (cpon first)"
        if fault == "bad_mask":
            return f"{op} core mask {d:#x} has bits above 47"
        if fault == "bad_window":
            k = self.cores[d].config
            # recurrent MVMs write column j's output into H[j], so their columns stop at 128
            hi, lo = FIELDS["dir"][:2]
            rec = (op in ("mvm", "smp", "ifrun", "ifstep") and word is not None
                   and (word >> lo) & ((1 << (hi - lo + 1)) - 1) == ENUMS["dir"]["rec"])
            return (f"{op}{'.rec' if rec else ''} on core {d}: window rows {k['row0']}+{k['nrows']} "
                    f"(max 128), columns {k['col0']}+{k['ncols']} (max {128 if rec else 256}) does not fit")
        if fault == "bad_config":
            if op == "vpmax":
                return "vpmax group size is 0"
            if op == "bcount":
                return f"bcount value {_signed(d)} is outside 1..65535"
            if op == "bkey":
                return f"bkey key stride or advance {d} is outside 0..{2**32 - 1}"
            if op in ("bmvm", "bsmp"):
                chi, clo = FIELDS["core"][:2]
                core = "?" if word is None else (word >> clo) & ((1 << (chi - clo + 1)) - 1)
                kind = "sample" if op == "bsmp" else "MVM"
                return (f"{op} on core {core}: its {kind} noise-key counter {d} plus the batch's keys "
                        f"(bkey stride × (BN − 1), advance) would pass 2^64 − 1")
            if op in ("mvm", "smp"):
                kind = "sample" if op == "smp" else "MVM"
                return f"{op}: a core's {kind} noise-key counter is at 2^64 − 1; the next draw would reuse keys"
            hi, lo = FIELDS["csel"][:2]
            sel = None if word is None else (word >> lo) & ((1 << (hi - lo + 1)) - 1)
            if sel is not None and CFG_ESCAPE and sel == CFG_ESCAPE[0] and op == CFG_ESCAPE[2]:
                xhi, xlo = FIELDS[CFG_ESCAPE[1]][:2]
                sel = CFG_EXT_BASE + ((word >> xlo) & ((1 << (xhi - xlo + 1)) - 1))
            by_index = {i: n for n, (i, *_r) in CFG_FIELDS.items()}
            name = by_index.get(sel, "?")
            _, lo, hi, _ = CFG_FIELDS.get(name, (0, 0, 0, 0))
            return f"{op}.{name} value {_signed(d)} is outside {lo}..{hi}"
        if fault == "bad_cell":
            return f"cread cell index {_signed(d)} is outside 0..255"
        if fault == "bad_chip":
            n = int(self._native.m.n_chips)
            return f"{op} names chip {d}: the system has chips 0..{n - 1}, and not this chip itself"
        if fault == "deadlock":
            return f"{op} can never be matched ({'a barrier' if op == 'barrier' else f'chip {d}'})"
        if fault == "link_size":
            return f"{op} length differs from its partner's {d} bytes"
        if fault == "cycle_limit":
            return f"still running after {d} cycles (raise --max-cycles if this is expected)"
        if fault == "check":
            return self.checker.explain(pc, op, d)
        return f"detail {d}"


def _signed(v: int | None) -> int | None:
    return v - 2**64 if v is not None and v >= 2**63 else v
