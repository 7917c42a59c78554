"""The CNN workload as a batched program: the im2col patches of a chunk of images are one batch
(`bmvm` over images × 36 positions on the conv core), the vector unit requantises and pools the
whole chunk's feature maps, and the classifier runs one `bmvm` over the chunk's images.

It computes exactly what cnn.program's loop over images and positions computes — the same input
vectors (patch, bias inputs and balancing zeros), the same MVM count on each core (so the same
noise draws), the same copy sums, requantisation and pooling — so `out` and `pred` are identical
on both models (tests/test_workloads_cnn.py); only the time differs."""
from __future__ import annotations

import numpy as np

from emulator.workloads.cnn import C, KS, NCLS, NPOOL, NPOS, PSHIFT, QCNN, im2col
from emulator.workloads.digits import AGE_MS

CHUNK = 100          # images per chunk: 3600 patches, their partials 0.9 MiB of data memory


def _halves(buf, cols, rep, row):
    """Sum the column copies of every row of `buf` (rows of `row` bytes): upper half onto lower."""
    A, h = [f"        li      x7, {row}", "        bstride x7, x7, x7"], cols * rep
    while h > cols:
        h //= 2
        A += [f"        li      x14, {h}", "        setvl   x14", f"        la      x5, {buf}",
              f"        addi    x8, x5, {2 * h}", "        vadd2.i16 x5, x5, x8           # copies, every row"]
    return A


def program_batched(q: QCNN, X, name="cnn_digits_batched", age_ms=AGE_MS, chunk=CHUNK):
    n = len(X)
    ch = max(1, min(int(chunk), n))
    n_run = -(-n // ch) * ch
    P = ch * NPOS
    patches = im2col(X).astype(np.uint8).reshape(n * NPOS, KS * KS)
    rows = np.zeros((n_run * NPOS, q.nrc), np.uint8)
    rows[:n * NPOS, :KS * KS] = patches
    rows[:, KS * KS:] = q.conv_const()[None, :]
    fin = np.tile(np.concatenate([np.zeros(NPOOL, np.uint8), q.fc_const()]), (ch, 1))
    data = {f"{name}_x.npy": rows, f"{name}_conv.npy": q.conv.ravel(), f"{name}_fc.npy": q.fc.ravel(),
            f"{name}_fin.npy": fin}
    rs = PSHIFT + int(np.log2(q.rc))
    cw, fw = 2 * C * q.rc, 2 * NCLS * q.rf          # bytes per partials row
    A = [f"""# {name}.s — the small CNN of emulator/workloads/cnn.py as a batched program:
#   per chunk of CH = {ch} images, one bmvm of the conv core over its CH × {NPOS} im2col patches
#   (rows: 9 pixel codes, bias inputs, balancing zeros), the copies summed row by row (vadd2),
#   ReLU / requantise / pooling over the whole chunk's feature maps, then one bmvm of the
#   classifier over the chunk's pooled codes.  Same results as programs/cnn_digits.s.
# Run:  neurram run programs/{name}.s --dump pred --dump out::i16

        .equ N, {n_run}
        .equ CH, {ch}
        .equ NPOS, {NPOS}
        .equ XROW, {q.nrc}
        .equ NOUT, {NCLS}

        .data
x:      .npy "{name}_x.npy", u8        # N·NPOS × XROW: patch, bias inputs, balancing zeros
wconv:  .npy "{name}_conv.npy", i8
wfc:    .npy "{name}_fc.npy", i8
fin:    .npy "{name}_fin.npy", u8      # CH × {q.nrf}: pooled codes (written per chunk), bias inputs, zeros
fmap:   .zero CH * NPOS * {C}
half:   .zero CH * NPOS * {C // 2}
pooled: .zero CH * {NPOOL}
        .align 2
cpart:  .zero CH * NPOS * {cw}
csum:   .zero CH * NPOS * {2 * C}
fpart:  .zero CH * {fw}
out:    .zero N * NOUT * 2
pred:   .zero N

        .text
_start: li      x1, 3
        cpon    x1                     # cores 0 and 1"""]
    for core, nr, nc, gain, gs, w in ((0, q.nrc, C * q.rc, q.cgain, q.cgshift, "wconv"),
                                      (1, q.nrf, NCLS * q.rf, q.fgain, q.fgshift, "wfc")):
        A += [f"        li      x1, {1 << core}", f"        ccfg.nrows x1, {nr}", f"        ccfg.ncols x1, {nc}",
              "        ccfg.inbits x1, 4", "        ccfg.insigned x1, 0", "        ccfg.outbits x1, 8",
              "        ccfg.outsigned x1, 1", f"        ccfg.gain x1, {gain}", f"        ccfg.gshift x1, {gs}",
              f"        la      x2, {w}", f"        cprog   c{core}, x2"]
    A += ["        sync    x0", f"        li      x2, {age_ms}",
          f"        cage    x2                     # let the conductances relax for {age_ms / 1000:g} s",
          "        la      x10, x", "        la      x11, out", "        la      x12, pred", "        li      x13, N / CH",
          "chunk:  li      x2, CH * NPOS", "        bcount  x2                     # conv: every patch of the chunk",
          f"        li      x7, {cw}", "        li      x8, XROW", "        bstride x7, x8, x0",
          "        la      x5, cpart", "        bmvm.fwd.u8.i16 c0, x5, x10", "        li      x1, 1", "        sync    x1"]
    A += _halves("cpart", C, q.rc, cw)
    A += [f"        li      x7, {2 * C}", f"        li      x8, {cw}", "        bstride x7, x8, x0",
          f"        li      x14, {C}", "        setvl   x14", "        la      x5, csum", "        la      x6, cpart",
          "        vcvt2.i16.i16 x5, x6           # the channel sums, CH·NPOS × 8",
          f"        li      x14, CH * NPOS * {C}", "        setvl   x14",
          f"        vsra.i16 x5, x5, {rs}", "        vclipu.i16 x5, x5, 4", "        la      x6, fmap",
          "        vcvt.u8.i16 x6, x5            # codes → fmap (image, y, x, c)",
          f"        li      x14, CH * NPOS * {C // 2}", "        setvl   x14", "        la      x5, half",
          f"        li      x7, {C}", "        vpmax.u8 x5, x6, x7            # max over x pairs (never across images)",
          f"        li      x14, CH * {NPOOL}", "        setvl   x14", "        la      x6, pooled",
          f"        li      x7, {3 * C}", "        vpmax.u8 x6, x5, x7            # max over y pairs",
          "        li      x2, CH", "        bcount  x2                     # classifier: every image of the chunk",
          f"        li      x7, {q.nrf}", f"        li      x8, {NPOOL}", "        bstride x7, x8, x0",
          f"        li      x14, {NPOOL}", "        setvl   x14", "        la      x5, fin",
          "        vcvt2.u8.u8 x5, x6             # pooled codes → the classifier's input rows",
          f"        li      x7, {fw}", f"        li      x8, {q.nrf}", "        bstride x7, x8, x0",
          "        la      x6, fpart", "        bmvm.fwd.u8.i16 c1, x6, x5", "        li      x4, 2", "        sync    x4"]
    A += _halves("fpart", NCLS, q.rf, fw)
    A += ["        li      x7, NOUT * 2", f"        li      x8, {fw}", "        bstride x7, x8, x0",
          "        li      x14, NOUT", "        setvl   x14", "        la      x5, fpart",
          "        vcvt2.i16.i16 x11, x5          # logits → out[i …]", "        li      x7, 1", "        bstride x7, x8, x0",
          "        vargmax2.u8.i16 x12, x5        # predictions → pred[i …]",
          "        li      x14, CH * NPOS * XROW", "        add     x10, x10, x14",
          "        li      x14, CH * NOUT * 2", "        add     x11, x11, x14", "        addi    x12, x12, CH",
          "        addi    x13, x13, -1", "        bnez    x13, chunk", "        sync    x0", "        halt", ""]
    return "\n".join(A), data
