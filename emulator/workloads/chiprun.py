"""Writing a generated workload program with its data, and running it on the emulated chip —
shared by the CNN, RNN and RBM workloads."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def save_program(asm: str, data: dict, d, name: str) -> Path:
    """Write `name`.s and its .npy files into folder d; returns the program's path."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    for f, a in data.items():
        np.save(d / f, a)
    (d / f"{name}.s").write_text(asm)
    return d / f"{name}.s"


def run_program(path, what: str, model="ideal", seed=1, config=None):
    """Run a program to its halt: (machine, result, start time); anything else is an error."""
    from emulator.machine import Machine

    t0 = time.time()
    m = Machine(model=model, seed=seed, config=config)
    m.load(path)
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{what} program stopped: {r}")
    return m, r, t0


def run_classifier(path, n: int, ncls: int, what: str, model="ideal", seed=1, config=None):
    """Run a classifier program that leaves i16 logits in `out` and u8 classes in `pred`:
    (logits, predictions, result, wall seconds)."""
    m, r, t0 = run_program(path, what, model, seed, config)
    out = m.mem(m.sym("out"), n * ncls, "i16").reshape(n, ncls).astype(np.int64)
    pred = m.mem(m.sym("pred"), n, "u8").astype(np.int64)
    return out, pred, r, time.time() - t0
