"""An MNIST-size RBM (794 visible × 120 hidden) on 16 cores: the authors' size and layout (8 row
blocks × 2 cores, emulator.mapper.rbm_blocks), mapped, run and checked bit for bit against the
integer reference (docs/workloads.md).

No MNIST ships offline, so the images are the package's 8×8 digits scaled ×3 to 24×24, padded
to 28×28 and binarised, plus 10 one-hot label units: 784 + 10 = 794 visible units, as the
authors' RBM.  Training is numpy CD-1 with the chip's hard-sigmoid units (as the small RBM's).
Recovery clamps the known pixels (and labels) and resamples the corrupted ones.
"""
from __future__ import annotations

import time

import numpy as np

from emulator.mapper.rbm import RBM, corrupt_random, fake_quant, hsig
from emulator.mapper.rbm_blocks import compile_rbm_blocks, gibbs_blocks_reference, quantise_rbm_blocks
from emulator.workloads.digits import load_digits_split
from .chiprun import SCRATCH

NV, NH = 794, 120
AGE_MS = 3_600_000          # chip age after programming (cage): one relaxation epoch for both programs


def images(split: int = 0) -> np.ndarray:
    """N × 794 binary vectors: 28×28 pixels (y, x) then the one-hot label."""
    parts = load_digits_split()
    X, y = parts[2 * split], parts[2 * split + 1]
    big = np.kron(np.asarray(X, float).reshape(-1, 8, 8), np.ones((3, 3)))
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))
    return np.concatenate([(big.reshape(len(X), -1) > 7).astype(np.int64),
                           np.eye(10, dtype=np.int64)[np.asarray(y, int)]], 1)


def train(epochs: int = 4, lr: float = 0.01, seed: int = 0, batch: int = 32) -> RBM:
    rng = np.random.default_rng(seed)
    V = images(0).astype(float)
    M = rng.normal(0, 0.05, (NV + 1, NH + 1))
    M[NV, NH] = 0
    for _ in range(epochs):
        order = rng.permutation(len(V))
        for i in range(0, len(V) - batch + 1, batch):
            v0 = np.concatenate([V[order[i:i + batch]], np.ones((batch, 1))], 1)
            Mq, _s = fake_quant(M)
            ph0 = hsig(v0 @ Mq)
            ph0[:, NH] = 1
            h0 = (rng.random(ph0.shape) < ph0).astype(float)
            pv1 = hsig(h0 @ Mq.T)
            v1 = (rng.random(pv1.shape) < pv1).astype(float)
            v1[:, NV] = 1
            ph1 = hsig(v1 @ Mq)
            ph1[:, NH] = 1
            M += lr * (v0.T @ ph0 - v1.T @ ph1) / batch
            M[NV, NH] = 0
    return RBM.from_matrix(M, name="rbm794")


def run(n: int = 4, steps: int = 8, keep: int = 4, frac: float = 0.2, seed: int = 0,
        workdir=SCRATCH / "rbm794", epochs: int = 4, rbm: RBM | None = None, batched: bool = True,
        model: str = "ideal", chunk=None, age_ms: int = AGE_MS, config=None) -> dict:
    """Map, run on the chip (`model`), compare with the reference (ideal model only: the analog
    model adds read noise to the partials); pixel errors before and after, chip and wall time,
    energy per image.  `rbm`: use this 794 × 120 RBM instead of training one; `batched`: the
    chains of all images as batches (emulator/mapper/rbm_blocks_batch.py, the default), False:
    the per-image loop — the same counts bit for bit on both models; `config`: the chip profile
    (None: chip).  `gibbs_wall_s`: the host time of the sampling alone (after programming)."""
    from emulator.machine import Machine

    clean = images(1)
    if not 1 <= n <= len(clean):
        raise ValueError(f"n must be 1 … {len(clean)} (the test digits), got {n}")
    clean = clean[:n]
    q = quantise_rbm_blocks(rbm if rbm is not None else train(epochs, seed=seed))
    C, corrupted = corrupt_random(clean, frac, seed)
    known = ~corrupted.astype(bool)
    name = "rbm794" + ("_batched" if batched else "")
    c = compile_rbm_blocks(q, C, known, steps, keep, name=name, age_ms=age_ms, batched=batched, chunk=chunk)
    t0 = time.time()
    m = Machine(model=model, seed=seed, config=config).load(c.write(f"{workdir}/{name}.s"))
    m.enable_profile()
    m.set_breakpoint("step")            # the first Gibbs step: programming and ageing are done
    r = m.run()
    t1 = time.time()
    if r.stop == "breakpoint":
        m.clear_breakpoints()
        r = m.run()
    if not r.ok:
        raise RuntimeError(f"rbm794: the run stopped: {r.message or r.stop}")
    per_inference = m.profile_report(inferences=n)["per_inference"]
    t2 = time.time()
    count = m.mem(m.sym("count"), n * (NV + 1), "u8").reshape(n, NV + 1).astype(np.int64)
    exact = bool(np.array_equal(count, gibbs_blocks_reference(q, C, known, steps, keep, seed))) \
        if model == "ideal" else None
    rec = (count[:, :NV] * 2 > keep).astype(np.int64)
    return {"cores": len(c.extra["cores"]), "blocks": len(q.blocks), "map": c.core_map, "batched": batched,
            "chunk": c.extra.get("chunk"), "model": model, "bit_exact": exact, "cycles": r.cycles,
            "chip_s": r.time_s, "wall_s": t2 - t0,
            "gibbs_wall_s": t2 - t1, "per_inference": per_inference, "count": count,
            "profile": m.config.profile,
            "errors_corrupted": int((C != clean).sum()), "errors_recovered": int((rec != clean).sum()),
            "pixels": int(clean.size)}
