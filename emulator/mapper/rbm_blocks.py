"""RBMs too large for one core (MNIST size, 794 visible × 120 hidden): the authors' layout of
row blocks × 2 cores (docs/mapper.md, RBM in blocks).

A hidden sample sums over every visible unit, but `smp` thresholds one core's own sum, so the
visible rows (with the hidden-bias row) are cut into blocks of at most `block_rows`, and per
block:

* a forward core F_b holds the block's rows × the hidden columns; `mvm.fwd` gives the block's
  partial pre-activations, read out as signed 8-bit codes round(acc / 2^gp);
* a transposed core T_b holds the hidden units (+ a bias row driven by 1) × the block's visible
  columns; `smp.fwd` samples the block's visible units from the hidden ones directly (the whole
  sum over hidden units is on that core).

The vector unit adds the partial codes of all blocks, clips them to ±127, and the hidden units
are sampled by a diagonal of code D in T_0's spare columns: `smp.fwd` on T_0 with the sums as
signed 8-bit inputs gives 1 where D·S + u > 0, u uniform in ±(noise·2^g) ≈ ±D·R/2^gp — the
hard-sigmoid of the full sum up to the readout's rounding.  So 8 blocks take 16 cores, as in the
authors' mapping.  `gibbs_blocks_reference` replays the program in integers with the chip's own
noise draws (keyed by seed, core, sample count and lane), so the ideal model matches it bit for
bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codegen import CORE_ORDER, Compiled, Slot
from .model import MAX_COLS, MAX_ROWS, MapError, is_int, quantise_weights, split_even
from .rbm import AGE_MAX, NOISE_MAX, RBM

DIAG = 112          # the sampler diagonal's code (a full-scale weight)
_M64 = (1 << 64) - 1


@dataclass
class QRBMBlocks:
    name: str
    codes: np.ndarray               # (n_v+1) × (n_h+1) int8: visible rows + bias row, hidden cols + bias col
    scale: float
    code_scale: int
    R: int                          # full-sum noise amplitude (accumulator units): 2·code_scale/scale
    blocks: list = field(default_factory=list)     # [(row start, rows)] over the n_v + 1 rows
    gp: int = 0                     # partial readout shift: p = clip(round(acc / 2^gp), ±127)

    @property
    def n_v(self) -> int:
        return self.codes.shape[0] - 1

    @property
    def n_h(self) -> int:
        return self.codes.shape[1] - 1

    @property
    def n_cores(self) -> int:
        return 2 * len(self.blocks)

    def noise(self, amplitude: float) -> tuple[int, int]:
        """(ccfg.noise, gshift) with noise·2^gshift ≈ amplitude and noise ≤ NOISE_MAX."""
        g = 0
        while round(amplitude / 2**g) > NOISE_MAX:
            g += 1
        return max(1, int(round(amplitude / 2**g))), g

    @property
    def hidden_noise(self) -> tuple[int, int]:
        return self.noise(DIAG * self.R / 2**self.gp)

    @property
    def visible_noise(self) -> tuple[int, int]:
        return self.noise(self.R)


def quantise_rbm_blocks(rbm: RBM, wbits: int = 4, block_rows: int = 100) -> QRBMBlocks:
    """Quantise like quantise_rbm and cut the visible rows into blocks of ≤ block_rows."""
    rbm.check()
    nv, nh = rbm.n_v, rbm.n_h
    if nh + 1 > MAX_ROWS:
        raise MapError(f"{rbm.name}: {nh} hidden units + a bias row > {MAX_ROWS}: the transposed "
                       f"cores hold the hidden units on their logical rows")
    if not 1 <= block_rows <= MAX_ROWS or block_rows + nh > MAX_COLS:
        raise MapError(f"{rbm.name}: block_rows must be 1 … {min(MAX_ROWS, MAX_COLS - nh)} (a block's "
                       f"columns and the {nh}-unit sampler diagonal share T_0's {MAX_COLS} columns)")
    qmax = 2 ** (wbits - 1) - 1
    code_scale = 112 // qmax
    lev, s = quantise_weights(rbm.matrix(), wbits)
    codes = (lev * code_scale).astype(np.int8)
    blocks = split_even(nv + 1, block_rows)
    if 2 * len(blocks) > len(CORE_ORDER):
        raise MapError(f"{rbm.name}: {len(blocks)} blocks need {2 * len(blocks)} cores (> 48)")
    worst = max(int(np.abs(codes[r0:r0 + n].astype(np.int64)).sum(0).max()) for r0, n in blocks)
    gp = 0
    while worst > 127 * 2**gp:
        gp += 1
    return QRBMBlocks(rbm.name, codes, s, code_scale, max(1, int(round(2.0 * code_scale / s))), blocks, gp)


def _cores(q: QRBMBlocks):
    B = len(q.blocks)
    return CORE_ORDER[:B], CORE_ORDER[B:2 * B]


def _check(q: QRBMBlocks, corrupted, known, steps, keep, name):
    """The images as N × n_v int64 / bool arrays, or MapError."""
    nv = q.n_v
    try:
        C = np.asarray(corrupted, np.int64)
        K = np.asarray(known, bool)
    except (TypeError, ValueError):
        raise MapError(f"{name}: corrupted and known must be N × {nv} binary arrays") from None
    if C.ndim != 2 or len(C) < 1 or C.shape[1] != nv or K.shape != C.shape or not np.isin(C, (0, 1)).all():
        raise MapError(f"{name}: corrupted and known must be N × {nv} binary arrays (N ≥ 1)")
    if not (is_int(steps) and is_int(keep) and 1 <= keep <= min(steps, 255)):
        raise MapError(f"{name}: need 1 ≤ keep ≤ min(steps, 255), got steps={steps}, keep={keep}")
    return C, K


def age_bad(age_ms) -> bool:
    """True when age_ms is neither None nor a whole number 0 … AGE_MAX (cage's milliseconds)."""
    return age_ms is not None and not (is_int(age_ms) and 0 <= age_ms <= AGE_MAX)


def sampler_window(q: QRBMBlocks, on: bool) -> list:
    """ccfg lines (mask in x9) switching T_0 to the hidden sampler (on) or back to its block."""
    hn, hg = q.hidden_noise
    vn, vg = q.visible_noise
    nh = q.n_h
    if on:
        return [f"        ccfg.nrows x9, {nh}", f"        ccfg.col0 x9, {MAX_COLS - nh}", f"        ccfg.ncols x9, {nh}",
                "        ccfg.inbits x9, 8", "        ccfg.insigned x9, 1", f"        ccfg.noise x9, {hn}",
                f"        ccfg.gshift x9, {hg}"]
    return [f"        ccfg.nrows x9, {nh + 1}", "        ccfg.col0 x9, 0",
            f"        ccfg.ncols x9, {min(q.blocks[0][1], q.n_v)}", "        ccfg.inbits x9, 1",
            "        ccfg.insigned x9, 0", f"        ccfg.noise x9, {vn}", f"        ccfg.gshift x9, {vg}"]


def setup(q: QRBMBlocks, C, K, name, age_ms):
    """What the loop and the batched program share: (data, slots, .data lines of the weights and
    images, .text lines from _start: power, windows, programming, the chip's age, masks x7 (F
    cores), x8 (T cores), x9 (T_0))."""
    F, T = _cores(q)
    nv, nh, n = q.n_v, q.n_h, len(C)
    vn, vg = q.visible_noise
    data = {f"{name}_x.npy": np.concatenate([C, np.ones((n, 1), np.int64)], 1).astype(np.uint8),
            f"{name}_clamp.npy": np.concatenate([C * K, np.ones((n, 1), np.int64)], 1).astype(np.uint8),
            f"{name}_free.npy": np.concatenate([~K, np.zeros((n, 1), bool)], 1).astype(np.uint8)}
    slots, D = [], []
    sd = MAX_COLS - nh                                    # sampler diagonal's first column on T_0
    for b, (r0, nr) in enumerate(q.blocks):
        nvis = min(r0 + nr, nv) - r0                      # the block's visible units (no bias row)
        data[f"{name}_f{b}.npy"] = np.ascontiguousarray(q.codes[r0:r0 + nr, :nh])
        t = np.concatenate([q.codes[r0:r0 + nvis, :nh].T, q.codes[r0:r0 + nvis, nh:nh + 1].T], 0)
        data[f"{name}_t{b}.npy"] = np.ascontiguousarray(t)
        D += [f"f{b}_w:  .npy \"{name}_f{b}.npy\", i8", f"t{b}_w:  .npy \"{name}_t{b}.npy\", i8"]
        slots += [Slot(F[b], 0, f"F{b}", b, 0, r0, nr, 0, nh), Slot(T[b], 1, f"T{b}", b, 0, 0, nh + 1, 0, nvis)]
    data[f"{name}_diag.npy"] = (np.eye(nh) * DIAG).astype(np.int8)
    slots.append(Slot(T[0], 2, "sampler", 0, 0, 0, nh, sd, nh))
    D += [f"diag:   .npy \"{name}_diag.npy\", i8", f"x:      .npy \"{name}_x.npy\", u8",
          f"clamp:  .npy \"{name}_clamp.npy\", u8", f"free:   .npy \"{name}_free.npy\", u8",
          "        .align 2"]
    P = [f"_start: li      x1, {' | '.join(f'(1 << {c})' for c in F + T)}", "        cpon    x1"]
    for b, (r0, nr) in enumerate(q.blocks):
        nvis = min(r0 + nr, nv) - r0
        P += [f"        li      x1, 1 << {F[b]}", f"        ccfg.nrows x1, {nr}", f"        ccfg.ncols x1, {nh}",
              "        ccfg.inbits x1, 1", "        ccfg.insigned x1, 0", f"        ccfg.gshift x1, {q.gp}",
              f"        la      x2, f{b}_w", f"        cprog   c{F[b]}, x2",
              f"        li      x1, 1 << {T[b]}", f"        ccfg.nrows x1, {nh + 1}", f"        ccfg.ncols x1, {nvis}",
              "        ccfg.inbits x1, 1", "        ccfg.insigned x1, 0", f"        ccfg.noise x1, {vn}",
              f"        ccfg.gshift x1, {vg}", f"        la      x2, t{b}_w", f"        cprog   c{T[b]}, x2"]
    t0 = T[0]
    P += [f"        li      x9, 1 << {t0}", f"        ccfg.nrows x9, {nh}", f"        ccfg.col0 x9, {sd}",
          f"        ccfg.ncols x9, {nh}", "        la      x2, diag", f"        cprog   c{t0}, x2"]
    if age_ms:
        P += ["        sync    x0                    # programming done (cprog is asynchronous) …",
              f"        li      x2, {int(age_ms)}",
              f"        cage    x2                    # let the conductances relax for {age_ms / 1000:g} s"]
    P += [f"        li      x7, {' | '.join(f'(1 << {c})' for c in F)}",
          f"        li      x8, {' | '.join(f'(1 << {c})' for c in T)}"]
    return data, slots, D, P


def compile_rbm_blocks(q: QRBMBlocks, corrupted, known, steps: int = 16, keep: int = 8,
                       name: str = "rbmb", age_ms: int = 0, batched: bool = False, chunk=None,
                       mem_size=None) -> Compiled:
    """Gibbs recovery of N corrupted images (known pixels clamped), `count` as compile_rbm's.
    `age_ms`: let the chip age that long after programming (cage); `batched`: the chains of all
    images as batches in chunks of at most `chunk` (emulator/mapper/rbm_blocks_batch.py), the
    same `count`, sample and MVM counts and noise keys as this per-image loop."""
    C, K = _check(q, corrupted, known, steps, keep, name)
    if age_bad(age_ms):
        raise MapError(f"{name}: age_ms must be a whole number 0 … {AGE_MAX}, got {age_ms!r}")
    if batched:
        from .rbm_blocks_batch import blocks_batched
        return blocks_batched(q, C, K, steps, keep, name, age_ms, chunk, mem_size)
    F, T = _cores(q)
    hn, hg = q.hidden_noise
    nv, nh, n = q.n_v, q.n_h, len(C)
    VR = nv + 1
    data, slots, D, P = setup(q, C, K, name, age_ms)
    A = [f"# {name}.s — RBM ({nv} visible × {nh} hidden) Gibbs recovery in {len(q.blocks)} row blocks "
         f"× 2 cores (emulator.mapper.rbm_blocks).",
         f"# F cores {F}: block partials (mvm.fwd, round(acc/2^{q.gp}) as i8); T cores {T}: visible samples",
         f"# (smp.fwd on the transposed block); T{T[0]} columns {MAX_COLS - nh}… sample the hidden units from the",
         f"# summed partials (diagonal {DIAG}, noise {hn}·2^{hg}).",
         "", f"        .equ N, {n}", f"        .equ STEPS, {steps}", f"        .equ KEEP, {keep}",
         f"        .equ VR, {VR}", f"        .equ NH, {nh}", "", "        .data"] + D
    A += [f"part{b}: .zero {2 * nh}" for b in range(len(q.blocks))]
    A += [f"hsum:   .zero {2 * nh}", f"hx:     .zero {nh}", f"hbuf:   .zero {nh + 1}", "vbuf:   .zero VR",
          "count:  .zero N * VR", "", "        .text"] + P
    t0 = T[0]
    A += ["        la      x10, x", "        la      x11, clamp", "        la      x12, free",
          "        la      x13, count", "        li      x14, N",
          "image:  setvli  VR", "        la      x5, vbuf", "        vmov.u8 x5, x10             # v ← the corrupted image",
          "        li      x15, STEPS", "step:"]
    A += [f"        la      x3, vbuf + {r0}\n        hin.u8  c{F[b]}, x3" for b, (r0, _n) in enumerate(q.blocks)]
    A += ["        mvm.fwd x7                    # every block's partial pre-activations"]
    A += [f"        la      x3, part{b}\n        vout.i16 c{F[b]}, x3" for b in range(len(q.blocks))]
    A += ["        sync    x7", "        setvli  NH", "        la      x4, hsum", "        la      x3, part0",
          "        vsra.i16 x4, x3, 0"]
    A += [f"        la      x3, part{b}\n        vadd.i16 x4, x4, x3" for b in range(1, len(q.blocks))]
    A += ["        vclip.i16 x4, x4, 8           # the sums as signed 8-bit codes", "        la      x3, hx",
          "        vcvt.i8.i16 x3, x4",
          # T_0 becomes the hidden sampler: signed 8-bit inputs on rows 0…NH−1, the diagonal's columns
          ] + sampler_window(q, True) + [f"        hin.i8  c{t0}, x3",
          "        smp.fwd x9                    # hidden units ~ P(h | v)", "        la      x3, hbuf",
          f"        vout.u8 c{t0}, x3", "        sync    x9", "        li      x4, 1",
          f"        sb      x4, {nh}(x3)           # the bias row's input",
          # T_0 back to its block
          ] + sampler_window(q, False)
    A += [f"        hin.u8  c{T[b]}, x3" for b in range(len(q.blocks))]
    A += ["        smp.fwd x8                    # visible units ~ P(v | h), block by block"]
    A += [f"        la      x5, vbuf + {r0}\n        vout.u8 c{T[b]}, x5" for b, (r0, _n) in enumerate(q.blocks)]
    A += ["        sync    x8", "        setvli  VR", "        la      x5, vbuf",
          "        vmul.u8 x5, x5, x12           # keep the resampled pixels …",
          "        vadd.u8 x5, x5, x11           # … clamp the known ones and the bias input",
          "        li      x6, KEEP", "        blt     x6, x15, skip", "        vadd.u8 x13, x13, x5",
          "skip:   addi    x15, x15, -1", "        bnez    x15, step", "        addi    x10, x10, VR",
          "        addi    x11, x11, VR", "        addi    x12, x12, VR", "        addi    x13, x13, VR",
          "        addi    x14, x14, -1", "        bnez    x14, image", "        sync    x0", "        halt", ""]
    return Compiled(name, "\n".join(A), data, slots, None, n, _map(q, F, T),
                    {"n_out": nv, "result": "count", "row": VR, "keep": keep, "steps": steps,
                     "cores": sorted(F + T)})


def _map(q: QRBMBlocks, F, T) -> str:
    lines = ["block  rows (visible + bias)   F core  T core"]
    for b, (r0, nr) in enumerate(q.blocks):
        lines.append(f"{b:5d}  {r0:4d}+{nr:<4d}               {F[b]:6d}  {T[b]:6d}"
                     + ("   (+ hidden sampler)" if b == 0 else ""))
    lines.append(f"{2 * len(q.blocks)} cores")
    return "\n".join(lines)


def _noise(seed: int, core: int, n_smp: int, lanes: np.ndarray, R: int) -> np.ndarray:
    """The chip's sampling noise (_nr_sample_noise in csrc/nr_private.h), vectorised over lanes."""
    key = ((seed * 0x9E3779B97F4A7C15) & _M64) ^ (((core + 1) * 0xBF58476D1CE4E5B9) & _M64) \
        ^ (((n_smp + 1) * 0x94D049BB133111EB) & _M64)
    z = np.uint64(key) ^ lanes.astype(np.uint64)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z % np.uint64(2 * R + 1)).astype(np.int64) - R


def gibbs_blocks_reference(q: QRBMBlocks, corrupted, known, steps: int = 16, keep: int = 8,
                           seed: int = 0) -> np.ndarray:
    """The program's `count` (N × (n_v+1)) in integers, with the chip's own noise draws."""
    C = np.asarray(corrupted, np.int64)
    K = np.asarray(known, bool)
    nv, nh = q.n_v, q.n_h
    F, T = _cores(q)
    W = q.codes.astype(np.int64)
    hn, hg = q.hidden_noise
    vn, vg = q.visible_noise
    sd = MAX_COLS - nh
    nsmp = dict.fromkeys(T, 0)
    counts = np.zeros((len(C), nv + 1), np.int64)
    rnd = (1 << (q.gp - 1)) if q.gp else 0
    for i in range(len(C)):
        v = np.append(C[i], 1)
        clamp, free = np.append(C[i] * K[i], 1), np.append(~K[i], 0).astype(np.int64)
        for st in range(steps, 0, -1):
            S = 0
            for r0, nr in q.blocks:
                acc = v[r0:r0 + nr] @ W[r0:r0 + nr, :nh]
                S = S + np.clip((acc + rnd) >> q.gp, -127, 127)
            x = np.clip(S, -127, 127)
            u = _noise(seed, T[0], nsmp[T[0]], sd + np.arange(nh), hn << hg)
            nsmp[T[0]] += 1
            h = np.append((DIAG * x + u > 0).astype(np.int64), 1)
            vnew = v.copy()
            for b, (r0, nr) in enumerate(q.blocks):
                nvis = min(r0 + nr, nv) - r0
                acc = h[:nh] @ W[r0:r0 + nvis, :nh].T + W[r0:r0 + nvis, nh]
                u = _noise(seed, T[b], nsmp[T[b]], np.arange(nvis), vn << vg)
                nsmp[T[b]] += 1
                vnew[r0:r0 + nvis] = (acc + u > 0)
            v = vnew * free + clamp
            if st <= keep:
                counts[i] += v
    return counts
