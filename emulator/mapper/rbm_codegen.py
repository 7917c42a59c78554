"""Code generation of the RBM image recovery (emulator.mapper.rbm): `compile_rbm` turns a
quantised RBM and a batch of corrupted images into an NR48 program, on one core (single layout)
or over visible and hidden cores (split layout); rbm.py describes both and the sampling."""
from __future__ import annotations

import numpy as np

from .codegen import CORE_ORDER, N_CORES, Compiled, Slot, _mask, core_map_text
from .model import MAX_COLS, MapError, is_int, is_real
from .rbm import AGE_MAX, ORIGIN, QRBM, Sampler, _check_images, _check_steps, sampler


def _cores(core, need: int) -> list:
    if is_int(core):
        order = [core] + [c for c in CORE_ORDER if c != core]
    else:
        try:
            order = list(core)
        except TypeError:
            raise MapError(f"core must be a core id 0…{N_CORES - 1} or a list of them, got {core!r}") from None
    if len(set(order)) != len(order) or any(not is_int(c) or not 0 <= c < N_CORES for c in order):
        raise MapError(f"cores must be distinct ids 0…{N_CORES - 1}, got {order}")
    if len(order) < need:
        raise MapError(f"the RBM needs {need} cores but only {len(order)} were given")
    return [int(c) for c in order[:need]]


def compile_rbm(q: QRBM, corrupted, known=None, steps=16, keep=8, name="rbm", age_ms=0, core=0,
                temperature=None, evidence=None, origin=ORIGIN, batched=False, chunk=None) -> Compiled:
    """Compile the Gibbs-sampling recovery of N corrupted binary images (N × n_v) into a program.
    `known` (N × n_v bool): pixels known to be right — they stay clamped, the others are
    resampled; None: corruption positions unknown, every pixel is resampled from the corrupted
    image on, with evidence columns of code λ (`evidence`, default EVIDENCE, in pre-activation
    units) at `temperature` (default 1 with known positions, UNKNOWN_TEMPERATURE without).
    Result: `count` (N × (n_v+1) u8, the first n_v of each row) counts the last `keep` of
    `steps` visible samples; pixel = count > keep/2 (`recover`).  `core`: the (first) core, or a
    list of cores; the split layout takes the next ones in codegen's cheapest-scan order.
    `origin` names the generator in the header's first line.  `batched`: the chains of all images
    as batches (emulator/mapper/rbm_batch.py, single layout: one bsmp per half-step over a chunk
    of up to `chunk` images), with `count` identical to the per-image loop's on both models."""
    C, known = _check_images(q, corrupted, known)
    if len(C) == 0:
        raise MapError(f"{q.name}: the batch is empty: give at least one input (image)")
    _check_steps(name, steps, keep)
    if not (is_real(age_ms) and 0 <= age_ms <= AGE_MAX):
        raise MapError(f"{name}: age_ms must be a number of milliseconds 0 … {AGE_MAX}, got {age_ms!r}")
    smp = sampler(q, known is not None, temperature, evidence)
    nv, nh = q.n_v, q.n_h
    ev_cols = nv if q.layout == "single" else max(n for _, n in q.vsegs)
    if smp.evidence_code and nh + 1 + ev_cols > MAX_COLS:
        raise MapError(f"{name}: the evidence columns do not fit: {nh} hidden units + 1 bias column + "
                       f"{ev_cols} evidence columns (one per visible unit on the core) = "
                       f"{nh + 1 + ev_cols} > {MAX_COLS}; use evidence=0 (plain resampling) or fewer units")
    cores = _cores(core, q.n_cores)
    if batched:
        from .rbm_batch import single_batched

        if q.layout != "single":
            raise MapError(f"{name}: the batched RBM program has the single layout only (n_v + 1 ≤ 128); "
                           f"this RBM has the {q.layout} layout — compile it without batched")
        asm, data, slots = single_batched(q, C, known, smp, steps, keep, name, age_ms, cores, origin, chunk)
    else:
        gen = _single if q.layout == "single" else _split
        asm, data, slots = gen(q, C, known, smp, steps, keep, name, age_ms, cores, origin)
    extra = {"n_out": nv, "result": "count", "row": nv + 1, "keep": keep, "steps": steps,
             "known_positions": known is not None, "layout": q.layout, "noise": smp.noise << smp.gshift,
             "temperature": smp.temperature, "evidence": smp.evidence, "evidence_code": smp.evidence_code}
    return Compiled(name, asm, data, slots, q, len(C), core_map_text(q, slots), extra)


def _image_data(name, C, known, smp):
    """Per-image data: x (corrupted image + bias 1), then clamp/free (known positions) or the
    evidence inputs ±1 (unknown positions, with evidence)."""
    n = len(C)
    data = {f"{name}_x.npy": np.concatenate([C, np.ones((n, 1), np.int64)], 1).astype(np.uint8)}
    if known is not None:
        data[f"{name}_clamp.npy"] = np.concatenate([C * known, np.ones((n, 1), np.int64)], 1).astype(np.uint8)
        data[f"{name}_free.npy"] = np.concatenate([~known, np.zeros((n, 1), bool)], 1).astype(np.uint8)
    elif smp.evidence_code:
        data[f"{name}_ev.npy"] = (2 * C - 1).astype(np.int8)
    return data


def _evidence_text(smp: Sampler, cols: str) -> list:
    return [f"# Evidence columns ({cols}) hold λ = {smp.evidence_code} codes on the diagonal (row i, its own",
            f"# column; λ = {smp.evidence:.3g} in float activation units) and are driven by 2·c − 1 = ±1 of the",
            "# corrupted pixel c, so the backward sample of pixel i gets + λ·(2c − 1): the posterior of a",
            "# pixel-flip corruption."]


def _single(q, C, known, smp, steps, keep, name, age_ms, cores, origin):
    """One core, smp.fwd + smp.bwd on the same array.  With known positions and T = 1 this is
    exactly the workload's program (programs/rbm_recover.s)."""
    nv, nh, n, c = q.n_v, q.n_h, len(C), cores[0]
    lam = smp.evidence_code
    w = q.codes
    if lam:      # evidence columns: column HC + i holds λ on row i (the diagonal)
        w = np.concatenate([w, np.zeros((nv + 1, nv), np.int8)], 1)
        w[np.arange(nv), nh + 1 + np.arange(nv)] = lam
    data = {f"{name}_w.npy": w, **_image_data(name, C, known, smp)}
    R = smp.noise if not smp.gshift else f"{smp.noise}·2^{smp.gshift}"
    slots = [Slot(c, 0, q.name, 0, 0, 0, nv + 1, 0, w.shape[1])]
    if known is not None:
        per_image = ["# Per image: start from the corrupted image, STEPS Gibbs steps; after each backward sample the",
                     "# known pixels (and the bias input) are clamped back by the vector unit",
                     f"# (v = v·free + clamp); the last KEEP visible samples are counted in `count` (N × {nv} u8);",
                     "# the recovered pixel is count > KEEP/2."]
    else:
        per_image = ["# Corruption positions unknown: per image, start from the corrupted image and resample every",
                     "# pixel for STEPS Gibbs steps (the bias input is set back to 1 after each backward sample)."]
        if lam:
            per_image += _evidence_text(smp, f"{nh + 1}…{nh + nv}, column HC + i for pixel i") + [
                "# smp.fwd runs on the window of columns 0…HC−1 only, smp.bwd on all WC columns."]
        per_image += [f"# The last KEEP visible samples are counted in `count` (N × VR u8, pixels 0…{nv - 1}); the",
                      "# recovered pixel is count > KEEP/2."]
    A = [f"# {name}.s — RBM image recovery by Gibbs sampling on one core ({origin}).",
         "#",
         f"# Core {c} holds the RBM: rows 0…{nv - 1} the visible pixels, row {nv} the hidden biases (visible input",
         f"# clamped to 1), columns 0…{nh - 1} the hidden units, column {nh} the visible biases (hidden input",
         "# clamped to 1).  smp.fwd samples the hidden units from the visible ones (H → V), smp.bwd the",
         "# visible pixels from the hidden ones (V → H) — both directions on the same array.  Stochastic",
         f"# units: 1 if acc + u > 0, u uniform in [−{R}, {R}] (P = hard sigmoid of the float activation)."]
    if smp.temperature != 1:
        A.append(f"# Temperature {smp.temperature:g}: the noise amplitude is {smp.temperature:g} × {q.R} (sharper units).")
    A += per_image + [f"# Run:  neurram run programs/{name}.s --model analog --seed 1 --dump count", "",
                      f"        .equ N, {n}", f"        .equ STEPS, {steps}", f"        .equ KEEP, {keep}",
                      f"        .equ VR, {nv + 1}", f"        .equ HC, {nh + 1}"]
    if lam:
        A += [f"        .equ NV, {nv}", "        .equ WC, HC + NV"]
    A += ["", "        .data", f"w:      .npy \"{name}_w.npy\", i8"] + _data_decl(name, known, lam)
    A += ["vbuf:   .zero VR", "hbuf:   .zero WC                      # hidden samples, bias input 1, evidence ±1"
          if lam else "hbuf:   .zero HC", "count:  .zero N * VR", "", "        .text",
          f"_start: li      x1, {1 << c}", "        cpon    x1", "        ccfg.nrows x1, VR",
          "        ccfg.ncols x1, WC" if lam else "        ccfg.ncols x1, HC",
          "        ccfg.inbits x1, 1             # 0/1 inputs both ways" + (" (±1 evidence)" if lam else ""),
          f"        ccfg.noise x1, {smp.noise}"]
    if smp.gshift:
        A.append(f"        ccfg.gshift x1, {smp.gshift}            # noise ±{smp.noise}·2^{smp.gshift}")
    A += ["        la      x2, w", f"        cprog   c{c}, x2"]
    A += _age(age_ms) + _pointers(known, lam)
    A += [f"image:  hin.u8  c{c}, x10               # H ← the corrupted image"]
    if lam:
        A += ["        setvli  NV", "        la      x3, hbuf + HC",
              "        vmov.i8 x3, x11               # this image's evidence inputs → hbuf[HC…]"]
    A.append("        li      x15, STEPS")
    if lam:
        A += ["step:   ccfg.ncols x1, HC             # forward window: hidden units and bias column",
              "        smp.fwd x1                    # hidden units ~ P(h | v), into V"]
    else:
        A.append("step:   smp.fwd x1                    # hidden units ~ P(h | v), into V")
    A += ["        la      x3, hbuf", f"        vout.u8 c{c}, x3", "        sync    x1", "        li      x4, 1",
          f"        sb      x4, {nh}(x3)           # the bias column's input is always 1"]
    if lam:
        A += ["        ccfg.ncols x1, WC             # backward window: + the evidence columns",
              f"        vin.i8  c{c}, x3"]
    else:
        A.append(f"        vin.u8  c{c}, x3")
    A += ["        smp.bwd x1                    # visible pixels ~ P(v | h), into H",
          "        la      x5, vbuf", f"        hout.u8 c{c}, x5", "        sync    x1"]
    if known is not None:
        A += ["        setvli  VR", "        vmul.u8 x5, x5, x12           # keep the resampled pixels …",
              "        vadd.u8 x5, x5, x11           # … and clamp the known ones and the bias input",
              f"        hin.u8  c{c}, x5"]
    else:
        A += [f"        sb      x4, {nv}(x5)           # the bias input back to 1; every pixel is resampled",
              f"        hin.u8  c{c}, x5", "        setvli  VR"]
    A += _count_tail(known, lam)
    return "\n".join(A) + "\n", data, slots


def _age(age_ms):
    if not age_ms:
        return []
    return ["        sync    x0                    # programming done (cprog is asynchronous) …",
            f"        li      x7, {int(age_ms)}",
            f"        cage    x7                    # let the conductances relax for {age_ms / 1000:g} s"]


def _data_decl(name, known, lam) -> list:
    """The per-image data's declarations (after the weights)."""
    A = [f"x:      .npy \"{name}_x.npy\", u8       # corrupted images + bias input 1 (N × VR)"]
    if known is not None:
        return A + [f"clamp:  .npy \"{name}_clamp.npy\", u8   # known pixels (0 where resampled), bias 1",
                    f"free:   .npy \"{name}_free.npy\", u8    # 1 where the pixel is resampled"]
    return A + ([f"ev:     .npy \"{name}_ev.npy\", i8      # evidence inputs 2·c − 1 (N × NV)"] if lam else [])


def _pointers(known, lam) -> list:
    """x10: this image's row of x, x11/x12: of clamp/free (or x11 of ev), x13: of count, x14: images left."""
    A = ["        la      x10, x"]
    if known is not None:
        A += ["        la      x11, clamp", "        la      x12, free"]
    elif lam:
        A.append("        la      x11, ev")
    return A + ["        la      x13, count", "        li      x14, N"]


def _count_tail(known, lam):
    """Count the last KEEP samples (VL = VR, the visible vector at x5) and step the loops."""
    A = ["        li      x6, KEEP", "        blt     x6, x15, skip         # count only the last KEEP samples",
         "        vadd.u8 x13, x13, x5", "skip:   addi    x15, x15, -1", "        bnez    x15, step",
         "        addi    x10, x10, VR"]
    if known is not None:
        A += ["        addi    x11, x11, VR", "        addi    x12, x12, VR"]
    elif lam:
        A.append("        addi    x11, x11, NV")
    return A + ["        addi    x13, x13, VR", "        addi    x14, x14, -1", "        bnez    x14, image",
                "        sync    x0", "        halt"]


def _split(q, C, known, smp, steps, keep, name, age_ms, cores, origin):
    """Visible cores (row segments of the visible units × hidden units + bias [+ evidence]) and
    hidden cores (row segments of the hidden units × visible units + bias, the transposed
    copy), every sample a whole smp.bwd sum on one core."""
    nv, nh, n = q.n_v, q.n_h, len(C)
    lam = smp.evidence_code
    kv = len(q.vsegs)
    vc, hc = cores[:kv], cores[kv:]
    blocks_v, blocks_h, slots = [], [], []
    for k, (r0, nr) in enumerate(q.vsegs):
        b = q.codes[r0:r0 + nr, :]                       # visible rows × (hidden + bias column)
        if lam:
            b = np.concatenate([b, (np.eye(nr, dtype=np.int64) * lam).astype(np.int8)], 1)
        blocks_v.append(np.ascontiguousarray(b))
        slots.append(Slot(vc[k], 0, "vis", k, 0, r0, nr, 0, b.shape[1]))
    Mt = np.ascontiguousarray(q.codes.T)                 # (hidden + bias row) × (visible + bias column)
    for k, (h0, nr) in enumerate(q.hsegs):
        blocks_h.append(Mt[h0:h0 + nr, :])
        slots.append(Slot(hc[k], 1, "hid", k, 0, h0, nr, 0, nv + 1))
    data = {f"{name}_wv.npy": np.concatenate([b.ravel() for b in blocks_v]).astype(np.int8),
            f"{name}_wh.npy": np.concatenate([b.ravel() for b in blocks_h]).astype(np.int8),
            **_image_data(name, C, known, smp)}
    cm = core_map_text(q, slots)
    u = f"{smp.noise}" if not smp.gshift else f"{smp.noise}·2^{smp.gshift}"
    A = [f"# {name}.s — RBM image recovery by Gibbs sampling on {len(cores)} cores ({origin}).",
         "#",
         f"# {nv} visible × {nh} hidden units, split layout: smp samples only a core's own sum, so every",
         "# sample here is a whole backward sum (over a core's ≤ 256 columns) on one core — which lets the",
         "# visible layer exceed one core's 128 logical rows — and the weights are stored twice:",
         f"#   vis cores: row segments of the visible units × columns 0…{nh - 1} the hidden units, column {nh}",
         "#     the visible biases (hidden input 1)" + (", then one evidence column per row" if lam else "")
         + "; smp.bwd samples their visible units;",
         f"#   hid cores: the transposed copy — row segments of the hidden units × columns 0…{nv - 1} the",
         f"#     visible units, column {nv} the hidden biases (visible input 1); smp.bwd samples the hidden units.",
         f"# Stochastic units: 1 if acc + u > 0, u uniform in [−{u}, {u}] (P = hard sigmoid of the float",
         "# activation" + (f"; temperature {smp.temperature:g}: the noise amplitude is "
                           f"{smp.temperature:g} × {q.R})." if smp.temperature != 1 else ").")]
    if known is not None:
        A += ["# Per image: vbuf ← the corrupted image, STEPS Gibbs steps; after each visible sample the known",
              "# pixels (and the bias input) are clamped back by the vector unit (v = v·free + clamp)."]
    else:
        A += ["# Corruption positions unknown: per image vbuf ← the corrupted image, then every pixel is",
              "# resampled for STEPS Gibbs steps."]
        if lam:
            A += _evidence_text(smp, f"columns {nh + 1}… of each vis core") + [
                "# A vis core's V input is v<k>in: the hidden samples, bias 1, its pixels' evidence inputs."]
    A += [f"# The last KEEP visible samples are counted in `count` (N × VR u8, pixels 0…{nv - 1}); the",
          "# recovered pixel is count > KEEP/2.",
          "#", "# Core map:"] + ["#   " + ln if ln else "#" for ln in cm.splitlines()] + [
          "#", f"# Run:  neurram run programs/{name}.s --model analog --seed 1 --dump count", "",
          f"        .equ N, {n}", f"        .equ STEPS, {steps}", f"        .equ KEEP, {keep}",
          f"        .equ NV, {nv}", f"        .equ VR, {nv + 1}", f"        .equ HC, {nh + 1}", "",
          "        .data",
          f"wv:     .npy \"{name}_wv.npy\", i8     # the vis cores' blocks, row-major, in core-map order",
          f"wh:     .npy \"{name}_wh.npy\", i8     # the hid cores' blocks"] + _data_decl(name, known, lam)
    A += ["vbuf:   .zero VR                      # visible samples + bias input 1 (the hid cores' V input)",
          "hbuf:   .zero HC                      # hidden samples + bias input 1 (the vis cores' V input)"]
    if lam:
        A += [f"v{k}in:   .zero HC + {nr}                # vis core {vc[k]}: hidden samples, bias 1, evidence of pixels "
              f"{r0}…{r0 + nr - 1}" for k, (r0, nr) in enumerate(q.vsegs)]
    A += ["count:  .zero N * VR", "", "        .text", "_start:",
          f"        li      x1, {_mask(cores)}", "        cpon    x1"]
    off = 0
    for k, (r0, nr) in enumerate(q.vsegs):
        A += [f"        li      x1, 1 << {vc[k]}      # vis {k}: visible units {r0}…{r0 + nr - 1}",
              f"        ccfg.nrows x1, {nr}", f"        ccfg.ncols x1, {blocks_v[k].shape[1]}"]
        A += _core_cfg(smp, bool(lam)) + [f"        la      x2, wv + {off}", f"        cprog   c{vc[k]}, x2"]
        off += blocks_v[k].size
    off = 0
    for k, (h0, nr) in enumerate(q.hsegs):
        A += [f"        li      x1, 1 << {hc[k]}      # hid {k}: hidden units {h0}…{h0 + nr - 1}",
              f"        ccfg.nrows x1, {nr}", "        ccfg.ncols x1, VR"]
        A += _core_cfg(smp) + [f"        la      x2, wh + {off}", f"        cprog   c{hc[k]}, x2"]
        off += blocks_h[k].size
    A += _age(age_ms)
    A += [f"        li      x8, {_mask(hc)}   # the hid cores", f"        li      x9, {_mask(vc)}   # the vis cores",
          "        li      x4, 1"] + _pointers(known, lam)
    A += ["image:  setvli  VR", "        la      x5, vbuf", "        vmov.u8 x5, x10               # vbuf ← the corrupted image"]
    if lam:
        for k, (r0, nr) in enumerate(q.vsegs):
            A += [f"        setvli  {nr}", f"        la      x3, v{k}in + HC", f"        addi    x7, x11, {r0}",
                  f"        vmov.i8 x3, x7                # this image's evidence of pixels {r0}…{r0 + nr - 1}"]
    A.append("        li      x15, STEPS")
    A.append("step:   la      x5, vbuf")
    for k in range(len(q.hsegs)):
        A.append(f"        vin.u8  c{hc[k]}, x5")
    A.append("        smp.bwd x8                    # hidden units ~ P(h | v), into the hid cores' H")
    for k, (h0, nr) in enumerate(q.hsegs):
        A += [f"        la      x3, hbuf + {h0}", f"        hout.u8 c{hc[k]}, x3"]
    A += ["        sync    x8", "        la      x3, hbuf",
          f"        sb      x4, {nh}(x3)           # the bias column's input is always 1"]
    for k in range(kv):
        if lam:
            A += ["        setvli  HC", f"        la      x7, v{k}in", "        vmov.u8 x7, x3                # hidden samples + bias",
                  f"        vin.i8  c{vc[k]}, x7"]
        else:
            A.append(f"        vin.u8  c{vc[k]}, x3")
    A.append("        smp.bwd x9                    # visible pixels ~ P(v | h), into the vis cores' H")
    for k, (r0, nr) in enumerate(q.vsegs):
        A += [f"        la      x3, vbuf + {r0}", f"        hout.u8 c{vc[k]}, x3"]
    A += ["        sync    x9", "        setvli  VR"]
    if known is not None:
        A += ["        vmul.u8 x5, x5, x12           # keep the resampled pixels …",
              "        vadd.u8 x5, x5, x11           # … and clamp the known ones and the bias input"]
    A += _count_tail(known, lam)
    return "\n".join(A) + "\n", data, slots


def _core_cfg(smp: Sampler, evidence=False) -> list:
    A = ["        ccfg.inbits x1, 1             # 0/1 inputs" + (" (±1 evidence)" if evidence else ""),
         f"        ccfg.noise x1, {smp.noise}"]
    if smp.gshift:
        A.append(f"        ccfg.gshift x1, {smp.gshift}")
    return A
