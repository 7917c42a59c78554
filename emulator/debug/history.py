"""Reverse execution: compressed machine checkpoints with a memory bound.

A checkpoint is `Machine.snapshot()` (≈36 MiB, dominated by the 48 cores' conductances)
compressed with zlib level 1 (≈130–170 KiB for the sample programs, whose arrays are mostly zero).
Any earlier state is rebuilt by restoring the latest checkpoint before it and running forward —
the machine is deterministic and its state at a cycle does not depend on how it got there, so the
rebuilt state is byte-identical to the one the forward run had.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

from ..machine import Machine, Snapshot


def normalize(m: Machine) -> None:
    """Clear the path-dependent bookkeeping at a stop (`Machine.normalize`), so that checkpoints
    of the same state are the same bytes; the debugger keeps its own breakpoint state."""
    m.normalize()


@dataclass
class Checkpoint:
    cycle: int
    instret: int
    landing: bool          # taken right after an instruction step (not mid-stall)
    data: bytes            # zlib-compressed snapshot bytes
    raw_size: int


class History:
    """Checkpoints in cycle order; the first (the loaded state) is never dropped.

    `interval`: take a checkpoint when at least this many instructions retired since the last one.
    `max_bytes`: bound on the compressed bytes; when exceeded every second checkpoint (except the
    first and last) is dropped, so coverage thins out evenly instead of losing the past.
    Inside instruction-by-instruction runs (watchpoints, `until EXPR`) saving is also throttled
    by time: a checkpoint (a compressed copy of the ~30 MiB chip state) is taken at most once
    per 10× its own cost, so it never takes more than about a tenth of the run.  Where the
    checkpoints sit changes only how far a reverse command replays, never its result.
    """

    THROTTLE = 10.0

    def __init__(self, interval: int = 32, max_bytes: int = 256 << 20):
        if interval < 1:
            raise ValueError("the checkpoint interval must be at least 1 instruction")
        if max_bytes < 0:
            raise ValueError("the checkpoint memory bound cannot be negative")
        self.interval = interval
        self.max_bytes = max_bytes
        self.points: list[Checkpoint] = []
        self.peak_bytes = 0
        self.taken = 0
        self._cost = 0.0            # seconds the last save took
        self._last = 0.0            # perf_counter() at the end of the last save

    @property
    def bytes(self) -> int:
        return sum(len(c.data) for c in self.points)

    def clear(self) -> None:
        self.points.clear()

    def save(self, m: Machine, landing: bool) -> Checkpoint:
        raw = m.snapshot().data
        cp = Checkpoint(m.cycle, m.instret, landing, zlib.compress(raw, 1), len(raw))
        # keep cycle order; replace a checkpoint of the same position
        self.points = [c for c in self.points if (c.cycle, c.instret) != (cp.cycle, cp.instret)]
        self.points.append(cp)
        self.points.sort(key=lambda c: (c.cycle, c.instret))
        self.taken += 1
        self._bound()
        self.peak_bytes = max(self.peak_bytes, self.bytes)
        return cp

    def maybe_save(self, m: Machine, landing: bool, throttle: bool = False) -> None:
        last = self.latest_before(m.cycle, m.instret, inclusive=True)
        if last is not None and m.instret - last.instret < self.interval:
            return
        if throttle and last is not None and time.perf_counter() - self._last < self.THROTTLE * self._cost:
            return
        t0 = time.perf_counter()
        self.save(m, landing)
        self._last = time.perf_counter()
        self._cost = self._last - t0

    def _bound(self) -> None:
        while self.bytes > self.max_bytes and len(self.points) > 2:
            keep = [self.points[0]] + self.points[1:-1][1::2] + [self.points[-1]]
            if len(keep) == len(self.points):
                break
            self.points = keep

    def latest_before(self, cycle: int, instret: int, inclusive: bool = False) -> Checkpoint | None:
        best = None
        for c in self.points:
            if c.cycle < cycle or (inclusive and c.cycle == cycle and c.instret <= instret):
                best = c
        return best

    def for_instret(self, k: int) -> Checkpoint:
        """Latest checkpoint from which stepping reaches the landing point of k instructions."""
        best = self.points[0]
        for c in self.points:
            if c.instret < k or (c.instret == k and c.landing) or (c.instret == 0 and c.cycle == 0):
                if c.instret <= k:
                    best = c if c.cycle >= best.cycle else best
        return best

    def for_cycle(self, cycle: int) -> Checkpoint:
        best = self.points[0]
        for c in self.points:
            if c.cycle <= cycle:
                best = c
        return best

    def restore(self, m: Machine, cp: Checkpoint) -> None:
        m.restore(Snapshot(zlib.decompress(cp.data), m.program))
