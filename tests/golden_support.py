"""Traces of the programs under programs/, produced the ways the determinism tests compare, and
the golden files of tests/golden/ (rewritten only by `make golden-update`): each program's
functional trace, xz-compressed (trace diff reads it as it is), and the SHA-256 of its timed
trace."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from emulator import Machine
from emulator.trace.capture import TraceRecorder

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "programs").glob("*.s"))
GOLDEN = ROOT / "tests" / "golden"
# sizes of the cycle steps of the "cycles" mode: single cycles first (through the early scans
# and stalls), then odd chunks that land at arbitrary points inside core operations
_CYCLE_STEPS = [1] * 3000 + [97, 1009, 7919] * 4


def load(path: Path, model: str = "ideal", seed: int = 0) -> Machine:
    m = Machine(model=model, seed=seed)
    m.load(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path))
    return m


def advance(m: Machine, mode: str):
    """Run a loaded machine to its end: in one go, by instructions, or by cycles."""
    if mode == "run":
        return m.run()
    if mode == "step":
        while True:
            r = m.step(1)
            if r.stop != "step":
                return r
    for n in _CYCLE_STEPS:
        r = m.step_cycles(n)
        if r.stop != "cycle":
            return r
    while True:   # long programs: the rest in large, odd-sized slices
        r = m.step_cycles(1_000_003)
        if r.stop != "cycle":
            return r


def trace_text(path: Path, form: str, mode: str = "run", model: str = "ideal", seed: int = 0) -> str:
    m = load(path, model, seed)
    out = io.StringIO()
    rec = TraceRecorder(m, out, form, capacity=4096).start()
    rec.finish(advance(m, mode))
    return out.getvalue()


def records(path: Path, model: str = "ideal", seed: int = 0, split_at: float | None = None) -> np.ndarray:
    """The raw trace records of a run; with split_at, the run stops at that fraction of its
    cycles, snapshots, and a fresh machine restored from the snapshot finishes it."""
    parts: list[np.ndarray] = []
    m = load(path, model, seed)
    m._native.trace_enable(parts.append, 4096)
    if split_at is None:
        m.run()
        m._native.trace_disable()
        return np.concatenate(parts)
    total = load(path, model, seed).run().cycles
    m.run_until(int(total * split_at))
    snap = m.snapshot()
    m._native.trace_disable()
    m2 = load(path, model, seed)
    m2.restore(snap)
    m2._native.trace_enable(parts.append, 4096)
    m2.run()
    m2._native.trace_disable()
    return np.concatenate(parts)


def body_hash(text: str) -> str:
    """SHA-256 of a trace's records and end line (the header names files and versions)."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("# ") or
                     line.startswith("# end "))
    return hashlib.sha256(body.encode()).hexdigest()


def golden_paths(path: Path) -> tuple[Path, Path]:
    return GOLDEN / f"{path.stem}.ftrace.xz", GOLDEN / f"{path.stem}.timed.sha256"
