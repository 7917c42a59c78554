"""Recording a multi-chip run: every chip's records, merged in cycle order into one trace whose
lines carry the chip (`@K ` before the usual line), and a VCD with a scope per chip.

    rec = SystemTraceRecorder(system, trace_file="a.trace", vcd_file="a.vcd").start()
    result = system.run()
    rec.finish(result)

The merge is a function of each chip's own record sequence only (never of how the run was
sliced): records are ordered by the running maximum of their chip's cycles, then chip id, then
their place in the chip's sequence, so each chip's records keep their order and the file is the
same for any slicing, stepping or host thread count.  A one-chip system writes no prefix: its
trace is the single machine's.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np

from .capture import _disassembler, _emulator_version, config_hash, program_hash
from .records import REC_DTYPE
from .textfmt import (ASM_WIDTH, FORMAT_NAME, FORMAT_VERSION, FORMS, FUNCTIONAL_MASK, Filters,
                      TraceHeader, format_record, record_json)
from .vcd_out import write_vcd


class SystemTraceRecorder:
    """Attach to a loaded System, then `start()`, run, and `finish(result)`."""

    def __init__(self, system, trace_file: "str | Path | io.TextIOBase | None" = None,
                 form: str = "timed", filters: Filters = Filters(),
                 vcd_file: "str | Path | None" = None, vcd_window: tuple[int, int | None] = (0, None),
                 capacity: int = 1 << 16, name: str = ""):
        if form not in FORMS:
            raise ValueError(f"unknown trace form {form!r} (expected one of {', '.join(FORMS)})")
        self.system, self.form, self.filters = system, form, filters
        self.trace_file, self.vcd_file, self.vcd_window = trace_file, vcd_file, vcd_window
        self.capacity, self.name = capacity, name
        self._parts: list[list[np.ndarray]] = [[] for _ in system.chips]

    def start(self) -> "SystemTraceRecorder":
        for k, m in enumerate(self.system.chips):
            m._native.trace_enable(lambda recs, k=k: self._parts[k].append(recs), self.capacity)
        return self

    def _records(self, k: int) -> np.ndarray:
        p = self._parts[k]
        return np.concatenate(p) if p else np.zeros(0, REC_DTYPE)

    def finish(self, result) -> None:
        for m in self.system.chips:
            m._native.trace_disable()
        recs = [self._records(k) for k in range(self.system.n_chips)]
        if self.trace_file is not None:
            if isinstance(self.trace_file, (str, Path)):
                with open(self.trace_file, "w", encoding="utf-8", newline="\n") as f:
                    self._write(f, recs, result)
            else:
                self._write(self.trace_file, recs, result)
        if self.vcd_file is not None:
            start, stop = self.vcd_window
            with open(self.vcd_file, "w", encoding="utf-8", newline="\n") as f:
                write_vcd(f, recs if self.system.n_chips > 1 else recs[0], self.system.clock_hz,
                          start, stop, end_cycle=result.cycles,
                          comment=f"neurram run {self.name or 'system'}")

    # ------------------------------------------------------------ the text trace

    def _header(self) -> TraceHeader:
        from isa.tables import VERSION
        chips = self.system.chips
        if len(chips) == 1:
            cfg, prog = config_hash(chips[0]), program_hash(chips[0].program)
        else:
            cfg = hashlib.sha256(" ".join(config_hash(m) for m in chips).encode()).hexdigest()[:16]
            prog = hashlib.sha256(" ".join(program_hash(m.program) for m in chips).encode()).hexdigest()[:16]
        masked = tuple(sorted(FUNCTIONAL_MASK)) if self.form == "functional" else ()
        return TraceHeader(self.form, f"{VERSION[0]}.{VERSION[1]}", _emulator_version(),
                           str(chips[0].config["model"]), int(chips[0].config["seed"]), cfg, prog,
                           program=self.name or chips[0].program.name, masked=masked,
                           filters=self.filters.describe())

    def _write(self, out, recs: list[np.ndarray], result) -> None:
        n = len(recs)
        header = self._header()
        if self.form == "jsonl":
            meta = dict(header.__dict__, chips=n, link=self.system.link["name"])
            out.write(json.dumps({"kind": "header", "format": FORMAT_NAME, "version": FORMAT_VERSION,
                                  **meta}) + "\n")
        else:
            lines = header.lines()
            if n > 1:
                lines += [f"# chips {n}", f"# link {self.system.link['name']}"]
            out.write("\n".join(lines) + "\n")
        kept = [r[self.filters.mask(r)] for r in recs]
        texts = []
        for m in self.system.chips:
            prog = m.program
            labels = {v: k for k, (sec, v) in prog.symbols.items() if sec == "text"}
            dis = _disassembler(labels)
            cache: dict = {}

            def insn_text(pc, word, dis=dis, cache=cache):
                t = cache.get((pc, word))
                if t is None:
                    t = cache[(pc, word)] = f"{pc:08x} {word:08x} {dis(pc, word):<{ASM_WIDTH}}"
                return t
            texts.append((insn_text, dis))
        instructions = events = 0
        rows = []
        for k, r in _merge_order(kept):
            is_insn = r[8] == 0
            if self.form == "jsonl":
                d = record_json(r, texts[k][1])
                rows.append(json.dumps({"chip": k, **d} if n > 1 else d))
            else:
                line = format_record(r, self.form, texts[k][0])
                if line is None:
                    continue
                rows.append(f"@{k} {line}" if n > 1 else line)
            instructions += is_insn
            events += not is_insn
            if len(rows) >= 4096:
                out.write("\n".join(rows) + "\n")
                rows.clear()
        if rows:
            out.write("\n".join(rows) + "\n")
        if self.form == "jsonl":
            out.write(json.dumps({"kind": "footer", "stop": result.stop, "instructions": instructions,
                                  "events": events, "cycles": result.cycles}) + "\n")
        else:
            tail = f" cycles={result.cycles:x}" if self.form == "timed" else ""
            out.write(f"# end stop={result.stop} instructions={instructions:x} "
                      f"events={events:x}{tail}\n")


def _merge_order(recs: list[np.ndarray]):
    """(chip, record tuple) in merged order: by the running maximum of the chip's cycles,
    then chip, then the record's place in its chip's sequence."""
    keys, chips, idxs, rows = [], [], [], []
    for k, r in enumerate(recs):
        if not len(r):
            continue
        keys.append(np.maximum.accumulate(r["cycle"]))
        chips.append(np.full(len(r), k, np.int64))
        idxs.append(np.arange(len(r), dtype=np.int64))
        rows.append(r.tolist())
    if not keys:
        return
    key, chip, idx = np.concatenate(keys), np.concatenate(chips), np.concatenate(idxs)
    order = np.lexsort((idx, chip, key))
    by_chip = {int(c[0]): i for i, c in enumerate(chips)}
    for o in order.tolist():
        k = int(chip[o])
        yield k, rows[by_chip[k]][int(idx[o])]
