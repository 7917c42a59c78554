"""Batched code generation of the RBM in row blocks (emulator.mapper.rbm_blocks, the MNIST-size
794 × 120 split over 16 cores): a batch of Gibbs chains, one per image, through the same F and T
cores (compile_rbm_blocks(…, batched=True)).

The per-image loop runs, per image and Gibbs step: every F core's `mvm.fwd` (the block's partial
pre-activations, from the visible vector), the vector unit's sum of the partials, T_0's hidden
sample (`smp.fwd` on its sampler window), then every T core's `smp.fwd` (the block's visible
units, from the hidden vector) and the clamp.  Here the chains' states live in memory as chunk
matrices — vm (B × VR u8: visible units + the bias input), part_b (B × NH i16: F_b's partials),
hx (B × NH i8: the clipped sums), hm (B × (NH + 1) u8: hidden units + the bias input) — and each
of those operations is one batch over the B chains: `bmvm.fwd.u8.i16` on each F core reads its
block's columns of vm (row stride VR) into part_b; the partial matrices are added element-wise
over B·NH elements (contiguous rows: row b of the sum is row b of each block's partials added),
clipped and converted into hx; `bsmp.fwd.i8.u8` on T_0's sampler window writes hm's hidden
columns; `bsmp.fwd.u8.u8` on each T core writes its block's columns of vm (row stride VR).  The
bias column of hm is set once by a `vcvt2` with source stride 0 (no batch writes it); the clamp
`v·free + clamp` and the counts are element-wise over the chunk's B·VR bytes.

Noise keys (bkey, docs/machine.md Batches), per core by its own K (operations per image in the
loop): an F core runs K = STEPS MVMs per image, T_1 … T_7 K = STEPS samples, T_0 K = 2·STEPS
samples (the hidden sample, then its block's visible sample, each step).  Every batch strides its
vectors' keys by KS = K and advances the counter by 1, the image's last op on the core (the
last step's MVM on an F core, its visible sample on a T core) by 1 + (B − 1)·K — so every draw
(the read noise on the analog model, the sampling noise on both) is the loop's, and `count` is
identical to the loop program's, as are the MVM and sample counts, the key counters and the scans
(tests/test_rbm_blocks_batch.py).  Images run in chunks of at most C; the last chunk takes what
is left."""
from __future__ import annotations

from emulator.config import ChipConfig

from .batch_codegen import BN_MAX
from .codegen import Compiled
from .model import MapError, is_int
from .rbm_blocks import _cores, _map, sampler_window, setup

KEY_MAX = 2**32 - 1          # bkey's range of KS and KA


def chunk_size(q, n: int, chunk, mem_size) -> int:
    """C: the given chunk, or as many chains as fit half the data memory the program leaves."""
    nv, nh, nb = q.n_v, q.n_h, len(q.blocks)
    if chunk is None:
        limit = mem_size or ChipConfig.defaults()["mem_size"]
        weights = sum(nr * nh + (nh + 1) * (min(r0 + nr, nv) - r0) for r0, nr in q.blocks) + nh * nh
        fixed = 4 * n * (nv + 1) + weights + 4096          # x, clamp, free, count; the weights
        per_chain = nb * 2 * nh + nh + (nh + 1) + (nv + 1)   # part_b, hx, hm, vm
        chunk = max(1, min(n, BN_MAX, (limit - fixed) // 2 // per_chain))
    if not is_int(chunk) or not 1 <= chunk <= BN_MAX:
        raise MapError(f"chunk must be a whole number 1 … {BN_MAX}, got {chunk!r}")
    return int(min(chunk, n))


def blocks_batched(q, C, K, steps, keep, name, age_ms, chunk=None, mem_size=None) -> Compiled:
    """The batched recovery program (module docstring); the images as checked by compile_rbm_blocks."""
    F, T = _cores(q)
    nv, nh, n, nb = q.n_v, q.n_h, len(C), len(q.blocks)
    VR = nv + 1
    B = chunk_size(q, n, chunk, mem_size)
    if 1 + (B - 1) * 2 * steps > KEY_MAX:
        raise MapError(f"{name}: {steps} steps × chunk {B}: T{T[0]}'s key advance 1 + (B − 1)·2·STEPS passes "
                       f"bkey's 2^32 − 1; use a smaller chunk")
    hn, hg = q.hidden_noise
    data, slots, D, P = setup(q, C, K, name, age_ms)
    t0 = T[0]
    A = [f"# {name}.s — RBM ({nv} visible × {nh} hidden) Gibbs recovery in {nb} row blocks × 2 cores, batched",
         "# (emulator.mapper.rbm_blocks_batch).",
         f"# F cores {F}: block partials (bmvm.fwd, round(acc/2^{q.gp}) as i16 rows); T cores {T}: visible",
         f"# samples (bsmp.fwd on the transposed block); T{t0} columns {256 - nh}… sample the hidden units from the",
         f"# summed partials (diagonal 112, noise {hn}·2^{hg}).",
         f"# A batch of Gibbs chains, one per image, in chunks of up to C = {B}: vm holds the chunk's visible rows",
         "# (VR u8), part<b> F_b's partials (NH i16 a row), hx the clipped sums (NH i8), hm the hidden rows",
         "# (NH + 1 u8, the last the bias input 1).  One batch per core and half-step over the chunk; bkey keys",
         "# every draw as the per-image loop does: KS = K (STEPS MVMs on an F core, STEPS samples on T1…,",
         f"# 2·STEPS on T{t0}), the counter advancing by 1, by 1 + (B − 1)·K on the image's last op on the core.",
         "", f"        .equ N, {n}", f"        .equ C, {B}", f"        .equ STEPS, {steps}", f"        .equ KEEP, {keep}",
         f"        .equ VR, {VR}", f"        .equ NH, {nh}", "", "        .data"] + D
    A += [f"part{b}: .zero C * NH * 2" for b in range(nb)]
    A += ["hx:     .zero C * NH", "hm:     .zero C * (NH + 1)", "vm:     .zero C * VR",
          "one:    .byte 1                       # the bias inputs' value", "count:  .zero N * VR", "",
          "        .text"] + P
    A += ["        li      x3, C", "        bcount  x3", "        li      x3, NH + 1", "        bstride x3, x0, x0",
          "        setvli  1", "        la      x3, hm + NH", "        la      x4, one",
          "        vcvt2.u8.u8 x3, x4            # hm's bias column ← 1 (no batch writes it)",
          "        la      x10, x                # x10, x11, x12: the chunk's corrupted images, clamp and free rows",
          "        la      x11, clamp", "        la      x12, free",
          "        la      x13, count            # x13: its counts", "        li      x14, N                # x14: images left",
          "chunk:  li      x2, C                 # x2: B = min(C, images left)", "        bge     x14, x2, full",
          "        mv      x2, x14", "full:   bcount  x2",
          "        li      x3, VR", "        mul     x3, x3, x2", "        setvl   x3", "        la      x5, vm",
          "        vcvt.u8.u8 x5, x10           # vm ← the chunk's corrupted images (+ bias 1)",
          "        li      x15, STEPS            # x15: steps left",
          "step:   li      x5, 1                 # x5, x6: key advances (T0's; the other cores')", "        li      x6, 1",
          "        li      x3, 1", "        bne     x15, x3, keys",
          "        addi    x5, x2, -1            # the last step: 1 + (B − 1)·K",
          "        li      x3, 2 * STEPS", "        mul     x5, x5, x3", "        addi    x5, x5, 1",
          "        addi    x6, x2, -1", "        li      x3, STEPS", "        mul     x6, x6, x3",
          "        addi    x6, x6, 1",
          "keys:   li      x3, STEPS"]
    A += [f"        bkey    c{c}, x3, x6" for c in F]
    A += ["        li      x3, NH * 2", "        li      x4, VR", "        bstride x3, x4, x0"]
    for b, (r0, _nr) in enumerate(q.blocks):
        A += [f"        la      x3, part{b}", f"        la      x4, vm + {r0}",
              f"        bmvm.fwd.u8.i16 c{F[b]}, x3, x4" + ("   # every block's partials of every chain" if b == 0 else "")]
    A += ["        sync    x7", "        li      x3, NH", "        mul     x3, x3, x2", "        setvl   x3",
          "        la      x3, part0"]
    A += [f"        la      x4, part{b}\n        vadd.i16 x3, x3, x4" for b in range(1, nb)]
    A += ["        vclip.i16 x3, x3, 8           # the sums as signed 8-bit codes", "        la      x4, hx",
          "        vcvt.i8.i16 x4, x3"]
    A += sampler_window(q, True)
    A += ["        li      x3, 2 * STEPS", "        li      x4, 1", f"        bkey    c{t0}, x3, x4",
          "        li      x3, NH + 1", "        li      x4, NH", "        bstride x3, x4, x0",
          "        la      x3, hm", "        la      x4, hx",
          f"        bsmp.fwd.i8.u8 c{t0}, x3, x4   # hidden units ~ P(h | v) of every chain", "        sync    x9"]
    A += sampler_window(q, False)
    A += ["        li      x3, 2 * STEPS", f"        bkey    c{t0}, x3, x5", "        li      x3, STEPS"]
    A += [f"        bkey    c{c}, x3, x6" for c in T[1:]]
    A += ["        li      x3, VR", "        li      x4, NH + 1", "        bstride x3, x4, x0", "        la      x4, hm"]
    for b, (r0, _nr) in enumerate(q.blocks):
        A += [f"        la      x3, vm + {r0}",
              f"        bsmp.fwd.u8.u8 c{T[b]}, x3, x4" + ("   # visible units ~ P(v | h), block by block" if b == 0 else "")]
    A += ["        sync    x8", "        li      x3, VR", "        mul     x3, x3, x2", "        setvl   x3",
          "        la      x5, vm", "        vmul.u8 x5, x5, x12           # keep the resampled pixels …",
          "        vadd.u8 x5, x5, x11           # … clamp the known ones and the bias input",
          "        li      x4, KEEP", "        blt     x4, x15, skip         # count only the last KEEP samples",
          "        vadd.u8 x13, x13, x5", "skip:   addi    x15, x15, -1", "        bnez    x15, step",
          "        li      x3, VR", "        mul     x3, x3, x2", "        add     x10, x10, x3          # the next chunk's rows",
          "        add     x11, x11, x3", "        add     x12, x12, x3", "        add     x13, x13, x3",
          "        sub     x14, x14, x2", "        bnez    x14, chunk", "        sync    x0", "        halt", ""]
    return Compiled(name, "\n".join(A), data, slots, None, n, _map(q, F, T),
                    {"n_out": nv, "result": "count", "row": VR, "keep": keep, "steps": steps,
                     "cores": sorted(F + T), "chunk": B})
