"""Noise-aware training in plain numpy (docs/mapper.md, "Training").

A tool, not a framework: `train_mlp` trains a ReLU MLP with softmax cross-entropy and Adam,
with the NeuRRAM paper's recipe for surviving the analog chip —
  * weight-noise injection: every forward pass of a minibatch adds N(0, σ²), σ = η·max|W| of the
    layer, to the weights and (same σ) to the biases (the paper used η 0.1–0.2);
  * quantised activations: hidden ReLU outputs are clipped and rounded to `act_bits` unsigned
    codes (straight-through gradient), the range tracked from the 99.9th percentile;
  * quantised weights (optional, default on): forward weights rounded to ±(2^(wbits−1)−1)
    levels of max|W| (straight-through).
Returns an `emulator.mapper.Model`.
"""
from __future__ import annotations

import numpy as np

import copy
from dataclasses import replace

from emulator.mapper import Conv2D, Dense, MaxPool2D, Model
from emulator.mapper.model import patches


def fake_quant_w(W, wbits):
    if not wbits:
        return W
    qmax = 2 ** (wbits - 1) - 1
    s = np.max(np.abs(W)) / qmax or 1.0
    return np.clip(np.round(W / s), -qmax, qmax) * s


def fake_quant_a(a, amax, bits):
    """ReLU clipped to [0, amax] and rounded to 2^bits − 1 steps; returns (value, STE mask)."""
    if not bits:
        return np.maximum(a, 0), (a > 0)
    step = amax / (2**bits - 1)
    mask = (a > 0) & (a < amax)
    return np.round(np.clip(a, 0, amax) / step) * step, mask


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def weight_noise_sample(rng, W, Wq, eta, wbits, level_sigma=None):
    """One draw of the training weight noise for W (Wq its fake-quantised forward weights):
    the paper's flat σ = η·max|W|, or — with `level_sigma` (σ per weight level 0…qmax, in
    levels, e.g. measured on the chip by emulator.mapper.chipnoise.weight_noise) — each weight's
    own level's σ, times η if η > 0 (η = 0 with level_sigma means η = 1)."""
    if level_sigma is None:
        return rng.normal(0, eta * np.max(np.abs(W)), W.shape) if eta else 0.0
    qmax = 2 ** (wbits - 1) - 1
    s = np.max(np.abs(W)) / qmax or 1.0
    lev = np.clip(np.round(np.abs(Wq) / s), 0, qmax).astype(int)
    return rng.normal(size=W.shape) * np.asarray(level_sigma)[lev] * s * (eta or 1.0)


def train_mlp(X, y, sizes, eta=0.0, epochs=60, lr=3e-3, batch=64, seed=0, wbits=4, act_bits=4,
              in_scale=1.0, in_bits=4, n_classes=None, verbose=False, level_sigma=None) -> Model:
    """Train an MLP of layer widths `sizes` (e.g. [64, 10] hidden + output) on float inputs X.
    `level_sigma`: chip-matched noise per weight level instead of σ = η·max|W| (see
    weight_noise_sample)."""
    rng = np.random.default_rng(seed)
    dims = [np.shape(X)[1]] + list(sizes)
    Ws = [rng.normal(0, np.sqrt(2 / dims[i]), (dims[i], dims[i + 1])) for i in range(len(sizes))]
    bs = [np.zeros(d) for d in dims[1:]]
    start = _model(Ws, bs, in_scale, in_bits, act_bits)
    return _fit(start, X, y, eta, epochs, lr, batch, rng, wbits, n_classes, verbose, level_sigma)


def train(model: Model, X, y, eta=0.0, epochs=30, lr=3e-3, batch=64, seed=0, wbits=4, n_classes=None,
          verbose=False, level_sigma=None) -> Model:
    """Noise-aware training of any `Model` of Dense, Conv2D and MaxPool2D layers (the mapper's
    description; its weights are the starting point, its in_scale/in_bits/act_bits the input and
    activation quantisation), with the same recipe as train_mlp: 4-bit fake-quantised weights,
    weight noise σ = η·max|W| (or `level_sigma`) on every minibatch, hidden ReLU outputs rounded
    to act_bits codes (straight-through), softmax cross-entropy, Adam.  Returns a new Model."""
    model.shapes()                                   # MapError for a model the mapper cannot take
    if any(getattr(L, "residual", None) is not None for L in model.layers):
        raise ValueError("train: residual layers are not supported by the numpy trainer")
    hidden = [L for L in model.layers[:-1] if isinstance(L, Dense) and not L.relu]
    if hidden:
        raise ValueError(f"train: hidden layer {hidden[0].name or '?'} needs relu (the chip's hidden "
                         "activations are unsigned codes; the mapper refuses it too)")
    return _fit(model, X, y, eta, epochs, lr, batch, np.random.default_rng(seed), wbits, n_classes,
                verbose, level_sigma)


def _col2im(dp, shape, kh, kw, stride, pad):
    """Gradient of patches(): N × Ho × Wo × (kh·kw·C) → N × H × W × C (summing overlaps)."""
    n, H, W, C = shape
    out = np.zeros((n, H + 2 * pad, W + 2 * pad, C))
    ho, wo = dp.shape[1:3]
    for dy in range(kh):
        for dx in range(kw):
            j = (dy * kw + dx) * C
            out[:, dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride] += dp[..., j:j + C]
    return out[:, pad:pad + H, pad:pad + W]


def _fit(model, X, y, eta, epochs, lr, batch, rng, wbits, n_classes, verbose, level_sigma) -> Model:
    s_x, in_bits, act_bits = model.in_scale, model.in_bits, model.act_bits
    X = np.clip(np.round(np.asarray(X, float) / s_x), 0, 2**in_bits - 1) * s_x
    if model.in_shape is not None:
        X = X.reshape(len(X), *model.in_shape)
    y = np.asarray(y, int)
    nc = n_classes or int(y.max()) + 1
    layers = [copy.deepcopy(L) for L in model.layers]
    weighted = [L for L in layers if not isinstance(L, MaxPool2D)]
    for L in weighted:
        L.W = np.asarray(L.W, float)
        L.b = np.zeros(L.W.shape[-1]) if L.b is None else np.asarray(L.b, float)
    params = [L.W for L in weighted] + [L.b for L in weighted]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    amax = {}
    t = 0
    Y = np.eye(nc)[y]
    last = len(layers) - 1
    for ep in range(epochs):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            h, cache = X[idx], []
            for k, L in enumerate(layers):
                if isinstance(L, MaxPool2D):
                    n, H, W, C = h.shape
                    a = h.reshape(n, H // L.size, L.size, W // L.size, L.size, C)
                    out = a.max((2, 4))
                    sel = a == out[:, :, None, :, None]
                    cache.append((h.shape, sel / sel.sum((2, 4), keepdims=True)))
                    h = out
                    continue
                Wq = fake_quant_w(L.W, wbits)
                sig = eta * np.max(np.abs(L.W))
                Wn = Wq + weight_noise_sample(rng, L.W, Wq, eta, wbits, level_sigma)
                bn = L.b + (rng.normal(0, sig, L.b.shape) if eta else 0)
                if isinstance(L, Conv2D):
                    kh, kw, ci, co = L.W.shape
                    hin = patches(h, kh, kw, L.stride, L.padding)
                    z = hin @ Wn.reshape(-1, co) + bn
                else:
                    hin = h.reshape(len(h), -1)
                    z = hin @ Wn + bn
                if k < last:
                    p = np.percentile(np.maximum(z, 0), 99.9) or 1.0
                    amax[k] = p if k not in amax else 0.95 * amax[k] + 0.05 * p
                    a, mask = fake_quant_a(z, amax[k], act_bits)
                else:
                    a, mask = z, None
                cache.append((h.shape, hin, Wn, mask))
                h = a
            g = (_softmax(h) - Y[idx]) / len(idx)
            gW, gb = {}, {}
            for k in range(last, -1, -1):
                L = layers[k]
                if isinstance(L, MaxPool2D):
                    shape, share = cache[k]
                    n, H, W, C = shape
                    g = (g[:, :, None, :, None] * share).reshape(shape)
                    continue
                shape, hin, Wn, mask = cache[k]
                if mask is not None:
                    g = g * mask
                if isinstance(L, Conv2D):
                    kh, kw, ci, co = L.W.shape
                    gW[k] = (hin.reshape(-1, hin.shape[-1]).T @ g.reshape(-1, co)).reshape(L.W.shape)
                    gb[k] = g.reshape(-1, co).sum(0)
                    if k:
                        g = _col2im(g @ Wn.reshape(-1, co).T, shape, kh, kw, L.stride, L.padding)
                else:
                    gW[k] = hin.T @ g
                    gb[k] = g.sum(0)
                    g = (g @ Wn.T).reshape(shape)
            t += 1
            ks = [k for k, L in enumerate(layers) if not isinstance(L, MaxPool2D)]
            for j, (p, gr) in enumerate(zip(params, [gW[k] for k in ks] + [gb[k] for k in ks])):
                m1[j] = 0.9 * m1[j] + 0.1 * gr
                m2[j] = 0.999 * m2[j] + 0.001 * gr * gr
                p -= lr * (m1[j] / (1 - 0.9**t)) / (np.sqrt(m2[j] / (1 - 0.999**t)) + 1e-8)
        if verbose and (ep + 1) % 10 == 0:
            m = replace(model, layers=[copy.deepcopy(L) for L in layers])
            print(f"epoch {ep + 1}: train acc {np.mean(m.forward(X).argmax(1) == y):.3f}")
    return replace(model, layers=layers)


def _model(Ws, bs, in_scale, in_bits, act_bits):
    n = len(Ws)
    return Model([Dense(W.copy(), b.copy(), k < n - 1, f"fc{k + 1}") for k, (W, b) in
                  enumerate(zip(Ws, bs))], in_scale=in_scale, in_bits=in_bits, act_bits=act_bits)


def quantised_forward(model: Model, X, wbits=4, act_bits=4, amax=None, X_calib=None):
    """Float simulation of the 4-bit network ("4-bit software"): 4-bit weights, activations
    rounded to act_bits codes with ranges from the 99.9th percentile on X_calib."""
    X_calib = X if X_calib is None else X_calib
    h = np.clip(np.round(np.asarray(X, float) / model.in_scale), 0, 2**model.in_bits - 1) * model.in_scale
    hc = np.clip(np.round(np.asarray(X_calib, float) / model.in_scale), 0, 2**model.in_bits - 1) * model.in_scale
    for k, L in enumerate(model.layers):
        Wq = fake_quant_w(L.W, wbits)
        z, zc = h @ Wq + L.b, hc @ Wq + L.b
        if L.relu:
            a = np.percentile(np.maximum(zc, 0), 99.9) or 1.0
            h, _ = fake_quant_a(z, a, act_bits)
            hc, _ = fake_quant_a(zc, a, act_bits)
        else:
            h = z
    return h


# ---------------------------------------------------------------- chip-in-the-loop fine-tuning

def measure_features(program, sym: str, width: int, hook: str, n: int, model: str = "analog",
                     seed: int = 1, config=None) -> np.ndarray:
    """The measured outputs of the layers already on the chip (the paper's chip-in-the-loop
    step): run `program` (a classifier over n samples) and, each time the first instruction
    whose disassembly starts with `hook` (e.g. "hin.u8 c1,", the scan-in of the next layer's
    inputs) is about to issue, read `width` bytes at symbol `sym`.  Returns n × width uint8."""
    from asm.disasm import disassemble_word
    from emulator.machine import Machine

    m = Machine(model=model, seed=seed, config=config)
    m.load(program)
    pcs = [4 * i for i, w in enumerate(m.program.words) if disassemble_word(int(w)).startswith(hook)]
    if not pcs:
        raise ValueError(f"{program}: no instruction starts with {hook!r}")
    m.set_breakpoint(pcs[0])
    addr = m.sym(sym)
    out = np.zeros((n, width), np.uint8)
    for i in range(n):
        r = m.run()
        if r.stop != "breakpoint":
            raise RuntimeError(f"{program}: stopped after {i} of {n} samples: {r}")
        out[i] = m.mem(addr, width, "u8")
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{program}: run stopped: {r}")
    return out


def finetune_dense(W, b, F, y, epochs: int = 30, lr: float = 1e-3, batch: int = 64, seed: int = 0,
                   l2: float = 1e-2, eta: float = 0.0, wbits: int = 4):
    """Fine-tune a dense softmax classifier (logits F @ W + b) on features F from (W, b): Adam on
    cross-entropy with L2 toward the start (it stays near the mapped weights) and, with η > 0,
    the weight-noise injection of train_mlp.  Returns the new (W, b)."""
    rng = np.random.default_rng(seed)
    F = np.asarray(F, float)
    y = np.asarray(y, int)
    W, b = np.array(W, float), np.array(b, float)
    W0, b0 = W.copy(), b.copy()
    Y = np.eye(W.shape[1])[y]
    m1 = [np.zeros_like(W), np.zeros_like(b)]
    m2 = [np.zeros_like(W), np.zeros_like(b)]
    t = 0
    for _ in range(epochs):
        perm = rng.permutation(len(F))
        for i in range(0, len(F), batch):
            idx = perm[i:i + batch]
            Wq = fake_quant_w(W, wbits)
            Wn = Wq + weight_noise_sample(rng, W, Wq, eta, wbits)
            g = (_softmax(F[idx] @ Wn + b) - Y[idx]) / len(idx)
            grads = [F[idx].T @ g + l2 * (W - W0), g.sum(0) + l2 * (b - b0)]
            t += 1
            for j, (p, gr) in enumerate(zip((W, b), grads)):
                m1[j] = 0.9 * m1[j] + 0.1 * gr
                m2[j] = 0.999 * m2[j] + 0.001 * gr * gr
                p -= lr * (m1[j] / (1 - 0.9**t)) / (np.sqrt(m2[j] / (1 - 0.999**t)) + 1e-8)
    return W, b


def feature_scale(codes, features) -> float:
    """The float activation of one code: least squares of features ≈ s·codes (both N × k)."""
    c = np.asarray(codes, float).ravel()
    f = np.asarray(features, float).ravel()
    return float(c @ f / (c @ c)) if c @ c > 0 else 1.0
