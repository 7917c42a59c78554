"""Writing a generated workload program with its data, running it on the emulated chip, and the
accuracy row of a classifier workload — shared by the CNN, RNN and RBM workloads."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

# where the workloads write their generated programs by default: one folder per process, so two
# commands (or two test runs) on one machine never overwrite each other's files mid-run
SCRATCH = Path(tempfile.gettempdir()) / f"neurram-{os.getpid()}"


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
    m.enable_profile()
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{what} program stopped: {r}")
    return m, r, t0


def run_classifier(path, n: int, ncls: int, what: str, model="ideal", seed=1, config=None):
    """Run a classifier program that leaves i16 logits in `out` and u8 classes in `pred`:
    (logits, predictions, result, wall seconds)."""
    from dataclasses import replace

    m, r, t0 = run_program(path, what, model, seed, config)
    r = replace(r, per_inference=m.profile_report(inferences=n)["per_inference"])
    out = m.mem(m.sym("out"), n * ncls, "i16").reshape(n, ncls).astype(np.int64)
    pred = m.mem(m.sym("pred"), n, "u8").astype(np.int64)
    return out, pred, r, time.time() - t0


def evaluate_classifier(P, q, X, y, forward_float, reference, run_chip, seeds, workdir, analog=True,
                        config=None) -> dict:
    """One row of a classifier workload's accuracy table (CNN, RNN): float and 4-bit software
    (forward_float(P, X, quant)), the integer reference of the quantised q, the ideal chip (and
    whether it equals the reference bit for bit), and the analog chip for each seed."""
    ref = reference(q, X)
    res = {"float": float(np.mean(forward_float(P, X, quant=False)[0].argmax(1) == y)),
           "sw4": float(np.mean(forward_float(P, X)[0].argmax(1) == y)),
           "int_ref": float(np.mean(ref.argmax(1) == y)), "q": q}
    out, pred, r, wall = run_chip(q, X, "ideal", 1, workdir, config=config)
    res.update(ideal=float(np.mean(pred == y)), ideal_exact=bool((out == ref).all()),
               ideal_wall_s=wall, chip_s=r.time_s, cycles=r.cycles, analog=[],
               per_inference=r.per_inference)
    if analog:
        for s in seeds:
            _, pred, r, wall = run_chip(q, X, "analog", s, workdir, config=config)
            res["analog"].append(float(np.mean(pred == y)))
            res["analog_wall_s"] = wall
    return res
