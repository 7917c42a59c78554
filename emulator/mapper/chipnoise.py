"""Chip-matched weight noise: measure, on the emulated chip itself, how far the effective weight
of a programmed-and-aged differential pair lies from its code, per 4-bit weight level.

    sig = weight_noise(age_ms=3_600_000)      # σ per level 0…7, in units of one level

`emulator.train.train_mlp(…, level_sigma=sig)` then injects exactly that noise (per weight, by its
level) during training instead of the paper's flat σ = η·max|W| (docs/mapper.md, "Training")."""
from __future__ import annotations

import numpy as np

PROGRAM = """
        .data
w:      .zero 128 * 256
        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, 128
        ccfg.ncols x1, 256
        la      x2, w
        cprog   c0, x2
        sync    x0
        li      x3, {age_ms}
        cage    x3
        halt
"""


def weight_noise(age_ms=3_600_000, wbits=4, code_scale=16, seed=1, config=None) -> np.ndarray:
    """σ of (G⁺ − G⁻)/g_lsb − code, in weight levels, for levels 0 … 2^(wbits−1)−1: one core
    programmed with every level (both signs) on the analog model, aged `age_ms`, read back."""
    from emulator.machine import Machine

    qmax = 2 ** (wbits - 1) - 1
    rng = np.random.default_rng(seed)
    lev = rng.integers(-qmax, qmax + 1, size=(128, 256))
    m = Machine(model="analog", seed=seed, config=config)
    m.load(PROGRAM.format(age_ms=int(age_ms)))
    m.write_mem("w", (lev * code_scale).astype(np.int8))
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"weight-noise program stopped: {r}")
    m.age(0)
    g = m.cores[0].conductances.astype(float)
    w_eff = (g[0::2][:128] - g[1::2][:128]) / m.config["g_lsb_ns"] / code_scale
    err = w_eff - lev
    return np.array([err[np.abs(lev) == k].std() for k in range(qmax + 1)])
