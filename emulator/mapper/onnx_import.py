"""ONNX import: an ONNX graph (opset ≥ 13, e.g. from torch.onnx.export) → the mapper's Model.

    imp = from_onnx("model.onnx", in_scale=None)       # Imported(model, to_rows, …)
    rows = imp.to_rows(X)                              # graph-shaped batch → the mapper's rows

Supported (docs/mapper.md, ONNX import): Gemm, MatMul (+ Add of a constant bias), Conv (equal
strides, symmetric pads, group 1, dilation 1), Relu, Clip(min 0, no max), MaxPool (kernel =
stride, a power of two, no pads), Add of an earlier layer's output (residual), BatchNormalization
folded into the preceding Gemm / MatMul / Conv, Flatten / Reshape / Squeeze to a flat vector, an
identity Transpose, LSTM (forward, no peepholes, default activations) and RNN (Relu) as the first
layer followed by the readout.  Anything else is refused with a MapError naming the node, its op
type and the reason.  Needs the optional `onnx` package (`pip install neurram48[onnx]`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model import Conv2D, Dense, MapError, MaxPool2D, Model

MIN_OPSET = 13


@dataclass
class Imported:
    model: Model
    kind: str                       # "dense" (Dense / Conv2D / MaxPool2D), "lstm" or "rnn"
    input_name: str
    input_shape: tuple              # the graph input's shape without the batch dimension
    layout: str                     # "vec", "map" (C, H, W) or "seq0" / "seq1" (LSTM layout)

    def to_rows(self, X) -> np.ndarray:
        """A batch in the graph's input shape (or already flat, N × n_in) → the mapper's rows:
        (C, H, W) maps to (y, x, c) order, sequences (T × N × F for layout 0) to step-major rows."""
        X = np.asarray(X, float)
        n_in = int(np.prod(self.input_shape))
        if X.ndim == 2 and X.shape[1] == n_in:
            if self.layout != "map":
                return X
            X = X.reshape(len(X), *self.input_shape)
        want = ((self.input_shape[0], "N", self.input_shape[1]) if self.layout == "seq0"
                else ("N", *self.input_shape))
        got = (X.shape[0], X.shape[2]) if self.layout == "seq0" and X.ndim == 3 else X.shape[1:]
        if X.ndim != len(want) or tuple(got) != tuple(v for v in want if v != "N"):
            raise MapError(f"inputs for {self.input_name}: expected {' × '.join(map(str, want))} "
                           f"(or N × {n_in} rows), got shape {X.shape}")
        if self.layout == "seq0":
            X = X.transpose(1, 0, 2)
        elif self.layout == "map":
            X = X.transpose(0, 2, 3, 1)
        return X.reshape(len(X), -1)


def _need_onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise MapError("ONNX import needs the optional onnx package: pip install 'neurram48[onnx]'") from None
    return onnx, numpy_helper


def _attrs(node) -> dict:
    onnx, _ = _need_onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _refuse(node, why: str):
    raise MapError(f"ONNX node {node.name or '(unnamed)'!r} ({node.op_type}): {why}")


def _name(node, k: int) -> str:
    import re

    s = re.sub(r"\W", "_", node.name or "")
    s = s if s and re.match(r"[A-Za-z_]", s) else f"{node.op_type.lower()}{k}"
    return s[:24]


def from_onnx(src, in_scale: float | None = None, in_bits: int = 4, act_bits: int = 4) -> Imported:
    """Read an ONNX model (a path or an onnx.ModelProto) into the mapper's Model.  `in_scale`:
    float input per input code (default: max |value| the 4-bit codes must reach is 1, i.e.
    1 / (2^in_bits − 1); give the data's range, or calibrate with --calib)."""
    onnx, nh = _need_onnx()
    if isinstance(src, (str, Path)):
        try:
            mp = onnx.load(str(src))
        except FileNotFoundError:
            raise MapError(f"{src}: no such file") from None
        except Exception as e:          # protobuf's DecodeError and friends
            raise MapError(f"{src}: not an ONNX model ({type(e).__name__}: {e})") from None
    else:
        mp = src
    ops = [o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")]
    if ops and ops[0] < MIN_OPSET:
        raise MapError(f"the model uses opset {ops[0]}; the importer reads opset {MIN_OPSET} and later "
                       "(re-export with opset_version=13 or newer)")
    g = mp.graph
    init = {t.name: nh.to_array(t).astype(float) for t in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            init[node.output[0]] = nh.to_array(_attrs(node)["value"]).astype(float)
    inputs = [i for i in g.input if i.name not in init]
    if len(inputs) != 1:
        raise MapError(f"the graph must have exactly one data input, it has {len(inputs)}: "
                       f"{', '.join(i.name for i in inputs)}")
    gi = inputs[0]
    dims = gi.type.tensor_type.shape.dim
    shape = []
    for j, d in enumerate(dims):
        if d.HasField("dim_value"):
            shape.append(int(d.dim_value))
        elif j != 0 and not (j == 1 and len(dims) == 3):
            raise MapError(f"graph input {gi.name!r}: dimension {j} is dynamic ({d.dim_param or '?'}); "
                           "only the batch dimension may be, export with fixed sizes")
        else:
            shape.append(None)
    st = _State(init, in_bits, act_bits)
    layout = {2: "vec", 4: "map", 3: "seq"}.get(len(shape))
    if layout is None:
        raise MapError(f"graph input {gi.name!r}: shape {shape} is not N × F, N × C × H × W or a sequence")
    st.t[gi.name] = ("in", None)
    st.in_dims = shape
    for k, node in enumerate(g.node):
        if node.op_type != "Constant":
            st.node(node, k)
    outs = [o.name for o in g.output]
    if len(outs) != 1 or outs[0] not in st.t:
        raise MapError(f"the graph must have one output computed by the supported nodes, got {outs}")
    if not st.layers:
        raise MapError("the graph has no layers the mapper can place")
    if st.kind in ("lstm", "rnn"):
        lay = "seq1" if st.seq_layout == 1 else "seq0"
        ishape = (shape[1], shape[2]) if lay == "seq1" else (shape[0], shape[2])
    elif layout == "map":
        lay, ishape = "map", tuple(shape[1:])
    else:
        lay, ishape = "vec", (shape[1],)
    scale = in_scale if in_scale is not None else 1.0 / (2**in_bits - 1)
    in_shape = (shape[2], shape[3], shape[1]) if lay == "map" else None
    model = Model(st.layers, in_scale=scale, in_bits=in_bits, act_bits=act_bits, in_shape=in_shape)
    return Imported(model, st.kind, gi.name, ishape, lay)


class _State:
    """The walk over the graph's nodes: tensor name → (layer index or "in", stage)."""

    def __init__(self, init, in_bits, act_bits):
        self.init, self.t, self.layers = init, {}, []
        self.kind, self.seq_layout = "dense", 0
        self.map_shape = None           # (C, H, W) of the current feature map, None for vectors
        self.flat_from = None           # (C, H, W) of the map a pending flatten came from

    def src(self, node, j=0):
        name = node.input[j]
        if name not in self.t:
            _refuse(node, f"input {name!r} is not produced by a supported node (or is a constant where "
                          "an activation is expected)")
        return self.t[name]

    def const(self, node, j, what):
        if len(node.input) <= j or node.input[j] not in self.init:
            _refuse(node, f"{what} must be a constant initializer")
        return self.init[node.input[j]]

    def cur(self, node, j=0):
        """The layer this node extends (it must be the last one, before its activation)."""
        k, stage = self.src(node, j)
        if k == "in" or k != len(self.layers) - 1 or stage != "pre":
            _refuse(node, "must directly follow the Gemm / MatMul / Conv it modifies (before any Relu)")
        return self.layers[k]

    def out(self, node, k, stage):
        self.t[node.output[0]] = (k, stage)

    def add_layer(self, node, L, k):
        if self.kind in ("lstm", "rnn") and len(self.layers) >= 2:
            _refuse(node, "after a recurrent layer only one Gemm / MatMul readout is supported")
        L.name = _name(node, k)
        self.layers.append(L)
        self.out(node, len(self.layers) - 1, "pre")

    def node(self, node, k):
        op, a = node.op_type, _attrs(node)
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            _refuse(node, "operator not supported by the NR48 mapper (supported: Gemm, MatMul, Add, Conv, "
                          "Relu, Clip, MaxPool, BatchNormalization, Flatten, Reshape, Squeeze, Transpose, "
                          "LSTM, RNN, Gather of h[0])")
        handler(node, a, k)

    def _prev_ok(self, node):
        k, stage = self.src(node)
        if k != "in" and stage == "pre" and self.layers and not isinstance(self.layers[-1], MaxPool2D) \
                and not getattr(self.layers[-1], "relu", True):
            # the previous layer had no activation: only allowed for the logits (nothing follows)
            _refuse(node, f"the layer before ({self.layers[k].name}) has no Relu; hidden layers need one")
        return k

    def _dense(self, node, W, b, k):
        self._prev_ok(node)
        if self.flat_from is not None:
            C, H, Wd = self.flat_from
            if W.shape[0] != C * H * Wd:
                _refuse(node, f"has {W.shape[0]} inputs, the flattened {C}×{H}×{Wd} map has {C * H * Wd}")
            # ONNX flattens (c, y, x); the mapper's maps are (y, x, c)
            W = W.reshape(C, H, Wd, -1).transpose(1, 2, 0, 3).reshape(C * H * Wd, -1)
            self.flat_from = None
        elif self.map_shape is not None:
            _refuse(node, "a Gemm / MatMul on a feature map needs a Flatten (or Reshape to N × -1) first")
        self.add_layer(node, Dense(W, b, relu=False), k)

    def op_Gemm(self, node, a, k):
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            _refuse(node, "only alpha = beta = 1 and transA = 0 are supported")
        W = self.const(node, 1, "the weight (B)")
        W = W.T if a.get("transB", 0) else W
        b = self.const(node, 2, "the bias (C)") if len(node.input) > 2 and node.input[2] else None
        if b is not None:
            b = np.broadcast_to(b, (W.shape[1],)).copy()
        self._dense(node, W, b, k)

    def op_MatMul(self, node, a, k):
        self._dense(node, self.const(node, 1, "the weight (second input)"), None, k)

    def op_Add(self, node, a, k):
        names = list(node.input)
        consts = [n for n in names if n in self.init]
        if consts:
            L = self.cur(node, names.index(next(n for n in names if n not in self.init)))
            b = self.init[consts[0]].reshape(-1)
            n_out = L.W.shape[3] if isinstance(L, Conv2D) else np.shape(L.W)[1]
            if b.size != n_out:
                _refuse(node, "a constant Add must be a bias of the preceding Gemm / MatMul / Conv")
            L.b = b if L.b is None else L.b + b
            self.out(node, len(self.layers) - 1, "pre")
            return
        (ka, sa), (kb, sb) = self.src(node, 0), self.src(node, 1)
        last = len(self.layers) - 1
        if ka != last:
            (ka, sa), (kb, sb) = (kb, sb), (ka, sa)
        L = self.layers[last] if self.layers else None
        if ka != last or kb == "in" or kb >= last or sb != "post" or not isinstance(L, Dense) \
                or type(self.layers[kb]) is not Dense:
            _refuse(node, "a residual Add must add an earlier hidden Gemm layer's Relu output to the "
                          "current Gemm layer (residuals into or out of conv/pool layers are not supported)")
        if L.residual is not None:
            _refuse(node, "a layer takes one residual")
        L.residual, L.residual_at = kb, "pre" if sa == "pre" else "post"
        self.out(node, last, sa)

    def op_Relu(self, node, a, k):
        kk, stage = self.src(node)
        if kk == "in" or kk != len(self.layers) - 1 or stage != "pre" or isinstance(self.layers[kk], MaxPool2D):
            _refuse(node, "a Relu must follow a Gemm / MatMul / Conv (or its bias, BatchNormalization "
                          "or residual Add)")
        self.layers[kk].relu = True
        self.out(node, kk, "post")

    def op_Clip(self, node, a, k):
        lo = self.init.get(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("min")
        hi = self.init.get(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("max")
        if lo is None or float(np.asarray(lo)) != 0.0 or hi is not None:
            _refuse(node, "only Clip(min = 0) without an upper bound (a Relu) is supported: the chip's "
                          "activation ceiling is the calibrated range")
        self.op_Relu(node, a, k)

    def op_BatchNormalization(self, node, a, k):
        L = self.cur(node)
        sc, bi, mu, var = (self.const(node, j, w) for j, w in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
        g = sc / np.sqrt(var + a.get("epsilon", 1e-5))
        b = np.zeros(g.size) if L.b is None else np.asarray(L.b, float)
        L.W = np.asarray(L.W, float) * g          # the last axis is the output channel for both
        L.b = (b - mu) * g + bi
        self.out(node, len(self.layers) - 1, "pre")

    def op_Conv(self, node, a, k):
        W = self.const(node, 1, "the weight")
        if W.ndim != 4:
            _refuse(node, "only 2-D convolutions are supported")
        if a.get("group", 1) != 1:
            _refuse(node, f"groups = {a['group']}: only group = 1 is supported")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            _refuse(node, "dilations other than 1 are not supported")
        if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            _refuse(node, "auto_pad is not supported; export with explicit pads")
        s = list(a.get("strides", [1, 1]))
        p = list(a.get("pads", [0, 0, 0, 0]))
        if s[0] != s[1] or len(set(p)) != 1:
            _refuse(node, f"strides {s} and pads {p} must be equal in both directions and on every side")
        kk = self._prev_ok(node)
        if kk != "in" and self.map_shape is None:
            _refuse(node, "a convolution after a flat (dense) layer is not supported")
        b = self.const(node, 2, "the bias") if len(node.input) > 2 and node.input[2] else None
        C, H, Wd = self.map_shape if self.map_shape else self.in_dims[1:]
        L = Conv2D(W.transpose(2, 3, 1, 0).copy(), b, stride=s[0], padding=p[0], relu=False)
        self.add_layer(node, L, k)
        Ho, Wo, Co = L.out_shape((H, Wd, C))
        self.map_shape = (Co, Ho, Wo)

    def op_MaxPool(self, node, a, k):
        ks, s = list(a.get("kernel_shape", [])), list(a.get("strides", [1, 1]))
        if len(set(ks)) != 1 or ks != s or any(a.get("pads", [0])) or a.get("ceil_mode", 0) or len(node.output) > 1:
            _refuse(node, f"kernel {ks} and strides {s} must be equal squares, without pads, ceil_mode or indices")
        kk, stage = self.src(node)
        if kk != "in" and stage != "post":
            _refuse(node, "a max-pool must follow a Relu (the mapper pools unsigned codes)")
        if kk == "in":
            self.map_shape = tuple(self.in_dims[1:])
        if self.map_shape is None:
            _refuse(node, "a max-pool needs a feature map")
        C, H, W = self.map_shape
        self.layers.append(MaxPool2D(ks[0], _name(node, k)))
        self.map_shape = (C, H // ks[0], W // ks[0])
        self.out(node, len(self.layers) - 1, "post")

    def _flatten(self, node):
        kk, stage = self.src(node)
        if self.map_shape is not None:
            self.flat_from, self.map_shape = self.map_shape, None
        self.t[node.output[0]] = (kk, stage)

    def op_Flatten(self, node, a, k):
        if a.get("axis", 1) != 1:
            _refuse(node, "only axis = 1 (keep the batch dimension) is supported")
        self._flatten(node)

    def op_Reshape(self, node, a, k):
        shp = self.const(node, 1, "the target shape").astype(int).tolist()
        if len(shp) != 2 or shp[1] != -1 and shp[0] not in (0, -1):
            _refuse(node, f"only a reshape to N × -1 (a flatten) is supported, got {shp}")
        self._flatten(node)

    def op_Squeeze(self, node, a, k):
        self._flatten(node)

    def op_Gather(self, node, a, k):
        idx = self.const(node, 1, "the index")
        if idx.ndim != 0 or int(idx) != 0 or a.get("axis", 0) != 0 or self.src(node) != (0, "post") \
                or self.kind not in ("lstm", "rnn"):
            _refuse(node, "only Gather(axis 0, index 0) of a recurrent layer's Y_h (h[0]) is supported")
        self._flatten(node)

    def op_Transpose(self, node, a, k):
        perm = list(a.get("perm", []))
        if perm != sorted(perm):
            _refuse(node, f"perm {perm} reorders data; only Transposes that keep the order are supported")
        self.t[node.output[0]] = self.src(node)

    def _recurrent(self, node, a, k, kind):
        kk, _ = self.src(node)
        if kk != "in" or self.layers:
            _refuse(node, f"an {kind} must be the first layer (it reads the graph input)")
        if len(self.in_dims) != 3:
            _refuse(node, "the input must be a sequence (T × N × F, or N × T × F with layout = 1)")
        if a.get("direction", b"forward") not in (b"forward", "forward"):
            _refuse(node, "only direction = forward is supported")
        for j, what in ((4, "sequence_lens"), (5, "initial_h"), (6, "initial_c"), (7, "peepholes (P)")):
            zero = j in (5, 6) and len(node.input) > j and not np.any(self.init.get(node.input[j], 1))
            if len(node.input) > j and node.input[j] and not zero:
                _refuse(node, f"{what} is not supported (initial states must be constant zeros)")
        if a.get("clip") is not None or a.get("input_forget", 0):
            _refuse(node, "clip and input_forget are not supported")
        lay = a.get("layout", 0)
        T, F = (self.in_dims[1], self.in_dims[2]) if lay else (self.in_dims[0], self.in_dims[2])
        if T is None:
            _refuse(node, "the sequence length is dynamic; export with a fixed length")
        self.seq_layout, self.kind = lay, kind
        if len(node.output) < 2 or not node.output[1]:
            _refuse(node, "only the last hidden state (output Y_h) can feed the readout")
        W = self.const(node, 1, "W")[0]
        R = self.const(node, 2, "R")[0]
        nhid = R.shape[1]
        B = self.const(node, 3, "B")[0] if len(node.input) > 3 and node.input[3] else np.zeros(2 * W.shape[0])
        b = B[:W.shape[0]] + B[W.shape[0]:]
        self.layers.append(self._cell(node, a, kind, W, R, b, T, nhid))
        self.layers[-1].name = _name(node, k)
        self.t[node.output[1]] = (0, "post")
        return F

    def _cell(self, node, a, kind, W, R, b, T, nhid):
        from .lstm import LSTM
        from .rnn import SimpleRNN

        acts = [x.decode() if isinstance(x, bytes) else x for x in a.get("activations", [])]
        if kind == "lstm":
            if acts and acts != ["Sigmoid", "Tanh", "Tanh"]:
                _refuse(node, f"activations {acts}: only the default Sigmoid, Tanh, Tanh are supported")
            # ONNX gate order i, o, f, c → the mapper's i, f, g, o
            idx = np.concatenate([np.arange(g * nhid, (g + 1) * nhid) for g in (0, 2, 3, 1)])
            return LSTM(W[idx].T.copy(), R[idx].T.copy(), b[idx], T)
        if acts != ["Relu"]:
            _refuse(node, f"activations {acts or ['Tanh']}: the chip's recurrent mode computes Relu "
                          "(export with nonlinearity='relu')")
        return SimpleRNN(W.T.copy(), R.T.copy(), b, T)

    def op_LSTM(self, node, a, k):
        self._recurrent(node, a, k, "lstm")

    def op_RNN(self, node, a, k):
        self._recurrent(node, a, k, "rnn")


def compile_onnx(path, X, C, name, copies=1, age_ms=0, in_scale=None):
    """`neurram compile model.onnx`: import, quantise on C (graph-shaped or flat float inputs),
    compile with the batch X (None: one zero sample).  Returns the Compiled program."""
    imp = from_onnx(path, in_scale)
    m = imp.model
    n_in = (int(np.prod(m.in_shape)) if m.in_shape is not None else
            m.layers[0].n_x * m.layers[0].steps if imp.kind != "dense" else np.shape(m.layers[0].W)[0])
    X = np.zeros((1, n_in)) if X is None else imp.to_rows(X)
    C = X if C is None else imp.to_rows(C)
    if in_scale is None and np.any(C):
        # the input code scale from the calibration data: its 99.9th percentile of |x| is full scale
        m.in_scale = float(np.percentile(np.abs(C), 99.9) or np.abs(C).max()) / (2**m.in_bits - 1)
    if imp.kind == "lstm":
        from .lstm import compile_lstm, quantise_lstm

        q = quantise_lstm(m, C, copies=copies)
        return compile_lstm(q, q.encode(X), name=name, age_ms=age_ms)
    if imp.kind == "rnn":
        from .rnn import compile_rnn, quantise_rnn

        q = quantise_rnn(m, C, copies=copies)
        return compile_rnn(q, q.encode(X), name=name, age_ms=age_ms)
    from .codegen import compile_model
    from .model import quantise

    q = quantise(m, C, copies=copies)
    return compile_model(q, q.encode(X), name=name, age_ms=age_ms)
