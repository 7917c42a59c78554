"""A small CNN on the 8×8 digits: conv 3×3 (8 channels, im2col) → ReLU / requantise → 2×2 max-pool
(`vpmax`) → dense 72 → 10, on two cores.

* **conv2d via im2col**: the 3×3 convolution is a dense layer over patches (9 pixel rows + bias rows +
  balancing rows on core 0, 8 channels × COPIES column copies).  The program loops over the 36
  output positions: `hin` scans one patch (the host lays the patches out, im2col), `mvm.fwd`, the
  vector unit sums the column copies, `vrelu` / `vsra` / `vclipu` requantise to 4-bit codes, and
  `vcvt.u8` stores the 8 channels at fmap[pos·8].
* **max-pool 2×2** with two `vpmax.u8`: groups of 8 (pairs of x) then groups of 24 (pairs of y) on
  the (y, x, c) feature map 6×6×8 → 3×3×8 = 72 codes.
* **dense classifier** on core 1: 72 pooled codes + bias rows; signed 8-bit partials of the column
  copies summed into i16 logits, `vargmax`.

Training (`train_cnn`) is numpy in code units (as rnn.py): activations are the 4-bit codes
themselves (rounded, straight-through), 4-bit fake-quantised weights, and the chip-matched
weight noise per 4-bit level of emulator.mapper.chipnoise (noise-aware) or none (plain).
`reference` is the numpy integer reference of exactly what the program computes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emulator.mapper.codegen import pad_rows
from emulator.mapper.model import MAX_ROWS, MapError, bias_levels, gain_shift, quantise_weights
from emulator.workloads.chiprun import SCRATCH, evaluate_classifier, run_classifier, save_program
from emulator.workloads.digits import AGE_MS, DATA, IN_SCALE, load_digits_split
from emulator.workloads.rnn import _rs, _softmax

C = 8                       # conv channels
KS = 3                      # kernel size
OW = 8 - KS + 1             # 6×6 output positions
NPOS = OW * OW
NPOOL = (OW // 2) ** 2 * C  # 72 pooled features
NCLS = 10
AMAX = 15                   # 4-bit activation codes
CODE = 16
PSHIFT = 3                  # conv partials at 2^3 × the activation code
CONV_COPIES = 16            # 8 × 16 = 128 columns
FC_COPIES = 16              # 10 × 16 = 160 columns
TRAIN_SEED = 0
N_PROGRAM = 20              # test digits in the shipped programs/cnn_digits.s


def pixel_codes(X):
    return np.clip(np.round(np.asarray(X, float) / IN_SCALE), 0, 15).reshape(-1, 8, 8)


def im2col(X):
    """N × 36 positions × 9 pixel codes (row-major positions, patch rows dy, dx)."""
    x = pixel_codes(X)
    cols = [x[:, dy:dy + OW, dx:dx + OW] for dy in range(KS) for dx in range(KS)]
    return np.stack(cols, -1).reshape(len(x), NPOS, KS * KS)


def pool(h):
    """N × 36 × C (y, x, c) → N × 72 (y, x, c) 2×2 max, and the argmax mask for backprop."""
    n = len(h)
    a = h.reshape(n, OW // 2, 2, OW // 2, 2, C).transpose(0, 1, 3, 5, 2, 4).reshape(n, OW // 2, OW // 2, C, 4)
    m = a.max(-1)
    return m.reshape(n, NPOOL), a, m


def _fq(W, s):
    return np.clip(np.round(W / s), -7, 7) * s


def _noisy(W, b, s, rng, ls):
    if rng is None or ls is None:
        return W, b
    ls = np.asarray(ls)
    W = W + rng.normal(size=W.shape) * ls[np.abs(np.round(W / s)).astype(int)] * s
    return W, b + rng.normal(0, ls.max() * s * AMAX, b.shape)


def forward_float(P, X, quant=True, rng=None, level_sigma=None):
    """Code-unit forward pass; P = dict(Wc 9×C, bc C, Wf 72×10, bf 10)."""
    p = im2col(X)
    Wc, Wf, bc, bf = P["Wc"], P["Wf"], P["bc"], P["bf"]
    if quant:
        sc, sf = np.max(np.abs(Wc)) / 7, np.max(np.abs(Wf)) / 7
        Wc, Wf = _fq(Wc, sc), _fq(Wf, sf)
        bc, bf = np.round(bc / sc) * sc, np.round(bf / sf) * sf
        Wc, bc = _noisy(Wc, bc, sc, rng, None if level_sigma is None else np.asarray(level_sigma) / np.sqrt(CONV_COPIES))
        Wf, bf = _noisy(Wf, bf, sf, rng, None if level_sigma is None else np.asarray(level_sigma) / np.sqrt(FC_COPIES))
    z = p @ Wc + bc
    mask = (z > 0) & (z < AMAX)
    h = np.clip(z, 0, AMAX)
    if quant:
        h = np.round(h)
    hp, a, m = pool(h)
    return hp @ Wf + bf, (p, mask, a, m, hp, Wc, Wf)


def train_cnn(X, y, epochs=60, lr=3e-3, batch=64, seed=0, level_sigma=None, verbose=False) -> dict:
    rng = np.random.default_rng(seed)
    y = np.asarray(y, int)
    P = {"Wc": rng.normal(0, 0.5 / 3, (KS * KS, C)), "bc": np.zeros(C),
         "Wf": rng.normal(0, 1 / (7 * np.sqrt(NPOOL)), (NPOOL, NCLS)), "bf": np.zeros(NCLS)}
    m1 = {k: np.zeros_like(v) for k, v in P.items()}
    m2 = {k: np.zeros_like(v) for k, v in P.items()}
    Y, t = np.eye(NCLS)[y], 0
    for ep in range(epochs):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            out, (p, mask, a, m, hp, Wc, Wf) = forward_float(P, X[idx], True, rng, level_sigma)
            n = len(idx)
            g = (_softmax(out) - Y[idx]) / n
            G = {"Wf": hp.T @ g, "bf": g.sum(0)}
            gm = (g @ Wf.T).reshape(n, OW // 2, OW // 2, C)
            sel = (a == m[..., None])
            sel = sel / sel.sum(-1, keepdims=True)
            ga = (gm[..., None] * sel).reshape(n, OW // 2, OW // 2, C, 2, 2).transpose(0, 1, 4, 2, 5, 3)
            gz = ga.reshape(n, NPOS, C) * mask
            G["Wc"] = np.einsum("npk,npc->kc", p, gz)
            G["bc"] = gz.sum((0, 1))
            t += 1
            for k in P:
                m1[k] = 0.9 * m1[k] + 0.1 * G[k]
                m2[k] = 0.999 * m2[k] + 0.001 * G[k] ** 2
                P[k] = P[k] - lr * (m1[k] / (1 - 0.9**t)) / (np.sqrt(m2[k] / (1 - 0.999**t)) + 1e-8)
        if verbose and (ep + 1) % 10 == 0:
            print(f"epoch {ep + 1}: train acc (4-bit) {np.mean(forward_float(P, X)[0].argmax(1) == y):.3f}")
    return P


def train(noise: bool, seed=TRAIN_SEED, epochs=60, age_ms=AGE_MS, verbose=False) -> dict:
    from emulator.mapper.chipnoise import weight_noise

    Xtr, ytr, _, _ = load_digits_split()
    return train_cnn(Xtr, ytr, epochs=epochs, seed=seed,
                     level_sigma=weight_noise(age_ms) if noise else None, verbose=verbose)


def shipped(noise: bool) -> dict:
    z = np.load(DATA / ("digits_cnn_noise.npz" if noise else "digits_cnn_plain.npz"))
    return {k: z[k].astype(float) for k in z.files}


def as_model(P: dict):
    """The same network as a mapper model description (Conv2D → MaxPool2D → Dense over pixels),
    for `neurram compile` / emulator.mapper.compile_model; the conv weights are in code units
    here, so they are divided by the input scale."""
    from emulator.mapper import Conv2D, Dense, MaxPool2D, Model

    return Model([Conv2D(P["Wc"].reshape(KS, KS, 1, C) / IN_SCALE, P["bc"], name="conv"),
                  MaxPool2D(2, name="pool"), Dense(P["Wf"], P["bf"], relu=False, name="fc")],
                 in_scale=IN_SCALE, in_shape=(8, 8, 1))


def save(P, path):
    np.savez(path, **{k: v.astype(np.float32) for k, v in P.items()})


# ---------------------------------------------------------------------------------- quantisation

@dataclass
class QCNN:
    conv: np.ndarray        # NRc × C·rc codes (patch, bias rows, balancing rows), copies side by side
    fc: np.ndarray          # NRf × 10·rf codes
    Kc: int
    Kf: int
    Pc: int
    Pf: int
    cgain: int
    cgshift: int
    fgain: int
    fgshift: int
    rc: int = CONV_COPIES
    rf: int = FC_COPIES

    @property
    def nrc(self):
        return len(self.conv)

    @property
    def nrf(self):
        return len(self.fc)

    def conv_const(self):
        return np.array([AMAX] * self.Kc + [1] + [0] * self.Pc, np.uint8)

    def fc_const(self):
        return np.array([AMAX] * self.Kf + [1] + [0] * self.Pf, np.uint8)


def quantise_cnn(Pm: dict, X_calib, balance=True, rc=CONV_COPIES, rf=FC_COPIES) -> QCNN:
    lc, sc = quantise_weights(Pm["Wc"])
    lf, sf = quantise_weights(Pm["Wf"])
    Bc, Bf = np.round(Pm["bc"] / sc), np.round(Pm["bf"] / sf)
    Kc = max(1, int(np.ceil(np.abs(Bc).max() / (AMAX * 7))))
    Kf = max(1, int(np.ceil(np.abs(Bf).max() / (AMAX * 7))))
    conv = np.tile(np.concatenate([lc, bias_levels(Bc, Kc)]) * CODE, (1, rc))
    fc = np.tile(np.concatenate([lf, bias_levels(Bf, Kf)]) * CODE, (1, rf))
    if np.abs(conv).max() > 127 or np.abs(fc).max() > 127:
        raise MapError("bias rows out of the code range")
    if len(fc) > MAX_ROWS:
        raise MapError(f"the classifier needs {len(fc)} rows (> {MAX_ROWS})")
    cgain, cgshift = gain_shift(sc / CODE * 2**PSHIFT)
    logits, _ = forward_float(Pm, X_calib)
    s_y = max(np.max(np.abs(logits)), 1e-9) / 100.0
    fgain, fgshift = gain_shift(sf / CODE / s_y)
    pads = []
    for blk in (conv, fc):
        tot = np.abs(blk).sum(0)
        need = int(-(-(tot.max() - tot).max() // 112)) if balance else 0
        P = min(need, MAX_ROWS - len(blk))
        pads.append(pad_rows(blk.astype(np.int8), P) if P else np.zeros((0, blk.shape[1]), np.int8))
    conv = np.concatenate([conv.astype(np.int8), pads[0]])
    fc = np.concatenate([fc.astype(np.int8), pads[1]])
    return QCNN(conv, fc, Kc, Kf, len(pads[0]), len(pads[1]), cgain, cgshift, fgain, fgshift, rc, rf)


def reference(q: QCNN, X) -> np.ndarray:
    """Integer logits (N × 10) of exactly the program's computation on the ideal model."""
    p = im2col(X).astype(np.int64)
    n = len(p)
    u = np.concatenate([p, np.broadcast_to(q.conv_const().astype(np.int64), (n, NPOS, q.nrc - KS * KS))], 2)
    part = np.clip(_rs(q.cgain * (u @ q.conv.astype(np.int64)), q.cgshift), -127, 127)
    s = part.reshape(n, NPOS, q.rc, C).sum(2)
    # the program sums the copies pairwise in i16 (no overflow: ≤ 16 × 127)
    h = np.clip(_rs(np.maximum(s, 0), PSHIFT + int(np.log2(q.rc))), 0, AMAX)
    hp, _, _ = pool(h)
    v = np.concatenate([hp, np.tile(q.fc_const().astype(np.int64), (n, 1))], 1)
    part = np.clip(_rs(q.fgain * (v @ q.fc.astype(np.int64)), q.fgshift), -127, 127)
    return part.reshape(n, q.rf, NCLS).sum(1)


# ---------------------------------------------------------------------------------- the program

def _halves(buf, cols, rep):
    A, h = [], cols * rep
    while h > cols:
        h //= 2
        A += [f"        setvli  {h}", f"        la      x5, {buf}", f"        addi    x8, x5, {2 * h}",
              "        vadd.i16 x5, x5, x8           # add the upper copies onto the lower"]
    return A


def program(q: QCNN, X, name="cnn_digits", age_ms=AGE_MS):
    n = len(X)
    x = im2col(X).astype(np.uint8).reshape(n, NPOS * KS * KS)
    data = {f"{name}_x.npy": x, f"{name}_conv.npy": q.conv.ravel(), f"{name}_fc.npy": q.fc.ravel(),
            f"{name}_cconst.npy": q.conv_const(), f"{name}_fconst.npy": q.fc_const()}
    rs = PSHIFT + int(np.log2(q.rc))
    A = [f"""# {name}.s — a small CNN on the digits (emulator/workloads/cnn.py):
#   conv 3×3, {C} channels (im2col: a dense layer over 3×3 patches, looped over the {NPOS} output
#   positions) → ReLU + requantise to 4 bits → 2×2 max-pool (vpmax) → dense {NPOOL} → 10.
# Core 0: conv, rows 0…8 the patch, {q.Kc} coarse bias rows (input 15) + 1 fine (input 1),
#   {q.Pc} balancing rows (input 0); columns: {q.rc} copies of {C} channels; partials
#   round({q.cgain}·acc / 2^{q.cgshift}) at 2^{PSHIFT} × the activation code; the vector unit sums the
#   copies, vrelu, vsra {rs}, vclipu 4 → fmap[pos·{C} …] (u8, layout y, x, c).
# Pool: vpmax.u8 groups of {C} (x pairs), then groups of {3 * C} (y pairs) → 3×3×{C} = {NPOOL} codes.
# Core 1: classifier, rows 0…{NPOOL - 1} pooled codes, {q.Kf} + 1 bias rows, {q.Pf} balancing rows;
#   {q.rf} copies of 10 columns; partials round({q.fgain}·acc / 2^{q.fgshift}) summed into i16 logits (`out`).
# Run:  neurram run programs/{name}.s --dump pred --dump out::i16

        .equ N, {n}
        .equ NPOS, {NPOS}
        .equ PATCH, {KS * KS}
        .equ NOUT, {NCLS}

        .data
x:      .npy "{name}_x.npy", u8        # N × NPOS × PATCH pixel codes (im2col)
wconv:  .npy "{name}_conv.npy", i8     # {q.nrc} × {C * q.rc} conv codes
wfc:    .npy "{name}_fc.npy", i8       # {q.nrf} × {NCLS * q.rf} classifier codes
cconst: .npy "{name}_cconst.npy", u8   # conv H: bias inputs and zeros after the patch
fmap:   .zero {NPOS * C}
half:   .zero {NPOS * C // 2}
pooled: .zero {NPOOL}
        .npy "{name}_fconst.npy", u8   # classifier bias inputs and zeros: `pooled` runs on into them (one hin)
        .align 2
cpart:  .zero {2 * C * q.rc}
fpart:  .zero {2 * NCLS * q.rf}
out:    .zero N * NOUT * 2
pred:   .zero N

        .text
_start: li      x1, 3
        cpon    x1                     # cores 0 and 1
        li      x1, 1
        ccfg.nrows x1, {q.nrc}
        ccfg.ncols x1, {C * q.rc}
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, {q.cgain}
        ccfg.gshift x1, {q.cgshift}
        la      x2, wconv
        cprog   c0, x2
        li      x1, 2
        ccfg.nrows x1, {q.nrf}
        ccfg.ncols x1, {NCLS * q.rf}
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, {q.fgain}
        ccfg.gshift x1, {q.fgshift}
        la      x2, wfc
        cprog   c1, x2
        sync    x0
        li      x2, {age_ms}
        cage    x2                     # let the conductances relax for {age_ms / 1000:g} s before inference
        li      x1, 1
        ccfg.row0 x1, PATCH            # bias inputs and balancing zeros of the conv core, once
        ccfg.nrows x1, {q.nrc - KS * KS}
        la      x2, cconst
        hin.u8  c0, x2
        ccfg.row0 x1, 0
        ccfg.nrows x1, PATCH           # from now on hin scans only the patch rows
        la      x10, x
        la      x11, out
        la      x12, pred
        li      x13, N
image:  la      x15, fmap
        li      x14, NPOS
pos:    ccfg.nrows x1, PATCH
        hin.u8  c0, x10                # the 3×3 patch of this position
        ccfg.nrows x1, {q.nrc}
        mvm.fwd x1
        la      x5, cpart
        vout.i16 c0, x5
        sync    x1"""]
    A += _halves("cpart", C, q.rc)
    A += [f"        setvli  {C}", "        la      x5, cpart", "        vrelu.i16 x5, x5",
          f"        vsra.i16 x5, x5, {rs}", "        vclipu.i16 x5, x5, 4",
          "        vcvt.u8.i16 x15, x5            # 8 channel codes → fmap[pos·8]",
          f"        addi    x15, x15, {C}", f"        addi    x10, x10, PATCH",
          "        addi    x14, x14, -1", "        bnez    x14, pos",
          f"        setvli  {NPOS * C // 2}", "        la      x5, half", "        la      x6, fmap",
          f"        li      x7, {C}", "        vpmax.u8 x5, x6, x7            # max over x pairs",
          f"        setvli  {NPOOL}", "        la      x6, pooled",
          f"        li      x7, {3 * C}", "        vpmax.u8 x6, x5, x7            # max over y pairs",
          "        hin.u8  c1, x6                 # pooled codes + bias inputs + zeros",
          "        li      x4, 2", "        mvm.fwd x4", "        la      x5, fpart",
          "        vout.i16 c1, x5", "        sync    x4"]
    A += _halves("fpart", NCLS, q.rf)
    A += ["        setvli  NOUT", "        la      x5, fpart", "        vsra.i16 x11, x5, 0            # logits → out[i]",
          "        vargmax.i16 x9, x5", "        sb      x9, 0(x12)", "        addi    x11, x11, NOUT * 2",
          "        addi    x12, x12, 1", "        addi    x13, x13, -1", "        bnez    x13, image",
          "        sync    x0", "        halt", ""]
    return "\n".join(A), data


def write_program(q, X, d, name="cnn_digits", age_ms=AGE_MS, batched=False) -> Path:
    """The per-image, per-position loop program, or with `batched` its batched twin
    (cnn_batched.program_batched: same results, one bmvm per layer and chunk of images)."""
    if batched:
        from .cnn_batched import program_batched

        return save_program(*program_batched(q, X, name, age_ms), d, name)
    return save_program(*program(q, X, name, age_ms), d, name)


def run_chip(q, X, model="ideal", seed=1, workdir=SCRATCH / "cnn", name="cnn_digits", config=None,
             batched=True):
    path = write_program(q, X, workdir, name + ("_batched" if batched else ""), batched=batched)
    return run_classifier(path, len(X), NCLS, "cnn", model, seed, config)


def evaluate(Pm, seeds=(1, 2, 3), n_test=None, workdir=SCRATCH / "cnn", analog=True, config=None, batched=True):
    Xtr, _, Xte, yte = load_digits_split()
    if n_test is not None:
        Xte, yte = Xte[:n_test], yte[:n_test]
    q = quantise_cnn(Pm, Xtr)
    run = lambda *a, **k: run_chip(*a, batched=batched, **k)   # noqa: E731
    return evaluate_classifier(Pm, q, Xte, yte, forward_float, reference, run, seeds, workdir, analog, config)


NAME = "cnn"
BATCHED = True              # run_chip runs the batched program (cnn_batched.py) unless batched=False


def cores(q: QCNN) -> list:
    """[(core, label, utilisation)] for the core-map pictures."""
    return [(0, "conv", q.nrc * C * q.rc / (MAX_ROWS * 256)), (1, "fc", q.nrf * NCLS * q.rf / (MAX_ROWS * 256))]


def core_map(q: QCNN) -> str:
    cells = q.nrc * C * q.rc + q.nrf * NCLS * q.rf
    return "\n".join([
        "core chain pos  layer  rows                          cols    copies  util",
        f"   0     0   0  conv   0+{q.nrc:<3d} (patch 9, bias, pad)  0+{C * q.rc:<4d} ×{q.rc:<3d}   "
        f"{100 * q.nrc * C * q.rc / 32768:.1f} %",
        f"   1     0   1  fc     0+{q.nrf:<3d} (pool 72, bias, pad)  0+{NCLS * q.rf:<4d} ×{q.rf:<3d}   "
        f"{100 * q.nrf * NCLS * q.rf / 32768:.1f} %",
        f"2 of 48 cores used (46 left powered off); {cells} cells of 65536 ({100 * cells / 65536:.1f} %)"])
