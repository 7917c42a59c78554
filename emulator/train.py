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

from emulator.mapper import Dense, Model


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
    X = np.clip(np.round(np.asarray(X, float) / in_scale), 0, 2**in_bits - 1) * in_scale
    y = np.asarray(y, int)
    nc = n_classes or int(y.max()) + 1
    dims = [X.shape[1]] + list(sizes)
    Ws = [rng.normal(0, np.sqrt(2 / dims[i]), (dims[i], dims[i + 1])) for i in range(len(sizes))]
    bs = [np.zeros(d) for d in dims[1:]]
    amax = [None] * (len(sizes) - 1)
    params = Ws + bs
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    t = 0
    Y = np.eye(nc)[y]
    for ep in range(epochs):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), batch):
            idx = perm[i:i + batch]
            h, cache = X[idx], []
            for k in range(len(Ws)):
                Wq = fake_quant_w(Ws[k], wbits)
                sig = eta * np.max(np.abs(Ws[k]))
                Wn = Wq + weight_noise_sample(rng, Ws[k], Wq, eta, wbits, level_sigma)
                bn = bs[k] + (rng.normal(0, sig, bs[k].shape) if eta else 0)
                z = h @ Wn + bn
                if k < len(Ws) - 1:
                    p = np.percentile(np.maximum(z, 0), 99.9) or 1.0
                    amax[k] = p if amax[k] is None else 0.95 * amax[k] + 0.05 * p
                    a, mask = fake_quant_a(z, amax[k], act_bits)
                else:
                    a, mask = z, None
                cache.append((h, Wn, mask))
                h = a
            g = (_softmax(h) - Y[idx]) / len(idx)
            grads_W, grads_b = [None] * len(Ws), [None] * len(Ws)
            for k in range(len(Ws) - 1, -1, -1):
                hin, Wn, mask = cache[k]
                if mask is not None:
                    g = g * mask
                grads_W[k] = hin.T @ g
                grads_b[k] = g.sum(0)
                g = g @ Wn.T
            t += 1
            for j, (p, gr) in enumerate(zip(params, grads_W + grads_b)):
                m1[j] = 0.9 * m1[j] + 0.1 * gr
                m2[j] = 0.999 * m2[j] + 0.001 * gr * gr
                p -= lr * (m1[j] / (1 - 0.9**t)) / (np.sqrt(m2[j] / (1 - 0.999**t)) + 1e-8)
        if verbose and (ep + 1) % 10 == 0:
            m = _model(Ws, bs, in_scale, in_bits, act_bits)
            print(f"epoch {ep + 1}: train acc {np.mean(m.forward(X).argmax(1) == y):.3f}")
    return _model(Ws, bs, in_scale, in_bits, act_bits)


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
