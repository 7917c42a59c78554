"""The numpy integer references of quantised layers and networks: exactly what a compiled program
computes on the ideal model (docs/mapper.md)."""
from __future__ import annotations

import numpy as np

from .gap import QGap, gap_codes
from .model import QConv, QDense, QModel, QPool, _round_shift, max_pool, patches


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


def conv_rows(L: QConv, x) -> np.ndarray:
    """A conv layer's input rows: the im2col patches of the N × (H·W·C) codes x, then the bias
    inputs — (N·Ho·Wo) × n_rows, in the program's position order (row-major y, x)."""
    n = len(x)
    p = patches(np.asarray(x, np.int64).reshape(n, *L.in_shape), L.kh, L.kw, L.stride, L.pad)
    p = p.reshape(-1, L.n_in)
    return np.concatenate([p, np.tile(np.array(L.bias_input, np.int64), (len(p), 1))], 1)


def reference(q: QModel, rows0: np.ndarray) -> np.ndarray:
    """The numpy integer reference of the whole quantised network (N × n_out int64 logits);
    rows0 is QModel.encode's output."""
    x, ys = np.asarray(rows0, np.int64), []
    n = len(x)
    for k, L in enumerate(q.layers):
        if isinstance(L, QPool):
            y = max_pool(x.reshape(n, *L.in_shape), L.size).reshape(n, -1)
        elif isinstance(L, QGap):
            y = gap_codes(x, L)
        elif isinstance(L, QConv):
            res = ys[L.residual].reshape(-1, L.n_out) if L.residual is not None else None
            y = layer_reference(L, conv_rows(L, x), res).reshape(n, -1)
        else:
            rows = x if k == 0 else np.concatenate([x, np.tile(np.array(L.bias_input, np.int64), (n, 1))], 1)
            res = ys[L.residual] if L.residual is not None else None
            y = layer_reference(L, rows, res) if res is not None else layer_reference(L, rows)
        ys.append(y)
        x = y
    return y
