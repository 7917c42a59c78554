"""The digits classifier: sklearn's 8×8 handwritten digits (shipped as .npy), an MLP trained in
numpy with and without noise-aware training, compiled to NR48 and run on the emulated chip."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from emulator.data import DIR as DATA
from emulator.mapper import Model, Dense, compile_batched, compile_model, quantise, reference, run_compiled
from .chiprun import SCRATCH

N_TRAIN = 1347
N_TEST = 450                # the held-out test digits (1797 − N_TRAIN)
IN_SCALE = 16 / 15          # pixel 0..16 → 4-bit code 0..15
HIDDEN = 64
COPIES = 16                 # column copies per layer (fc1 gets 4, fc2 16: what fits 256 columns)
AGE_MS = 3_600_000          # chip age before inference (and of the noise measured for training)
TRAIN_SEED = 1              # the shipped noise-aware model (seed 0: see docs/workloads.md)


def load_digits_split():
    """(X_train, y_train, X_test, y_test): pixels 0..16 as float, a fixed 1347/450 split."""
    X = np.load(DATA / "digits_X.npy").astype(float)
    y = np.load(DATA / "digits_y.npy").astype(int)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def save_model(model: Model, path):
    arrs = {}
    for k, L in enumerate(model.layers):
        arrs[f"W{k}"] = L.W.astype(np.float32)
        arrs[f"b{k}"] = L.b.astype(np.float32)
    np.savez(path, **arrs)


def load_model(path) -> Model:
    z = np.load(path)
    n = len([k for k in z.files if k.startswith("W")])
    return Model([Dense(z[f"W{k}"].astype(float), z[f"b{k}"].astype(float), k < n - 1, f"fc{k + 1}")
                  for k in range(n)], in_scale=IN_SCALE, in_bits=4, act_bits=4)


def shipped_model(noise: bool) -> Model:
    return load_model(DATA / ("digits_mlp_noise.npz" if noise else "digits_mlp_plain.npz"))


def train(eta: float, seed=0, epochs=150, chip_noise=True, age_ms=AGE_MS) -> Model:
    """Noise-aware (η > 0 or chip_noise) or plain (η = 0, chip_noise False) training.  With
    chip_noise the injected noise is the per-level σ measured on the emulated chip after
    age_ms (emulator.mapper.chipnoise), scaled by η (η = 0 → 1)."""
    from emulator.mapper.chipnoise import weight_noise
    from emulator.train import train_mlp

    Xtr, ytr, _, _ = load_digits_split()
    sig = weight_noise(age_ms) if chip_noise else None
    return train_mlp(Xtr, ytr, [HIDDEN, 10], eta=eta, epochs=epochs, seed=seed, in_scale=IN_SCALE,
                     level_sigma=sig)


def compile_digits(model: Model, n_test=None, name="digits_mlp", age_ms=0, copies=COPIES, batched=True):
    """The test digits compiled as one batched program (bmvm per core, emulator.mapper.
    compile_batched) or, with batched=False, as the per-sample loop of compile_model; both give
    the same outputs bit for bit."""
    Xtr, _, Xte, yte = load_digits_split()
    q = quantise(model, Xtr, copies=copies)
    Xte, yte = (Xte, yte) if n_test is None else (Xte[:n_test], yte[:n_test])
    compile_ = compile_batched if batched else compile_model
    return compile_(q, q.encode(Xte), name=name, age_ms=age_ms), yte


def evaluate(model: Model, seeds=(1, 2, 3), n_test=None, workdir=SCRATCH / "digits",
             analog=True, age_ms=0, log=print, copies=COPIES, single=False, config=None,
             batched=True):
    """Accuracy of one model: float, 4-bit software, chip ideal, chip analog per seed (with
    `copies` column copies; with `single` also the analog run with one copy)."""
    from emulator.train import quantised_forward

    Xtr, _, Xte, yte = load_digits_split()
    if n_test is not None:
        Xte, yte = Xte[:n_test], yte[:n_test]
    res = {"float": float(np.mean(model.forward(Xte).argmax(1) == yte)),
           "sw4": float(np.mean(quantised_forward(model, Xte, X_calib=Xtr).argmax(1) == yte))}
    c, _ = compile_digits(model, n_test, age_ms=age_ms, copies=copies, batched=batched)
    q = c.qmodel
    res["int_ref"] = float(np.mean(reference(q, q.encode(Xte)).argmax(1) == yte))
    t = time.time()
    out, pred, r = run_compiled(c, Path(workdir) / f"{c.name}.s", config=config)
    res["ideal"] = float(np.mean(pred == yte))
    res["ideal_exact"] = bool((out == reference(q, q.encode(Xte))).all())
    res["ideal_wall_s"] = time.time() - t
    res["chip_s"] = r.time_s
    res["cycles"] = r.cycles
    res["per_inference"] = r.per_inference
    res["analog"] = []
    if analog:
        for s in seeds:
            t = time.time()
            _, pred, r = run_compiled(c, Path(workdir) / f"{c.name}.s", model="analog", seed=s, config=config)
            res["analog"].append(float(np.mean(pred == yte)))
            res["analog_wall_s"] = time.time() - t
    res["analog1"] = []
    if analog and single:
        c1, _ = compile_digits(model, n_test, name="digits_mlp_1copy", age_ms=age_ms, copies=1, batched=batched)
        for s in seeds:
            _, pred, _ = run_compiled(c1, Path(workdir) / f"{c1.name}.s", model="analog", seed=s, config=config)
            res["analog1"].append(float(np.mean(pred == yte)))
    res["core_map"] = c.core_map
    res["slots"] = c.slots
    return res
