"""RBM image recovery on the chip: a binary RBM (64 visible pixels of the 8×8 digits, binarised,
× 48 hidden units) stored once on one core and sampled in both directions — `smp.fwd` (visible
H → hidden V) and `smp.bwd` (hidden V → visible H) on the same array, the paper's RBM dataflow.

Units are the chip's stochastic neurons: P(1) = clip(½ + a/4) ("hard sigmoid"), which is what
`smp` computes with uniform sampling noise of amplitude R = 32/s_w codes (docs/machine.md);
training (numpy CD-1, 4-bit fake-quantised weights, weight noise η) uses the same units.
Biases: row 64 (visible input clamped to 1) holds the hidden biases, column 48 (hidden input
clamped to 1) the visible biases.

Recovery: a fraction of each test image's pixels (positions known, like an erasure) is replaced
by random bits; Gibbs sampling resamples only those pixels, the others stay clamped to the
input; the recovered image is the majority vote of the last samples.  Error = wrong pixels
(binary L1 = squared L2 distance) vs the clean image, for the corrupted input and the recovery.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from emulator.workloads.chiprun import run_program, save_program
from emulator.workloads.digits import load_digits_split

NV, NH = 64, 48
DATA = Path(__file__).parent / "data"
WBITS, CODE = 4, 16


def binarise(X):
    return (np.asarray(X) > 7).astype(np.int64)


def hsig(a):
    return np.clip(0.5 + a / 4.0, 0.0, 1.0)


def fake_quant(M, wbits=WBITS):
    qmax = 2 ** (wbits - 1) - 1
    s = np.max(np.abs(M)) / qmax
    return np.clip(np.round(M / s), -qmax, qmax) * s, s


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
    rng = np.random.default_rng(seed)
    n = len(V)
    k = int(round(frac * NV))
    mask = np.zeros((n, NV), bool)
    for i in range(n):
        mask[i, rng.choice(NV, k, replace=False)] = True
    C = np.where(mask, rng.integers(0, 2, (n, NV)), V)
    return C.astype(np.int64), mask


def codes(M):
    Mq, s = fake_quant(M)
    return np.round(Mq / s * CODE).astype(np.int8), s


def gibbs_numpy(M, C, mask, steps=16, keep=8, seed=0):
    """Float reference of the program (hard-sigmoid units with the 4-bit weights)."""
    rng = np.random.default_rng(seed)
    Mq, _ = fake_quant(M)
    v = np.concatenate([C, np.ones((len(C), 1))], 1).astype(float)
    count = np.zeros(C.shape)
    for t in range(steps):
        h = (rng.random((len(C), NH + 1)) < hsig(v @ Mq)).astype(float)
        h[:, NH] = 1
        vs = (rng.random((len(C), NV + 1)) < hsig(h @ Mq.T)).astype(float)
        v[:, :NV] = np.where(mask, vs[:, :NV], C)
        if t >= steps - keep:
            count += v[:, :NV]
    return (count * 2 > keep).astype(np.int64)


def program(M, C, mask, steps=16, keep=8, name="rbm_recover"):
    """(asm text, {file: array}) of the recovery program for the corrupted images C."""
    w, s = codes(M)
    R = int(round(2.0 / (s / CODE)))           # a = (s/CODE)·acc, P = ½ + a/4 → R = 2·CODE/s
    n = len(C)
    clamp = np.concatenate([C * (~mask), np.ones((n, 1), np.int64)], 1).astype(np.uint8)   # known pixels, bias 1
    free = np.concatenate([mask, np.zeros((n, 1), bool)], 1).astype(np.uint8)             # 1 = resample
    data = {f"{name}_w.npy": w, f"{name}_clamp.npy": clamp, f"{name}_free.npy": free,
            f"{name}_x.npy": np.concatenate([C, np.ones((n, 1), np.int64)], 1).astype(np.uint8)}
    asm = f"""# {name}.s — RBM image recovery by Gibbs sampling on one core (emulator/workloads/rbm.py).
#
# Core 0 holds the RBM: rows 0…63 the visible pixels, row 64 the hidden biases (visible input
# clamped to 1), columns 0…47 the hidden units, column 48 the visible biases (hidden input
# clamped to 1).  smp.fwd samples the hidden units from the visible ones (H → V), smp.bwd the
# visible pixels from the hidden ones (V → H) — both directions on the same array.  Stochastic
# units: 1 if acc + u > 0, u uniform in [−{R}, {R}] (P = hard sigmoid of the float activation).
# Per image: start from the corrupted image, STEPS Gibbs steps; after each backward sample the
# known pixels (and the bias input) are clamped back by the vector unit
# (v = v·free + clamp); the last KEEP visible samples are counted in `count` (N × 64 u8);
# the recovered pixel is count > KEEP/2.
# Run:  neurram run programs/{name}.s --model analog --seed 1 --dump count

        .equ N, {n}
        .equ STEPS, {steps}
        .equ KEEP, {keep}
        .equ VR, {NV + 1}
        .equ HC, {NH + 1}

        .data
w:      .npy "{name}_w.npy", i8
x:      .npy "{name}_x.npy", u8       # corrupted images + bias input 1 (N × VR)
clamp:  .npy "{name}_clamp.npy", u8   # known pixels (0 where resampled), bias 1
free:   .npy "{name}_free.npy", u8    # 1 where the pixel is resampled
vbuf:   .zero VR
hbuf:   .zero HC
count:  .zero N * VR

        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, VR
        ccfg.ncols x1, HC
        ccfg.inbits x1, 1             # 0/1 inputs both ways
        ccfg.noise x1, {R}
        la      x2, w
        cprog   c0, x2
        la      x10, x
        la      x11, clamp
        la      x12, free
        la      x13, count
        li      x14, N
image:  hin.u8  c0, x10               # H ← the corrupted image
        li      x15, STEPS
step:   smp.fwd x1                    # hidden units ~ P(h | v), into V
        la      x3, hbuf
        vout.u8 c0, x3
        sync    x1
        li      x4, 1
        sb      x4, {NH}(x3)           # the bias column's input is always 1
        vin.u8  c0, x3
        smp.bwd x1                    # visible pixels ~ P(v | h), into H
        la      x5, vbuf
        hout.u8 c0, x5
        sync    x1
        setvli  VR
        vmul.u8 x5, x5, x12           # keep the resampled pixels …
        vadd.u8 x5, x5, x11           # … and clamp the known ones and the bias input
        hin.u8  c0, x5
        li      x6, KEEP
        blt     x6, x15, skip         # count only the last KEEP samples
        vadd.u8 x13, x13, x5
skip:   addi    x15, x15, -1
        bnez    x15, step
        addi    x10, x10, VR
        addi    x11, x11, VR
        addi    x12, x12, VR
        addi    x13, x13, VR
        addi    x14, x14, -1
        bnez    x14, image
        sync    x0
        halt
"""
    return asm, data


def run(M, n=40, frac=0.2, steps=16, keep=8, model="analog", seed=1, workdir="/tmp/neurram_rbm",
        name="rbm_recover", write=None):
    """Corrupt n test digits, recover them on the chip; returns a dict of errors and timings."""
    V = binarise(load_digits_split()[2][:n])
    C, mask = corrupt(V, frac, seed=0)
    path = save_program(*program(M, C, mask, steps, keep, name), write or workdir, name)
    m, r, t = run_program(path, "rbm", model, seed)
    cnt = m.mem(m.sym("count"), n * (NV + 1), "u8").reshape(n, NV + 1)[:, :NV]
    rec = (cnt.astype(int) * 2 > keep).astype(np.int64)
    e_in, e_out = int((C != V).sum()), int((rec != V).sum())
    return {"n": n, "frac": frac, "err_corrupted": e_in / n, "err_recovered": e_out / n,
            "reduction": 1 - e_out / max(e_in, 1), "chip_s": r.time_s, "cycles": r.cycles,
            "wall_s": time.time() - t, "V": V, "C": C, "rec": rec}


def shipped() -> np.ndarray:
    return np.load(DATA / "rbm_digits.npy").astype(float)
