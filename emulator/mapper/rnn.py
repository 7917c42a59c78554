"""A general recurrent layer for the mapper: `Model([SimpleRNN(…), Dense(…, relu=False)])` on one
core in the chip's recurrent MVM mode (`mvm.rec`, docs/machine.md), for any sizes that fit.

Float model: h_0 = 0, h_t = relu(x_t·Wx + h_(t−1)·Wh + b) for t = 1 … T (optionally clipped at
`h_max`), logits = h_T·W + b of the Dense readout.  The input is step-major: step t is columns
t·n_x … (t+1)·n_x − 1.

Quantised (`quantise_rnn`), everything sits on one core whose H register is the cell's whole
input vector (the hidden state never leaves the core between steps):

    H[0 … HH)            hidden state: `hcopy` copies of n_h unsigned act_bits-bit codes,
                         written back by mvm.rec (HH = hcopy·n_h ≤ 128: column j lands in H[j])
    H[HH … HH+XW)        this step's inputs: hcopy copies of n_x in_bits-bit codes (XW = hcopy·n_x)
    then the bias inputs (coarse rows driven by `hi`, one fine row driven by 1) and zeros for the
    balancing rows (docs/mapper.md).

Columns 0 … HH−1 hold the cell [Wh; Wx; bias] (every hidden unit hcopy times: each copy has its
own cells and the next step's MVM sums all copies, the gain divided by hcopy — noise averaged
without leaving the core); the unsigned readout of mvm.rec is the ReLU and the clip.  Columns
128 … 128 + n_out·copies − 1 hold the readout, `copies` column copies summed by the vector unit
as in compile_model.  `reference` is the numpy integer reference of exactly what the program
computes on the ideal model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codegen import PAD_CODE, pad_rows
from .model import (IDENT, MAX_ROWS, Dense, MapError, Model, _round_shift, bias_levels, finite_array, gain_shift,
                    is_int, is_real, quantise_weights)

QMAX = 7                    # 4-bit weight levels ±7 …
CODE_SCALE = 112 // QMAX    # … times 16: codes ±112 ≈ 35 µS (as quantise)
OUT_COL0 = 128              # readout columns start here (mvm.rec columns must stay below 128)
OUT_COLS = 256 - OUT_COL0   # columns left for the readout and its copies
PART_MAX = 127              # signed 8-bit readout partials
LOGIT_LSB = 100.0           # the largest calibration logit is ≈ this many LSB per copy (as quantise)
N_CORES = 48
MAX_BIAS_ROWS = MAX_ROWS // 2   # more bias rows than this: refused (as quantise), never allocated
AGE_MAX = 2**63 - 1         # cage takes a 64-bit register (ms)


def _layer_name(name, default: str, what: str) -> str:
    """A layer's name: "" → `default`, else an ASCII identifier (it names the layer in the core map)."""
    if isinstance(name, str) and name == "":
        return default
    if not isinstance(name, str) or not IDENT.match(name):
        raise MapError(f"{what}: name {name!r} must be an ASCII identifier ([A-Za-z_][A-Za-z0-9_]*; "
                       f"it names the layer in the core map and the program)")
    return name


def _gain(r: float, who: str, what: str, hint: str = "") -> tuple[int, int]:
    """gain_shift(r) of the `what` neuron, every failure naming the layer."""
    hint = f"; {hint}" if hint else ""
    if not (np.isfinite(r) and r > 0):
        raise MapError(f"{who}: the {what}'s gain {r:.3g} cannot be set (gain/2^gshift must be a finite "
                       f"number > 0){hint}")
    try:
        return gain_shift(r)
    except MapError as e:
        raise MapError(f"{who}: {e} (the {what}){hint}") from None


@dataclass
class SimpleRNN:
    Wx: np.ndarray                  # n_x × n_h float
    Wh: np.ndarray                  # n_h × n_h float
    b: np.ndarray | None            # n_h float, or None
    steps: int                      # T
    name: str = ""
    h_max: float | None = None      # optional ceiling of the hidden state (a clipped ReLU); the
    #                                 quantised hidden codes then span exactly 0 … h_max

    @property
    def n_x(self) -> int:
        return np.shape(self.Wx)[0]

    @property
    def n_h(self) -> int:
        return np.shape(self.Wh)[0]

    def states(self, x) -> list:
        """[h_1, …, h_T] for inputs x (N × T·n_x, step-major)."""
        x = np.asarray(x, float)
        nx, h, out = self.n_x, np.zeros((len(x), self.n_h)), []
        for t in range(self.steps):
            z = x[:, t * nx:(t + 1) * nx] @ self.Wx + h @ self.Wh + (0 if self.b is None else self.b)
            h = np.maximum(z, 0) if self.h_max is None else np.clip(z, 0, self.h_max)
            out.append(h)
        return out

    def forward(self, x):
        """h_T (N × n_h)."""
        return self.states(x)[-1]


@dataclass
class QRNNModel:
    """A quantised [SimpleRNN, Dense] model on one core (see the module docstring)."""
    name: str                       # the recurrent layer's name (labels, core map)
    out_name: str                   # the readout's name
    n_x: int
    n_h: int
    n_out: int
    steps: int
    hcopy: int                      # copies of every hidden unit (rows and columns)
    rep: int                        # readout column copies (a power of two)
    in_scale: float                 # float input = in_scale · input code
    in_bits: int                    # input code bits (encode)
    act_bits: int                   # hidden code bits (the unsigned mvm.rec readout)
    core_bits: int                  # the core's inbits: max(in_bits, act_bits)
    rec: np.ndarray                 # rows × hcopy·n_h int8: hidden ×hcopy, inputs ×hcopy, bias rows
    out: np.ndarray                 # rows × n_out int8 (one copy; zero on the input rows)
    bias_input: list                # the constant input code of each bias row
    gain: int                       # recurrent neuron: h ← clip(round(gain·acc/2^gshift), 0, 2^act_bits−1)
    gshift: int
    ogain: int = 1                  # readout neuron: partial = clip(round(ogain·acc/2^ogshift), ±127)
    ogshift: int = 0
    pad_rec: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))   # P × hcopy·n_h
    pad_out: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))   # P × n_out·rep
    pad_need: int = 0               # balancing rows a full balance would need (P may be fewer)
    s_h: float = 1.0                # float value of one hidden code
    s_y: float = 1.0                # float value of one logit LSB per copy
    h_max: float | None = None      # the float cell's ceiling (None: a plain ReLU)

    @property
    def P(self) -> int:
        """Balancing rows (input 0) below the weights."""
        return self.pad_rec.shape[0]

    @property
    def hh(self) -> int:
        return self.hcopy * self.n_h

    @property
    def xw(self) -> int:
        return self.hcopy * self.n_x

    @property
    def n_bias(self) -> int:
        return len(self.bias_input)

    @property
    def n_rows(self) -> int:
        """Rows of weights (hidden, inputs, bias), without the balancing rows."""
        return self.hh + self.xw + self.n_bias

    @property
    def nr(self) -> int:
        """Rows of the core's window (balancing rows included)."""
        return self.n_rows + self.P

    @property
    def in_width(self) -> int:
        return self.steps * self.n_x

    def encode(self, X) -> np.ndarray:
        """Float inputs (N × T·n_x, step-major) → input codes (N × T·n_x, uint8)."""
        X = finite_array(X, self.name, "the inputs")
        if X.ndim != 2 or X.shape[1] != self.in_width:
            raise MapError(f"{self.name}: inputs must be N × {self.in_width} (T = {self.steps} steps "
                           f"× {self.n_x} inputs), got {X.shape}")
        return np.clip(np.round(X / self.in_scale), 0, 2**self.in_bits - 1).astype(np.uint8)

    def hinit(self) -> np.ndarray:
        """H at the start of every sample: hidden 0, inputs 0, the bias constants, zeros."""
        return np.array([0] * (self.hh + self.xw) + list(self.bias_input) + [0] * self.P, np.uint8)

    def rec_block(self) -> np.ndarray:
        """nr × hcopy·n_h codes programmed into columns 0 …"""
        return np.concatenate([self.rec, self.pad_rec]).astype(np.int8)

    def out_block(self) -> np.ndarray:
        """nr × n_out·rep codes programmed into columns 128 …"""
        return np.concatenate([np.tile(self.out, (1, self.rep)), self.pad_out]).astype(np.int8)


# ------------------------------------------------------------------------------------ quantisation

def _check_model(model) -> tuple[SimpleRNN, Dense]:
    layers = list(getattr(model, "layers", []))
    kinds = ", ".join(type(L).__name__ for L in layers)
    if len(layers) != 2 or not isinstance(layers[0], SimpleRNN) or not isinstance(layers[1], Dense):
        raise MapError(f"the recurrent mapper takes Model([SimpleRNN, Dense]) (one recurrent layer and "
                       f"its readout); got [{kinds}]")
    cell, ro = layers
    nm = _layer_name(cell.name, "rnn", "the recurrent layer (SimpleRNN)")
    rn = _layer_name(ro.name, "readout", "the readout (Dense)")
    Wx, Wh = finite_array(cell.Wx, nm, "Wx"), finite_array(cell.Wh, nm, "Wh")
    if Wx.ndim != 2 or Wh.ndim != 2 or Wh.shape[0] != Wh.shape[1] or Wx.shape[1] != Wh.shape[0]:
        raise MapError(f"{nm}: Wx must be n_x × n_h and Wh n_h × n_h; got Wx {Wx.shape}, Wh {Wh.shape}")
    n_h = Wh.shape[0]
    if min(Wx.shape) < 1:
        raise MapError(f"{nm}: needs at least one input and one hidden unit; got Wx {Wx.shape}")
    if cell.b is not None and finite_array(cell.b, nm, "b").shape != (n_h,):
        raise MapError(f"{nm}: b must have n_h = {n_h} entries, got shape {np.shape(cell.b)}")
    if not is_int(cell.steps) or cell.steps < 1:
        raise MapError(f"{nm}: steps must be an integer ≥ 1, got {cell.steps!r}")
    if cell.h_max is not None and not (is_real(cell.h_max) and np.isfinite(cell.h_max) and cell.h_max > 0):
        raise MapError(f"{nm}: h_max must be a finite number > 0 or None, got {cell.h_max!r}")
    W = finite_array(ro.W, rn, "W")
    if W.ndim != 2 or W.shape[0] != n_h or W.shape[1] < 1:
        raise MapError(f"{rn}: the readout's W must be n_h × n_out = {n_h} × … (n_out ≥ 1), got {W.shape}")
    if ro.b is not None and finite_array(ro.b, rn, "b").shape != (W.shape[1],):
        raise MapError(f"{rn}: b must have n_out = {W.shape[1]} entries, got shape {np.shape(ro.b)}")
    if ro.relu:
        raise MapError(f"{rn}: the readout must have relu=False (its outputs are the logits)")
    if ro.residual is not None:
        raise MapError(f"{rn}: the recurrent mapper has no residual adds")
    if not (is_real(model.in_scale) and np.isfinite(model.in_scale) and model.in_scale > 0):
        raise MapError(f"{nm}: in_scale must be a finite number > 0, got {model.in_scale!r}")
    for what, v in (("in_bits", model.in_bits), ("act_bits", model.act_bits)):
        if not is_int(v) or not 1 <= v <= 8:
            raise MapError(f"{nm}: {what} must be 1 … 8, an integer (the core's input and output codes), "
                           f"got {v!r}")
    return cell, ro


def _copies(n_out: int, copies: int) -> int:
    """Readout column copies: the largest power of two ≤ `copies` whose copies fit columns 128 …"""
    r = 1
    while r * 2 <= copies and n_out * r * 2 <= OUT_COLS:
        r *= 2
    return r


def _bias_hi(core_bits: int) -> int:
    """The coarse bias rows' input code: full scale, but at most 2·QMAX + 1 so that the fine row
    (input 1, levels ±QMAX) covers what the coarse rows leave."""
    return min(2**core_bits - 1, 2 * QMAX + 1)


def _coarse_rows(B, hi) -> float:
    """Coarse bias rows (input `hi`, levels ±QMAX) the integer biases B need, as a float (no
    int64 overflow for absurd biases): ceil(max |round(B / hi)| / QMAX)."""
    return float(np.ceil(np.max(np.abs(np.round(np.asarray(B, float) / hi)), initial=0) / QMAX))


def _check_bias(who: str, b, B, hi: int, unit: float) -> None:
    """Refuse (naming the layer) a bias that needs more than MAX_BIAS_ROWS bias rows, before any
    row is allocated: B = b / unit, unit = one weight level × one input code."""
    need = _coarse_rows(B, hi) + 1
    if need > MAX_BIAS_ROWS:
        bmax = float(np.max(np.abs(np.asarray(b, float))))
        n = f"{need:.0f}" if need < 1e9 else f"{need:.3g}"
        raise MapError(f"{who}: the bias needs {n} bias rows (|b| up to {bmax:.3g} against weight "
                       f"level {unit:.3g} × input code {hi}, at most {MAX_BIAS_ROWS} rows); rescale the "
                       f"layer or calibrate on inputs that exercise it")


def _bias_rows(B_rec, B_out, hi):
    """Integer biases of the recurrent and readout columns (levels × one input code) → bias rows
    shared by both: (levels rec, levels out, input codes); coarse rows driven by `hi` and one fine
    row driven by 1, exact; rows that are zero in every column are left out."""

    B = np.concatenate([B_rec, B_out]).astype(np.int64)
    K = int(_coarse_rows(B, hi))
    lev = bias_levels(B, K, QMAX, hi)
    inputs = [hi] * K + [1]
    keep = [i for i in range(K + 1) if np.any(lev[i])]
    n_h = len(B_rec)
    return lev[keep, :n_h], lev[keep, n_h:], [inputs[i] for i in keep]


def _balance(q: QRNNModel, balance: bool) -> None:
    """Balancing rows (docs/mapper.md) shared by the two windows: each window's columns are
    brought up to that window's largest Σ|code| (the gain is referenced per window)."""

    blocks = (q.rec, np.tile(q.out, (1, q.rep)))
    need = 0
    for blk in blocks:
        tot = np.abs(blk.astype(np.int64)).sum(0)
        need = max(need, int(-(-int((tot.max() - tot).max()) // PAD_CODE)))
    q.pad_need = need
    P = min(need, MAX_ROWS - q.n_rows) if balance else 0
    q.pad_rec, q.pad_out = (pad_rows(blk, P) for blk in blocks)


def _final_inputs(q: QRNNModel, codes) -> np.ndarray:
    """The core's input vector H[0 … nr) after the last step, per sample (N × nr int64): the hidden
    codes h_T (hcopy copies), the last step's input codes, the bias constants and zeros."""
    codes = finite_array(codes, q.name, "the input codes")
    if codes.ndim != 2 or codes.shape[1] != q.in_width:
        raise MapError(f"{q.name}: input codes must be N × {q.in_width} (QRNNModel.encode), got {codes.shape}")
    n = len(codes)
    x = np.clip(codes.astype(np.int64), 0, 2**q.core_bits - 1).reshape(n, q.steps, q.n_x)
    const = np.tile(q.hinit()[q.hh + q.xw:].astype(np.int64), (n, 1))
    W = q.rec_block().astype(float)     # float products are exact: |acc| < 2^53
    h = np.zeros((n, q.hh), np.int64)
    for t in range(q.steps):
        u = np.concatenate([h, np.tile(x[:, t], (1, q.hcopy)), const], 1)
        acc = np.rint(u.astype(float) @ W).astype(np.int64)
        h = np.clip(_round_shift(q.gain * acc, q.gshift), 0, 2**q.act_bits - 1)
    return np.concatenate([h, np.tile(x[:, -1], (1, q.hcopy)), const], 1)


def reference(q: QRNNModel, codes) -> np.ndarray:
    """The numpy integer reference of exactly what compile_rnn's program computes on the ideal
    model: int64 logits, N × n_out (the sum of the readout copies' clipped 8-bit partials)."""
    u = _final_inputs(q, codes)
    acc = np.rint(u.astype(float) @ q.out_block().astype(float)).astype(np.int64)
    part = np.clip(_round_shift(q.ogain * acc, q.ogshift), -PART_MAX, PART_MAX)
    return part.reshape(len(u), q.rep, q.n_out).sum(1)


def _quantise_at(cell, ro, model, codes_cal, s_h, hc, rep, balance) -> QRNNModel:
    """The quantised model with `hc` hidden copies (rows may exceed the core: the caller checks)."""
    n_h, n_x = cell.n_h, cell.n_x
    nm, rn = cell.name or "rnn", ro.name or "readout"
    core_bits = max(model.in_bits, model.act_bits)
    hi = _bias_hi(core_bits)
    # one gain for the whole MVM: weights per input code, hidden rows and input rows together
    with np.errstate(over="ignore", invalid="ignore"):
        Mrec = np.concatenate([np.asarray(cell.Wh, float) * s_h, np.asarray(cell.Wx, float) * model.in_scale])
        Mout = np.asarray(ro.W, float) * s_h
    if not np.isfinite(Mrec).all():
        raise MapError(f"{nm}: the weights overflow when scaled to one input code (Wh × hidden code "
                       f"{s_h:.3g}, Wx × in_scale {model.in_scale:.3g}); rescale the layer, h_max or in_scale")
    if not np.isfinite(Mout).all():
        raise MapError(f"{rn}: the weights overflow when scaled to one hidden code (W × {s_h:.3g}); "
                       f"rescale the layer or h_max")
    lev, s_w = quantise_weights(Mrec)
    lo, s_o = quantise_weights(Mout)
    # the hc copies of every row are summed, so the biases get hc× finer resolution
    bc = np.zeros(n_h) if cell.b is None else np.asarray(cell.b, float)
    bro = np.zeros(lo.shape[1]) if ro.b is None else np.asarray(ro.b, float)
    with np.errstate(over="ignore"):
        Br, Bo = np.round(hc * bc / s_w), np.round(hc * bro / s_o)
    _check_bias(nm, bc, Br, hi, s_w / hc)
    _check_bias(rn, bro, Bo, hi, s_o / hc)
    br, bo, bias_in = _bias_rows(Br, Bo, hi)
    rec = np.concatenate([np.tile(lev[:n_h], (hc, 1)), np.tile(lev[n_h:], (hc, 1)), br])
    out = np.concatenate([np.tile(lo, (hc, 1)), np.zeros((hc * n_x, lo.shape[1]), np.int64), bo])
    gain, gshift = _gain(s_w / (CODE_SCALE * hc * s_h), nm, "recurrent neuron",
                         f"hidden code {s_h:.3g}: set h_max or calibrate on inputs that drive the cell")
    q = QRNNModel(nm, rn, n_x, n_h, lo.shape[1], int(cell.steps), hc,
                  rep, model.in_scale, model.in_bits, model.act_bits, core_bits,
                  np.tile(rec * CODE_SCALE, (1, hc)).astype(np.int8), (out * CODE_SCALE).astype(np.int8),
                  bias_in, gain, gshift, s_h=s_h, h_max=cell.h_max)
    if q.hh <= MAX_ROWS and q.n_rows <= MAX_ROWS:
        _balance(q, balance)
        # logit scale as quantise does for the last layer: the largest calibration logit ≈ 100 LSB
        u = _final_inputs(q, codes_cal)
        unit = s_o / (CODE_SCALE * hc)              # one accumulator LSB in logit units
        logits = (u[:, :q.n_rows].astype(float) @ q.out.astype(float)) * unit
        q.s_y = float(np.max(np.abs(logits))) / LOGIT_LSB
        if not q.s_y >= unit / 32767:               # a dead readout on the calibration inputs:
            q.s_y = unit                            # gain 1
        q.ogain, q.ogshift = _gain(unit / q.s_y, rn, "readout neuron")
    return q


def _rows_text(q: QRNNModel) -> str:
    return (f"hcopy {q.hcopy} × ({q.n_h} hidden + {q.n_x} inputs) + {q.n_bias} bias rows "
            f"= {q.n_rows} rows")


def quantise_rnn(model: Model, X_calib, copies=16, hcopy=None, balance=True, pct=99.9) -> QRNNModel:
    """Quantise Model([SimpleRNN, Dense(relu=False)]) for one core, calibrating on X_calib (float,
    N × T·n_x).  The hidden-state scale: h_max / (2^act_bits − 1) when the cell has `h_max`, else
    the `pct` percentile of the float hidden states over all steps; the logit scale as quantise.
    `copies`: readout column copies (largest power of two ≤ copies that fits columns 128 … 255).
    `hcopy`: hidden-unit copies; None = the largest whose rows fit the core (the balancing rows
    get what is left: on the digits RNN two hidden copies with 14 of the 17 balancing rows beat
    one copy with all 9 in the analog model).  Raises MapError for what does not fit."""
    cell, ro = _check_model(model)
    nm, n_h, n_x, T = cell.name or "rnn", cell.n_h, cell.n_x, int(cell.steps)
    n_out = np.shape(ro.W)[1]
    X = finite_array(X_calib, nm, "the calibration inputs")
    if X.ndim != 2 or X.shape[1] != T * n_x:
        raise MapError(f"{nm}: calibration inputs must be N × {T * n_x} (T = {T} steps × {n_x} inputs), "
                       f"got {X.shape}")
    if len(X) < 1:
        raise MapError(f"{nm}: the calibration inputs are empty (0 × {T * n_x}): give at least one input")
    if n_h > MAX_ROWS:
        raise MapError(f"{nm}: {n_h} hidden units do not fit: mvm.rec writes hidden column j into H[j], "
                       f"so hcopy × n_h must be ≤ {MAX_ROWS}")
    if n_out > OUT_COLS:
        raise MapError(f"{ro.name or 'readout'}: {n_out} outputs need {n_out} readout columns at col0 "
                       f"{OUT_COL0}, but only {OUT_COLS} are left (columns {OUT_COL0} … 255)")
    if not is_int(copies) or copies < 1:
        raise MapError(f"{nm}: copies must be a whole number ≥ 1, got {copies!r}")
    if not (is_real(pct) and 0 < pct <= 100):
        raise MapError(f"{nm}: pct must be a percentile in (0, 100], got {pct!r}")
    hmax = 2**model.act_bits - 1
    codes_cal = np.clip(np.round(X / model.in_scale), 0, 2**model.in_bits - 1)
    if cell.h_max is not None:
        s_h = float(cell.h_max) / hmax
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            hs = np.stack(cell.states(codes_cal * model.in_scale))
        if not np.isfinite(hs).all():
            raise MapError(f"{nm}: the hidden state overflows on the calibration inputs (it grows without "
                           f"bound over the {T} steps); scale Wh down or set h_max")
        if not np.any(hs):
            raise MapError(f"{nm}: the hidden state is 0 for every calibration input, so its range is "
                           f"unknown; calibrate with inputs that drive the cell (--calib / --inputs) "
                           f"or set h_max")
        s_h = (float(np.percentile(hs, pct)) or float(np.max(hs))) / hmax
    if not s_h > 0:
        raise MapError(f"{nm}: the hidden code {s_h:.3g} (h_max {cell.h_max!r}) is too small to quantise")
    rep = _copies(n_out, int(copies))
    build = lambda hc: _quantise_at(cell, ro, model, codes_cal, s_h, hc, rep, balance)
    if hcopy is not None:
        if not is_int(hcopy) or hcopy < 1:
            raise MapError(f"{nm}: hcopy must be a whole number ≥ 1, got {hcopy!r}")
        hc = int(hcopy)
        if hc * n_h > MAX_ROWS:
            raise MapError(f"{nm}: hcopy × n_h = {hc} × {n_h} = {hc * n_h} hidden columns, but mvm.rec "
                           f"writes hidden column j into H[j], so at most {MAX_ROWS} fit; "
                           f"use hcopy ≤ {MAX_ROWS // n_h}")
        q = build(hc)
        if q.n_rows > MAX_ROWS:
            raise MapError(f"{nm}: the core needs {_rows_text(q)}, but a core has {MAX_ROWS}"
                           + ("; use fewer hidden copies" if hc > 1 else
                              "; use fewer hidden units or inputs per step"))
        return q
    for hc in range(MAX_ROWS // n_h, 0, -1):
        try:
            q = build(hc)
        except MapError:        # too many bias rows or a gain out of range: fewer copies may do
            if hc == 1:
                raise
            continue
        if q.n_rows <= MAX_ROWS:
            return q
    raise MapError(f"{nm}: the core needs {_rows_text(q)}, but a core has {MAX_ROWS}; "
                   "use fewer hidden units or inputs per step")
