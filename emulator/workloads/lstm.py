"""An LSTM on the digits read row by row (8 steps of 8 pixels), through the mapper's LSTM layer
(emulator/mapper/lstm.py): the gate MVMs on one core, σ / tanh and the cell update on the vector
unit, the readout on a second core.  `neurram lstm` prints its accuracy table.

Training (`train_lstm`): numpy BPTT with Adam on float pixels / 16, 4-bit fake-quantised weights
(straight-through; the gate matrix [Wx; Wh] shares one scale, as on the chip, because in_scale
= 1/15 and the hidden code is h·15), hidden states rounded to their 4-bit codes, and — for the
noise-aware model — the chip-matched weight noise of emulator.mapper.chipnoise per 4-bit level
on every minibatch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emulator.mapper import Dense, Model
from emulator.mapper.lstm import LSTM, compile_lstm, quantise_lstm, reference, slots
from emulator.workloads.chiprun import SCRATCH, evaluate_classifier, run_classifier
from emulator.workloads.digits import AGE_MS, DATA, load_digits_split

NAME = "lstm"
NH, NX, STEPS, NCLS = 24, 8, 8, 10
IN_SCALE = 1 / 15           # pixels / 16 → signed 4-bit codes 0 … 15 (they are never negative)
HQ = 15                     # hidden code = round(15·h)
TRAIN_SEED = 0
NOISE_MULT = 1.0
COPIES = 4                  # column copies where they fit (the gates: 96 columns × 2, readout × 16)
N_PROGRAM = 50


def _sg(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def _fq(W, s):
    return np.clip(np.round(W / s), -7, 7) * s


def _weights(P, quant, rng=None, level_sigma=None):
    """The weights a forward pass uses: float, or 4-bit (gate matrix [Wx; Wh] on one scale, the
    readout on its own), optionally with chip-matched noise per level."""
    if not quant:
        return P["Wx"], P["Wh"], P["b"], P["Wo"], P["bo"]
    M = np.concatenate([P["Wx"], P["Wh"]])
    s, so = np.max(np.abs(M)) / 7, np.max(np.abs(P["Wo"])) / 7
    Mq, Woq = _fq(M, s), _fq(P["Wo"], so)
    if rng is not None and level_sigma is not None:
        ls = np.asarray(level_sigma)
        Mq = Mq + rng.normal(size=M.shape) * ls[np.abs(np.round(Mq / s)).astype(int)] * s
        Woq = Woq + rng.normal(size=Woq.shape) * ls[np.abs(np.round(Woq / so)).astype(int)] * so
    return Mq[:NX], Mq[NX:], P["b"], Woq, P["bo"]


def forward_float(P, X, quant=True, rng=None, level_sigma=None):
    """Logits and the saved tensors for BPTT; X are N × 64 pixels 0 … 16.  quant: the "4-bit
    software" model (4-bit weights, 4-bit input and hidden codes)."""
    x = np.asarray(X, float).reshape(len(X), STEPS, NX) / 16
    if quant:
        x = np.round(x * 15) / 15
    Wx, Wh, b, Wo, bo = _weights(P, quant, rng, level_sigma)
    h, c = np.zeros((len(x), NH)), np.zeros((len(x), NH))
    tape = []
    for t in range(STEPS):
        z = x[:, t] @ Wx + h @ Wh + b
        i, f, g, o = _sg(z[:, :NH]), _sg(z[:, NH:2 * NH]), np.tanh(z[:, 2 * NH:3 * NH]), _sg(z[:, 3 * NH:])
        c2 = f * c + i * g
        tc = np.tanh(c2)
        h2 = o * tc
        tape.append((x[:, t], h, c, i, f, g, o, tc))
        h, c = (np.round(h2 * HQ) / HQ if quant else h2), c2
    return h @ Wo + bo, (tape, h, Wx, Wh, Wo)


def train_lstm(X, y, epochs=60, lr=1e-2, batch=64, seed=0, level_sigma=None) -> dict:
    rng = np.random.default_rng(seed)
    y = np.asarray(y, int)
    P = {"Wx": rng.normal(0, 1 / np.sqrt(NX), (NX, 4 * NH)), "Wh": rng.normal(0, 1 / np.sqrt(NH), (NH, 4 * NH)),
         "b": np.concatenate([np.zeros(NH), np.ones(NH), np.zeros(2 * NH)]),
         "Wo": rng.normal(0, 1 / np.sqrt(NH), (NH, NCLS)), "bo": np.zeros(NCLS)}
    m1 = {k: np.zeros_like(v) for k, v in P.items()}
    m2 = {k: np.zeros_like(v) for k, v in P.items()}
    Y, n = np.eye(NCLS)[y], 0
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for s0 in range(0, len(X), batch):
            idx = perm[s0:s0 + batch]
            out, (tape, hT, Wx, Wh, Wo) = forward_float(P, X[idx], True, rng, level_sigma)
            e = np.exp(out - out.max(1, keepdims=True))
            gl = (e / e.sum(1, keepdims=True) - Y[idx]) / len(idx)
            G = {"Wo": hT.T @ gl, "bo": gl.sum(0), "Wx": 0, "Wh": 0, "b": 0}
            dh, dc = gl @ Wo.T, 0
            for xt, hp, cp, i, f, g, o, tc in reversed(tape):
                do = dh * tc
                dct = dc + dh * o * (1 - tc * tc)
                dz = np.concatenate([dct * g * i * (1 - i), dct * cp * f * (1 - f), dct * i * (1 - g * g),
                                     do * o * (1 - o)], 1)
                G["Wx"] = G["Wx"] + xt.T @ dz
                G["Wh"] = G["Wh"] + hp.T @ dz
                G["b"] = G["b"] + dz.sum(0)
                dh, dc = dz @ Wh.T, dct * f
            norm = np.sqrt(sum(np.sum(v * v) for v in G.values()))
            if norm > 5:
                G = {k: v * 5 / norm for k, v in G.items()}
            n += 1
            for k in P:
                m1[k] = 0.9 * m1[k] + 0.1 * G[k]
                m2[k] = 0.999 * m2[k] + 0.001 * G[k] ** 2
                P[k] = P[k] - lr * (m1[k] / (1 - 0.9**n)) / (np.sqrt(m2[k] / (1 - 0.999**n)) + 1e-8)
    return P


def train(noise: bool, seed=TRAIN_SEED, epochs=60, age_ms=AGE_MS, mult=NOISE_MULT) -> dict:
    from emulator.mapper.chipnoise import weight_noise

    Xtr, ytr, _, _ = load_digits_split()
    return train_lstm(Xtr, ytr, epochs=epochs, seed=seed,
                      level_sigma=weight_noise(age_ms) * mult if noise else None)


def shipped(noise: bool) -> dict:
    z = np.load(DATA / ("digits_lstm_noise.npz" if noise else "digits_lstm_plain.npz"))
    return {k: z[k].astype(float) for k in z.files}


def save(P, path):
    np.savez(path, **{k: v.astype(np.float32) for k, v in P.items()})


def as_model(P) -> Model:
    """The trained weights as the mapper's Model([LSTM, Dense]) on float pixels (× 1/16 folded
    into Wx, in_scale = 16/15 per pixel code)."""
    return Model([LSTM(P["Wx"] / 16, P["Wh"], P["b"], STEPS, "lstm"),
                  Dense(P["Wo"], P["bo"], relu=False, name="readout")], in_scale=16 * IN_SCALE)


def quantise(P, copies=COPIES):
    Xtr = load_digits_split()[0]
    return quantise_lstm(as_model(P), Xtr, copies=copies)


def _ref(q, X):
    return reference(q, q.encode(X))


def program(q, X, name="lstm_digits"):
    return compile_lstm(q, q.encode(X), name, age_ms=AGE_MS)


def write_program(q, X, d, name="lstm_digits") -> Path:
    return program(q, X, name).write(Path(d) / f"{name}.s")


def run_chip(q, X, model="ideal", seed=1, workdir=SCRATCH / "lstm", name="lstm_digits", config=None):
    path = write_program(q, X, workdir, name)
    return run_classifier(path, len(X), NCLS, "LSTM program", model, seed, config)


def evaluate(P, seeds=(1, 2, 3), n_test=None, workdir=SCRATCH / "lstm", analog=True, copies=COPIES,
             config=None):
    _, _, Xte, yte = load_digits_split()
    Xte, yte = Xte[:n_test], yte[:n_test]
    q = quantise(P, copies)
    return evaluate_classifier(P, q, Xte, yte, forward_float, _ref, run_chip, seeds, workdir, analog, config)


def cores(q) -> list:
    return [(s.core, s.name, s.utilisation) for s in slots(q)]


def core_map(q) -> str:
    from emulator.mapper.codegen import core_map_text

    return core_map_text(q, slots(q))
