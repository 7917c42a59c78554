"""An LSTM layer for the mapper: `Model([LSTM(…), Dense(…, relu=False)])`, the four gates' MVMs on
chip cores, the gate nonlinearities and the cell update on the vector unit (docs/mapper.md).

Float model (gate order i, f, g, o as PyTorch; the ONNX importer reorders ONNX's i, o, f, c):

    z_t = x_t·Wx + h_(t−1)·Wh + b          (4·n_h: i, f, g, o)
    c_t = σ(f)·c_(t−1) + σ(i)·tanh(g);  h_t = σ(o)·tanh(c_t);  logits = h_T·W + b

Quantised (`quantise_lstm`): every core input is a *signed* code (the cores run insigned = 1):
the step's inputs x_t (±(2^in_bits − 1), x = in_scale · code) and the hidden state
(h = code / (2^act_bits − 1), |h| < 1), then the bias inputs.  The gate matrix
[Wx·in_scale; Wh/hq; bias] is split into row segments of ≤ 128 and column blocks of ≤ 256, one
core each, as a dense layer (docs/mapper.md); each core reports signed 8-bit partials of z in
units of 2^−F (F chosen from the calibration data), the vector unit adds segments and column
copies into i16 and then, per step:

    i, f, o = vsigm(z, F + log2 copies), g = vtanh(…)        Q14 (16384 = 1)
    c ← sat16((f·c) >> 14 + (i·g) >> 17)                     int16 cell state, Q11 (2048 = 1)
    h14 = (o · vtanh(c, 11)) >> 14;  code = (h14 · hq) >> 14  (shifts round half up)

in i32 (every product fits), and writes the codes back into the cores' input buffers.  The readout
(h_T → logits) has its own cores.  `reference` is the numpy integer reference of exactly this.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codegen import CORE_ORDER, Compiled, Slot, core_map_text, pad_rows
from .model import MAX_COLS, MAX_ROWS, Dense, MapError, Model, _round_shift, copies_for, finite_array, \
    is_int, is_real, quantise_weights, split_even
from .rnn import CODE_SCALE, LOGIT_LSB, PART_MAX, _bias_hi, _bias_rows, _check_bias, _gain, _layer_name

Q14 = 14                # gate outputs: 16384 = 1
C_FRAC = 11             # cell state: 2048 = 1 (|c| < 16 in int16)
SIGM_KNOTS = np.round(16384 / (1 + np.exp(-np.arange(33) / 4))).astype(np.int64)
TANH_KNOTS = np.round(16384 * np.tanh(np.arange(33) / 8)).astype(np.int64)


def _pwl(x, frac: int, step: int, knots) -> np.ndarray:
    a = np.abs(np.asarray(x, np.int64))
    sh = step + 16 - frac
    pos = a << sh if sh >= 0 else (a >> -sh if -sh < 64 else a * 0)
    k = np.minimum(pos >> 16, 32)
    k1 = np.minimum(k + 1, 32)
    y = knots[k] + (((knots[k1] - knots[k]) * (pos & 0xFFFF) + 0x8000) >> 16)
    return np.where(pos >> 16 >= 32, knots[32], y)


def vsigm(x, frac: int) -> np.ndarray:
    """The vsigm instruction on int values x (x / 2^frac): σ in Q14, bit-exact with csrc/vector.c."""
    y = _pwl(x, frac, 2, SIGM_KNOTS)
    return np.where(np.asarray(x) < 0, 16384 - y, y)


def vtanh(x, frac: int) -> np.ndarray:
    """The vtanh instruction: tanh(x / 2^frac) in Q14, bit-exact with csrc/vector.c."""
    y = _pwl(x, frac, 3, TANH_KNOTS)
    return np.where(np.asarray(x) < 0, -y, y)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


@dataclass
class LSTM:
    Wx: np.ndarray                  # n_x × 4·n_h float, gates i, f, g, o
    Wh: np.ndarray                  # n_h × 4·n_h float
    b: np.ndarray | None            # 4·n_h float, or None
    steps: int                      # T
    name: str = ""

    @property
    def n_x(self) -> int:
        return np.shape(self.Wx)[0]

    @property
    def n_h(self) -> int:
        return np.shape(self.Wh)[0]

    def run(self, x):
        """(h_T, [z_1 … z_T]) for inputs x (N × T·n_x, step-major); z are the gate pre-activations."""
        x = np.asarray(x, float)
        nx, nh = self.n_x, self.n_h
        h, c, zs = np.zeros((len(x), nh)), np.zeros((len(x), nh)), []
        for t in range(self.steps):
            z = x[:, t * nx:(t + 1) * nx] @ self.Wx + h @ self.Wh + (0 if self.b is None else self.b)
            zs.append(z)
            i, f, g, o = (z[:, k * nh:(k + 1) * nh] for k in range(4))
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        return h, zs

    def forward(self, x):
        return self.run(x)[0]


@dataclass
class QMVM:
    """A signed-input MVM split over cores: rows (inputs, then bias rows) in segments, columns in
    blocks with `rep` copies; each core's partial is clip(round(gain·acc/2^gshift), ±127)."""
    name: str
    codes: np.ndarray               # rows × cols int8 (inputs then bias rows)
    n_in: int
    bias_input: list
    gain: int = 1
    gshift: int = 0
    segments: list = field(default_factory=list)
    colblocks: list = field(default_factory=list)
    rep: int = 1
    pads: dict = field(default_factory=dict)        # segment → P (balancing rows)

    @property
    def n_rows(self) -> int:
        return self.codes.shape[0]

    @property
    def n_out(self) -> int:
        return self.codes.shape[1]

    def block(self, si: int, bi: int) -> np.ndarray:
        """The codes programmed into core (si, bi): its rows × (cols × rep), then balancing rows."""
        (r0, nr), (c0, nc) = self.segments[si], self.colblocks[bi]
        blk = np.tile(self.codes[r0:r0 + nr, c0:c0 + nc], (1, self.rep))
        P = self.pads.get(si, 0)
        return np.concatenate([blk, pad_rows(blk, P)]).astype(np.int8) if P else blk.astype(np.int8)

    def ref(self, u) -> np.ndarray:
        """Summed partials (N × n_out int64) for input rows u (N × n_rows, bias constants included)."""
        total = 0
        W = self.codes.astype(float)
        for r0, nr in self.segments:
            acc = np.rint(u[:, r0:r0 + nr].astype(float) @ W[r0:r0 + nr]).astype(np.int64)
            total = total + self.rep * np.clip(_round_shift(self.gain * acc, self.gshift), -PART_MAX, PART_MAX)
        return total


def _mvm(name, M, b, hi, copies, balance) -> tuple[QMVM, float]:
    """Quantise the float matrix M (rows = one input code each) and bias b into a QMVM without its
    gain; returns it and the weight scale s_w (one level)."""
    lev, s_w = quantise_weights(M)
    B = np.round(b / s_w)
    _check_bias(name, b, B, hi, s_w)
    br, _, bias_in = _bias_rows(B, np.zeros(0), hi)
    codes = (np.concatenate([lev, br]) * CODE_SCALE).astype(np.int8)
    rep = copies_for(codes.shape[1], copies)
    q = QMVM(name, codes, M.shape[0], bias_in, segments=split_even(len(codes), MAX_ROWS),
             colblocks=split_even(codes.shape[1], MAX_COLS // rep), rep=rep)
    if balance:
        for si, (r0, nr) in enumerate(q.segments):
            need = 0
            for c0, nc in q.colblocks:
                tot = np.tile(np.abs(codes[r0:r0 + nr, c0:c0 + nc].astype(np.int64)).sum(0), rep)
                need = max(need, int(-(-int((tot.max() - tot).max()) // 112)))
            if min(need, MAX_ROWS - nr) > 0:
                q.pads[si] = min(need, MAX_ROWS - nr)
    return q, s_w


@dataclass
class QLSTMModel:
    name: str
    out_name: str
    n_x: int
    n_h: int
    steps: int
    in_scale: float
    in_bits: int                    # magnitude bits of the signed input codes
    act_bits: int                   # magnitude bits of the signed hidden codes
    gates: QMVM                     # [x; h; bias] → z (4·n_h)
    readout: QMVM                   # [h; bias] → logits
    zfrac: int                      # partials are z in units of 2^−zfrac
    s_y: float = 1.0                # float value of one logit LSB (per copy)

    @property
    def hq(self) -> int:
        return 2**self.act_bits - 1

    @property
    def core_bits(self) -> int:
        return max(self.in_bits, self.act_bits) + 1

    @property
    def n_out(self) -> int:
        return self.readout.n_out

    @property
    def in_width(self) -> int:
        return self.steps * self.n_x

    @property
    def gfrac(self) -> int:
        """Fractional bits of the summed gate pre-activations (the copies add log2 rep)."""
        return self.zfrac + self.gates.rep.bit_length() - 1

    def encode(self, X) -> np.ndarray:
        """Float inputs (N × T·n_x, step-major) → signed input codes (N × T·n_x, int8)."""
        X = finite_array(X, self.name, "the inputs")
        if X.ndim != 2 or X.shape[1] != self.in_width:
            raise MapError(f"{self.name}: inputs must be N × {self.in_width} (T = {self.steps} steps "
                           f"× {self.n_x} inputs), got {X.shape}")
        m = 2**self.in_bits - 1
        return np.clip(np.round(X / self.in_scale), -m, m).astype(np.int8)

    def cells(self) -> list:
        """(kind, si, bi) of every core: the gate cores, then the readout cores."""
        return ([("gates", si, bi) for si in range(len(self.gates.segments))
                 for bi in range(len(self.gates.colblocks))] +
                [("readout", si, bi) for si in range(len(self.readout.segments))
                 for bi in range(len(self.readout.colblocks))])


def step_reference(q: QLSTMModel, zsum, c):
    """One step of the vector unit's cell update: summed i16 gate partials → (h codes, c)."""
    nh, fr = q.n_h, q.gfrac
    z = np.clip(zsum, -32768, 32767)
    i, f, o = (vsigm(z[:, k * nh:(k + 1) * nh], fr) for k in (0, 1, 3))
    g = vtanh(z[:, 2 * nh:3 * nh], fr)
    c = np.clip(_round_shift(f * c, Q14) + _round_shift(i * g, 2 * Q14 - C_FRAC), -32768, 32767)
    h14 = _round_shift(o * vtanh(c, C_FRAC), Q14)
    return _round_shift(h14 * q.hq, Q14), c


def hidden_reference(q: QLSTMModel, codes) -> tuple[np.ndarray, list]:
    """h_T codes (N × n_h int64) and the summed gate partials of every step."""
    codes = np.asarray(codes, np.int64)
    n = len(codes)
    x = codes.reshape(n, q.steps, q.n_x)
    const = np.tile(np.array(q.gates.bias_input, np.int64), (n, 1))
    h = np.zeros((n, q.n_h), np.int64)
    c = np.zeros((n, q.n_h), np.int64)
    zs = []
    for t in range(q.steps):
        z = q.gates.ref(np.concatenate([x[:, t], h, const], 1))
        zs.append(z)
        h, c = step_reference(q, z, c)
    return h, zs


def reference(q: QLSTMModel, codes) -> np.ndarray:
    """The numpy integer reference of compile_lstm's program on the ideal model: N × n_out logits."""
    h, _ = hidden_reference(q, codes)
    const = np.tile(np.array(q.readout.bias_input, np.int64), (len(h), 1))
    return np.clip(q.readout.ref(np.concatenate([h, const], 1)), -32768, 32767)


def _check_model(model) -> tuple[LSTM, Dense]:
    layers = list(getattr(model, "layers", []))
    if len(layers) != 2 or not isinstance(layers[0], LSTM) or not isinstance(layers[1], Dense):
        kinds = ", ".join(type(L).__name__ for L in layers)
        raise MapError(f"the LSTM mapper takes Model([LSTM, Dense]) (one LSTM layer and its readout); "
                       f"got [{kinds}]")
    cell, ro = layers
    nm = _layer_name(cell.name, "lstm", "the LSTM layer")
    rn = _layer_name(ro.name, "readout", "the readout (Dense)")
    Wx, Wh = finite_array(cell.Wx, nm, "Wx"), finite_array(cell.Wh, nm, "Wh")
    if Wx.ndim != 2 or Wh.ndim != 2 or Wh.shape[1] != 4 * Wh.shape[0] or Wx.shape[1] != Wh.shape[1] \
            or min(Wx.shape) < 1:
        raise MapError(f"{nm}: Wx must be n_x × 4·n_h and Wh n_h × 4·n_h (gates i, f, g, o); "
                       f"got Wx {Wx.shape}, Wh {Wh.shape}")
    if cell.b is not None and finite_array(cell.b, nm, "b").shape != (Wh.shape[1],):
        raise MapError(f"{nm}: b must have 4·n_h = {Wh.shape[1]} entries, got shape {np.shape(cell.b)}")
    if not is_int(cell.steps) or cell.steps < 1:
        raise MapError(f"{nm}: steps must be an integer ≥ 1, got {cell.steps!r}")
    W = finite_array(ro.W, rn, "W")
    if W.ndim != 2 or W.shape[0] != Wh.shape[0] or W.shape[1] < 1:
        raise MapError(f"{rn}: the readout's W must be n_h × n_out = {Wh.shape[0]} × …, got {W.shape}")
    if ro.b is not None and finite_array(ro.b, rn, "b").shape != (W.shape[1],):
        raise MapError(f"{rn}: b must have n_out = {W.shape[1]} entries, got shape {np.shape(ro.b)}")
    if ro.relu or ro.residual is not None:
        raise MapError(f"{rn}: the readout must be a plain Dense with relu=False (its outputs are the logits)")
    if not (is_real(model.in_scale) and np.isfinite(model.in_scale) and model.in_scale > 0):
        raise MapError(f"{nm}: in_scale must be a finite number > 0, got {model.in_scale!r}")
    for what, v in (("in_bits", model.in_bits), ("act_bits", model.act_bits)):
        if not is_int(v) or not 1 <= v <= 7:
            raise MapError(f"{nm}: {what} must be 1 … 7, an integer (magnitude bits of the cores' signed "
                           f"input codes), got {v!r}")
    return cell, ro


def quantise_lstm(model: Model, X_calib, copies=1, balance=True, pct=99.9) -> QLSTMModel:
    """Quantise Model([LSTM, Dense(relu=False)]), calibrating on X_calib (float, N × T·n_x): the
    gate partials' unit 2^−F is the largest with the `pct` percentile of |z| (float, all steps and
    gates) inside ±127 units; the logit scale puts the largest calibration logit at ≈ 100 LSB per
    copy (as quantise).  `copies`: column copies per core where they fit.  Raises MapError."""
    cell, ro = _check_model(model)
    nm, rn = cell.name or "lstm", ro.name or "readout"
    n_x, n_h, T = cell.n_x, cell.n_h, int(cell.steps)
    X = finite_array(X_calib, nm, "the calibration inputs")
    if X.ndim != 2 or X.shape[1] != T * n_x or len(X) < 1:
        raise MapError(f"{nm}: calibration inputs must be N × {T * n_x} (T = {T} steps × {n_x} inputs, "
                       f"N ≥ 1), got {X.shape}")
    if not is_int(copies) or copies < 1:
        raise MapError(f"{nm}: copies must be a whole number ≥ 1, got {copies!r}")
    hq = 2**model.act_bits - 1
    mx = 2**model.in_bits - 1
    hi = _bias_hi(max(model.in_bits, model.act_bits) + 1)
    xq = np.clip(np.round(X / model.in_scale), -mx, mx) * model.in_scale
    with np.errstate(over="ignore", invalid="ignore"):
        zs = np.abs(np.stack(cell.run(xq)[1]))
        Mg = np.concatenate([np.asarray(cell.Wx, float) * model.in_scale, np.asarray(cell.Wh, float) / hq])
    if not (np.isfinite(zs).all() and np.isfinite(Mg).all()):
        raise MapError(f"{nm}: the gate pre-activations overflow on the calibration inputs; rescale the layer")
    zmax = float(np.percentile(zs, pct)) or float(zs.max()) or 1.0
    zfrac = int(np.clip(np.floor(np.log2(PART_MAX / zmax)), 0, 12))
    bg = np.zeros(4 * n_h) if cell.b is None else np.asarray(cell.b, float)
    gates, s_w = _mvm(nm, Mg, bg, hi, copies, balance)
    gates.gain, gates.gshift = _gain(s_w / CODE_SCALE * 2**zfrac, nm, "gate neuron")
    Mo = np.asarray(ro.W, float) / hq
    bo = np.zeros(Mo.shape[1]) if ro.b is None else np.asarray(ro.b, float)
    readout, s_o = _mvm(rn, Mo, bo, hi, copies, balance)
    q = QLSTMModel(nm, rn, n_x, n_h, T, float(model.in_scale), model.in_bits, model.act_bits,
                   gates, readout, zfrac)
    ncores = len(q.cells())
    if ncores > len(CORE_ORDER):
        raise MapError(f"{nm}: the LSTM needs {ncores} cores ({len(gates.segments)} row segments × "
                       f"{len(gates.colblocks)} column blocks for the gates, {ncores - len(gates.segments) * len(gates.colblocks)} "
                       f"for the readout) but the chip has {len(CORE_ORDER)}; use fewer hidden units")
    h, _ = hidden_reference(q, q.encode(xq))
    unit = s_o / CODE_SCALE
    u = np.concatenate([h, np.tile(np.array(readout.bias_input, np.int64), (len(h), 1))], 1)
    logits = (u.astype(float) @ readout.codes.astype(float)) * unit
    q.s_y = float(np.max(np.abs(logits))) / LOGIT_LSB
    if not q.s_y >= unit / 32767:
        q.s_y = unit
    readout.gain, readout.gshift = _gain(unit / q.s_y, rn, "readout neuron")
    return q


# -------------------------------------------------------------------------------------- codegen

def slots(q: QLSTMModel) -> list[Slot]:
    """One core per (gate segment, column block), then per readout (segment, block), in the
    cheapest-scan order."""
    out = []
    for k, (kind, si, bi) in enumerate(q.cells()):
        L = q.gates if kind == "gates" else q.readout
        (r0, nr), (c0, nc) = L.segments[si], L.colblocks[bi]
        out.append(Slot(CORE_ORDER[k], 0 if kind == "gates" else 1, L.name, si, bi, r0, nr, c0, nc, L.rep))
    return out


def _ins(text: str, comment: str = "") -> str:
    return f"        {text:<30s}# {comment}" if comment else f"        {text}"


def _in_buffers(L: QMVM, what: str) -> list:
    """Each segment's input buffer: its input codes (i8), the bias constants, balancing zeros."""
    B = []
    for si, (r0, nr) in enumerate(L.segments):
        na = max(0, min(r0 + nr, L.n_in) - r0)
        bias = [L.bias_input[i - L.n_in] for i in range(max(r0, L.n_in), r0 + nr)]
        B.append(f"{L.name}_in{si}: .zero {na}       # {L.name} segment {si}: {what} rows {r0}…{r0 + na - 1} …")
        if bias:
            B.append(f"        .byte {', '.join(map(str, bias))}   # … bias inputs")
        if L.pads.get(si):
            B.append(f"        .zero {L.pads[si]}   # … zeros for the balancing rows")
    return B


def _pieces(L: QMVM, lo: int, hi: int):
    """(segment, first input row, count) of the input rows lo … hi−1 in L's segment buffers."""
    for si, (r0, nr) in enumerate(L.segments):
        a, b = max(lo, r0), min(hi, r0 + nr)
        if a < b:
            yield si, a, b - a


def _run_cores(L: QMVM, sl: list) -> list:
    """hin every core of L, one mvm.fwd, vout the partials, sync; then add copies and segments
    into <name>_sum (i16), leaving x6 on it."""
    B = []
    for s in sl:
        B += [_ins(f"la      x3, {L.name}_in{s.seg}"), _ins(f"hin.i8  c{s.core}, x3")]
    B += [_ins(f"li      x4, {' | '.join(f'(1 << {s.core})' for s in sl)}"), _ins("mvm.fwd x4")]
    for s in sl:
        B += [_ins(f"la      x5, {L.name}_p{s.seg}_{s.blk}"), _ins(f"vout.i16 c{s.core}, x5")]
    B.append(_ins("sync    x4"))
    for s in sl:
        h = s.cols * s.rep
        while h > s.cols:
            h //= 2
            B += [_ins(f"setvli  {h}"), _ins(f"la      x5, {L.name}_p{s.seg}_{s.blk}"),
                  _ins(f"addi    x8, x5, {2 * h}"), _ins("vadd.i16 x5, x5, x8", "add the upper copies")]
    for bi, (c0, nc) in enumerate(L.colblocks):
        B += [_ins(f"setvli  {nc}"), _ins(f"la      x6, {L.name}_sum + {2 * c0}"),
              _ins(f"la      x7, {L.name}_p0_{bi}")]
        if len(L.segments) == 1:
            B.append(_ins("vsra.i16 x6, x7, 0", "copy"))
        for si in range(1, len(L.segments)):
            B += [_ins(f"la      x8, {L.name}_p{si}_{bi}"),
                  _ins(f"vadd.i16 x6, {'x7' if si == 1 else 'x6'}, x8", f"+ segment {si}")]
    return B + [_ins(f"la      x6, {L.name}_sum")]


def _h_to(L: QMVM, first_row: int, n_h: int) -> list:
    """Convert the hidden codes (i32 at x2) into L's segment buffers at input rows first_row …"""
    B = []
    for si, a, cnt in _pieces(L, first_row, first_row + n_h):
        B += [_ins(f"setvli  {cnt}"), _ins(f"addi    x5, x2, {4 * (a - first_row)}"),
              _ins(f"la      x6, {L.name}_in{si} + {a - L.segments[si][0]}"),
              _ins("vcvt.i8.i32 x6, x5", f"hidden codes {a - first_row}…{a - first_row + cnt - 1}")]
    return B


def compile_lstm(q: QLSTMModel, codes, name="lstm", age_ms=0) -> Compiled:
    """Compile a quantised [LSTM, Dense] model with a batch of signed input codes (N × T·n_x, from
    QLSTMModel.encode): per sample and step the step's codes and the hidden codes are scanned into
    the gate cores, one mvm.fwd, the vector unit sums the partials and updates c and h; after the
    last step the readout cores give the logits `out` (N × n_out i16) and `pred` (N u8)."""
    codes = finite_array(codes, q.name, "the input codes")
    if codes.ndim != 2 or codes.shape[1] != q.in_width or len(codes) < 1:
        raise MapError(f"{q.name}: input codes must be N × {q.in_width} (QLSTMModel.encode, N ≥ 1), "
                       f"got {codes.shape}")
    m = 2**q.in_bits - 1
    if np.abs(codes).max() > m or np.any(codes != np.round(codes)):
        raise MapError(f"{q.name}: input codes must be whole numbers within ±{m} (QLSTMModel.encode)")
    if not (is_real(age_ms) and 0 <= age_ms < 2**63):
        raise MapError(f"{q.name}: age_ms must be a number of milliseconds ≥ 0, got {age_ms!r}")
    n, T, nx, nh, G, R = len(codes), q.steps, q.n_x, q.n_h, q.gates, q.readout
    sl = slots(q)
    gs, rs = [s for s in sl if s.layer == 0], [s for s in sl if s.layer == 1]
    cm = core_map_text(q, sl)
    data = {f"{name}_x.npy": np.ascontiguousarray(codes, np.int8)}
    for L, ss in ((G, gs), (R, rs)):
        data[f"{name}_{L.name}_w.npy"] = np.concatenate([L.block(s.seg, s.blk).ravel() for s in ss])
    F = q.gfrac
    A = [f"# {name}.s — generated by the NR48 mapper (emulator.mapper.lstm); edit freely.", "#",
         f"# An LSTM ({q.name}: {nx} inputs, {nh} hidden units, {T} steps) and its readout ({q.out_name}: "
         f"{q.n_out} outputs), batch of {n}.",
         "# Results: out (N × %d i16 logits), pred (N u8 argmax)." % q.n_out, "#", "# Core map:"]
    A += [("#   " + l).rstrip() for l in cm.splitlines()] + [
        "#",
        f"# Gate cores: signed {q.core_bits}-bit inputs [x_t ({nx}, x = {q.in_scale:.6g}·code), h ({nh}, "
        f"h = code/{q.hq}), bias]; columns z = i, f, g, o",
        f"# ({4 * nh}); partials are z·2^{q.zfrac}; summed over segments and copies: z·2^{F}.",
        f"# Per step: i, f, o = vsigm(z, {F}), g = vtanh(z, {F}) (Q14); c = (f·c >> 14) + (i·g >> 17) "
        f"(i16, Q{C_FRAC});",
        f"# h = o·vtanh(c, {C_FRAC}) >> 14; code = h·{q.hq} >> 14, written back into the gate cores' "
        "input buffers.", "",
        f"        .equ N, {n}", f"        .equ T, {T}", "", "        .data",
        f"x:      .npy \"{name}_x.npy\", i8        # N × T·{nx} signed input codes",
        f"{G.name}_w: .npy \"{name}_{G.name}_w.npy\", i8",
        f"{R.name}_w: .npy \"{name}_{R.name}_w.npy\", i8"]
    A += _in_buffers(G, "x and h") + _in_buffers(R, "h") + ["        .align 2"]
    for L, ss in ((G, gs), (R, rs)):
        A += [f"{L.name}_p{s.seg}_{s.blk}: .zero {2 * s.cols * s.rep}   # core {s.core} partials (i16)" for s in ss]
        A.append(f"{L.name}_sum: .zero {2 * L.n_out}")
    A += ["        .align 4", f"g32:    .zero {16 * nh}          # the gates i, f, g, o in i32 (Q14)",
          f"cel32:  .zero {4 * nh}", f"t32:    .zero {4 * nh}", f"tnc32:  .zero {4 * nh}",
          f"h32:    .zero {4 * nh}           # hidden codes (i32)",
          f"cel16:  .zero {2 * nh}           # cell state (i16, Q{C_FRAC})",
          f"tnc16:  .zero {2 * nh}           # tanh(c) (Q14)",
          "out:    .zero N * %d * 2" % q.n_out, "pred:   .zero N", "", "        .text", "_start:",
          _ins(f"li      x1, {' | '.join(f'(1 << {s.core})' for s in sl)}"),
          _ins("cpon    x1", "the used cores; the rest stay off")]
    for L, ss in ((G, gs), (R, rs)):
        o = 0
        for s in ss:
            P = L.pads.get(s.seg, 0)
            A += [_ins(f"li      x1, 1 << {s.core}", f"{L.name} segment {s.seg}, columns {s.col0}…"
                       f"{s.col0 + s.cols - 1}" + (f" ×{s.rep}" if s.rep > 1 else "")),
                  _ins(f"ccfg.nrows x1, {s.rows + P}"), _ins(f"ccfg.ncols x1, {s.cols * s.rep}"),
                  _ins(f"ccfg.inbits x1, {q.core_bits}"), _ins("ccfg.insigned x1, 1", "signed input codes"),
                  _ins("ccfg.outbits x1, 8"), _ins("ccfg.outsigned x1, 1"),
                  _ins(f"ccfg.gain x1, {L.gain}"), _ins(f"ccfg.gshift x1, {L.gshift}"),
                  _ins(f"la      x2, {L.name}_w + {o}"), _ins(f"cprog   c{s.core}, x2")]
            o += (s.rows + P) * s.cols * s.rep
    if age_ms:
        A += [_ins("sync    x0", "programming done …"), _ins(f"li      x2, {int(age_ms)}"),
              _ins("cage    x2", f"… let the conductances relax for {age_ms / 1000:g} s")]
    A += [_ins("la      x10, x", "x10: the next step's input codes"), _ins("la      x11, out"),
          _ins("la      x12, pred"), _ins("li      x13, N", "x13: samples left"), "loop:",
          _ins(f"setvli  {nh}"), _ins("la      x6, cel16"), _ins("vfill.i16 x6, x0", "c = 0")]
    for si, a, cnt in _pieces(G, nx, nx + nh):
        A += [_ins(f"setvli  {cnt}"), _ins(f"la      x6, {G.name}_in{si} + {a - G.segments[si][0]}"),
              _ins("vfill.i8 x6, x0", "h = 0")]
    A += [_ins("li      x14, T", "x14: steps left"), "step:"]
    for si, a, cnt in _pieces(G, 0, nx):
        A += [_ins(f"setvli  {cnt}"), _ins(f"addi    x5, x10, {a}"),
              _ins(f"la      x6, {G.name}_in{si} + {a - G.segments[si][0]}"),
              _ins("vsra.i8 x6, x5, 0", f"x_t codes {a}…{a + cnt - 1}")]
    A += _run_cores(G, gs)
    A += [_ins(f"setvli  {2 * nh}"), _ins(f"vsigm.i16 x6, x6, {F}", "i, f"),
          _ins(f"setvli  {nh}"), _ins(f"addi    x7, x6, {4 * nh}"), _ins(f"vtanh.i16 x7, x7, {F}", "g"),
          _ins(f"addi    x7, x6, {6 * nh}"), _ins(f"vsigm.i16 x7, x7, {F}", "o"),
          _ins(f"setvli  {4 * nh}"), _ins("la      x7, g32"), _ins("vcvt.i32.i16 x7, x6"),
          _ins(f"setvli  {nh}"), _ins("la      x9, cel16"), _ins("la      x8, cel32"), _ins("vcvt.i32.i16 x8, x9"),
          _ins(f"addi    x5, x7, {4 * nh}"), _ins("vmul.i32 x8, x5, x8", "f·c"),
          _ins(f"vsra.i32 x8, x8, {Q14}"),
          _ins(f"addi    x5, x7, {8 * nh}"), _ins("la      x3, t32"), _ins("vmul.i32 x3, x7, x5", "i·g"),
          _ins(f"vsra.i32 x3, x3, {2 * Q14 - C_FRAC}"), _ins("vadd.i32 x8, x8, x3"),
          _ins("vcvt.i16.i32 x9, x8", "c (saturated to i16)"),
          _ins("la      x3, tnc16"), _ins(f"vtanh.i16 x3, x9, {C_FRAC}", "tanh(c)"),
          _ins("la      x5, tnc32"), _ins("vcvt.i32.i16 x5, x3"),
          _ins(f"addi    x3, x7, {12 * nh}"), _ins("la      x2, h32"), _ins("vmul.i32 x2, x3, x5", "o·tanh(c)"),
          _ins(f"vsra.i32 x2, x2, {Q14}"), _ins(f"li      x3, {q.hq}"), _ins("vmuls.i32 x2, x2, x3"),
          _ins(f"vsra.i32 x2, x2, {Q14}", "hidden codes")]
    A += _h_to(G, nx, nh)
    A += [_ins(f"addi    x10, x10, {nx}"), _ins("addi    x14, x14, -1"), _ins("bnez    x14, step"),
          f"        # ---- {R.name}: logits from h_T", _ins("la      x2, h32")]
    A += _h_to(R, 0, nh) + _run_cores(R, rs)
    A += [_ins(f"setvli  {q.n_out}"), _ins("vsra.i16 x11, x6, 0", "logits → out[i]"),
          _ins("vargmax.i16 x9, x6"), _ins("sb      x9, 0(x12)"),
          _ins(f"addi    x11, x11, {2 * q.n_out}"), _ins("addi    x12, x12, 1"),
          _ins("addi    x13, x13, -1"), _ins("bnez    x13, loop"), _ins("sync    x0"), _ins("halt"), ""]
    return Compiled(name, "\n".join(A), data, sl, q, n, cm,
                    {"n_out": q.n_out, "cores": len(sl), "zfrac": q.zfrac})
