"""VCD waveforms of a run (GTKWave, Surfer): pc, stalls, per-core phase and busy, scan-chain
occupancy and the registers the program writes, over an optional cycle window.

Time is real time (cycle c starts at c·period; 10 ns per cycle at 100 MHz) and `clk` rises at the
start of each cycle and falls in its middle.  `clk` is written only for windows of up to
CLOCK_LIMIT cycles.
The file carries no wall-clock date, so the same run always gives the same bytes.
"""
from __future__ import annotations

from typing import TextIO

import numpy as np

from .records import KIND

CLOCK_LIMIT = 1 << 16
PHASE_IDLE, PHASE_OFF = 1, 0
CORES_PER_CHAIN = 6   # scan chain k serves cores 6k … 6k+5


def _timescale(clock_hz: float) -> tuple[str, int]:
    """A VCD unit and the clock period in it, chosen so that half a period is a whole number."""
    for unit, per_s in (("ns", 1e9), ("ps", 1e12), ("fs", 1e15)):
        period = clock_hz and round(per_s / clock_hz)
        if period >= 2 and period % 2 == 0 and abs(period - per_s / clock_hz) < 1e-6 * period:
            return f"1 {unit}", period
    return "1 fs", max(2, 2 * round(1e15 / clock_hz / 2))


def _changes(recs: np.ndarray, prefix: str = "", order: int = 0) -> list[tuple[int, int, str, int]]:
    """(time, order, signal, value) for every change the records imply, before windowing.
    A system's chips give their signals a `chipK.` prefix and `order` K·2^40, so that changes
    at the same time sort by chip, then in record order."""
    ch: list[tuple[int, int, str, int]] = []
    seq = order

    def add(t, name, value):
        nonlocal seq
        ch.append((int(t), seq, prefix + name, int(value)))
        seq += 1
    for r in recs:
        kind, t = int(r["kind"]), int(r["cycle"])
        if kind == KIND["insn"]:
            if r["stall"]:
                add(t - int(r["stall"]), "stall", 1)
                add(t, "stall", 0)
            add(t, "pc", r["pc"])
            if r["rd"] and r["rd"] > 1:
                add(t, f"x{int(r['rd']) - 1}", r["a"])
        elif kind == KIND["phase"]:
            add(t, f"core{int(r['core']):02d}.phase", r["a"])
        elif kind == KIND["end"]:
            c = int(r["core"])
            add(t, f"core{c:02d}.busy", 0)
            add(t, f"core{c:02d}.phase", PHASE_IDLE)
        elif kind == KIND["power_off"]:
            add(t, f"core{int(r['core']):02d}.phase", PHASE_OFF)
        elif kind in (KIND["wake"], KIND["scan_in"], KIND["scan_out"], KIND["mvm"], KIND["smp"], KIND["prog"],
                      KIND["batch"], KIND["ifire"], KIND["update"], KIND["refresh"]):
            c = int(r["core"])
            add(t, f"core{c:02d}.busy", 1)
            if kind == KIND["ifire"]:   # spikes the ifrun/ifstep fired, shown from its issue
                add(t, f"core{c:02d}.spikes", int(r["stall"]))
            if kind == KIND["update"]:  # update pulses the opu applied, shown from its issue
                add(t, f"core{c:02d}.pulses", int(r["b"]))
            if kind == KIND["wake"]:   # waking has no completion record: it ends at `a`
                add(int(r["a"]), f"core{c:02d}.busy", 0)
                add(int(r["a"]), f"core{c:02d}.phase", PHASE_IDLE)
            if kind in (KIND["scan_in"], KIND["scan_out"], KIND["batch"]):   # a batch holds its chain
                chain = c // CORES_PER_CHAIN
                add(t + int(r["stall"]), f"chain{chain}.busy", 1)
                add(int(r["a"]), f"chain{chain}.busy", 0)
    ch.sort()
    return ch


def write_vcd(out: TextIO, recs: np.ndarray, clock_hz: float, start: int = 0, stop: int | None = None,
              end_cycle: int | None = None, comment: str = "") -> int:
    """Write the waveforms of `recs` for cycles [start, stop); returns the number of changes."""
    from vcd import VCDWriter   # pyvcd: an approved dependency, imported only when VCD is asked for

    if isinstance(recs, list):   # a system: one record array per chip, a scope per chip
        changes = sorted(c for k, r in enumerate(recs) for c in _changes(r, f"chip{k}.", k << 40))
        chip_names = [f"chip{k}." for k in range(len(recs))]
    else:
        changes, chip_names = _changes(recs), [""]
    last = max([c[0] for c in changes] + [end_cycle or 0, start])
    stop = last + 1 if stop is None else stop
    timescale, period = _timescale(clock_hz)
    half = period // 2
    names = sorted({c[2] for c in changes})
    n = 0
    with VCDWriter(out, timescale=timescale, date="", comment=comment, version="neurram",
                   init_timestamp=period * start) as w:
        var = {}
        with_clock = stop - start <= CLOCK_LIMIT
        clk = w.register_var("nr48", "clk", "wire", size=1, init=0) if with_clock else None
        for chip in chip_names:
            top = "nr48" + ("." + chip[:-1] if chip else "")
            var[chip + "pc"] = w.register_var(top, "pc", "wire", size=32, init=0)
            var[chip + "stall"] = w.register_var(top, "stall", "wire", size=1, init=0)
        for full in names:
            chip, name = (full.split(".", 1) if full.startswith("chip") and "." in full
                          and full.split(".", 1)[0][4:].isdigit() else ("", full))
            top = "nr48" + ("." + chip if chip else "")
            if name.startswith("x"):
                var[full] = w.register_var(f"{top}.regs", name, "wire", size=64, init=0)
            elif name.startswith("core"):
                core, sig = name.split(".")
                size, init = {"phase": (4, PHASE_OFF), "spikes": (32, 0), "pulses": (32, 0)}.get(sig, (1, 0))
                var[full] = w.register_var(f"{top}.{core}", sig, "wire", size=size, init=init)
            elif name.startswith("chain"):
                chain, sig = name.split(".")
                var[full] = w.register_var(f"{top}.{chain}", sig, "wire", size=1, init=0)
        # values before the window become the initial values at its start
        state: dict[str, int] = {}
        i = 0
        while i < len(changes) and changes[i][0] < start:
            state[changes[i][2]] = changes[i][3]
            i += 1
        for name, value in state.items():
            w.change(var[name], period * start, value)
            n += 1
        t_clk = start

        def tick_through(t):
            nonlocal t_clk, n
            while clk is not None and t_clk <= t and t_clk < stop:
                w.change(clk, period * t_clk, 1)
                w.change(clk, period * t_clk + half, 0)
                t_clk += 1
                n += 2
        for t, _, name, value in changes[i:]:
            if t >= stop:
                break
            tick_through(t - 1)
            w.change(var[name], period * t, value)
            n += 1
        tick_through(stop - 1)
    return n
