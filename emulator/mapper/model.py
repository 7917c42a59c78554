"""A small numpy-level model description and its quantisation to chip codes.

Float model: `Dense(W, b, relu)` layers (W is n_in × n_out, y = x·W + b) in a `Model` with an
input scale.  `quantise(model, X)` turns it into a `QModel`: per layer int8 weight codes
(4-bit levels ±(2^(wbits−1)−1) times a code scale so the conductances use the chip's range),
bias rows driven by a constant input code, the segment split of the rows (≤ 128 per core), the
neuron gain/gshift, and the ReLU/requantise step.  `reference(qmodel, codes)` is the numpy
integer reference of exactly what the compiled program computes on the ideal model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_ROWS = 128      # logical rows of a core
MAX_COLS = 256      # columns of a core
PART_BITS = 8       # signed neuron readout of the per-core partial sums (±127)


class MapError(ValueError):
    """The model does not fit the chip, or asks for something the mapper cannot do."""


@dataclass
class Dense:
    W: np.ndarray                   # n_in × n_out float
    b: np.ndarray | None = None     # n_out float
    relu: bool = True
    name: str = ""
    residual: int | None = None     # index of an earlier (hidden) layer whose output is added here
    residual_at: str = "pre"        # "pre": before the ReLU; "post": after it (before the clip)

    def forward(self, x, res=None):
        y = x @ self.W + (0 if self.b is None else self.b)
        if res is not None and self.residual_at == "pre":
            y = y + res
        y = np.maximum(y, 0) if self.relu else y
        return y + res if res is not None and self.residual_at == "post" else y


@dataclass
class Model:
    layers: list
    in_scale: float = 1.0           # float input = in_scale · input code
    in_bits: int = 4
    act_bits: int = 4

    def forward(self, x):
        outs = []
        for L in self.layers:
            res = outs[L.residual] if getattr(L, "residual", None) is not None else None
            x = L.forward(x, res) if res is not None else L.forward(x)
            outs.append(x)
        return x


def quantise_weights(W, wbits=4):
    """Symmetric per-layer quantisation to integer levels ±(2^(wbits−1)−1); returns (levels, scale)."""
    qmax = 2 ** (wbits - 1) - 1
    s = float(np.max(np.abs(W))) / qmax or 1.0
    return np.clip(np.round(W / s), -qmax, qmax).astype(np.int64), s


def split_even(n: int, limit: int) -> list[tuple[int, int]]:
    """Cut n items into the fewest near-equal chunks of ≤ limit: [(start, count), …]."""
    k = max(1, -(-n // limit))
    base, extra = divmod(n, k)
    out, s = [], 0
    for i in range(k):
        c = base + (1 if i < extra else 0)
        out.append((s, c))
        s += c
    return out


def gain_shift(r: float) -> tuple[int, int]:
    """(gain, gshift) with gain/2^gshift ≈ r, gain ≤ 32767, the finest shift ≤ 24."""
    if r <= 0:
        raise MapError(f"bad neuron gain {r}")
    for sh in range(24, -1, -1):
        g = int(round(r * 2**sh))
        if 1 <= g <= 32767:
            return g, sh
    raise MapError(f"neuron gain {r:.3g} is outside what gain/2^gshift can express")


@dataclass
class QDense:
    name: str
    codes: np.ndarray               # rows × n_out int8: n_in weight rows then n_bias bias rows
    n_in: int
    n_bias: int
    bias_input: list                # the constant input code of each bias row
    in_bits: int
    in_signed: int
    gain: int
    gshift: int
    part_shift: int                 # partials are 2^part_shift × the output code; vsra by it
    relu: bool
    out_bits: int                   # ReLU layers: unsigned output code bits; last layer: i16
    segments: list = field(default_factory=list)   # [(row start, rows)]
    colblocks: list = field(default_factory=list)  # [(col start, cols)]
    rep: int = 1                    # copies of every column on its core, summed by the vector unit
    residual: int | None = None     # earlier layer whose output codes are added (residual add)
    residual_at: str = "pre"        # "pre": onto the summed partials before ReLU; "post": after
    res_mul: int = 1                # the residual codes are scaled by round(res_mul·r / 2^res_shift)
    res_shift: int = 0              # into this layer's units before the saturating add

    @property
    def rep_shift(self):
        return self.rep.bit_length() - 1

    @property
    def n_rows(self):
        return self.n_in + self.n_bias

    @property
    def n_out(self):
        return self.codes.shape[1]


@dataclass
class QModel:
    layers: list
    in_scale: float
    in_bits: int

    def encode(self, X) -> np.ndarray:
        """Float inputs → the first layer's input rows (codes + bias constants), uint8."""
        L0 = self.layers[0]
        c = np.clip(np.round(np.asarray(X, float) / self.in_scale), 0, 2**self.in_bits - 1)
        b = np.tile(np.array(L0.bias_input, np.int64), (c.shape[0], 1))
        return np.concatenate([c, b], axis=1).astype(np.uint8)


def copies_for(n_out: int, copies: int) -> int:
    """Column copies of a layer: the largest power of two ≤ `copies` whose copies of the layer's
    columns (or of one full column block) fit a core's 256 columns."""
    r = 1
    while r * 2 <= copies and min(n_out, MAX_COLS) * r * 2 <= MAX_COLS:
        r *= 2
    return r


def quantise(model: Model, X_calib, wbits=4, code_scale=None, pct=99.9, copies=1) -> QModel:
    """Quantise a float model, calibrating activation ranges on X_calib (float inputs).
    `copies` (a power of two): every layer whose outputs leave room is stored that many times
    side by side on its cores (column replication); the vector unit sums the copies, which
    averages the independent device and read noise of each copy (σ/√copies)."""
    qmax = 2 ** (wbits - 1) - 1
    if code_scale is None:
        code_scale = 112 // qmax        # levels × code_scale ≤ 112 codes ≈ 35 µS
    if qmax * code_scale > 127:
        raise MapError(f"weight levels ±{qmax} × code scale {code_scale} exceed int8 codes")
    s_x, bits_in = model.in_scale, model.in_bits
    x = np.clip(np.round(np.asarray(X_calib, float) / s_x), 0, 2**bits_in - 1) * s_x
    out, nl, xs = [], len(model.layers), []
    for k, L in enumerate(model.layers):
        if not isinstance(L, Dense):
            raise MapError(f"layer {k}: the mapper cannot place a {type(L).__name__} here")
        name = L.name or f"L{k + 1}"
        rj = L.residual
        if rj is not None:
            if not (0 <= rj < k) or rj >= len(xs):
                raise MapError(f"{name}: residual source {rj} must be an earlier hidden layer")
            if out[rj].n_out != L.W.shape[1]:
                raise MapError(f"{name}: residual from {out[rj].name} has width {out[rj].n_out}, "
                               f"this layer has {L.W.shape[1]} outputs (they must match)")
            if L.residual_at not in ("pre", "post"):
                raise MapError(f"{name}: residual_at must be 'pre' or 'post'")
            if L.residual_at == "post" and k == nl - 1:
                raise MapError(f"{name}: the last layer's residual must be added 'pre' (it has no activation)")
        lev, s_w = quantise_weights(L.W, wbits)
        n_in, n_out = lev.shape
        hi = 2**bits_in - 1
        b = np.zeros(n_out) if L.b is None else np.asarray(L.b, float)
        B = np.round(b / (s_w * s_x))                  # bias in units of one level × one input code
        # coarse bias rows driven by the full-scale input `hi`, then one fine row driven by 1
        coarse = np.round(B / hi)
        nb_c = int(np.ceil(np.max(np.abs(coarse)) / qmax - 1e-9)) if np.any(coarse) else 0
        rows, bias_in = [lev], []
        if nb_c:
            per = np.round(coarse / nb_c).clip(-qmax, qmax)
            rows += [per] * nb_c
            bias_in += [hi] * nb_c
            B = B - per * nb_c * hi
        if np.any(B):
            rows.append(B.clip(-qmax, qmax))
            bias_in.append(1)
        nb = len(bias_in)
        codes = (np.concatenate([r.reshape(-1, n_out) for r in rows]) * code_scale).astype(np.int8)
        segs = split_even(n_in + nb, MAX_ROWS)
        last = k == nl - 1
        # float reference of this quantised layer (for the next layer's range calibration)
        xq = np.concatenate([x / s_x, np.tile(np.array(bias_in, float), (len(x), 1))], 1)
        pre = xq @ codes.astype(float) * (s_w * s_x / code_scale)
        res = xs[rj][0] if rj is not None else 0
        if rj is not None and L.residual_at == "pre":
            pre = pre + res
        if last:
            s_y = max(np.max(np.abs(pre)), 1e-9) / 100.0 * len(segs)
            p, obits, relu = 0, 16, L.relu
        else:
            a = np.maximum(pre, 0) if L.relu else pre
            if rj is not None and L.residual_at == "post":
                a = a + res
            obits = model.act_bits
            s_y = max(np.percentile(a, pct), 1e-9) / (2**obits - 1)
            p, relu = (3 if len(segs) == 1 else 2), L.relu
            if not L.relu:
                raise MapError(f"{name}: hidden layers need relu (unsigned activation codes)")
        gain, gshift = gain_shift(s_w * s_x / code_scale * 2**p / s_y)
        rep = copies_for(n_out, copies)
        q = QDense(name, codes, n_in, nb, bias_in, bits_in, 0, gain, gshift, p, relu, obits,
                   segs, split_even(n_out, MAX_COLS // rep), rep)
        if rj is not None:
            # residual codes (units s_j) → this layer's summed-partial units (pre: s_y / 2^(p+rep)),
            # or its output code units (post, after the vsra: s_y)
            sj, bj = xs[rj][1], xs[rj][2]
            ratio = sj / s_y * (2 ** (p + q.rep_shift) if L.residual_at == "pre" else 1)
            q.residual, q.residual_at = rj, L.residual_at
            q.res_mul, q.res_shift = _res_scale(ratio, 32767 // (2**bj - 1))
        out.append(q)
        if not last:
            a = np.maximum(pre, 0)
            if rj is not None and L.residual_at == "post":
                a = a + res
            x = np.clip(np.round(a / s_y), 0, 2**obits - 1) * s_y
            s_x, bits_in = s_y, obits
            xs.append((x, s_y, obits))
    return QModel(out, model.in_scale, model.in_bits)


def _res_scale(ratio: float, mmax: int) -> tuple[int, int]:
    """(mul, shift) with mul/2^shift ≈ ratio, mul ≤ mmax (so r·mul never saturates i16), shift ≤ 12."""
    for sh in range(12, -1, -1):
        m = int(round(ratio * 2**sh))
        if 1 <= m <= mmax:
            return m, sh
    raise MapError(f"residual scale {ratio:.3g} cannot be expressed as mul/2^shift")


def _round_shift(v, s):
    return v if s == 0 else (v + (1 << (s - 1))) >> s


def layer_reference(L: QDense, rows: np.ndarray, res=None) -> np.ndarray:
    """Integer result of one layer on input rows (N × n_rows codes), as the program computes it;
    `res`: the residual source layer's output codes (when L.residual is set)."""
    rows = np.clip(rows.astype(np.int64), 0, 2**L.in_bits - 1)
    W = L.codes.astype(np.int64)
    total = 0
    for s, n in L.segments:
        acc = rows[:, s:s + n] @ W[s:s + n]
        total = total + L.rep * np.clip(_round_shift(L.gain * acc, L.gshift), -127, 127)
    r = None
    if L.residual is not None:
        if res is None:
            raise ValueError(f"{L.name}: residual layer needs the source layer's output")
        r = _round_shift(np.clip(np.asarray(res, np.int64) * L.res_mul, -32768, 32767), L.res_shift)
        if L.residual_at == "pre":
            total = np.clip(np.clip(total, -32768, 32767) + r, -32768, 32767)
    if L.out_bits == 16:
        return np.clip(total, -32768, 32767)
    y = np.maximum(total, 0) if L.relu else total
    y = _round_shift(y, L.part_shift + L.rep_shift)
    if r is not None and L.residual_at == "post":
        y = np.clip(y + r, -32768, 32767)
    return np.clip(y, 0, 2**L.out_bits - 1)


def reference(q: QModel, rows0: np.ndarray) -> np.ndarray:
    """The numpy integer reference of the whole quantised network (N × n_out int64 logits)."""
    x, ys = np.asarray(rows0, np.int64), []
    for k, L in enumerate(q.layers):
        res = ys[L.residual] if L.residual is not None else None
        y = layer_reference(L, x, res) if res is not None else layer_reference(L, x)
        ys.append(y)
        if k < len(q.layers) - 1:
            nxt = q.layers[k + 1]
            x = np.concatenate([y, np.tile(np.array(nxt.bias_input, np.int64), (len(y), 1))], 1)
    return y
