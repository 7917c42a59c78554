"""A small numpy-level model description and its quantisation to chip codes.

Float model: `Dense(W, b, relu)` layers (W is n_in × n_out, y = x·W + b) in a `Model` with an
input scale.  `quantise(model, X)` turns it into a `QModel`: per layer int8 weight codes
(4-bit levels ±(2^(wbits−1)−1) times a code scale so the conductances use the chip's range),
bias rows driven by a constant input code, the segment split of the rows (≤ 128 per core), the
neuron gain/gshift, and the ReLU/requantise step.  `reference(qmodel, codes)` is the numpy
integer reference of exactly what the compiled program computes on the ideal model.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .gap import GlobalAvgPool2D, QGap, gap_check, gap_codes

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
        y = x.reshape(len(x), -1) @ self.W + (0 if self.b is None else self.b)
        if res is not None and self.residual_at == "pre":
            y = y + res
        y = np.maximum(y, 0) if self.relu else y
        return y + res if res is not None and self.residual_at == "post" else y


def patches(x, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """im2col: N × H × W × C feature maps → N × Ho × Wo × (kh·kw·C) patches, zero padded,
    patch order (dy, dx, c) — the row order of a Conv2D weight reshaped to (kh·kw·C) × C_out."""
    x = np.asarray(x)
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, H, W, C = x.shape
    ho, wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    cols = [x[:, dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride]
            for dy in range(kh) for dx in range(kw)]
    return np.concatenate(cols, -1) if cols else np.zeros((n, ho, wo, 0), x.dtype)


def max_pool(x, size: int) -> np.ndarray:
    """size × size max-pool (stride = size) of N × H × W × C feature maps (H, W divisible)."""
    n, H, W, C = x.shape
    return x.reshape(n, H // size, size, W // size, size, C).max((2, 4))


@dataclass
class Conv2D:
    """2-D convolution over (H, W, C) feature maps, mapped as a dense layer over im2col patches."""
    W: np.ndarray                   # kh × kw × C_in × C_out float
    b: np.ndarray | None = None     # C_out float
    stride: int = 1
    padding: int = 0                # zero padding on every side
    relu: bool = True
    name: str = ""
    residual: int | None = None     # an earlier conv layer with this layer's output shape, added
    residual_at: str = "pre"        # before the ReLU ("pre") or after it ("post")

    def out_shape(self, shape) -> tuple:
        H, W, _ = shape
        kh, kw = self.W.shape[:2]
        return ((H + 2 * self.padding - kh) // self.stride + 1,
                (W + 2 * self.padding - kw) // self.stride + 1, self.W.shape[3])

    def forward(self, x, res=None):
        kh, kw, ci, co = self.W.shape
        p = patches(x, kh, kw, self.stride, self.padding)
        y = p @ self.W.reshape(kh * kw * ci, co) + (0 if self.b is None else self.b)
        if res is not None and self.residual_at == "pre":
            y = y + res
        y = np.maximum(y, 0) if self.relu else y
        return y + res if res is not None and self.residual_at == "post" else y


@dataclass
class MaxPool2D:
    """size × size max-pool, stride = size (the vector unit's pairwise vpmax, log2(size) passes
    per direction, so size is a power of two)."""
    size: int = 2
    name: str = ""

    def out_shape(self, shape) -> tuple:
        H, W, C = shape
        return H // self.size, W // self.size, C

    def forward(self, x):
        return max_pool(x, self.size)


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")     # layer names: they label buffers and code


def is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def finite_array(a, who: str, what: str) -> np.ndarray:
    """`a` as a float array; MapError naming `who` and `what` unless numeric and finite."""
    try:
        a = np.asarray(a, float)
    except (TypeError, ValueError):
        raise MapError(f"{who}: {what} must be a numeric array, got {type(a).__name__}") from None
    if not np.isfinite(a).all():
        verb = "have" if what.startswith("the ") else "has"        # "the inputs have", "Wx has"
        raise MapError(f"{who}: {what} {verb} non-finite values (NaN or inf)")
    return a


def check_name(name, where: str) -> str:
    """A layer name: an ASCII identifier, because it names the program's buffers and labels."""
    if not isinstance(name, str) or not IDENT.match(name):
        raise MapError(f"{where}: name {name!r} must be an ASCII identifier "
                       f"([A-Za-z_][A-Za-z0-9_]*; it names the program's buffers and labels)")
    return name


def check_input_coding(in_scale, in_bits, act_bits) -> None:
    """The model's input scale and code widths (the chip's neurons take 1…8-bit inputs)."""
    if isinstance(in_scale, bool) or not isinstance(in_scale, (int, float, np.number)) \
            or not np.isfinite(in_scale) or in_scale <= 0:
        raise MapError(f"the input scale must be a finite number > 0, got {in_scale!r}")
    for what, v in (("in_bits", in_bits), ("act_bits", act_bits)):
        if not is_int(v) or not 1 <= v <= 8:
            raise MapError(f"{what} must be an integer 1…8 (the neurons' input width), got {v!r}")


def check_array(a, name: str, field: str, ndim: int) -> np.ndarray:
    """A float weight/bias array of the model: numeric, `ndim`-dimensional, non-empty, finite."""
    a = finite_array(a, name, field)
    if a.ndim != ndim or a.size == 0:
        raise MapError(f"{name}: {field} must be a non-empty {ndim}-D array, got shape {a.shape}")
    return a


def check_batch(X, width: int, what: str) -> np.ndarray:
    """A batch of float inputs: N ≥ 1 rows of `width` finite numbers."""
    try:
        X = np.asarray(X, float)
    except (TypeError, ValueError):
        raise MapError(f"{what} must be numeric") from None
    if X.ndim != 2 or X.shape[1] != width:
        raise MapError(f"{what} must be N × {width} values, got shape {X.shape}")
    if len(X) == 0:
        raise MapError(f"{what}: the batch is empty; give at least one row")
    if not np.isfinite(X).all():
        raise MapError(f"{what} contain non-finite values (NaN or inf)")
    return X


def _check_fields(L, name: str) -> None:
    """Types of a Dense / Conv2D / MaxPool2D layer's settings (model files can hold anything)."""
    ints = {"stride": 1, "padding": 0, "size": 2}
    for f, lo in ints.items():
        if hasattr(L, f) and (not is_int(getattr(L, f)) or getattr(L, f) < lo):
            raise MapError(f"{name}: {f} must be an integer ≥ {lo}, got {getattr(L, f)!r}")
    if hasattr(L, "relu") and not isinstance(L.relu, (bool, np.bool_)):
        raise MapError(f"{name}: relu must be true or false, got {L.relu!r}")
    if getattr(L, "residual", None) is not None and not is_int(L.residual):
        raise MapError(f"{name}: residual must be a layer index (an integer) or null, got {L.residual!r}")
    if hasattr(L, "residual_at") and L.residual_at not in ("pre", "post"):
        raise MapError(f"{name}: residual_at must be 'pre' or 'post', got {L.residual_at!r}")
    if hasattr(L, "W"):
        check_array(L.W, name, "W", 4 if isinstance(L, Conv2D) else 2)
        if L.b is not None:
            check_array(L.b, name, "b", 1)


@dataclass
class Model:
    layers: list
    in_scale: float = 1.0           # float input = in_scale · input code
    in_bits: int = 4
    act_bits: int = 4
    in_shape: tuple | None = None   # (H, W, C) for models that start with Conv2D / MaxPool2D

    def forward(self, x):
        x = np.asarray(x, float)
        if self.in_shape is not None:
            x = x.reshape(len(x), *self.in_shape)
        outs = []
        for L in self.layers:
            res = outs[L.residual] if getattr(L, "residual", None) is not None else None
            x = L.forward(x, res) if res is not None else L.forward(x)
            outs.append(x)
        return x

    def shapes(self) -> list:
        """Check that the layers chain and return every layer's output shape ((H, W, C) for
        feature maps, (n,) for vectors); raises MapError naming the layer and what it expected."""
        shape = tuple(self.in_shape) if self.in_shape is not None else None
        if shape is not None and (len(shape) != 3 or not all(is_int(v) and v >= 1 for v in shape)):
            raise MapError(f"in_shape must be (H, W, C) with positive integer sizes, got {self.in_shape}")
        check_input_coding(self.in_scale, self.in_bits, self.act_bits)
        if not self.layers:
            raise MapError("the model has no layers")
        out, names = [], set()
        for k, L in enumerate(self.layers):
            name = check_name(getattr(L, "name", "") or f"L{k + 1}", f"layer {k}")
            if name in names:
                raise MapError(f"layer {k}: the name {name!r} is used twice (layer names label buffers)")
            names.add(name)
            _check_fields(L, name)
            if isinstance(L, (Conv2D, MaxPool2D)):
                what = "conv2d" if isinstance(L, Conv2D) else "max-pool"
                if shape is None or len(shape) != 3:
                    raise MapError(f"{name}: a {what} layer needs an (H, W, C) feature map as input; "
                                   + ("give the model an in_shape" if k == 0 else
                                      f"layer {k - 1} produces a flat vector"))
                if k == len(self.layers) - 1:
                    raise MapError(f"{name}: the last layer must be dense (it produces the logits)")
            if isinstance(L, Conv2D):
                W = np.asarray(L.W)
                if W.ndim != 4:
                    raise MapError(f"{name}: conv2d weights must be kh × kw × C_in × C_out, got shape {W.shape}")
                if W.shape[2] != shape[2]:
                    raise MapError(f"{name}: conv2d expects {W.shape[2]} input channels, its input has {shape[2]}")
                if L.stride < 1 or L.padding < 0:
                    raise MapError(f"{name}: stride must be ≥ 1 and padding ≥ 0")
                if L.b is not None and np.shape(L.b) != (W.shape[3],):
                    raise MapError(f"{name}: bias must have {W.shape[3]} values, got shape {np.shape(L.b)}")
                if not L.relu:
                    raise MapError(f"{name}: conv2d layers need relu (unsigned activation codes)")
                shape = L.out_shape(shape)
                if min(shape[:2]) < 1:
                    raise MapError(f"{name}: a {W.shape[0]}×{W.shape[1]} kernel does not fit the padded input")
            elif isinstance(L, MaxPool2D):
                s = L.size
                if s < 2 or s & (s - 1):
                    raise MapError(f"{name}: max-pool size must be a power of two ≥ 2 (pairwise vpmax), got {s}")
                if shape[0] % s or shape[1] % s:
                    raise MapError(f"{name}: a {s}×{s} max-pool needs H and W divisible by {s}, "
                                   f"the input is {shape[0]}×{shape[1]}")
                shape = L.out_shape(shape)
            elif isinstance(L, GlobalAvgPool2D):
                gap_check(shape, name, MapError)
                if k == 0 or k == len(self.layers) - 1:
                    raise MapError(f"{name}: global average pooling goes between layers (not first or last)")
                shape = L.out_shape(shape)
            elif isinstance(L, Dense):
                W = np.asarray(L.W)
                if W.ndim != 2:
                    raise MapError(f"{name}: dense weights must be n_in × n_out, got shape {W.shape}")
                n = int(np.prod(shape)) if shape is not None else W.shape[0]
                if W.shape[0] != n:
                    raise MapError(f"{name}: dense layer has {W.shape[0]} inputs, its input has {n} values"
                                   + (f" (the {'×'.join(map(str, shape))} feature map, flattened y, x, c)"
                                      if shape is not None and len(shape) == 3 else ""))
                if L.b is not None and np.shape(L.b) != (W.shape[1],):
                    raise MapError(f"{name}: bias must have {W.shape[1]} values, got shape {np.shape(L.b)}")
                shape = (W.shape[1],)
            else:
                raise MapError(f"layer {k}: the mapper cannot place a {type(L).__name__} here")
            out.append(shape)
        return out


def quantise_weights(W, wbits=4):
    """Symmetric per-layer quantisation to integer levels ±(2^(wbits−1)−1); returns (levels, scale)."""
    qmax = 2 ** (wbits - 1) - 1
    s = float(np.max(np.abs(W))) / qmax or 1.0
    return np.clip(np.round(W / s), -qmax, qmax).astype(np.int64), s


def bias_levels(B, K, qmax=7, hi=15):
    """Integer biases B (in weight levels × one input code) → (K + 1) × n levels: K coarse rows
    driven by `hi`, one fine row driven by 1, exact while |B| ≤ K·hi·qmax + qmax."""
    B = np.asarray(B, np.int64)
    coarse = np.clip(np.round(B / hi).astype(np.int64), -K * qmax, K * qmax)
    rows = np.zeros((K + 1, len(B)), np.int64)
    for k in range(K):                                   # spread the coarse levels over K rows
        rows[k] = np.trunc(coarse / (K - k)).astype(np.int64)
        coarse = coarse - rows[k]
    rows[K] = np.clip(B - rows[:K].sum(0) * hi, -qmax, qmax)
    return rows


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
class QConv(QDense):
    """A quantised Conv2D: a QDense over the im2col patch (kh·kw·C_in rows + bias rows), run
    once per output position; `in_shape` is its input feature map (unpadded)."""
    in_shape: tuple = ()
    kh: int = 1
    kw: int = 1
    stride: int = 1
    pad: int = 0

    @property
    def out_shape(self):
        H, W, _ = self.in_shape
        return ((H + 2 * self.pad - self.kh) // self.stride + 1,
                (W + 2 * self.pad - self.kw) // self.stride + 1, self.n_out)

    @property
    def padded_shape(self):
        H, W, C = self.in_shape
        return H + 2 * self.pad, W + 2 * self.pad, C


@dataclass
class QPool:
    """A max-pool on activation codes (max commutes with the monotone requantisation)."""
    name: str
    in_shape: tuple
    size: int

    @property
    def out_shape(self):
        H, W, C = self.in_shape
        return H // self.size, W // self.size, C

    @property
    def n_out(self):
        return int(np.prod(self.out_shape))


def has_weights(L) -> bool:
    return isinstance(L, QDense)


@dataclass
class QModel:
    layers: list
    in_scale: float
    in_bits: int
    in_shape: tuple | None = None

    @property
    def rows_in(self) -> int:
        """Bytes of one encoded input sample (image codes, or codes + bias constants)."""
        L0 = self.layers[0]
        if isinstance(L0, (QConv, QPool)):
            return int(np.prod(L0.in_shape))
        return L0.n_rows

    def encode(self, X) -> np.ndarray:
        """Float inputs → the program's input bytes per sample, uint8: the first dense layer's
        input rows (codes + bias constants), or the image's codes (y, x, c) for a model that
        starts with a conv2d / max-pool (the program builds the patches itself)."""
        L0 = self.layers[0]
        X = check_batch(X, self.rows_in if isinstance(L0, (QConv, QPool)) else L0.n_in, "inputs")
        c = np.clip(np.round(X.reshape(len(X), -1) / self.in_scale), 0, 2**self.in_bits - 1)
        if isinstance(L0, (QConv, QPool)):
            return c.astype(np.uint8)
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
    averages the independent device and read noise of each copy (σ/√copies).
    A Conv2D is quantised as a dense layer over its im2col patches (calibrated over every output
    position); a MaxPool2D works on the codes and keeps its input's scale."""
    qmax = 2 ** (wbits - 1) - 1
    if code_scale is None:
        code_scale = 112 // qmax        # levels × code_scale ≤ 112 codes ≈ 35 µS
    if qmax * code_scale > 127:
        raise MapError(f"weight levels ±{qmax} × code scale {code_scale} exceed int8 codes")
    shapes = model.shapes()
    s_x, bits_in = model.in_scale, model.in_bits
    n_in0 = int(np.prod(model.in_shape)) if model.in_shape is not None else np.asarray(model.layers[0].W).shape[0]
    check_batch(X_calib, n_in0, "calibration inputs")
    x = np.clip(np.round(np.asarray(X_calib, float) / s_x), 0, 2**bits_in - 1) * s_x
    N = len(x)
    shape = tuple(model.in_shape) if model.in_shape is not None else (x.shape[1],)
    out, nl, xs = [], len(model.layers), []
    for k, L in enumerate(model.layers):
        name = L.name or f"L{k + 1}"
        last = k == nl - 1
        if isinstance(L, MaxPool2D):
            x = max_pool(x.reshape(N, *shape), L.size).reshape(N, -1)
            out.append(QPool(name, shape, L.size))
            xs.append((x, s_x, bits_in))
            shape = shapes[k]
            continue
        if isinstance(L, GlobalAvgPool2D):
            g = QGap(name, shape)
            x = gap_codes(np.round(x / s_x), g).astype(float) * s_x
            out.append(g)
            xs.append((x, s_x, bits_in))
            shape = shapes[k]
            continue
        if isinstance(L, Conv2D):
            kh, kw, ci, co = L.W.shape
            xin = patches(x.reshape(N, *shape), kh, kw, L.stride, L.padding).reshape(-1, kh * kw * ci)
            Wm = np.asarray(L.W, float).reshape(kh * kw * ci, co)
            rj = L.residual
        else:
            xin, Wm, rj = x, np.asarray(L.W, float), L.residual
        if rj is not None:
            if not (0 <= rj < k) or rj >= len(xs):
                raise MapError(f"{name}: residual source {rj} must be an earlier hidden layer")
            want = QConv if isinstance(L, Conv2D) else QDense
            if type(out[rj]) is not want:
                raise MapError(f"{name}: residual source {out[rj].name} must be a "
                               f"{'conv2d' if want is QConv else 'dense'} layer like this one")
            if want is QConv and out[rj].out_shape != L.out_shape(shape):
                raise MapError(f"{name}: residual from {out[rj].name} has shape {out[rj].out_shape}, "
                               f"this layer produces {L.out_shape(shape)} (they must match)")
            if out[rj].n_out != Wm.shape[1]:
                raise MapError(f"{name}: residual from {out[rj].name} has width {out[rj].n_out}, "
                               f"this layer has {Wm.shape[1]} outputs (they must match)")
            if L.residual_at not in ("pre", "post"):
                raise MapError(f"{name}: residual_at must be 'pre' or 'post'")
            if L.residual_at == "post" and last:
                raise MapError(f"{name}: the last layer's residual must be added 'pre' (it has no activation)")
        lev, s_w = quantise_weights(Wm, wbits)
        n_in, n_out = lev.shape
        hi = 2**bits_in - 1
        b = np.zeros(n_out) if L.b is None else np.asarray(L.b, float)
        B = np.round(b / (s_w * s_x))                  # bias in units of one level × one input code
        # coarse bias rows driven by the full-scale input `hi`, then one fine row driven by 1
        coarse = np.round(B / hi)
        need = float(np.ceil(np.max(np.abs(coarse)) / qmax - 1e-9)) if np.any(coarse) else 0.0
        if need + 1 > MAX_ROWS // 2:
            raise MapError(f"{name}: the bias needs {need + 1:.3g} bias rows (|b| up to {np.max(np.abs(b)):.3g} "
                           f"against weight level {s_w:.3g} × input code {s_x:.3g}); rescale the layer "
                           f"or calibrate on inputs that exercise it")
        nb_c = int(need)
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
        # float reference of this quantised layer (for the next layer's range calibration)
        xq = np.concatenate([xin / s_x, np.tile(np.array(bias_in, float), (len(xin), 1))], 1)
        pre = xq @ codes.astype(float) * (s_w * s_x / code_scale)
        res = xs[rj][0].reshape(len(xin), -1) if rj is not None else 0
        if rj is not None and L.residual_at == "pre":
            pre = pre + res
        if last:
            s_y = np.max(np.abs(pre)) / 100.0 * len(segs)
            p, obits, relu = 0, 16, L.relu
        else:
            a = np.maximum(pre, 0) if L.relu else pre
            if rj is not None and L.residual_at == "post":
                a = a + res
            obits = model.act_bits
            s_y = (np.percentile(a, pct) or np.max(a)) / (2**obits - 1)
            p, relu = (3 if len(segs) == 1 else 2), L.relu
            if not L.relu:
                raise MapError(f"{name}: hidden layers need relu (unsigned activation codes)")
        unit = s_w * s_x / code_scale * 2**p        # one accumulator LSB in output units · s_y
        if not s_y >= unit / 32767:                  # a dead layer on the calibration inputs:
            s_y = unit                               # gain 1, the next layer's scale stays sane
        gain, gshift = gain_shift(unit / s_y)
        rep = copies_for(n_out, copies)
        args = (name, codes, n_in, nb, bias_in, bits_in, 0, gain, gshift, p, relu, obits,
                segs, split_even(n_out, MAX_COLS // rep), rep)
        if isinstance(L, Conv2D):
            q = QConv(*args, in_shape=shape, kh=kh, kw=kw, stride=L.stride, pad=L.padding)
        else:
            q = QDense(*args)
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
            x = (np.clip(np.round(a / s_y), 0, 2**obits - 1) * s_y).reshape(N, -1)
            s_x, bits_in = s_y, obits
            xs.append((x, s_y, obits))
        shape = shapes[k]
    return QModel(out, model.in_scale, model.in_bits,
                  tuple(model.in_shape) if model.in_shape is not None else None)


def _res_scale(ratio: float, mmax: int) -> tuple[int, int]:
    """(mul, shift) with mul/2^shift ≈ ratio, mul ≤ mmax (so r·mul never saturates i16), shift ≤ 12."""
    for sh in range(12, -1, -1):
        m = int(round(ratio * 2**sh))
        if 1 <= m <= mmax:
            return m, sh
    raise MapError(f"residual scale {ratio:.3g} cannot be expressed as mul/2^shift")


def _round_shift(v, s):
    return v if s == 0 else (v + (1 << (s - 1))) >> s


# the integer references live in reference.py (re-exported here)
from .reference import conv_rows, layer_reference, reference  # noqa: E402,F401
