"""Batched code generation of the recurrent mapper: a batch of sequences through the one-core
[SimpleRNN, Dense] layout of rnn.py, step by step (docs/mapper.md, "Batched programs").

The per-sequence loop of compile_rnn keeps H in the core: per sequence `hin` h0, then per step
`hin` the step's inputs and `mvm.rec`, then `mvm.fwd` on the readout columns.  Here H lives in
memory as a B × NR matrix of u8 rows (hidden codes, the step's inputs, bias constants, zeros —
every value fits a byte).  Per step `vcvt2` writes the step's inputs into the rows, one
`bmvm.fwd.u8.u8` over the rows computes every sequence's h_t into a B × HH matrix, and `vcvt2`
writes h_t back into the rows.  mvm.fwd and mvm.rec compute the same MVM on the same columns
(same kernel, readout, noise and events; only the register the outputs land in differs), and a
forward batch's input and output registers differ, so its scans overlap the MVMs where a rec
batch (H in and out) could not.  The readout is one `bmvm.fwd.u8.i16` over the final rows,
`vadd2` summing the copies row by row.

Noise keys (bkey, docs/machine.md Batches): the loop runs K = T + 1 MVMs per sequence on the
core, sequence s's j-th keyed k₀ + s·K + j; every step's batch strides its keys by KS = K and
advances the counter by 1, the readout's by 1 + (B − 1)·K, so every draw is the loop's and the
counter ends where the loop leaves it.  `out` and `pred` are therefore identical to compile_rnn's
(or the workload's) program on both models, and so are the MVM counts, key counters and MVM
energy events (tests/test_mapper_seq_batch.py; the scans differ: the batch scans the state out
and back in every step).  Sequences run in chunks of at most C (the batch matrices of a chunk
live in data memory); the last chunk takes what is left — no padding, so nothing extra
is computed or counted."""
from __future__ import annotations

import numpy as np

from emulator.config import ChipConfig

from .batch_codegen import BN_MAX
from .codegen import Compiled
from .model import MapError, finite_array, is_int, is_real
from .rnn import AGE_MAX, N_CORES, OUT_COL0, QRNNModel
from .rnn_codegen import _ins, _slot, core_map


def _check(q, codes, core, age_ms, who: str) -> np.ndarray:
    codes = finite_array(codes, who, "the input codes")
    width = q.steps * q.n_x
    if codes.ndim != 2 or codes.shape[1] != width:
        raise MapError(f"{who}: input codes must be N × {width} (T = {q.steps} steps × {q.n_x} inputs), "
                       f"got {codes.shape}")
    if len(codes) < 1:
        raise MapError(f"{who}: the batch is empty: give at least one input")
    if codes.min() < 0 or codes.max() > 255 or np.any(codes != np.round(codes)):
        raise MapError(f"{who}: input codes must be whole bytes 0 … 255, got {codes.min():g} … {codes.max():g}")
    if not is_int(core) or not 0 <= core < N_CORES:
        raise MapError(f"{who}: core must be 0 … {N_CORES - 1}, got {core!r}")
    if not (is_real(age_ms) and 0 <= age_ms <= AGE_MAX):
        raise MapError(f"{who}: age_ms must be a number of milliseconds 0 … {AGE_MAX}, got {age_ms!r}")
    return np.ascontiguousarray(codes, np.uint8)


def _chunk(q, n: int, chunk, mem_size) -> int:
    """C: the given chunk, or as many sequences as fit half the data memory left by the inputs."""
    ocols = q.n_out * q.rep
    row = q.nr + q.hh + 2 * ocols                  # H rows, hidden rows (u8) and partials (i16)
    if chunk is None:
        limit = mem_size or ChipConfig.defaults()["mem_size"]
        fixed = n * (q.steps * q.xw + 2 * q.n_out + 1) + q.nr * (q.hh + ocols) + 4096
        chunk = max(1, min(n, BN_MAX, (limit - fixed) // 2 // row))
    if not is_int(chunk) or not 1 <= chunk <= BN_MAX:
        raise MapError(f"chunk must be a whole number 1 … {BN_MAX}, got {chunk!r}")
    return int(min(chunk, n))


def batched_program(q, codes, name: str, age_ms=0, core: int = 0, chunk=None, mem_size=None,
                    header=()) -> tuple[str, dict, int]:
    """(asm, {file: array}, C) of the batched program for a quantised one-core RNN `q` (the
    mapper's QRNNModel, or any object with its layout attributes: hh, xw, nr, n_x, n_out, steps,
    hcopy, rep, act_bits, core_bits, gain, gshift, ogain, ogshift, rec_block(), out_block(),
    hinit()) and input codes N × T·n_x.  `header`: comment lines that open the program."""
    who = getattr(q, "name", name)
    codes = _check(q, codes, core, age_ms, who)
    n, T, hc = len(codes), q.steps, q.hcopy
    HH, XW, NR, nout = q.hh, q.xw, q.nr, q.n_out
    ocols = nout * q.rep
    C = _chunk(q, n, chunk, mem_size)
    K = T + 1                                       # MVMs per sequence on the core
    x = np.tile(codes.reshape(n, T, q.n_x), (1, 1, hc)).reshape(n, T * XW)
    data = {f"{name}_x.npy": x, f"{name}_rec.npy": q.rec_block().ravel(),
            f"{name}_out.npy": q.out_block().ravel(), f"{name}_h0.npy": q.hinit()}
    c = f"c{core}"
    A = list(header) + [
        f"# Batched: per chunk of up to C = {C} sequences, H of every sequence is a row of hm (NR u8: hidden",
        "# codes, the step's inputs, bias constants, zeros); each step writes the step's inputs into the rows",
        "# (vcvt2), runs one bmvm.fwd over them (the MVM of mvm.rec) into hv and writes h_t back into the",
        "# rows; the readout is one bmvm.fwd over the final rows.  bkey keys every MVM as the per-sequence",
        "# loop does: KS = K = T + 1 MVMs per sequence, the counter advancing by 1 per step and by",
        "# 1 + (B − 1)·K after the readout.",
        "",
        f"        .equ N, {n}", f"        .equ C, {C}", f"        .equ T, {T}", f"        .equ K, {K}",
        f"        .equ NR, {NR}", f"        .equ HH, {HH}", f"        .equ XW, {XW}",
        f"        .equ OCOL, {OUT_COL0}", f"        .equ OCOLS, {ocols}", f"        .equ NOUT, {nout}",
        "", "        .data",
        f"x:      .npy \"{name}_x.npy\", u8        # N × T × XW input codes (each step's {hc} times)",
        f"wrec:   .npy \"{name}_rec.npy\", i8      # NR × HH recurrent codes",
        f"wout:   .npy \"{name}_out.npy\", i8      # NR × OCOLS readout codes ({q.rep} copies)",
        f"h0:     .npy \"{name}_h0.npy\", u8       # H at the start of every sequence",
        "hm:     .zero C * NR                   # the chunk's H rows",
        "hv:     .zero C * HH                   # the step's hidden codes",
        "        .align 2",
        "part:   .zero C * OCOLS * 2            # readout partials (C × OCOLS i16)",
        "out:    .zero N * NOUT * 2", "pred:   .zero N",
        "", "        .text", "_start:",
        _ins(f"li      x1, 1 << {core}", f"x1: the RNN's core (core {core})"),
        _ins("cpon    x1"),
        _ins("ccfg.nrows x1, NR", "window: all rows (hidden, inputs, bias, balancing)"),
        _ins(f"ccfg.inbits x1, {q.core_bits}", "unsigned input codes"),
        _ins("ccfg.insigned x1, 0"),
        _ins("ccfg.col0 x1, OCOL", "program the readout columns …"),
        _ins("ccfg.ncols x1, OCOLS"), _ins("la      x2, wout"), _ins(f"cprog   {c}, x2"),
        _ins("ccfg.col0 x1, 0", "… and the recurrent ones"),
        _ins("ccfg.ncols x1, HH"), _ins("la      x2, wrec"), _ins(f"cprog   {c}, x2")]
    if age_ms:
        A += [_ins("sync    x0", "programming done (cprog is asynchronous) …"), _ins(f"li      x2, {int(age_ms)}"),
              _ins("cage    x2", f"… let the conductances relax for {age_ms / 1000:g} s before inference")]
    A += [_ins("la      x10, x", "x10: the chunk's input codes"), _ins("la      x11, out", "x11: its logits"),
          _ins("la      x12, pred", "x12: its classes"), _ins("li      x13, N", "x13: sequences left"),
          "chunk:",
          _ins("li      x2, C", "x2: B = min(C, sequences left)"),
          _ins("bge     x13, x2, full"),
          _ins("mv      x2, x13"),
          "full:",
          _ins("bcount  x2", "BN = B: every batch and row op of the chunk"),
          _ins("li      x8, K", "x8: key stride KS = K"),
          _ins("addi    x9, x2, -1"),
          _ins("mul     x9, x9, x8"),
          _ins("addi    x9, x9, 1", "x9: the readout's key advance 1 + (B − 1)·K"),
          _ins("li      x7, 1"),
          _ins(f"bkey    {c}, x8, x7", "every step: keys k + b·K, then k + 1"),
          _ins("li      x5, NR"),
          _ins("bstride x5, x0, x0", "rows of NR bytes, one source row"),
          _ins("setvli  NR"),
          _ins("la      x3, hm", "x3: the chunk's H rows"),
          _ins("la      x6, h0"),
          _ins("vcvt2.u8.u8 x3, x6", "every row ← h0: h = 0, bias constants, zeros"),
          _ins("la      x4, hv", "x4: the step's hidden codes"),
          _ins(f"ccfg.outbits x1, {q.act_bits}", f"recurrent cell: unsigned {q.act_bits}-bit outputs (ReLU + clip)"),
          _ins("ccfg.outsigned x1, 0"), _ins(f"ccfg.gain x1, {q.gain}"), _ins(f"ccfg.gshift x1, {q.gshift}"),
          _ins("mv      x6, x10", "x6: this step's inputs of sequence 0"),
          _ins("li      x14, T", "x14: steps left"),
          "step:",
          _ins("li      x15, T * XW"),
          _ins("bstride x5, x15, x0", "inputs: rows of T·XW bytes → H rows"),
          _ins("setvli  XW"),
          _ins("addi    x15, x3, HH"),
          _ins("vcvt2.u8.u8 x15, x6", "this step's inputs → H[HH … HH+XW) of every row"),
          _ins("li      x15, HH"),
          _ins("bstride x15, x5, x0", "H rows → rows of HH hidden codes"),
          _ins(f"bmvm.fwd.u8.u8 {c}, x4, x3", "h_t = f(W·[h_(t−1), x_t, 1]) of every sequence"),
          _ins("sync    x1", "(read the outputs after the batch)"),
          _ins("bstride x5, x15, x0", "hidden rows → H rows"),
          _ins("setvli  HH"),
          _ins("vcvt2.u8.u8 x3, x4", "H[0 … HH) ← h_t, as mvm.rec leaves it"),
          _ins("addi    x6, x6, XW"),
          _ins("addi    x14, x14, -1"),
          _ins("bnez    x14, step"),
          _ins("ccfg.col0 x1, OCOL", "readout: forward MVM on h_T …"),
          _ins("ccfg.ncols x1, OCOLS"),
          _ins("ccfg.outbits x1, 8", "… signed 8-bit partials"),
          _ins("ccfg.outsigned x1, 1"), _ins(f"ccfg.gain x1, {q.ogain}"), _ins(f"ccfg.gshift x1, {q.ogshift}"),
          _ins(f"bkey    {c}, x8, x9", "the sequence's last MVM: the counter ends at k₀ + B·K"),
          _ins("li      x7, OCOLS * 2"),
          _ins("bstride x7, x5, x0", "H rows → partial rows"),
          _ins("la      x15, part"),
          _ins(f"bmvm.fwd.u8.i16 {c}, x15, x3", "the partials of all copies, every sequence"),
          _ins("sync    x1"),
          _ins("ccfg.col0 x1, 0", "back to the recurrent columns"),
          _ins("ccfg.ncols x1, HH"),
          _ins("bstride x7, x7, x7", "partial rows")]
    h = ocols
    while h > nout:             # sum the copies: the upper half onto the lower, every row
        h //= 2
        A += [_ins(f"setvli  {h}"), _ins(f"addi    x5, x15, {2 * h}"),
              _ins("vadd2.i16 x15, x15, x5", "add the upper copies onto the lower")]
    A += [_ins("setvli  NOUT"),
          _ins("li      x5, NOUT * 2"),
          _ins("bstride x5, x7, x0"),
          _ins("vcvt2.i16.i16 x11, x15", "logits → out[i …]"),
          _ins("li      x5, 1"),
          _ins("bstride x5, x7, x0"),
          _ins("vargmax2.u8.i16 x12, x15", "classes → pred[i …]"),
          _ins("li      x5, T * XW"),
          _ins("mul     x5, x5, x2"),
          _ins("add     x10, x10, x5", "the next chunk's inputs …"),
          _ins("li      x5, NOUT * 2"),
          _ins("mul     x5, x5, x2"),
          _ins("add     x11, x11, x5", "… logits …"),
          _ins("add     x12, x12, x2", "… and classes"),
          _ins("sub     x13, x13, x2"),
          _ins("bnez    x13, chunk"),
          _ins("sync    x0"),
          _ins("halt"), ""]
    return "\n".join(A), data, C


def compile_rnn_batched(q: QRNNModel, codes, name="rnn", age_ms=0, core=0, chunk=None,
                        mem_size=None) -> Compiled:
    """compile_rnn's network as a batched program (module docstring): `out` (N × n_out i16) and
    `pred` (N u8) identical to compile_rnn's on both models; `chunk` (default: what fits half the
    free data memory) bounds the sequences per batch."""
    if not isinstance(q, QRNNModel):
        raise MapError(f"compile_rnn_batched takes a QRNNModel (quantise_rnn), not {type(q).__name__}")
    cm = core_map(q, core) if is_int(core) and 0 <= core < N_CORES else ""
    head = [f"# {name}.s — generated by the NR48 mapper (emulator.mapper.rnn_batch); edit freely.", "#",
            f"# A recurrent network on one core (core {core}), {q.steps} steps of {q.n_x} inputs, "
            f"{q.n_h} hidden units ({q.name}) and {q.n_out} outputs ({q.out_name}),",
            "# as compile_rnn lays it out (H: hidden ×hcopy, inputs ×hcopy, bias inputs, zeros; columns 0…"
            "HH−1 the cell,", f"# {OUT_COL0}… the readout copies).  Results: out (N × {q.n_out} i16 logits), "
            "pred (N u8 argmax).", "#", "# Core map:"] + [("#   " + ln).rstrip() for ln in cm.splitlines()] + ["#"]
    asm, data, C = batched_program(q, codes, name, age_ms, core, chunk, mem_size, head)
    extra = {"n_out": q.n_out, "hcopy": q.hcopy, "copies": q.rep, "pads": q.P, "chunk": C}
    return Compiled(name, asm, data, [_slot(q, int(core))], q, len(codes), cm, extra)
