"""Recording a run: the C core's trace records, drained in bulk, turned into a trace file and/or
a VCD file.

    rec = TraceRecorder(machine, trace_file="a.trace", form="functional", vcd_file="a.vcd")
    rec.start()
    result = machine.run()
    rec.finish(result)

Output is bounded: a recorder keeps at most `max_records` records inside its cycle window
(MAX_RECORDS by default, `neurram run --trace-limit`); the record past it stops the run with
TraceLimit, and the files written so far end with the stop `trace_limit`.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .records import KIND, REC_DTYPE
from .textfmt import Filters, TraceHeader, TraceWriter
from .vcd_out import write_vcd

# records kept per recording by default: ~0.4 GB of timed text, ~0.2 GB of VCD records in memory
MAX_RECORDS = 4_000_000


class TraceLimit(Exception):
    """A recording passed its record limit; the run stopped at `cycle`."""

    def __init__(self, limit: int, cycle: int):
        super().__init__(f"trace limit of {limit:,} records reached at cycle {cycle:,}: the run "
                         "was stopped there; narrow the window with --from/--to, filter with "
                         "--trace-core/--trace-kind, or raise --trace-limit")
        self.limit, self.cycle = limit, cycle


# records a VCD needs; instruction records are kept only as (cycle, pc, rd, value, stall)
_VCD_KINDS = [KIND[k] for k in ("insn", "wake", "scan_in", "scan_out", "mvm", "smp", "prog",
                                "end", "power_off", "phase", "batch", "ifire", "update",
                                "refresh")]


def config_hash(machine) -> str:
    # the host thread count and wv_serial never change a result, so they are not part of the run's identity
    values = {k: machine.config[k] for k in sorted(machine.config) if k not in ("threads", "wv_serial")}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def program_hash(program) -> str:
    h = hashlib.sha256()
    h.update(np.asarray(program.words, dtype="<u4").tobytes())
    for addr, data in program.segments:
        h.update(addr.to_bytes(8, "little") + len(data).to_bytes(8, "little") + data)
    h.update(int(program.entry).to_bytes(8, "little"))
    return h.hexdigest()[:16]


def _disassembler(labels):
    from asm.disasm import disassemble_word

    return lambda pc, word: disassemble_word(word, pc, labels)


def _emulator_version() -> str:
    try:
        from importlib.metadata import version
        return version("neurram48")
    except Exception:   # running from a source tree that is not installed
        return "0+source"


class TraceRecorder:
    """Attach to a loaded Machine, then `start()`, run, and `finish(result)`."""

    def __init__(self, machine, trace_file: "str | Path | io.TextIOBase | None" = None,
                 form: str = "timed", filters: Filters = Filters(),
                 vcd_file: "str | Path | None" = None, vcd_window: tuple[int, int | None] = (0, None),
                 capacity: int = 1 << 16, max_records: int = MAX_RECORDS):
        if machine.program is None:
            raise ValueError("load a program before recording its trace")
        self.machine, self.form, self.filters = machine, form, filters
        self.vcd_file, self.vcd_window, self.capacity = vcd_file, vcd_window, capacity
        self.max_records, self.kept = max_records, 0
        self._vcd_parts: list[np.ndarray] = []
        self._own = None
        self.writer = None
        if trace_file is not None:
            out = trace_file
            if isinstance(trace_file, (str, Path)):
                out = self._own = open(trace_file, "w", encoding="utf-8", newline="\n")
            prog = machine.program
            labels = {v: k for k, (sec, v) in prog.symbols.items() if sec == "text"}
            from isa.tables import VERSION
            header = TraceHeader(form, f"{VERSION[0]}.{VERSION[1]}", _emulator_version(),
                                 str(machine.config["model"]), int(machine.config["seed"]),
                                 config_hash(machine), program_hash(prog), program=prog.name,
                                 profile=machine.config.profile)
            self.writer = TraceWriter(out, header, _disassembler(labels), filters)

    def _on_records(self, recs: np.ndarray) -> None:
        if self.kept > self.max_records:      # past the limit: the run is stopping, drop the rest
            return
        start, stop = self.filters.start, self.filters.stop
        cyc = recs["cycle"]
        inside = (cyc >= start) & (cyc < stop) if stop is not None else cyc >= start
        n = int(np.count_nonzero(inside))
        over = self.kept + n - self.max_records
        self.kept += n
        if over > 0:      # keep records up to the limit, then stop the run
            recs = recs[:np.flatnonzero(inside)[n - over]]
        if self.writer is not None:
            self.writer.write(recs)
        if self.vcd_file is not None:
            self._vcd_parts.append(recs[np.isin(recs["kind"], _VCD_KINDS)])
        if over > 0:
            raise TraceLimit(self.max_records, int(cyc[np.flatnonzero(inside)[n - over]]))

    def start(self) -> "TraceRecorder":
        self.machine._native.trace_enable(self._on_records, self.capacity)
        return self

    def finish(self, result, stop: str | None = None) -> None:
        """Drain what is left, write the end line and the VCD, stop tracing (`stop` overrides
        the stop the end line names, e.g. "trace_limit")."""
        self.machine._native.trace_disable()
        if self.kept > self.max_records:
            stop = "trace_limit"
        if self.writer is not None:
            self.writer.close(stop or result.stop, result.cycles)
        if self._own is not None:
            self._own.close()
        if self.vcd_file is not None:
            recs = np.concatenate(self._vcd_parts) if self._vcd_parts else np.zeros(0, REC_DTYPE)
            start, stop = self.vcd_window
            with open(self.vcd_file, "w", encoding="utf-8", newline="\n") as f:
                write_vcd(f, recs, self.machine.config.clock_hz, start, stop, end_cycle=result.cycles,
                          comment=f"neurram run {self.machine.program.name}")

