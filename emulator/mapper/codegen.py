"""Placement of a QModel on the 48 cores, code generation (readable NR48 assembly + .npy data)
and the core map."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .model import MAX_COLS, MAX_ROWS, MapError, QModel

N_CORES = 48
# scan cost by chain position (H shifts 1,3,5,6,4,2): cheapest positions first, chains interleaved
POS_ORDER = (0, 5, 1, 4, 2, 3)
CORE_ORDER = [chain * 6 + pos for pos in POS_ORDER for chain in range(8)]


@dataclass
class Slot:
    core: int
    layer: int
    name: str
    seg: int
    blk: int
    row0: int
    rows: int
    col0: int
    cols: int
    rep: int = 1                    # the core holds `rep` copies of these columns side by side
    replica: int = 0                # data-parallel replica of the whole network (compile_model replicate)

    @property
    def utilisation(self):
        return self.rows * self.cols * self.rep / (MAX_ROWS * MAX_COLS)


def place(q: QModel, cores=None, replicate=1) -> list[Slot]:
    """One core per (layer, row segment, column block); refuses models that need > 48 cores.
    With `replicate` = R the whole network is placed R times on distinct cores (replica r takes
    the next cores in the cheapest-scan order, so the replicas' cores sit on different chains
    where possible)."""
    order = list(cores) if cores is not None else CORE_ORDER
    need = [(k, L) for k, L in enumerate(q.layers)]
    total = sum(len(L.segments) * len(L.colblocks) for _, L in need)
    if replicate < 1:
        raise MapError(f"replicate must be ≥ 1, got {replicate}")
    if total > len(order):
        per = ", ".join(f"{L.name}: {len(L.segments)}×{len(L.colblocks)}" for _, L in need)
        raise MapError(f"the model needs {total} cores ({per} segments × column blocks) "
                       f"but only {len(order)} are available; shrink or prune the model")
    if total * replicate > len(order):
        raise MapError(f"replicate={replicate} needs {replicate} × {total} = {total * replicate} cores "
                       f"but only {len(order)} are available; at most {len(order) // total} "
                       f"replicas of this model fit")
    slots, it = [], iter(order)
    for r in range(replicate):
        for k, L in need:
            for si, (r0, nr) in enumerate(L.segments):
                for bi, (c0, nc) in enumerate(L.colblocks):
                    slots.append(Slot(next(it), k, L.name, si, bi, r0, nr, c0, nc, L.rep, r))
    return slots


def core_map_text(q: QModel, slots: list[Slot]) -> str:
    nrep = 1 + max((s.replica for s in slots), default=0)
    lines = ["core chain pos  layer    seg blk   rows        cols        copies  util"
             + ("  replica" if nrep > 1 else "")]
    for s in sorted(slots, key=lambda s: s.core):
        lines.append(f"{s.core:4d} {s.core // 6:5d} {s.core % 6:3d}  {s.name:<8s} {s.seg:3d} {s.blk:3d}"
                     f"   {s.row0:3d}+{s.rows:<4d}    {s.col0:3d}+{s.cols:<4d}    ×{s.rep:<3d}"
                     f"  {100 * s.utilisation:5.1f} %" + (f"  {s.replica:7d}" if nrep > 1 else ""))
    used = len(slots)
    cells = sum(s.rows * s.cols * s.rep for s in slots)
    lines.append(f"{used} of {N_CORES} cores used ({N_CORES - used} left powered off); "
                 f"{cells} weights, {100 * cells / (used * MAX_ROWS * MAX_COLS):.1f} % of the "
                 f"used cores' capacity")
    grid = []
    for chain in range(8):
        row = []
        for pos in range(6):
            c = chain * 6 + pos
            s = next((s for s in slots if s.core == c), None)
            lab = (s.name if not s.replica else f"{s.name[:3]}r{s.replica}") if s else ""
            row.append(f"{lab[:5]:>5s}" if s else "    .")
        grid.append(f"chain {chain}: " + " ".join(row))
    return "\n".join(lines + [""] + grid)


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


PAD_CODE = 112      # largest |code| of a balancing row (the weight code range)


def balance_rows(q: QModel, slots: list[Slot]) -> dict:
    """Column-total balancing rows (docs/mapper.md): voltage-mode sensing divides each output
    line by its total conductance Σ(G⁺+G⁻) and references the gain to the window's mean total,
    so columns whose |codes| sum to less than the mean come out too large and vice versa
    (docs/analog.md).  Rows with input 0 add conductance to a column's total without adding to
    its sum, so every core gets rows below its weights that bring each column's Σ|code| up to
    the core's largest: then all columns have the same total and the per-column gain error is
    gone.  Returns {(layer, seg): (P, {blk: P × cols int8 codes})}; P rows per segment (the
    same for every column block of a segment, ≤ 128 − rows)."""
    out = {}
    for k, L in enumerate(q.layers):
        for si, (r0, nr) in enumerate(L.segments):
            need, deficits = 0, {}
            for bi, (c0, nc) in enumerate(L.colblocks):
                tot = np.abs(L.codes[r0:r0 + nr, c0:c0 + nc].astype(np.int64)).sum(0)
                tot = np.tile(tot, L.rep)
                d = tot.max() - tot
                deficits[bi] = d
                need = max(need, int(-(-d.max() // PAD_CODE)))
            P = min(need, MAX_ROWS - nr)
            if P <= 0:
                continue
            blocks = {}
            for bi, d in deficits.items():
                d = np.minimum(d, P * PAD_CODE)          # partial balance when rows run out
                base, rem = d // P, d % P
                pad = np.tile(base, (P, 1)) + (np.arange(P)[:, None] < rem[None, :])
                blocks[bi] = pad.astype(np.int8)
            out[(k, si)] = (P, blocks)
    return out


def compile_model(q: QModel, inputs, name="net", cores=None, age_ms=0, balance=True,
                  replicate=1) -> Compiled:
    """Compile a QModel with a batch of input rows (N × n_rows, from QModel.encode) into a
    program that loops over the batch: per sample every layer runs its segment cores at once,
    the vector unit adds the partial sums and applies ReLU/requantise; the last layer's i16
    outputs go to `out` (N × n_out) and their argmax to `pred` (N bytes).  With `balance`
    every core also gets zero-input rows that equalise its column totals (balance_rows).
    `replicate` = R > 1 places R copies of the network on otherwise idle cores (data parallelism):
    each loop iteration runs R samples, one per replica, whose scans and MVMs overlap; the batch
    is padded with zero rows to a multiple of R (the padding's results are ignored)."""
    inputs = np.ascontiguousarray(inputs, np.uint8)
    n = inputs.shape[0]
    L0 = q.layers[0]
    if inputs.ndim != 2 or inputs.shape[1] != L0.n_rows:
        raise MapError(f"inputs must be N × {L0.n_rows} codes (QModel.encode), got {inputs.shape}")
    R = int(replicate)
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
    # the first layer's input rows: each segment's rows followed by its balancing rows' zeros
    xoff, parts, o = [], [], 0
    for si, (r0, nr) in enumerate(L0.segments):
        xoff.append(o)
        parts += [inputs[:, r0:r0 + nr], np.zeros((n_run, padn(0, si)), np.uint8)]
        o += nr + padn(0, si)
    xrow = o
    data = {f"{name}_x.npy": np.ascontiguousarray(np.concatenate(parts, 1))}
    A = []                         # assembly lines
    cm = core_map_text(q, slots)
    A += [f"# {name}.s — generated by the NR48 mapper (emulator.mapper); edit freely.",
          "#", f"# {len(q.layers)} dense layers, batch of {n} inputs (x: {n} × {xrow} u8 codes, "
          "bias inputs and balancing zeros included).",
          "# Results: out (N × %d i16 logits), pred (N u8 argmax)." % nout,
          "#", "# Core map:"] + ["#   " + l for l in cm.splitlines()] + ["#"]
    if R > 1:
        A += [f"# Data-parallel: {R} replicas of the network; each loop iteration runs samples "
              f"i … i+{R - 1}, one per replica", f"# (batch padded to {n_run}); their scans and "
              "MVMs overlap.  Replica r's buffers are prefixed r<r>_.", "#"]
    for k, L in enumerate(q.layers):
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
        # one .npy per layer: the core blocks in slot order, each row-major (weights, then pads)
        blocks = []
        for s in rsl(k, 0):
            blk = np.tile(L.codes[s.row0:s.row0 + s.rows, s.col0:s.col0 + s.cols], (1, s.rep))
            if (k, s.seg) in pads:
                blk = np.concatenate([blk, pads[(k, s.seg)][1][s.blk]])
            blocks.append(np.ascontiguousarray(blk).ravel())
        data[f"{name}_{L.name}_w.npy"] = np.concatenate(blocks).astype(np.int8)
        A.append(f"{L.name}_w: .npy \"{name}_{L.name}_w.npy\", i8")
    A.append("        .align 2")
    for r in range(R):
      for k, L in enumerate(q.layers):
        for s in rsl(k, r):
            A.append(f"{nm(r, L.name)}_p{s.seg}_{s.blk}: .zero {2 * s.cols * s.rep}       # core {s.core} partials (i16)"
                     + (f", {s.rep} copies" if s.rep > 1 else ""))
        A.append(f"{nm(r, L.name)}_sum: .zero {2 * L.n_out}")
        if L.residual is not None:
            A.append(f"{nm(r, L.name)}_res: .zero {2 * L.n_out}   # scaled residual (i16)")
        if k < len(q.layers) - 1:
            nxt = q.layers[k + 1]
            for si, (r0, nr) in enumerate(nxt.segments):
                na = max(0, min(r0 + nr, nxt.n_in) - r0)
                bias = [nxt.bias_input[i - nxt.n_in] for i in range(max(r0, nxt.n_in), r0 + nr)]
                A.append(f"{nm(r, nxt.name)}_in{si}: .zero {na}         # {nxt.name} segment {si} inputs: "
                         f"{L.name} output codes {r0}…{r0 + na - 1} (u8) …")
                if bias:
                    A.append(f"        .byte {', '.join(map(str, bias))}   # … bias inputs")
                if padn(k + 1, si):
                    A.append(f"        .zero {padn(k + 1, si)}   # … zeros for the balancing rows")
            A.append("        .align 2")
    A += [f"out:    .zero N * NOUT * 2", "pred:   .zero N", "", "        .text", "_start:"]
    allc = [s.core for s in slots]
    A += [f"        li      x1, {_mask(allc)}", "        cpon    x1                  # the used cores; the rest stay off"]
    for r in range(R):
     for k, L in enumerate(q.layers):
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
    if age_ms:
        A += ["        sync    x0                  # programming done (cprog is asynchronous) …",
              f"        li      x1, {int(age_ms)}", "        cage    x1                  # let the programmed "
              f"conductances relax for {age_ms / 1000:g} s before inference"]
    A += ["        la      x10, x               # x10: this sample's input rows",
          "        la      x11, out             # x11: this sample's logits",
          "        la      x12, pred", "        li      x13, N" + (" / R" if R > 1 else ""), "loop:"]

    def residual(L, r):
        src = q.layers[L.residual]
        return [f"        # + residual: {src.name} output codes × {L.res_mul} / 2^{L.res_shift}",
                f"        la      x7, {nm(r, src.name)}_sum", f"        li      x9, {L.res_mul}",
                f"        la      x8, {nm(r, L.name)}_res", "        vmuls.i16 x8, x7, x9",
                f"        vsra.i16 x8, x8, {L.res_shift}", "        vadd.i16 x6, x6, x8    # saturating add"]

    for k, L in enumerate(q.layers):
        ls = [s for s in slots if s.layer == k]
        A.append(f"        # ---- {L.name}" + (f" (all {R} replicas)" if R > 1 else ""))
        for s in ls:
            if k == 0:
                off = xoff[s.seg] + s.replica * xrow
                A.append(f"        addi    x3, x10, {off}" if off else "        mv      x3, x10")
            else:
                A.append(f"        la      x3, {nm(s.replica, L.name)}_in{s.seg}")
            A.append(f"        hin.u8  c{s.core}, x3")
        A += [f"        li      x4, {_mask([s.core for s in ls])}", "        mvm.fwd x4"]
        for s in ls:
            A += [f"        la      x5, {nm(s.replica, L.name)}_p{s.seg}_{s.blk}", f"        vout.i16 c{s.core}, x5"]
        A.append("        sync    x4")
        for r in range(R):
          Ln = nm(r, L.name)
          if R > 1:
              A.append(f"        # {L.name}, replica {r}: sample i+{r}")
          for s in rsl(k, r):
            h = s.cols * s.rep
            while h > s.cols:          # sum the copies: add the upper half onto the lower half
                h //= 2
                A += [f"        setvli  {h}", f"        la      x5, {Ln}_p{s.seg}_{s.blk}",
                      f"        addi    x8, x5, {2 * h}", f"        vadd.i16 x5, x5, x8    # copies"]
          for bi, (c0, nc) in enumerate(L.colblocks):
            A += [f"        setvli  {nc}", f"        la      x6, {Ln}_sum + {2 * c0}",
                  f"        la      x7, {Ln}_p0_{bi}"]
            if len(L.segments) == 1:
                A.append("        vsra.i16 x6, x7, 0          # copy")
            for si in range(1, len(L.segments)):
                A += [f"        la      x8, {Ln}_p{si}_{bi}",
                      f"        vadd.i16 x6, {'x7' if si == 1 else 'x6'}, x8    # + segment {si}"]
          A.append(f"        setvli  {L.n_out}")
          A.append(f"        la      x6, {Ln}_sum")
          if L.residual is not None and L.residual_at == "pre":
            A += residual(L, r)
          if k < len(q.layers) - 1:
            nxt = q.layers[k + 1]
            A += ["        vrelu.i16 x6, x6", f"        vsra.i16 x6, x6, {L.part_shift + L.rep_shift}"]
            if L.residual is not None and L.residual_at == "post":
                A += residual(L, r)
            A += [f"        vclipu.i16 x6, x6, {L.out_bits}"]
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
    if R > 1:
        A += ["        addi    x10, x10, R * XROW", "        addi    x11, x11, R * NOUT * 2",
              "        addi    x12, x12, R"]
    else:
        A += ["        addi    x10, x10, XROW", "        addi    x11, x11, NOUT * 2", "        addi    x12, x12, 1"]
    A += ["        addi    x13, x13, -1", "        bnez    x13, loop", "        sync    x0", "        halt", ""]
    return Compiled(name, "\n".join(A), data, slots, q, n, cm, {"pads": {f"{k}": v[0] for k, v in pads.items()}})


def run_compiled(c: Compiled, path, model="ideal", seed=0, config=None, age_s=None):
    """Write, assemble and run a compiled program; returns (logits N × n_out, preds, RunResult)."""
    from emulator.machine import Machine

    p = c.write(path)
    m = Machine(model=model, seed=seed, config=config)
    m.load(p)
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{p}: run stopped: {r}")
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
