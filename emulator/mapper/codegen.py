"""Code generation of a QModel (readable NR48 assembly + .npy data) on the placement of
placement.py: the per-sample program of compile_model, and running a compiled program."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emulator.config import ChipConfig

from .gap import QGap
from .model import MapError, QConv, QDense, QModel, QPool, has_weights
from .placement import (CORE_ORDER, N_CORES, PAD_CODE, Slot, balance_rows, core_map_text,  # noqa: F401
                        pad_rows, place)

@dataclass
class Compiled:
    name: str
    asm: str
    data: dict                      # file name → array
    slots: list
    qmodel: QModel
    n: int
    core_map: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def n_out(self) -> int:
        """Outputs per sample in `out` (extra["n_out"] for compilers whose qmodel has no layers)."""
        return self.extra.get("n_out") or self.qmodel.layers[-1].n_out

    def write(self, path) -> Path:
        """Write the program as `path` (a .s file) and its .npy files next to it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for fname, arr in self.data.items():
            np.save(path.parent / fname, arr)
        path.write_text(self.asm)
        return path


def _mask(cores):
    return " | ".join(f"(1 << {c})" for c in sorted(cores))


def _describe(q: QModel) -> str:
    kinds = {type(L) for L in q.layers}
    if kinds == {QDense}:
        return f"{len(q.layers)} dense layers"
    return " → ".join("pool" if isinstance(L, QPool) else "conv" if isinstance(L, QConv) else
                      "avgpool" if isinstance(L, QGap) else "dense" for L in q.layers)


def _check_limits(A: list, equ: dict, npy_bytes: int, mem_size=None) -> None:
    """Refuse a generated program whose immediates, vector lengths or data do not fit the machine:
    addi takes a signed 16-bit immediate, setvli an unsigned 16-bit length, and the data segment
    (the .npy files plus every .zero/.byte/.align) must fit the data memory.  Errors name the
    layer whose code needs the value.  The expressions evaluated are the generator's own."""
    ev = lambda expr: eval(expr, {"__builtins__": {}}, dict(equ))
    layer, text, data = "the program", False, npy_bytes
    for line in A:
        m = re.match(r"\s+# ---- (\w+)", line)
        layer = m.group(1) if m else layer
        code = line.split("#")[0].replace(",", " , ").split()
        if not code:
            continue
        text = text or code == [".text"]
        if not text:
            if ".zero" in code:
                data += ev(" ".join(code[code.index(".zero") + 1:]))
            elif ".byte" in code:
                data += code.count(",") + 1
            elif ".align" in code:
                data += 1
            continue
        if code[0] in ("addi", "setvli"):
            v = ev(" ".join(code[1:]).split(",")[-1])
            lo, hi = (-32768, 32767) if code[0] == "addi" else (0, 65535)
            if not lo <= v <= hi:
                what = "an address offset" if code[0] == "addi" else "a vector length"
                where = f"the input ({equ['XROW']:,} bytes per sample)" if "XROW" in line else layer
                raise MapError(f"{where}: the program needs {what} of {v:,} ({code[0]} takes {lo}…{hi}); "
                               "the feature map or input is too large for this mapper")
    limit = mem_size or ChipConfig.defaults()["mem_size"]
    if data > limit:
        raise MapError(f"the program needs about {data:,} bytes of data memory but the chip has {limit:,} "
                       "(mem_size); run a smaller batch or raise mem_size in the chip configuration")


def _pool_passes(L: QPool) -> list:
    """The vpmax passes of a max-pool on a (y, x, c) map: log2(size) passes over x pairs (groups
    of C), then as many over y pairs (groups of a row); [(direction, group, outputs, dst label)]."""
    (H, W, C), m = L.in_shape, L.size.bit_length() - 1
    out, h, w = [], H, W
    for j in range(2 * m):
        if j < m:
            w //= 2
            g, d = C, "x"
        else:
            h //= 2
            g, d = w * C, "y"
        out.append((d, g, h * w * C, f"{L.name}_fmap" if j == 2 * m - 1 else f"{L.name}_t{j}"))
    return out


def _copy_u8(dst: str, src: str, comment: str) -> str:
    return f"        vsra.u8 {dst}, {src}, 0          # {comment}"


_RESERVED = {"x", "out", "pred", "loop", "program", "_start", "N", "XROW", "NOUT", "R", "C", "chunk", "sample", "left"}


def layer_weights(data: dict, name: str, k: int, L, slots, pads) -> str:
    """Layer k's weights as one .npy (the core blocks of `slots` in order, each row-major: the
    copies side by side, then the balancing rows of `pads`) into `data`; returns its .data line."""
    blocks = []
    for s in slots:
        blk = np.tile(L.codes[s.row0:s.row0 + s.rows, s.col0:s.col0 + s.cols], (1, s.rep))
        if (k, s.seg) in pads:
            blk = np.concatenate([blk, pads[(k, s.seg)][1][s.blk]])
        blocks.append(np.ascontiguousarray(blk).ravel())
    data[f"{name}_{L.name}_w.npy"] = np.concatenate(blocks).astype(np.int8)
    return f"{L.name}_w: .npy \"{name}_{L.name}_w.npy\", i8"


def _stage_label(name: str) -> str:
    """The code label of a layer's stage in the inference loop (the profile groups by it): the
    layer's name, unless that is a register, core, mnemonic or one of the program's own symbols."""
    from isa.tables import INSNS

    clash = (name in _RESERVED or name.lower() in INSNS or re.fullmatch(r"[cCxX]\d+", name)
             or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name))
    return f"{name}_layer" if clash else name


def compile_model(q: QModel, inputs, name="net", cores=None, age_ms=0, balance=True,
                  replicate=1, mem_size=None) -> Compiled:
    """Compile a QModel with a batch of input rows (N × n_rows, from QModel.encode) into a
    program that loops over the batch: per sample every layer runs its segment cores at once,
    the vector unit adds the partial sums and applies ReLU/requantise; the last layer's i16
    outputs go to `out` (N × n_out) and their argmax to `pred` (N bytes).  With `balance`
    every core also gets zero-input rows that equalise its column totals (balance_rows).
    A conv layer loops over its output positions: the vector unit copies each position's patch
    out of the input feature map (im2col on the chip) into the segment input buffers, the cores
    run, the requantised channels go to the layer's feature map `<name>_fmap` (u8, y, x, c);
    a max-pool is `vpmax.u8` passes over the feature map.
    `replicate` = R > 1 places R copies of the network on otherwise idle cores (data parallelism):
    each loop iteration runs R samples, one per replica, whose scans and MVMs overlap; the batch
    is padded with zero rows to a multiple of R (the padding's results are ignored).  Dense-only
    models.  Programs that would not fit the instruction set (an addi offset beyond ±32767, a
    vector beyond 65535 elements) or the data memory (`mem_size`, default the chip
    configuration's) are refused with a MapError naming the layer."""
    inputs = np.ascontiguousarray(inputs, np.uint8)
    n = inputs.shape[0]
    L0 = q.layers[0]
    if inputs.ndim != 2 or inputs.shape[1] != q.rows_in:
        raise MapError(f"inputs must be N × {q.rows_in} codes (QModel.encode), got {inputs.shape}")
    if n == 0:
        raise MapError("the batch is empty: give at least one input")
    R = int(replicate)
    clash = [L.name for L in q.layers if re.match(r"r\d+_", L.name)]
    if R > 1 and clash:
        raise MapError(f"replicate={R}: layer name {clash[0]!r} looks like a replica's prefix (r<k>_); rename it")
    spatial = any(not type(L) is QDense for L in q.layers)
    if spatial and R != 1:
        raise MapError(f"replicate={R}: data-parallel replication is for dense-only models "
                       "(a conv layer's position loop runs on one set of cores)")
    slots = place(q, cores, R) if R != 1 else place(q, cores)
    n_run = n
    if R > 1 and n % R:
        n_run = n + (R - n % R)
        inputs = np.concatenate([inputs, np.zeros((n_run - n, inputs.shape[1]), np.uint8)])
    nm = lambda r, lab: lab if r == 0 else f"r{r}_{lab}"     # replica r's buffer labels
    rsl = lambda k, r: [s for s in slots if s.layer == k and s.replica == r]
    pads = balance_rows(q, slots) if balance else {}
    padn = lambda k, si: pads.get((k, si), (0, {}))[0]
    last = q.layers[-1]
    nout = last.n_out
    # the input rows: a first dense layer's segments, each followed by its balancing rows'
    # zeros; a first conv / pool layer reads the image codes as they are
    xoff, parts, o = [], [], 0
    if type(L0) is QDense:
        for si, (r0, nr) in enumerate(L0.segments):
            xoff.append(o)
            parts += [inputs[:, r0:r0 + nr], np.zeros((n_run, padn(0, si)), np.uint8)]
            o += nr + padn(0, si)
    else:
        parts, o = [inputs], inputs.shape[1]
    xrow = o
    data = {f"{name}_x.npy": np.ascontiguousarray(np.concatenate(parts, 1))}
    A = []                         # assembly lines
    cm = core_map_text(q, slots)
    what = ("bias inputs and balancing zeros included" if type(L0) is QDense
            else "image codes, y, x, c")
    A += [f"# {name}.s — generated by the NR48 mapper (emulator.mapper); edit freely.",
          "#", f"# {_describe(q)}, batch of {n} inputs (x: {n} × {xrow} u8 codes, {what}).",
          "# Results: out (N × %d i16 logits), pred (N u8 argmax)." % nout,
          "#", "# Core map:"] + ["#   " + l for l in cm.splitlines()] + ["#"]
    if R > 1:
        A += [f"# Data-parallel: {R} replicas of the network; each loop iteration runs samples "
              f"i … i+{R - 1}, one per replica", f"# (batch padded to {n_run}); their scans and "
              "MVMs overlap.  Replica r's buffers are prefixed r<r>_.", "#"]
    for k, L in enumerate(q.layers):
        if isinstance(L, QGap):
            H, W, C = L.in_shape
            A.append(f"# {L.name}: global average pool of the {H}×{W}×{C} codes → {C} ({L.name}_fmap): "
                     f"i16 sums over the positions, vsra {L.shift}")
            continue
        if isinstance(L, QPool):
            (H, W, C), (Ho, Wo, _) = L.in_shape, L.out_shape
            A.append(f"# {L.name}: {L.size}×{L.size} max-pool of the {H}×{W}×{C} codes → {Ho}×{Wo}×{C} "
                     f"({L.name}_fmap), vpmax.u8 over x pairs then y pairs")
            continue
        if isinstance(L, QConv):
            (H, W, C), (Ho, Wo, Co) = L.in_shape, L.out_shape
            A.append(f"# {L.name}: conv {L.kh}×{L.kw}, stride {L.stride}, padding {L.pad}, over the {H}×{W}×{C} "
                     f"codes → {Ho}×{Wo}×{Co} ({L.name}_fmap); per output position the vector unit "
                     f"copies the {L.kh}×{L.kw}×{C} patch (im2col) into the segment inputs; then as a dense layer:")
        A.append(f"# {L.name}: {L.n_in} inputs + {L.n_bias} bias rows (inputs {L.bias_input}) → "
                 f"{L.n_out} outputs; {L.in_bits}-bit unsigned inputs; neuron y = round({L.gain}·acc"
                 f"/2^{L.gshift}) per segment" + (f" and copy (×{L.rep}, summed)" if L.rep > 1 else "") + "; "
                 + (f"ReLU, vsra {L.part_shift + L.rep_shift}, clip to {L.out_bits} bits" if L.out_bits != 16
                    else "logits summed as i16"))
        if L.residual is not None:
            A.append(f"#   + residual: {q.layers[L.residual].name} output codes × {L.res_mul}/2^{L.res_shift} "
                     f"added {'before the ReLU' if L.residual_at == 'pre' else 'after ReLU/vsra, before the clip'}"
                     " (saturating vadd.i16)")
    if pads:
        A += ["#", "# Balancing rows: each core's weights are followed by rows whose input is always 0 and",
              "# whose codes bring every column's Σ|code| up to the core's largest, so all output lines",
              "# have the same total conductance and voltage-mode sensing gives every column the same",
              "# gain (docs/mapper.md).  They change nothing in the ideal model."]
    A += ["", f"        .equ N, {n_run}", f"        .equ XROW, {xrow}", f"        .equ NOUT, {nout}"]
    if R > 1:
        A.append(f"        .equ R, {R}")
    A += ["", "        .data"]
    A.append(f"x:      .npy \"{name}_x.npy\", u8")
    for k, L in enumerate(q.layers):
        if not has_weights(L):
            continue
        # one .npy per layer: the core blocks in slot order, each row-major (weights, then pads)
        A.append(layer_weights(data, name, k, L, rsl(k, 0), pads))
    A.append("        .align 2")

    def in_buffers(k, r, src):
        """Layer k's segment input buffers: activation bytes, bias inputs, balancing zeros."""
        L, B = q.layers[k], []
        for si, (r0, nr) in enumerate(L.segments):
            na = max(0, min(r0 + nr, L.n_in) - r0)
            bias = [L.bias_input[i - L.n_in] for i in range(max(r0, L.n_in), r0 + nr)]
            B.append(f"{nm(r, L.name)}_in{si}: .zero {na}         # {L.name} segment {si} inputs: "
                     f"{src} {r0}…{r0 + na - 1} (u8) …")
            if bias:
                B.append(f"        .byte {', '.join(map(str, bias))}   # … bias inputs")
            if padn(k, si):
                B.append(f"        .zero {padn(k, si)}   # … zeros for the balancing rows")
        return B + ["        .align 2"]

    if isinstance(L0, QConv):
        A += in_buffers(0, 0, f"{L0.name} patch rows")
    for r in range(R):
      for k, L in enumerate(q.layers):
        if isinstance(L, QGap):
            A += [f"{L.name}_acc: .zero {2 * L.n_out}     # {L.name} channel sums (i16)",
                  f"{L.name}_cv: .zero {2 * L.n_out}      # one position's codes as i16",
                  f"{L.name}_fmap: .zero {L.n_out}     # {L.name} output codes"]
        if isinstance(L, (QConv, QPool)):
            if isinstance(L, QConv) and L.pad:
                Hp, Wp, C = L.padded_shape
                A.append(f"{L.name}_src: .zero {Hp * Wp * C}     # {L.name} input, zero padded to {Hp}×{Wp}×{C}")
            if isinstance(L, QPool):
                for i, (d, _, cnt, dst) in enumerate(_pool_passes(L)[:-1]):
                    A.append(f"{dst}: .zero {cnt}    # pooling pass {i + 1} (max over {d} pairs)")
            A += [f"{L.name}_fmap: .zero {int(np.prod(L.out_shape))}     # {L.name} output codes ({'×'.join(map(str, L.out_shape))}, y, x, c)",
                  "        .align 2"]
        if has_weights(L):
            for s in rsl(k, r):
                A.append(f"{nm(r, L.name)}_p{s.seg}_{s.blk}: .zero {2 * s.cols * s.rep}       # core {s.core} partials (i16)"
                         + (f", {s.rep} copies" if s.rep > 1 else ""))
            A.append(f"{nm(r, L.name)}_sum: .zero {2 * L.n_out}")
            if L.residual is not None:
                A.append(f"{nm(r, L.name)}_res: .zero {2 * L.n_out}   # scaled residual (i16)")
        if k < len(q.layers) - 1 and has_weights(q.layers[k + 1]):
            nxt = q.layers[k + 1]
            src = (f"{nxt.name} patch rows" if isinstance(nxt, QConv) else
                   f"{L.name} output codes" if type(L) is QDense else f"{L.name}_fmap")
            A += in_buffers(k + 1, r, src)
    A += [f"out:    .zero N * NOUT * 2", "pred:   .zero N", "", "        .text", "_start:"]
    allc = [s.core for s in slots]
    A += [f"        li      x1, {_mask(allc)}", "        cpon    x1                  # the used cores; the rest stay off",
          "program:                            # one-time work: configure and program every layer's cores"]
    for r in range(R):
     for k, L in enumerate(q.layers):
        if not has_weights(L):
            continue
        A.append(f"        # ---- {L.name}: configure and program its cores" + (f" (replica {r})" if R > 1 else ""))
        o = 0
        for s in rsl(k, r):
            P = padn(k, s.seg)
            A += [f"        li      x1, 1 << {s.core}      # {L.name} segment {s.seg} (rows {s.row0}…"
                  f"{s.row0 + s.rows - 1}{f' + {P} balancing rows' if P else ''}), columns "
                  f"{s.col0}…{s.col0 + s.cols - 1}" + (f" ×{s.rep} copies" if s.rep > 1 else ""),
                  f"        ccfg.nrows x1, {s.rows + P}", f"        ccfg.ncols x1, {s.cols * s.rep}",
                  f"        ccfg.inbits x1, {L.in_bits}", "        ccfg.insigned x1, 0",
                  f"        ccfg.gain x1, {L.gain}", f"        ccfg.gshift x1, {L.gshift}",
                  f"        la      x2, {L.name}_w + {o}", f"        cprog   c{s.core}, x2"]
            o += (s.rows + P) * s.cols * s.rep
    A += ["        sync    x0                  # programming done (cprog is asynchronous): its wait is one-time work"]
    if age_ms:
        A += [f"        li      x1, {int(age_ms)}", "        cage    x1                  # let the programmed "
              f"conductances relax for {age_ms / 1000:g} s before inference"]
    A += ["        la      x10, x               # x10: this sample's input rows",
          "        la      x11, out             # x11: this sample's logits",
          "        la      x12, pred", "        li      x13, N" + (" / R" if R > 1 else ""),
          "loop:   addi    x13, x13, -1        # the inference loop; each layer below has its own label"]
    stage = {k: _stage_label(L.name) for k, L in enumerate(q.layers)}

    def residual(L, r):
        src = q.layers[L.residual]
        if isinstance(L, QConv):
            # the source's codes at this output position: same offset in its (equal-shaped) fmap
            return [f"        # + residual: {src.name} codes at this position × {L.res_mul} / 2^{L.res_shift}",
                    f"        la      x7, {L.name}_fmap", "        sub     x7, x1, x7",
                    f"        la      x8, {src.name}_fmap", "        add     x7, x7, x8",
                    f"        la      x8, {L.name}_res", "        vcvt.i16.u8 x8, x7",
                    f"        li      x9, {L.res_mul}", "        vmuls.i16 x8, x8, x9",
                    f"        vsra.i16 x8, x8, {L.res_shift}", "        vadd.i16 x6, x6, x8    # saturating add"]
        return [f"        # + residual: {src.name} output codes × {L.res_mul} / 2^{L.res_shift}",
                f"        la      x7, {nm(r, src.name)}_sum", f"        li      x9, {L.res_mul}",
                f"        la      x8, {nm(r, L.name)}_res", "        vmuls.i16 x8, x7, x9",
                f"        vsra.i16 x8, x8, {L.res_shift}", "        vadd.i16 x6, x6, x8    # saturating add"]

    def scan_mvm(k, L):
        """Scan every segment's inputs in, one mvm.fwd over the layer's cores, scan partials out."""
        ls, B = [s for s in slots if s.layer == k], []
        for s in ls:
            if k == 0 and type(L) is QDense:
                off = xoff[s.seg] + s.replica * xrow
                B.append(f"        addi    x3, x10, {off}" if off else "        mv      x3, x10")
            else:
                B.append(f"        la      x3, {nm(s.replica, L.name)}_in{s.seg}")
            B.append(f"        hin.u8  c{s.core}, x3")
        B += [f"        li      x4, {_mask([s.core for s in ls])}", "        mvm.fwd x4"]
        for s in ls:
            B += [f"        la      x5, {nm(s.replica, L.name)}_p{s.seg}_{s.blk}", f"        vout.i16 c{s.core}, x5"]
        return B + ["        sync    x4"]

    def combine(k, L, r):
        """Sum the column copies and the segments' partials into <layer>_sum; leaves x6 on it."""
        Ln, B = nm(r, L.name), []
        for s in rsl(k, r):
            h = s.cols * s.rep
            while h > s.cols:          # sum the copies: add the upper half onto the lower half
                h //= 2
                B += [f"        setvli  {h}", f"        la      x5, {Ln}_p{s.seg}_{s.blk}",
                      f"        addi    x8, x5, {2 * h}", f"        vadd.i16 x5, x5, x8    # copies"]
        for bi, (c0, nc) in enumerate(L.colblocks):
            B += [f"        setvli  {nc}", f"        la      x6, {Ln}_sum + {2 * c0}",
                  f"        la      x7, {Ln}_p0_{bi}"]
            if len(L.segments) == 1:
                B.append("        vsra.i16 x6, x7, 0          # copy")
            for si in range(1, len(L.segments)):
                B += [f"        la      x8, {Ln}_p{si}_{bi}",
                      f"        vadd.i16 x6, {'x7' if si == 1 else 'x6'}, x8    # + segment {si}"]
        B += [f"        setvli  {L.n_out}", f"        la      x6, {Ln}_sum"]
        if L.residual is not None and L.residual_at == "pre":
            B += residual(L, r)
        return B

    def requant(L, r):
        B = ["        vrelu.i16 x6, x6", f"        vsra.i16 x6, x6, {L.part_shift + L.rep_shift}"]
        if L.residual is not None and L.residual_at == "post":
            B += residual(L, r)
        return B + [f"        vclipu.i16 x6, x6, {L.out_bits}"]

    def fmap_of(k):
        """Where layer k reads its (unpadded) input feature map / flat codes from."""
        return None if k == 0 else f"{q.layers[k - 1].name}_fmap"

    def la(reg, addr, comment=""):
        c = f"          # {comment}" if comment else ""
        return f"        mv      {reg}, x10{c}" if addr is None else f"        la      {reg}, {addr}{c}"

    def conv_stage(k, L):
        (H, W, C), (Hp, Wp, _), (Ho, Wo, Co) = L.in_shape, L.padded_shape, L.out_shape
        Ln, S = L.name, stage[k]
        B = [f"        # ---- {Ln}: conv {L.kh}×{L.kw} over {H}×{W}×{C} → {Ho}×{Wo}×{Co}, "
                         f"one output position at a time", f"{S}:"]
        base = fmap_of(k)
        if L.pad:
            B += [f"        setvli  {W * C}", la("x5", base, "input rows …"),
                  f"        la      x6, {Ln}_src + {(L.pad * Wp + L.pad) * C}", f"        li      x7, {H}",
                  f"{S}.pad:" + _copy_u8("x6", "x5", f"… into the interior of the padded {Hp}×{Wp} map")[7:],
                  f"        addi    x5, x5, {W * C}", f"        addi    x6, x6, {Wp * C}",
                  "        addi    x7, x7, -1", f"        bnez    x7, {S}.pad"]
            base = f"{Ln}_src"
        B += [la("x15", base, "x15: the patch's top-left input code"),
              f"        la      x1, {Ln}_fmap          # x1: this position's output channels",
              f"        li      x14, {Ho}                # x14: rows left", f"{S}.y:  li      x2, {Wo}     # x2: columns left",
              f"{S}.x:"]
        vl = None
        for dy in range(L.kh):         # im2col: patch row dy = kw·C consecutive input codes
            j0, off = dy * L.kw * C, dy * Wp * C
            for si, (r0, nr) in enumerate(L.segments):
                lo, hi = max(j0, r0), min(j0 + L.kw * C, r0 + nr, L.n_in)
                if lo >= hi:
                    continue
                if hi - lo != vl:
                    vl = hi - lo
                    B.append(f"        setvli  {vl}")
                B += [f"        addi    x5, x15, {off + lo - j0}", f"        la      x6, {Ln}_in{si} + {lo - r0}",
                      _copy_u8("x6", "x5", f"patch row {dy}" + (f" → segment {si}" if len(L.segments) > 1 else ""))]
        B += scan_mvm(k, L) + combine(k, L, 0) + requant(L, 0)
        B += ["        vcvt.u8.i16 x1, x6          # the position's channels → fmap",
              f"        addi    x1, x1, {Co}", f"        addi    x15, x15, {L.stride * C}",
              "        addi    x2, x2, -1", f"        bnez    x2, {S}.x",
              f"        addi    x15, x15, {(L.stride * Wp - Wo * L.stride) * C}",
              "        addi    x14, x14, -1", f"        bnez    x14, {S}.y"]
        return B

    def pool_stage(k, L):
        (H, W, C), s = L.in_shape, L.size
        B, src = [f"        # ---- {L.name}: {s}×{s} max-pool, {H}×{W}×{C} → {'×'.join(map(str, L.out_shape))}",
                  f"{stage[k]}:"], fmap_of(k)
        for d, g, cnt, dst in _pool_passes(L):
            B += [f"        setvli  {cnt}", la("x5", src), f"        la      x6, {dst}",
                  f"        li      x7, {g}", f"        vpmax.u8 x6, x5, x7          # max over {d} pairs"]
            src = dst
        return B

    def gap_stage(k, L):
        H, W, C = L.in_shape
        return [f"        # ---- {L.name}: global average pool over {H}×{W} positions",
                f"        setvli  {C}", f"        la      x6, {L.name}_acc", "        vfill.i16 x6, x0",
                la("x5", fmap_of(k), "the positions' codes"), f"        la      x8, {L.name}_cv",
                f"        li      x7, {H * W}",
                f"{L.name}_pos:", "        vcvt.i16.u8 x8, x5", "        vadd.i16 x6, x6, x8",
                f"        addi    x5, x5, {C}", "        addi    x7, x7, -1", f"        bnez    x7, {L.name}_pos",
                f"        vsra.i16 x6, x6, {L.shift}", f"        la      x7, {L.name}_fmap",
                "        vcvt.u8.i16 x7, x6          # the mean codes"]

    for k, L in enumerate(q.layers):
        if isinstance(L, QGap):
            A += gap_stage(k, L)
            continue
        if isinstance(L, QPool):
            A += pool_stage(k, L)
            continue
        if isinstance(L, QConv):
            A += conv_stage(k, L)
            continue
        A += [f"        # ---- {L.name}" + (f" (all {R} replicas)" if R > 1 else ""), f"{stage[k]}:"]
        if k > 0 and type(q.layers[k - 1]) is not QDense:          # flat feature map → segment inputs
            for si, (r0, nr) in enumerate(L.segments):
                na = max(0, min(r0 + nr, L.n_in) - r0)
                if na:
                    A += [f"        setvli  {na}", f"        la      x5, {fmap_of(k)} + {r0}",
                          f"        la      x6, {L.name}_in{si}", _copy_u8("x6", "x5", f"codes {r0}…{r0 + na - 1}")]
        A += scan_mvm(k, L)
        for r in range(R):
          Ln = nm(r, L.name)
          if R > 1:
              A.append(f"        # {L.name}, replica {r}: sample i+{r}")
          A += combine(k, L, r)
          if k < len(q.layers) - 1:
            nxt = q.layers[k + 1]
            A += requant(L, r)
            for si, (r0, nr) in enumerate(nxt.segments):
                na = max(0, min(r0 + nr, nxt.n_in) - r0)
                if not na:
                    continue
                if len(nxt.segments) > 1:
                    A += [f"        setvli  {na}", f"        la      x6, {Ln}_sum + {2 * r0}"]
                A += [f"        la      x7, {nm(r, nxt.name)}_in{si}", "        vcvt.u8.i16 x7, x6"]
          elif r == 0:
            A += ["        vsra.i16 x11, x6, 0          # logits → out[i]", "        vargmax.i16 x9, x6",
                  "        sb      x9, 0(x12)"]
          else:
            A += [f"        addi    x14, x11, {r} * NOUT * 2",
                  f"        vsra.i16 x14, x6, 0          # logits → out[i+{r}]", "        vargmax.i16 x9, x6",
                  f"        sb      x9, {r}(x12)"]
    A.append("loop.next:                          # next sample (the loop's own overhead)")
    if R > 1:
        A += ["        addi    x10, x10, R * XROW", "        addi    x11, x11, R * NOUT * 2",
              "        addi    x12, x12, R"]
    else:
        A += ["        addi    x10, x10, XROW", "        addi    x11, x11, NOUT * 2", "        addi    x12, x12, 1"]
    A += ["        bnez    x13, loop", "        sync    x0", "        halt", ""]
    _check_limits(A, {"XROW": xrow, "NOUT": nout, "R": R, "N": n_run},
                  sum(a.nbytes for a in data.values()), mem_size)
    return Compiled(name, "\n".join(A), data, slots, q, n, cm, {"pads": {f"{k}": v[0] for k, v in pads.items()}})


def run_compiled(c: Compiled, path, model="ideal", seed=0, config=None, age_s=None):
    """Write, assemble and run a compiled program; returns (logits N × n_out, preds, RunResult);
    the result's `per_inference` holds energy, latency and TOPS/W per sample, programming excluded."""
    from dataclasses import replace

    from emulator.machine import Machine

    p = c.write(path)
    m = Machine(model=model, seed=seed, config=config)
    m.load(p)
    m.enable_profile()
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{p}: run stopped: {r}")
    r = replace(r, per_inference=m.profile_report(inferences=c.n)["per_inference"])
    nout = c.n_out
    out = m.mem(m.sym("out"), c.n * nout, "i16").reshape(c.n, nout)
    pred = m.mem(m.sym("pred"), c.n, "u8")
    return out.astype(np.int64), pred.astype(np.int64), r


def measure_cycles(c: Compiled, path, model="ideal", seed=0, config=None) -> dict:
    """Run a compiled program and split its cycles: `setup` = until every core has finished
    programming (the chip's single programmer serialises cprog, so replicas cost setup time),
    `inference` = the batch loop after that, `total`.  Returns those plus the RunResult as `run`."""
    from emulator.machine import Machine

    p = c.write(path)
    m = Machine(model=model, seed=seed, config=config)
    m.load(p)
    loop = m.sym("loop")
    while m.pc != loop:
        r = m.step()
        if r.stop == "fault" or m.halted:
            raise RuntimeError(f"{p}: stopped before the batch loop: {r}")
    setup = max([m.cycle] + [m.cores[s.core].busy_until for s in c.slots])
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{p}: run stopped: {r}")
    return {"total": r.cycles, "setup": setup, "inference": r.cycles - setup, "run": r}
