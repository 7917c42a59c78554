"""A recurrent network on the digits read row by row (8 steps of 8 pixels) in the chip's recurrent
MVM mode (`mvm.rec`, docs/machine.md): the hidden state never leaves the core between steps.

One core holds everything.  Its H register is the network's whole input vector:

    H[0 … 2·NH)          hidden state h (4-bit unsigned codes, written by mvm.rec), 2 copies
    H[2·NH … 2·NH+16)    the current image row (4-bit pixel codes, 2 copies, scanned in each
                         step with hin on a window of 16 rows at row0 = 2·NH)
    then 2 × (K × 15, 1) bias inputs (coarse and fine bias rows), then zeros (balancing rows,
    docs/mapper.md)

and its columns hold two matrices side by side:

    columns 0 … 2·NH          the recurrent cell  h ← clip(round(g·[h, x, 1]·W), 0, 15), every
                              hidden unit twice (HCOPY: each copy has its own cells and the next
                              step sums both, averaging their relaxation noise)
                              (mvm.rec, window col0 = 0: column j lands in H[j]; the unsigned
                              4-bit SAR readout is the ReLU and the clip, no vector unit needed)
    columns 128 … 128+10·R    the readout (mvm.fwd on h after the last step), R column copies
                              summed by the vector unit as in the mapper (docs/mapper.md).

Training (`train_rnn`): numpy BPTT in code units (the hidden state is the 4-bit code itself,
rounded with a straight-through gradient), 4-bit fake-quantised weights, and the chip-matched
weight noise of emulator.mapper.chipnoise per 4-bit level (noise-aware) or none (plain).
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

NH = 48                     # hidden units
HCOPY = 2                   # copies of every hidden unit (rows and columns), averaged by the next MVM
NX = 8                      # pixels per step (one image row)
STEPS = 8
NCLS = 10
HMAX = 15                   # 4-bit unsigned hidden codes
CODE = 16                   # code scale: levels ±7 × 16 = ±112 codes
COPIES = 8                  # readout column copies (columns 128 …)
OUT_COL0 = 128              # readout columns start here (rec columns must stay < 128)
TRAIN_SEED = 0
NOISE_MULT = 2.0            # noise-aware training: 2 × the chip-matched σ (the 8 steps compound it)
N_PROGRAM = 50              # test digits in the shipped programs/rnn_digits.s


def pixel_codes(X):
    """Float pixels 0…16 → 4-bit codes, shaped N × 8 steps × 8 pixels."""
    c = np.clip(np.round(np.asarray(X, float) / IN_SCALE), 0, 15)
    return c.reshape(len(c), STEPS, NX)


# ------------------------------------------------------------------------------------- training

def _fq(W, s):
    return np.clip(np.round(W / s), -7, 7) * s


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def forward_float(P, X, quant=True, rng=None, level_sigma=None, hc=1):
    """Forward pass in code units; P = dict(Wr (NH+NX) × NH, b NH, Wo NH × 10, bo 10).
    quant: 4-bit weights and rounded hidden codes (the "4-bit software" model)."""
    x = pixel_codes(X)
    Wr, Wo = P["Wr"], P["Wo"]
    if quant:
        sr, so = np.max(np.abs(Wr)) / 7, np.max(np.abs(Wo)) / 7
        Wr, Wo = _fq(Wr, sr), _fq(Wo, so)
        b, bo = np.round(P["b"] / sr) * sr, np.round(P["bo"] / so) * so
        if rng is not None and level_sigma is not None:
            ls = np.asarray(level_sigma) / np.sqrt(hc)    # hc cell copies per weight, summed
            Wr = Wr + rng.normal(size=Wr.shape) * ls[np.abs(np.round(Wr / sr)).astype(int)] * sr
            Wo = Wo + rng.normal(size=Wo.shape) * ls[np.abs(np.round(Wo / so)).astype(int)] * so
            b = b + rng.normal(0, ls.max() * sr * HMAX, b.shape)
            bo = bo + rng.normal(0, ls.max() * so * HMAX, bo.shape)
    else:
        b, bo = P["b"], P["bo"]
    h = np.zeros((len(x), NH))
    hs, masks = [h], []
    for t in range(STEPS):
        z = np.concatenate([h, x[:, t]], 1) @ Wr + b
        masks.append((z > 0) & (z < HMAX))
        h = np.clip(z, 0, HMAX)
        if quant:
            h = np.round(h)
        hs.append(h)
    return h @ Wo + bo, (x, hs, masks, Wr, Wo)


def train_rnn(X, y, epochs=120, lr=3e-3, batch=64, seed=0, level_sigma=None, verbose=False,
              hc=HCOPY) -> dict:
    """BPTT with Adam; noise-aware when level_sigma (σ per 4-bit level, in levels) is given."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y, int)
    P = {"Wr": np.concatenate([rng.normal(0, 0.3 / (7 * np.sqrt(NH)), (NH, NH)),
                               rng.normal(0, 0.6 / (7 * np.sqrt(NX)), (NX, NH))]),
         "b": np.full(NH, 1.0), "Wo": rng.normal(0, 1 / (7 * np.sqrt(NH)), (NH, NCLS)),
         "bo": np.zeros(NCLS)}
    m1 = {k: np.zeros_like(v) for k, v in P.items()}
    m2 = {k: np.zeros_like(v) for k, v in P.items()}
    Y, t = np.eye(NCLS)[y], 0
    for ep in range(epochs):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            out, (x, hs, masks, Wr, Wo) = forward_float(P, X[idx], True, rng, level_sigma, hc)
            g = (_softmax(out) - Y[idx]) / len(idx)
            G = {"Wo": hs[-1].T @ g, "bo": g.sum(0), "Wr": np.zeros_like(P["Wr"]), "b": np.zeros(NH)}
            gh = g @ Wo.T
            for s in range(STEPS - 1, -1, -1):
                gz = gh * masks[s]
                u = np.concatenate([hs[s], x[:, s]], 1)
                G["Wr"] += u.T @ gz
                G["b"] += gz.sum(0)
                gh = gz @ Wr[:NH].T
            norm = np.sqrt(sum(np.sum(v * v) for v in G.values()))
            if norm > 5:
                G = {k: v * 5 / norm for k, v in G.items()}
            t += 1
            for k in P:
                m1[k] = 0.9 * m1[k] + 0.1 * G[k]
                m2[k] = 0.999 * m2[k] + 0.001 * G[k] ** 2
                P[k] = P[k] - lr * (m1[k] / (1 - 0.9**t)) / (np.sqrt(m2[k] / (1 - 0.999**t)) + 1e-8)
        if verbose and (ep + 1) % 10 == 0:
            acc = np.mean(forward_float(P, X)[0].argmax(1) == y)
            print(f"epoch {ep + 1}: train acc (4-bit) {acc:.3f}")
    return P


def train(noise: bool, seed=TRAIN_SEED, epochs=100, age_ms=AGE_MS, mult=NOISE_MULT, verbose=False) -> dict:
    """The shipped recipe: 100 epochs; noise-aware = the chip-matched σ per level × `mult`."""
    from emulator.mapper.chipnoise import weight_noise

    Xtr, ytr, _, _ = load_digits_split()
    return train_rnn(Xtr, ytr, epochs=epochs, seed=seed,
                     level_sigma=weight_noise(age_ms) * mult if noise else None, verbose=verbose)


def shipped(noise: bool) -> dict:
    z = np.load(DATA / ("digits_rnn_noise.npz" if noise else "digits_rnn_plain.npz"))
    return {k: z[k].astype(float) for k in z.files}


def as_model(P: dict, in_scale=None, steps=None):
    """The network's weights (`Wr` (NH + NX) × NH with the hidden rows first, `b`, `Wo`, `bo`, all
    in code units: hidden state = its 4-bit code 0 … 15, inputs = pixel codes) as a mapper model
    Model([SimpleRNN, Dense]) on float pixels, for `neurram compile` / emulator.mapper.compile_rnn.
    The input scale (pixel units per code, IN_SCALE) is folded into Wx; the cell gets h_max = HMAX
    (the workload's clip), so the hidden code of the quantised model is the workload's."""
    from emulator.mapper import Dense, Model, SimpleRNN

    in_scale = IN_SCALE if in_scale is None else in_scale
    Wr = np.asarray(P["Wr"], float)
    n_h = Wr.shape[1]
    cell = SimpleRNN(Wr[n_h:] / in_scale, Wr[:n_h], np.asarray(P["b"], float),
                     STEPS if steps is None else steps, "rnn", float(HMAX))
    ro = Dense(np.asarray(P["Wo"], float), np.asarray(P["bo"], float), relu=False, name="readout")
    return Model([cell, ro], in_scale=in_scale, in_bits=4, act_bits=4)


def save(P, path):
    np.savez(path, **{k: v.astype(np.float32) for k, v in P.items()})


# ---------------------------------------------------------------------------------- quantisation

@dataclass
class QRNN:
    rec: np.ndarray         # NR × NH int8 codes (hidden, pixels, bias rows, balancing rows)
    out: np.ndarray         # NR × 10 int8 codes (hidden rows only + bias rows; copies added in code)
    K: int                  # coarse bias rows (input 15) + 1 fine (input 1)
    P: int                  # balancing rows (input 0)
    pad_rec: np.ndarray     # P × NH
    pad_out: np.ndarray     # P × 10·rep
    gain: int
    gshift: int
    ogain: int
    ogshift: int
    rep: int
    hc: int = 1             # hidden copies

    @property
    def nr(self):
        return self.hc * (NH + NX + self.K + 1) + self.P

    def hinit(self):
        """The H vector at the start of an image (hidden 0, pixels 0, bias constants, zeros)."""
        return np.array([0] * (self.hc * (NH + NX)) + ([HMAX] * self.K + [1]) * self.hc + [0] * self.P,
                        np.uint8)

    def rec_block(self):
        return np.concatenate([self.rec, self.pad_rec]).astype(np.int8)

    def out_block(self):
        return np.concatenate([np.tile(self.out, (1, self.rep)), self.pad_out]).astype(np.int8)

    # the layout as the mapper's batched generator reads it (emulator.mapper.rnn_batch)
    name = "rnn"
    steps, n_x, n_out, act_bits, core_bits = STEPS, NX, NCLS, 4, 4

    @property
    def hcopy(self):
        return self.hc

    @property
    def hh(self):
        return self.hc * NH

    @property
    def xw(self):
        return self.hc * NX


def _rows_tile(M, hc, K):
    """Rows [h, x, bias] of one copy → [h ×hc, x ×hc, bias ×hc]."""
    return np.concatenate([np.tile(M[:NH], (hc, 1)), np.tile(M[NH:NH + NX], (hc, 1)),
                           np.tile(M[NH + NX:], (hc, 1))])


def quantise_rnn(Pm: dict, X_calib, copies=COPIES, balance=True, hc=HCOPY) -> QRNN:
    lr_, sr = quantise_weights(Pm["Wr"])
    lo, so = quantise_weights(Pm["Wo"])
    Br, Bo = np.round(Pm["b"] / sr), np.round(Pm["bo"] / so)
    K = max(1, int(np.ceil(max(np.abs(Br).max(), np.abs(Bo).max()) / (HMAX * 7))))
    rec = np.concatenate([lr_, bias_levels(Br, K)]) * CODE                     # NH+NX+K+1 × NH
    out = np.concatenate([lo, np.zeros((NX, NCLS)), bias_levels(Bo, K)]) * CODE
    rec = np.tile(_rows_tile(rec, hc, K), (1, hc))                              # hc copies both ways
    out = _rows_tile(out, hc, K)
    if np.abs(rec).max() > 127 or np.abs(out).max() > 127:
        raise MapError("bias rows out of the code range")
    gain, gshift = gain_shift(sr / CODE / hc)
    # readout gain: signed 8-bit partials, the largest calibration logit at ≈ 100 LSB
    logits, _ = forward_float(Pm, X_calib)
    s_y = max(np.max(np.abs(logits)), 1e-9) / 100.0
    ogain, ogshift = gain_shift(so / CODE / s_y / hc)
    rep = copies
    while rep > 1 and OUT_COL0 + NCLS * rep > 256:
        rep //= 2
    nr0 = hc * (NH + NX + K + 1)
    if hc * NH > 128:
        raise MapError(f"mvm.rec writes H[col0 …] below 128: {hc} × {NH} hidden columns do not fit")
    P = 0
    if balance:
        need = 0
        for blk in (rec, np.tile(out, (1, rep))):
            tot = np.abs(blk).sum(0)
            need = max(need, int(-(-(tot.max() - tot).max() // 112)))
        P = min(need, MAX_ROWS - nr0)
    if nr0 > MAX_ROWS:
        raise MapError(f"the recurrent core needs {nr0} rows (> {MAX_ROWS})")
    recc, outc = rec.astype(np.int8), out.astype(np.int8)
    return QRNN(recc, outc, K, P, pad_rows(recc, P), pad_rows(np.tile(outc, (1, rep)), P),
                gain, gshift, ogain, ogshift, rep, hc)


def _rs(v, s):
    return v if s == 0 else (v + (1 << (s - 1))) >> s


def reference(q: QRNN, X) -> np.ndarray:
    """Integer logits (N × 10) of exactly the program's computation on the ideal model."""
    x = pixel_codes(X).astype(np.int64)
    n = len(x)
    hc = q.hc
    const = np.tile(q.hinit()[hc * (NH + NX):].astype(np.int64), (n, 1))
    W, Wo = q.rec_block().astype(np.int64), q.out_block().astype(np.int64)
    h = np.zeros((n, hc * NH), np.int64)
    for t in range(STEPS):
        u = np.concatenate([h, np.tile(x[:, t], (1, hc)), const], 1)
        h = np.clip(_rs(q.gain * (u @ W), q.gshift), 0, HMAX)
    u = np.concatenate([h, np.tile(x[:, -1], (1, hc)), const], 1)
    part = np.clip(_rs(q.ogain * (u @ Wo), q.ogshift), -127, 127)
    return part.reshape(n, q.rep, NCLS).sum(1)


# ---------------------------------------------------------------------------------- the program

def program(q: QRNN, X, name="rnn_digits"):
    """(asm, {file: array}) of the program that classifies the digits X (float pixels)."""
    n, nr, rep, hc = len(X), q.nr, q.rep, q.hc
    x = np.tile(pixel_codes(X).astype(np.uint8), (1, 1, hc)).reshape(n, STEPS * NX * hc)
    HH, XW, b0 = hc * NH, hc * NX, hc * (NH + NX)
    data = {f"{name}_x.npy": x, f"{name}_rec.npy": q.rec_block().ravel(),
            f"{name}_out.npy": q.out_block().ravel(), f"{name}_h0.npy": q.hinit()}
    hops = []
    h = NCLS * rep
    while h > NCLS:
        h //= 2
        hops += [f"        setvli  {h}", f"        addi    x8, x5, {2 * h}",
                 f"        vadd.i16 x5, x5, x8           # add the upper copies onto the lower"]
    asm = f"""# {name}.s — a recurrent network on the digits, read row by row (emulator/workloads/rnn.py).
#
# One core (core 0); {NH} hidden units, each stored {hc} times (rows and columns: the copies
# have their own cells, and the next MVM sums them, averaging their device noise).
# H holds the network's input vector:
#   H[0…{HH - 1}] hidden state h ({hc} copies of {NH} 4-bit codes), H[{HH}…{b0 - 1}] the current image row
#   ({hc} copies of 8 pixel codes), H[{b0}…{b0 + hc * (q.K + 1) - 1}] bias inputs ({hc} × ({q.K} × 15, 1)),
#   H[{b0 + hc * (q.K + 1)}…{nr - 1}] = 0 ({q.P} balancing rows).
# Columns 0…{HH - 1}: the recurrent cell.  mvm.rec reads H[0…{nr - 1}] and writes column j to H[j]:
#   h ← clip(round({q.gain}·acc / 2^{q.gshift}), 0, 15) — the unsigned 4-bit readout is ReLU + clip,
#   so the state stays in the core for all {STEPS} steps; only the next row is scanned in (hin on the
#   {XW}-row window at row0 = {HH}).
# Columns {OUT_COL0}…{OUT_COL0 + NCLS * rep - 1}: the readout, {rep} copies of 10 columns; after the last step
#   mvm.fwd on h gives signed 8-bit partials round({q.ogain}·acc / 2^{q.ogshift}); the vector unit adds
#   the copies (i16 logits in `out`) and takes the argmax (`pred`).
# Run:  neurram run programs/{name}.s --dump pred --dump out::i16

        .equ N, {n}
        .equ NR, {nr}
        .equ HH, {HH}
        .equ XW, {XW}
        .equ NOUT, {NCLS}

        .data
x:      .npy "{name}_x.npy", u8        # N × {STEPS} rows × XW pixel codes (each row {hc} times)
wrec:   .npy "{name}_rec.npy", i8      # NR × HH recurrent codes
wout:   .npy "{name}_out.npy", i8      # NR × {NCLS * rep} readout codes ({rep} copies)
h0:     .npy "{name}_h0.npy", u8       # H at the start of each image
        .align 2
part:   .zero {2 * NCLS * rep}
out:    .zero N * NOUT * 2
pred:   .zero N

        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, NR
        ccfg.inbits x1, 4
        ccfg.insigned x1, 0
        ccfg.col0 x1, {OUT_COL0}           # program the readout columns …
        ccfg.ncols x1, {NCLS * rep}
        la      x2, wout
        cprog   c0, x2
        ccfg.col0 x1, 0                # … and the recurrent ones
        ccfg.ncols x1, HH
        la      x2, wrec
        cprog   c0, x2
        sync    x0
        li      x2, {AGE_MS}
        cage    x2                     # let the conductances relax for {AGE_MS // 1000} s before inference
        la      x10, x
        la      x11, out
        la      x12, pred
        li      x13, N
image:  ccfg.outbits x1, 4             # recurrent cell: unsigned 4-bit outputs (ReLU + clip)
        ccfg.outsigned x1, 0
        ccfg.gain x1, {q.gain}
        ccfg.gshift x1, {q.gshift}
        la      x2, h0
        hin.u8  c0, x2                 # h = 0, bias constants, zeros
        li      x14, {STEPS}
step:   ccfg.row0 x1, HH               # the pixel window …
        ccfg.nrows x1, XW
        hin.u8  c0, x10                # … gets this image row
        ccfg.row0 x1, 0
        ccfg.nrows x1, NR
        mvm.rec x1                     # h ← f(W·[h, row, 1])
        addi    x10, x10, XW
        addi    x14, x14, -1
        bnez    x14, step
        ccfg.col0 x1, {OUT_COL0}           # readout: forward MVM on the final h
        ccfg.ncols x1, {NCLS * rep}
        ccfg.outbits x1, 8
        ccfg.outsigned x1, 1
        ccfg.gain x1, {q.ogain}
        ccfg.gshift x1, {q.ogshift}
        mvm.fwd x1
        la      x5, part
        vout.i16 c0, x5
        sync    x1
        ccfg.col0 x1, 0
        ccfg.ncols x1, HH
""" + "\n".join(hops) + f"""
        setvli  NOUT
        vsra.i16 x11, x5, 0            # logits → out[i]
        vargmax.i16 x9, x5
        sb      x9, 0(x12)
        addi    x11, x11, NOUT * 2
        addi    x12, x12, 1
        addi    x13, x13, -1
        bnez    x13, image
        sync    x0
        halt
"""
    return asm, data


def program_batched(q: QRNN, X, name="rnn_digits_batched", chunk=None):
    """(asm, {file: array}) of the batched twin of `program` (emulator.mapper.rnn_batch): the
    digits as a batch of sequences, one bmvm per step over all of them, bkey keying every MVM as
    the per-image loop does — the same `out` and `pred` bit for bit on both models."""
    from emulator.mapper.rnn_batch import batched_program

    head = [f"# {name}.s — the recurrent network of emulator/workloads/rnn.py as a batched program: the",
            f"# same core layout as programs/rnn_digits.s (H: {q.hc} × {NH} hidden codes, {q.hc} × {NX} pixel "
            f"codes, bias inputs, {q.P} zeros;", f"# columns 0…{q.hh - 1} the cell, {OUT_COL0}… the readout, "
            f"{q.rep} copies), the same results.", "# Run:  neurram run programs/"
            f"{name}.s --dump pred --dump out::i16", "#"]
    asm, data, _ = batched_program(q, pixel_codes(X).reshape(len(X), STEPS * NX), name, AGE_MS, 0, chunk,
                                   header=head)
    return asm, data


def write_program(q, X, d, name="rnn_digits", batched=False) -> Path:
    """The per-image loop program, or with `batched` its batched twin (same results)."""
    return save_program(*(program_batched if batched else program)(q, X, name), d, name)


def run_chip(q, X, model="ideal", seed=1, workdir=SCRATCH / "rnn", name="rnn_digits", config=None, batched=False):
    path = write_program(q, X, workdir, name + ("_batched" if batched else ""), batched=batched)
    return run_classifier(path, len(X), NCLS, "rnn", model, seed, config)


def evaluate(Pm, seeds=(1, 2, 3), n_test=None, workdir=SCRATCH / "rnn", analog=True, config=None, copies=COPIES,
             batched=False):
    Xtr, _, Xte, yte = load_digits_split()
    if n_test is not None:
        Xte, yte = Xte[:n_test], yte[:n_test]
    q = quantise_rnn(Pm, Xtr, copies=copies)
    run = lambda *a, **k: run_chip(*a, batched=batched, **k)   # noqa: E731
    return evaluate_classifier(Pm, q, Xte, yte, forward_float, reference, run, seeds, workdir, analog, config)


NAME = "rnn"
BATCHED = True              # run_chip runs the batched program (emulator.mapper.rnn_batch) with batched=True


def cores(q: QRNN) -> list:
    """[(core, label, utilisation)] for the core-map pictures (one core: recurrent + readout)."""
    return [(0, "rnn", q.nr * (q.hc * NH + NCLS * q.rep) / (MAX_ROWS * 256))]


def core_map(q: QRNN) -> str:
    return "\n".join([
        "core chain pos  part       rows                   cols          copies",
        f"   0     0   0  recurrent  0+{q.nr:<3d} (h, x, bias, pad) 0+{q.hc * NH:<3d}         ×{q.hc}",
        f"   0     0   0  readout    0+{q.nr:<3d} (h, x, bias, pad) {OUT_COL0}+{NCLS * q.rep:<3d}       ×{q.rep}",
        f"1 of 48 cores used (47 left powered off); {q.nr * (q.hc * NH + NCLS * q.rep)} cells of 32768 "
        f"({100 * q.nr * (q.hc * NH + NCLS * q.rep) / 32768:.1f} %)"])
