"""Batched code generation of the RBM image recovery (emulator.mapper.rbm, single layout): a batch
of Gibbs chains, one per image, through the one core (compile_rbm(…, batched=True)).

The per-image loop of compile_rbm runs, per image, STEPS Gibbs steps of `smp.fwd` (hidden units
from H into V) and `smp.bwd` (visible units from V into H), the vector unit clamping the known
pixels (or setting the bias input back) between them.  Here the chains' states live in memory —
vm (B × VR u8: visible units + bias input) and hm (B × HC u8: hidden units + bias input, or
× WC i8 with the evidence inputs) — and each half-step is one `bsmp` over the B chains: vector b
scans in chain b's row, samples as smp does and scans the output window out into its row.  The
vector unit works on whole chunk matrices: the clamp `v·free + clamp` and the counts are
element-wise over B·VR contiguous bytes, the bias inputs are set by a `vcvt2` with source
stride 0.

Noise keys (bkey, docs/machine.md Batches): the loop takes K = 2·STEPS samples per image on the
core, image s's j-th keyed k₀ + s·K + j; every bsmp strides its keys by KS = K and advances the
counter by 1, the last step's smp.bwd by 1 + (B − 1)·K — so every draw is the loop's, and
`count` is identical to compile_rbm's on both models (tests/test_mapper_seq_batch.py), as are
the sample counts and the MVM energy events.  Images run in chunks of at most C; the last chunk
takes what is left."""
from __future__ import annotations

import numpy as np

from emulator.config import ChipConfig

from .batch_codegen import BN_MAX
from .codegen import Slot
from .model import MapError, is_int

KEY_MAX = 2**32 - 1          # bkey's range of KS and KA


def chunk_size(n: int, VR: int, WC: int, chunk, mem_size) -> int:
    """C: the given chunk, or as many chains as fit half the data memory left by the images."""
    if chunk is None:
        limit = mem_size or ChipConfig.defaults()["mem_size"]
        fixed = n * 4 * VR + VR * WC + 4096       # x, clamp, free (or evidence), count; the weights
        chunk = max(1, min(n, BN_MAX, (limit - fixed) // 2 // (VR + WC)))
    if not is_int(chunk) or not 1 <= chunk <= BN_MAX:
        raise MapError(f"chunk must be a whole number 1 … {BN_MAX}, got {chunk!r}")
    return int(min(chunk, n))


def single_batched(q, C, known, smp, steps, keep, name, age_ms, cores, origin, chunk=None, mem_size=None):
    """(asm, data, slots) of the batched single-core recovery program (module docstring); the
    arguments as rbm_codegen._single's."""
    from .rbm_codegen import _age, _data_decl, _evidence_text, _image_data

    nv, nh, n, c = q.n_v, q.n_h, len(C), cores[0]
    lam = smp.evidence_code
    VR, HC = nv + 1, nh + 1
    WC = HC + nv if lam else HC
    w = q.codes
    if lam:      # evidence columns: column HC + i holds λ on row i (the diagonal)
        w = np.concatenate([w, np.zeros((nv + 1, nv), np.int8)], 1)
        w[np.arange(nv), nh + 1 + np.arange(nv)] = lam
    B = chunk_size(n, VR, WC, chunk, mem_size)
    K = 2 * steps                                 # samples per image on the core
    if 1 + (B - 1) * K > KEY_MAX:
        raise MapError(f"{name}: {steps} steps × chunk {B}: the key advance 1 + (B − 1)·2·STEPS passes "
                       f"bkey's 2^32 − 1; use a smaller chunk")
    data = {f"{name}_w.npy": w, **_image_data(name, C, known, smp)}
    R = smp.noise if not smp.gshift else f"{smp.noise}·2^{smp.gshift}"
    slots = [Slot(c, 0, q.name, 0, 0, 0, nv + 1, 0, w.shape[1])]
    ht = "i8" if lam else "u8"                    # the hidden rows' type (±1 evidence inputs)
    A = [f"# {name}.s — RBM image recovery by Gibbs sampling on one core, batched ({origin}).",
         "#",
         f"# Core {c} holds the RBM: rows 0…{nv - 1} the visible pixels, row {nv} the hidden biases (visible input",
         f"# clamped to 1), columns 0…{nh - 1} the hidden units, column {nh} the visible biases (hidden input",
         f"# clamped to 1).  Stochastic units: 1 if acc + u > 0, u uniform in [−{R}, {R}].",
         f"# A batch of Gibbs chains, one per image, in chunks of up to C = {B}: vm holds the chunk's visible",
         "# rows (VR u8: pixels + bias input), hm its hidden rows (hidden units + bias input"
         + (", evidence inputs ±1" if lam else "") + "); each",
         "# Gibbs step is one bsmp.fwd over the chains (vm → hm) and one bsmp.bwd (hm → vm), bkey keying every",
         "# sample as the per-image loop does (KS = K = 2·STEPS samples per image, the counter advancing by 1,",
         "# and by 1 + (B − 1)·K after the last step), so `count` equals the loop program's bit for bit."]
    if known is not None:
        A += ["# Known pixels (and the bias input) are clamped back after every backward sample (vm = vm·free +",
              "# clamp over the chunk's B·VR bytes)."]
    else:
        A += ["# Corruption positions unknown: every pixel is resampled (the bias input is set back to 1)."]
        if lam:
            A += _evidence_text(smp, f"{nh + 1}…{nh + nv}, column HC + i for pixel i") + [
                "# bsmp.fwd runs on the window of columns 0…HC−1 only, bsmp.bwd on all WC columns."]
    A += [f"# The last KEEP visible samples are counted in `count` (N × VR u8, pixels 0…{nv - 1}); the",
          "# recovered pixel is count > KEEP/2.",
          f"# Run:  neurram run programs/{name}.s --model analog --seed 1 --dump count", "",
          f"        .equ N, {n}", f"        .equ C, {B}", f"        .equ STEPS, {steps}", f"        .equ KEEP, {keep}",
          f"        .equ K, {K}", f"        .equ VR, {VR}", f"        .equ HC, {HC}", f"        .equ WC, {WC}"]
    if lam:
        A.append(f"        .equ NV, {nv}")
    A += ["", "        .data", f"w:      .npy \"{name}_w.npy\", i8"] + _data_decl(name, known, lam)
    A += ["one:    .byte 1                       # the bias inputs' value",
          "vm:     .zero C * VR                  # the chunk's visible rows",
          "hm:     .zero C * WC                  # the chunk's hidden rows", "count:  .zero N * VR", "",
          "        .text",
          f"_start: li      x1, {1 << c}", "        cpon    x1", "        ccfg.nrows x1, VR",
          "        ccfg.ncols x1, WC",
          "        ccfg.inbits x1, 1             # 0/1 inputs both ways" + (" (±1 evidence)" if lam else ""),
          f"        ccfg.noise x1, {smp.noise}"]
    if smp.gshift:
        A.append(f"        ccfg.gshift x1, {smp.gshift}            # noise ±{smp.noise}·2^{smp.gshift}")
    A += ["        la      x2, w", f"        cprog   c{c}, x2"] + _age(age_ms)
    A += ["        la      x10, x                # x10: the chunk's corrupted images"]
    if known is not None:
        A += ["        la      x11, clamp            # x11, x12: its clamp and free rows",
              "        la      x12, free"]
    elif lam:
        A.append("        la      x11, ev               # x11: its evidence inputs")
    A += ["        la      x13, count            # x13: its counts", "        li      x14, N                # x14: images left",
          "chunk:  li      x2, C                 # x2: B = min(C, images left)", "        bge     x14, x2, full",
          "        mv      x2, x14", "full:   bcount  x2",
          "        li      x8, K                 # x8: key stride KS = K",
          "        addi    x9, x2, -1", "        mul     x9, x9, x8",
          "        addi    x9, x9, 1             # x9: the last sample's key advance 1 + (B − 1)·K",
          "        li      x3, VR", "        mul     x3, x3, x2", "        setvl   x3",
          "        la      x5, vm", "        vcvt.u8.u8 x5, x10           # vm ← the chunk's corrupted images (+ bias 1)",
          "        la      x6, hm"]
    if lam:
        A += ["        li      x3, WC", "        li      x4, NV", "        bstride x3, x4, x0", "        setvli  NV",
              "        addi    x3, x6, HC",
              "        vcvt2.i8.i8 x3, x11           # the chains' evidence inputs → hm[:, HC…]"]
    A += ["        li      x15, STEPS            # x15: steps left", "step:   li      x7, 1",
          f"        bkey    c{c}, x8, x7             # keys k + b·K, then k + 1"]
    if lam:
        A.append("        ccfg.ncols x1, HC             # forward window: hidden units and bias column")
    A += ["        li      x3, WC", "        li      x4, VR", "        bstride x3, x4, x0",
          f"        bsmp.fwd.u8.u8 c{c}, x6, x5     # hidden units ~ P(h | v) of every chain", "        sync    x1",
          "        li      x3, WC", "        bstride x3, x0, x0", "        setvli  1", "        la      x4, one",
          "        addi    x3, x6, HC - 1",
          "        vcvt2.u8.u8 x3, x4            # the bias column's input is always 1"]
    if lam:
        A.append("        ccfg.ncols x1, WC             # backward window: + the evidence columns")
    A += ["        li      x7, 1", "        bne     x15, x7, mid", "        mv      x7, x9                # the last step: the counter ends at k₀ + B·K",
          f"mid:    bkey    c{c}, x8, x7", "        li      x3, VR", "        li      x4, WC", "        bstride x3, x4, x0",
          f"        bsmp.bwd.{ht}.u8 c{c}, x5, x6     # visible pixels ~ P(v | h) of every chain", "        sync    x1"]
    A += ["        li      x3, VR", "        mul     x3, x3, x2", "        setvl   x3"]
    if known is not None:
        A += ["        vmul.u8 x5, x5, x12           # keep the resampled pixels …",
              "        vadd.u8 x5, x5, x11           # … and clamp the known ones and the bias input"]
    else:
        A += ["        li      x3, VR", "        bstride x3, x0, x0", "        setvli  1", "        la      x4, one",
              "        addi    x3, x5, VR - 1",
              "        vcvt2.u8.u8 x3, x4            # the bias input back to 1; every pixel is resampled",
              "        li      x3, VR", "        mul     x3, x3, x2", "        setvl   x3"]
    A += ["        li      x4, KEEP", "        blt     x4, x15, skip         # count only the last KEEP samples",
          "        vadd.u8 x13, x13, x5", "skip:   addi    x15, x15, -1", "        bnez    x15, step",
          "        li      x3, VR", "        mul     x3, x3, x2",
          "        add     x10, x10, x3          # the next chunk's rows"]
    if known is not None:
        A += ["        add     x11, x11, x3", "        add     x12, x12, x3"]
    elif lam:
        A += ["        li      x4, NV", "        mul     x4, x4, x2", "        add     x11, x11, x4"]
    A += ["        add     x13, x13, x3", "        sub     x14, x14, x2", "        bnez    x14, chunk",
          "        sync    x0", "        halt"]
    return "\n".join(A) + "\n", data, slots
