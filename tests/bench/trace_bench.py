"""Tracing overhead: the same runs with tracing off, with records drained but discarded (the C
side only), and with a full timed text trace written, measured side by side."""
from __future__ import annotations

import io
import time
from pathlib import Path

from emulator import Machine
from emulator.trace.capture import TraceRecorder

ROOT = Path(__file__).resolve().parents[2]
# a scalar loop (an instruction record per simulated instruction) and the multi-core demo
LOOP = """
        .text
_start: li   x1, 200000
loop:   addi x2, x2, 3
        xor  x3, x3, x2
        addi x1, x1, -1
        bnez x1, loop
        halt
"""


def _time(fn, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _runner(src, mode):
    def go():
        m = Machine().load(src)
        if mode == "off":
            m.run()
        elif mode == "records":
            m._native.trace_enable(lambda recs: None)
            m.run()
            m._native.trace_disable()
        else:
            rec = TraceRecorder(m, io.StringIO(), "timed").start()
            rec.finish(m.run())
    return go


def main() -> None:
    print(f"{'program':<22}{'off':>10}{'C records':>12}{'text trace':>12}   ratios (records, text)")
    for name, src in (("scalar loop 800k insn", LOOP), ("demo.s", str(ROOT / "programs" / "demo.s"))):
        t = {mode: _time(_runner(src, mode)) for mode in ("off", "records", "text")}
        print(f"{name:<22}{t['off'] * 1e3:>8.1f}ms{t['records'] * 1e3:>10.1f}ms{t['text'] * 1e3:>10.1f}ms"
              f"   {t['records'] / t['off']:.2f}×, {t['text'] / t['off']:.1f}×")
    print("tracing off costs one test of a local pointer per instruction; see the control-loop")
    print("figure of core_bench for the untraced speed")
