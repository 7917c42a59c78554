"""Chip-in-the-loop fine-tuning (the paper's Fig. 5b step) of the digits MLP and CNN.

For each analog seed: layer 1 (the MLP's fc1, the CNN's conv + pool) is programmed on the
analog chip and its outputs on the training set are measured there (emulator.train.
measure_features: the next layer's input buffer, read as the program scans it in); the last
layer is fine-tuned in numpy on those measurements (emulator.train.finetune_dense) and the
network is compiled again with it.  Layer 1 keeps its codes, cores and programming order, so
with the same seed the chip holds the very same layer-1 conductances as when it was measured
(the write-verify and relaxation draws are keyed by seed, core and cell).  Accuracy on the test
digits before and after, per seed.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from . import cnn as K
from .digits import AGE_MS, COPIES, load_digits_split, shipped_model
from .chiprun import SCRATCH


def _acc(pred, y) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(y)))


def mlp(seed: int, n_train: int | None = None, n_test: int | None = None, noise: bool = False,
        workdir=SCRATCH / "finetune", epochs: int = 30, copies: int = COPIES) -> dict:
    """Before/after test accuracy of the digits MLP on the analog chip (seed)."""
    from emulator.mapper import compile_model, quantise, run_compiled
    from emulator.train import feature_scale, finetune_dense, measure_features

    work = Path(workdir)
    Xtr, ytr, Xte, yte = load_digits_split()
    Xtr, ytr = Xtr[:n_train], ytr[:n_train]
    Xte, yte = Xte[:n_test], yte[:n_test]
    model = shipped_model(noise)
    q = quantise(model, Xtr, copies=copies)
    test = compile_model(q, q.encode(Xte), name="ft_mlp_test", age_ms=AGE_MS)
    _, pred, _ = run_compiled(test, work / "ft_mlp_test.s", model="analog", seed=seed)
    before = _acc(pred, yte)
    train = compile_model(q, q.encode(Xtr), name="ft_mlp_train", age_ms=AGE_MS)
    path = train.write(work / "ft_mlp_train.s")
    core2 = min(s.core for s in train.slots if s.layer == 1)
    hidden = q.layers[0].n_out
    hook = f"hin.u8 c{core2},"
    meas = measure_features(str(path), "fc2_in0", hidden, hook, len(Xtr), "analog", seed)
    ideal = measure_features(str(path), "fc2_in0", hidden, hook, len(Xtr), "ideal", seed)
    L0, L1 = model.layers
    xq = np.clip(np.round(Xtr / model.in_scale), 0, 2**model.in_bits - 1) * model.in_scale
    s = feature_scale(ideal, np.maximum(xq @ L0.W + L0.b, 0))
    W, b = finetune_dense(L1.W, L1.b, meas * s, ytr, epochs=epochs, seed=seed)
    tuned = replace(model, layers=[L0, replace(L1, W=W, b=b)])
    q2 = quantise(tuned, Xtr, copies=copies)
    if not np.array_equal(q2.layers[0].codes, q.layers[0].codes):
        raise RuntimeError("fine-tuning changed layer 1's codes: the measured chip state would not hold")
    test2 = compile_model(q2, q2.encode(Xte), name="ft_mlp_test2", age_ms=AGE_MS)
    _, pred, _ = run_compiled(test2, work / "ft_mlp_test2.s", model="analog", seed=seed)
    return {"seed": seed, "before": before, "after": _acc(pred, yte),
            "feature_rms_error": float(np.sqrt(np.mean((meas.astype(float) - ideal) ** 2)))}


def cnn(seed: int, n_train: int | None = None, n_test: int | None = None, noise: bool = False,
        workdir=SCRATCH / "finetune", epochs: int = 30, copies: int = K.FC_COPIES) -> dict:
    """Before/after test accuracy of the digits CNN on the analog chip (seed); the CNN's
    classifier works on the pooled 4-bit codes directly, so no feature scale is needed."""
    from emulator.train import finetune_dense, measure_features

    work = Path(workdir)
    Xtr, ytr, Xte, yte = load_digits_split()
    Xtr, ytr = Xtr[:n_train], ytr[:n_train]
    Xte, yte = Xte[:n_test], yte[:n_test]
    P = K.shipped(noise)
    q = K.quantise_cnn(P, Xtr, rc=copies, rf=copies)
    _, pred, _, _ = K.run_chip(q, Xte, "analog", seed, str(work), "ft_cnn_test")
    before = _acc(pred, yte)
    path = K.write_program(q, Xtr, work, name="ft_cnn_train")
    meas = measure_features(str(path), "pooled", K.NPOOL, "hin.u8 c1,", len(Xtr), "analog", seed)
    ideal = measure_features(str(path), "pooled", K.NPOOL, "hin.u8 c1,", len(Xtr), "ideal", seed)
    Wf, bf = finetune_dense(P["Wf"], P["bf"], meas, ytr, epochs=epochs, seed=seed)
    P2 = dict(P, Wf=Wf, bf=bf)
    q2 = K.quantise_cnn(P2, Xtr, rc=copies, rf=copies)
    if not np.array_equal(q2.conv, q.conv):
        raise RuntimeError("fine-tuning changed the conv codes: the measured chip state would not hold")
    _, pred, _, _ = K.run_chip(q2, Xte, "analog", seed, str(work), "ft_cnn_test2")
    return {"seed": seed, "before": before, "after": _acc(pred, yte),
            "feature_rms_error": float(np.sqrt(np.mean((meas.astype(float) - ideal) ** 2)))}


def run(seeds=(1, 2, 3), nets=("mlp", "cnn"), n_train=None, n_test=None, noise=False,
        workdir=SCRATCH / "finetune", log=None, copies: int = 16) -> dict:
    """{net: {"runs": [per seed], "before": (mean, sd), "after": (mean, sd), "gain": (mean, sd)}}"""
    fns = {"mlp": mlp, "cnn": cnn}
    res = {}
    for net in nets:
        runs = []
        for s in seeds:
            runs.append(fns[net](s, n_train, n_test, noise, workdir, copies=copies))
            if log:
                r = runs[-1]
                log(f"{net} seed {s}: {r['before']:.3f} → {r['after']:.3f}")
        b = np.array([r["before"] for r in runs])
        a = np.array([r["after"] for r in runs])
        sd = (lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0)
        res[net] = {"runs": runs, "before": (float(b.mean()), sd(b)), "after": (float(a.mean()), sd(a)),
                    "gain": (float((a - b).mean()), sd(a - b))}
    return res
