"""RBM image recovery on the chip: a binary RBM (64 visible pixels of the 8×8 digits, binarised,
× 48 hidden units) stored once on one core and sampled in both directions — `smp.fwd` (visible
H → hidden V) and `smp.bwd` (hidden V → visible H) on the same array, the paper's RBM dataflow.
The program is the mapper's (`emulator.mapper.rbm`, single-core layout); this module holds the
digits data, the training and the measurement.

Units are the chip's stochastic neurons: P(1) = clip(½ + a/4) ("hard sigmoid"), which is what
`smp` computes with uniform sampling noise of amplitude R = 32/s_w codes (docs/machine.md);
training (numpy CD-1, 4-bit fake-quantised weights, weight noise η) uses the same units.
Biases: row 64 (visible input clamped to 1) holds the hidden biases, column 48 (hidden input
clamped to 1) the visible biases.

Recovery: a fraction of each test image's pixels (positions known, like an erasure) is replaced
by random bits; Gibbs sampling resamples only those pixels, the others stay clamped to the
input; the recovered image is the majority vote of the last samples.  With
`run(…, known_positions=False)` the positions are unknown (default corruption: flipped pixels):
every pixel is resampled, tied to the input by the mapper's evidence columns.  Error = wrong
pixels (binary L1 = squared L2 distance) vs the clean image, for the corrupted input and the
recovery.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.data import DIR as DATA
from emulator.mapper.rbm import (RBM, corrupt_random, fake_quant, flip, gibbs_reference, hsig, quantise_rbm,
                                 run_rbm)
from emulator.mapper.rbm_codegen import compile_rbm
from emulator.workloads.digits import AGE_MS, load_digits_split
from .chiprun import SCRATCH

NV, NH = 64, 48
WBITS, CODE = 4, 16
ORIGIN = "emulator/workloads/rbm.py"
__all__ = ["binarise", "hsig", "fake_quant", "train_rbm", "corrupt", "flip", "codes", "gibbs_numpy", "compiled",
           "program", "run", "shipped", "write_programs"]


def binarise(X):
    return (np.asarray(X) > 7).astype(np.int64)


def train_rbm(epochs=60, lr=0.02, eta=0.1, seed=0, batch=32) -> np.ndarray:
    """CD-1 on the binarised training digits; returns the (NV+1) × (NH+1) float matrix."""
    rng = np.random.default_rng(seed)
    V = binarise(load_digits_split()[0]).astype(float)
    M = rng.normal(0, 0.1, (NV + 1, NH + 1))
    M[NV, NH] = 0
    for ep in range(epochs):
        for i in range(0, len(V), batch):
            v0 = np.concatenate([V[rng.permutation(len(V))[:batch]], np.ones((batch, 1))], 1)
            Mq, s = fake_quant(M)
            Mn = Mq + rng.normal(0, eta * np.max(np.abs(M)), M.shape)
            ph0 = hsig(v0 @ Mn)
            h0 = (rng.random(ph0.shape) < ph0).astype(float)
            h0[:, NH] = 1
            pv1 = hsig(h0 @ Mn.T)
            v1 = (rng.random(pv1.shape) < pv1).astype(float)
            v1[:, NV] = 1
            ph1 = hsig(v1 @ Mn)
            ph0[:, NH] = 1
            ph1[:, NH] = 1
            M += lr * (v0.T @ ph0 - v1.T @ ph1) / batch
            M[NV, NH] = 0
    return M


def corrupt(V, frac=0.2, seed=0):
    """Replace `frac` of each image's pixels (random positions) by random bits; returns
    (corrupted, mask of corrupted positions)."""
    return corrupt_random(V, frac, seed)


def codes(M):
    """The int8 weight codes ((NV+1) × (NH+1), 4-bit levels × 16) and the level scale."""
    q = quantise_rbm(RBM.from_matrix(M))
    return q.codes, q.scale


def gibbs_numpy(M, C, mask, steps=16, keep=8, seed=0):
    """Float reference of the program (hard-sigmoid units with the 4-bit weights); `mask` = the
    resampled positions, None = unknown positions (the mapper's default evidence and temperature)."""
    return gibbs_reference(quantise_rbm(RBM.from_matrix(M)), C, None if mask is None else ~np.asarray(mask, bool),
                           steps, keep, seed)


def compiled(M, C, mask, steps=16, keep=8, name="rbm_recover", age_ms=AGE_MS, **kw):
    """The mapper's Compiled recovery program for the corrupted images C (`mask` = resampled
    positions; None = unknown positions, `kw` → compile_rbm's temperature / evidence / batched:
    the chains of all images as batches, the same counts).  The chip is aged `age_ms` after
    programming (1 h, as for the digits workloads): the conductances have relaxed and stay in one
    relaxation epoch for the whole run, so the loop and its faster batched twin see the same ones."""
    q = quantise_rbm(RBM.from_matrix(M, name))
    return compile_rbm(q, C, None if mask is None else ~np.asarray(mask, bool), steps, keep, name=name,
                       origin=ORIGIN, age_ms=age_ms, **kw)


def program(M, C, mask, steps=16, keep=8, name="rbm_recover", batched=False):
    """(asm text, {file: array}) of the recovery program for the corrupted images C (with
    `batched` its batched twin)."""
    c = compiled(M, C, mask, steps, keep, name, batched=batched)
    return c.asm, c.data


def run(M, n=40, frac=0.2, steps=16, keep=8, model="analog", seed=1, workdir=SCRATCH / "rbm",
        name="rbm_recover", write=None, known_positions=True, corruption=None, config=None, batched=True, **kw):
    """Corrupt n test digits, recover them on the chip; returns a dict of errors and timings.
    `known_positions=False`: the positions are unknown to the program (every pixel resampled);
    `corruption`: "random" (replace by random bits; default with known positions) or "flip"
    (flip the pixels; default without); `batched` (default): the chains of all images as batches
    (emulator/mapper/rbm_batch.py), False: the per-image loop — the same counts bit for bit;
    `kw` → compile_rbm (temperature, evidence)."""
    V = binarise(load_digits_split()[2][:n])
    corruption = corruption or ("random" if known_positions else "flip")
    if corruption not in ("random", "flip"):
        raise ValueError(f"corruption must be 'random' or 'flip', got {corruption!r}")
    C, mask = (corrupt if corruption == "random" else flip)(V, frac, seed=0)
    name = name + ("_batched" if batched else "")
    c = compiled(M, C, mask if known_positions else None, steps, keep, name, batched=batched, **kw)
    rec, _, r, wall = run_rbm(c, Path(write or workdir) / f"{name}.s", model, seed, config)
    e_in, e_out = int((C != V).sum()), int((rec != V).sum())
    return {"n": n, "frac": frac, "err_corrupted": e_in / n, "err_recovered": e_out / n,
            "reduction": 1 - e_out / max(e_in, 1), "chip_s": r.time_s, "cycles": r.cycles,
            "wall_s": wall, "V": V, "C": C, "rec": rec, "known_positions": known_positions,
            "per_inference": r.per_inference,
            "corruption": corruption, "slots": c.slots, "core_map": c.core_map}


def write_programs(M, d, n=40, frac=0.2, steps=16, keep=8, known_positions=True, name="rbm_recover") -> list:
    """Write the per-image loop program (`name`.s, as programs/rbm_recover.s) and its batched twin
    (`name`_batched.s) for the first n test digits into folder d; returns their paths."""
    V = binarise(load_digits_split()[2][:n])
    C, mask = (corrupt if known_positions else flip)(V, frac, seed=0)
    out = []
    for batched in (False, True):
        c = compiled(M, C, mask if known_positions else None, steps, keep,
                     name + ("_batched" if batched else ""), batched=batched)
        out.append(c.write(Path(d) / f"{c.name}.s"))
    return out


def shipped() -> np.ndarray:
    return np.load(DATA / "rbm_digits.npy").astype(float)
