"""A plain numpy integer reference of the ideal model, written from docs/machine.md alone.

It is deliberately the obvious, slow transcription of the contract (int64 numpy, no shared
code with csrc/), so that agreement with the C core means both read the contract the same way.
`cfg` arguments are dicts of core configuration fields by name; `p` dicts of timing parameters.
"""
from __future__ import annotations

import numpy as np

M64 = (1 << 64) - 1


# ---------------------------------------------------------------- weights

def weights(G: np.ndarray, g_lsb: int) -> np.ndarray:
    """W[i][j] = round((G[2i][j] − G[2i+1][j]) / g_lsb), ties away from zero (128×256 int64)."""
    d = G[0::2].astype(np.int64) - G[1::2].astype(np.int64)
    mag = (2 * np.abs(d) + g_lsb) // (2 * g_lsb)
    return np.sign(d) * mag


def program_conductances(codes: np.ndarray, g_lsb: int) -> tuple[np.ndarray, np.ndarray]:
    """(G+, G−) of int8 codes: max(w, 0)·g_lsb and max(−w, 0)·g_lsb."""
    w = codes.astype(np.int64)
    return np.maximum(w, 0) * g_lsb, np.maximum(-w, 0) * g_lsb


# ---------------------------------------------------------------- MVM numerics

def input_range(inbits: int, insigned: int) -> tuple[int, int]:
    if insigned:
        m = max(inbits - 1, 1)
        return -(2**m - 1), 2**m - 1
    return 0, 2**inbits - 1


def output_range(outbits: int, outsigned: int) -> tuple[int, int]:
    if outsigned:
        return -(2 ** (outbits - 1) - 1), 2 ** (outbits - 1) - 1
    return 0, 2**outbits - 1


def accumulate(W: np.ndarray, H: np.ndarray, V: np.ndarray, cfg: dict, direction: str):
    """(first output register index, acc) of an MVM: inputs clamped, sums in int64."""
    r0, nr, c0, nc = cfg["row0"], cfg["nrows"], cfg["col0"], cfg["ncols"]
    lo, hi = input_range(cfg["inbits"], cfg["insigned"])
    win = W[r0:r0 + nr, c0:c0 + nc].astype(np.int64)
    if direction == "bwd":
        x = np.clip(V[c0:c0 + nc].astype(np.int64), lo, hi)
        return r0, win @ x
    x = np.clip(H[r0:r0 + nr].astype(np.int64), lo, hi)
    return c0, win.T @ x


def round_shift(v: np.ndarray, s: int) -> np.ndarray:
    """round(v / 2^s) = (v + 2^(s−1)) >> s (arithmetic, half-way up); s = 0 is v."""
    return v if s == 0 else (v + (1 << (s - 1))) >> s


def preactivation(acc: np.ndarray, cfg: dict) -> np.ndarray:
    return round_shift(cfg["gain"] * acc, cfg["gshift"]) + cfg["offset"]


def readout(y: np.ndarray, cfg: dict) -> np.ndarray:
    """Output codes of pre-activations y, per readout mode and output range."""
    y = np.asarray(y, dtype=np.int64)
    if cfg["readout"] == 2:
        return np.where(y >= 0, 1, -1)
    if cfg["readout"] == 1:
        y = np.clip(y, -cfg["stepmax"], cfg["stepmax"])
    if cfg["outsigned"] and cfg["outbits"] == 1:
        return np.where(y >= 0, 1, -1)
    lo, hi = output_range(cfg["outbits"], cfg["outsigned"])
    return np.clip(y, lo, hi)


def steps(y: np.ndarray, cfg: dict) -> int:
    """Charge-decrement steps of a step-counting readout: min(max |y|, stepmax)."""
    return int(min(np.abs(y).max(initial=0), cfg["stepmax"]))


def mvm(W, H, V, cfg: dict, direction: str):
    """(first output index, output codes, steps) of an MVM in `direction` (fwd / bwd / rec)."""
    lo, acc = accumulate(W, H, V, cfg, direction)
    y = preactivation(acc, cfg)
    return lo, readout(y, cfg), steps(y, cfg)


def output_register(direction: str) -> str:
    return "v" if direction == "fwd" else "h"


# ---------------------------------------------------------------- stochastic sample

def mix64(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M64
    z ^= z >> 31
    return z


def sample_key(seed: int, core: int, n: int, lane: int) -> int:
    return ((seed * 0x9E3779B97F4A7C15) ^ ((core + 1) * 0xBF58476D1CE4E5B9)
            ^ ((n + 1) * 0x94D049BB133111EB) ^ lane) & M64


def sample(W, H, V, cfg: dict, direction: str, seed: int, core: int, n: int):
    """(first output index, 0/1 outputs) of the n-th sample (n from 0) on `core`."""
    lo, acc = accumulate(W, H, V, cfg, direction)
    R = cfg["noise"] << cfg["gshift"]
    out = []
    for k, a in enumerate(acc.tolist()):
        z = cfg["gain"] * a + cfg["offset"] * (1 << cfg["gshift"])
        u = mix64(sample_key(seed, core, n, lo + k)) % (2 * R + 1) - R
        out.append(1 if z + u > 0 else 0)
    return lo, np.array(out, dtype=np.int64)


# ---------------------------------------------------------------- timing

def scan_shifts(core: int, side: str) -> int:
    p = core % 6
    if p <= 2:
        return 2 * p + 1 if side == "h" else 2 * p + 2
    return 2 * (5 - p) + 2 if side == "h" else 2 * (5 - p) + 1


def scan_cycles(core: int, side: str, p: dict) -> int:
    return 256 * scan_shifts(core, side) * p["scan_div"]


def mvm_passes(cfg: dict, p: dict | None = None) -> list[int]:
    """Magnitude bits of each phase under the profile's rule (board: 4 LSBs, then the rest)."""
    p = p or {"phase_bits": 4, "phase_split": 0}
    m = max(cfg["inbits"] - cfg["insigned"], 1)
    if m <= p["phase_bits"]:
        return [m]
    return [m // 2, m - m // 2] if p["phase_split"] else [p["phase_bits"], m - p["phase_bits"]]


def adc_bits(cfg: dict, p: dict, passes: list[int], i: int) -> int:
    """SAR conversions of phase i: all output bits, or with adc_skip the ones left unresolved."""
    if i == 0 or not p["adc_skip"]:
        return cfg["outbits"]
    return max(cfg["outbits"] - passes[0], 1)


def mvm_cycles(cfg: dict, p: dict, nsteps: int = 0, is_sample: bool = False) -> int:
    passes = mvm_passes(cfg, p)
    total = 0
    for i, bits in enumerate(passes):
        if is_sample or cfg["readout"] == 2:
            rd = p["t_comp"]
        elif cfg["readout"] == 1:
            rd = p["t_comp"] + nsteps * p["t_step"]
        else:
            rd = adc_bits(cfg, p, passes, i) * p["t_comp"]
        pulses = sum(p["bit_phases"] * cfg["pmul"] * 2**b * (p["t_sample"] + p["t_integ"]) for b in range(bits))
        total += p["t_cds"] + pulses + rd
    return p["neuron_div"] * total


def prog_cycles(G: np.ndarray, codes: np.ndarray, cfg: dict, p: dict, g_lsb: int, g_pulse: int):
    """(cycles, pulses) of cprog writing `codes` (nrows × ncols) into the window."""
    r0, nr, c0, nc = cfg["row0"], cfg["nrows"], cfg["col0"], cfg["ncols"]
    gp, gn = program_conductances(codes, g_lsb)
    now_p = G[2 * r0:2 * (r0 + nr):2, c0:c0 + nc].astype(np.int64)
    now_n = G[2 * r0 + 1:2 * (r0 + nr):2, c0:c0 + nc].astype(np.int64)
    pulses = int((-(-np.abs(gp - now_p) // g_pulse)).sum() + (-(-np.abs(gn - now_n) // g_pulse)).sum())
    cells = 2 * nr * nc
    return cells * p["t_verify"] + pulses * (p["t_pulse"] + p["t_verify"]), pulses


# ---------------------------------------------------------------- integrate-and-fire

def if_steps(y: np.ndarray, u: np.ndarray, cnt: np.ndarray, cfg: dict, nsteps: int):
    """`nsteps` integrate-and-fire time steps of pre-activations y on charges u and counts cnt
    (int64): leak toward 0 by ifleak (not past it), add y, clamp to ±2^40, fire where
    u ≥ ifthr and subtract ifthr.  Returns (u, cnt, last step's spikes, spikes fired)."""
    u, cnt = u.astype(np.int64).copy(), cnt.astype(np.int64).copy()
    thr, leak, lim = cfg["ifthr"], cfg["ifleak"], 1 << 40
    fired = np.zeros_like(u)
    total = 0
    for _ in range(nsteps):
        u = np.where(u > 0, np.maximum(u - leak, 0), np.minimum(u + leak, 0))
        u = np.clip(u + y, -lim, lim)
        fired = (u >= thr).astype(np.int64)
        u -= fired * thr
        cnt += fired
        total += int(fired.sum())
    return u, cnt, fired, total


def ifrun(W, H, V, cfg: dict, direction: str):
    """(first output index, spike counts, charges, spikes) of an ifrun: charges and counts
    start at 0, ifsteps steps on the same input."""
    lo, acc = accumulate(W, H, V, cfg, direction)
    y = preactivation(acc, cfg)
    z = np.zeros(len(y), dtype=np.int64)
    u, cnt, _, total = if_steps(y, z, z, cfg, cfg["ifsteps"])
    return lo, cnt, u, total


def if_cycles(cfg: dict, p: dict, nsteps: int) -> int:
    """Duration of an IF operation of nsteps time steps: one t_cds, then per step every pass's
    input pulses, one comparison and one charge-subtraction slot."""
    step = p["t_comp"] + p["t_step"]
    for bits in mvm_passes(cfg, p):
        step += sum(p["bit_phases"] * cfg["pmul"] * 2**b * (p["t_sample"] + p["t_integ"]) for b in range(bits))
    return p["neuron_div"] * (p["t_cds"] + nsteps * step)


# ---------------------------------------------------------------- in-situ update

OP_PHASES = ((1, 1, True), (1, -1, False), (-1, -1, True), (-1, 1, False))   # (x, y, SET?)


def opu(G: np.ndarray, H, V, cfg: dict, g_lsb: int, p: dict):
    """(G after, pulses per cell, cycles) of an ideal opu: x = sign(H window), y = sign(V window);
    per phase the cells with (x, y) of the phase on device row 2i + opdev take ±g_lsb, bounded
    to 0 … 128·g_lsb (a SET leaves a device above the bound alone)."""
    G = G.astype(np.int64).copy()
    r0, nr, c0, nc = cfg["row0"], cfg["nrows"], cfg["col0"], cfg["ncols"]
    x = np.sign(np.asarray(H[r0:r0 + nr], dtype=np.int64))
    y = np.sign(np.asarray(V[c0:c0 + nc], dtype=np.int64))
    cap = 128 * g_lsb
    count = np.zeros_like(G)
    cycles = 0
    for px, py, is_set in OP_PHASES:
        sel = np.outer(x == px, y == py)
        if not sel.any():
            continue
        cycles += p["t_opsel"] + p["t_pulse"]
        rows = 2 * (r0 + np.arange(nr)) + cfg["opdev"]
        block = G[rows, c0:c0 + nc]
        if is_set:
            new = np.where(block >= cap, block, np.minimum(block + g_lsb, cap))
        else:
            new = np.where(block <= g_lsb, 0, block - g_lsb)
        G[rows, c0:c0 + nc] = np.where(sel, new, block)
        count[rows, c0:c0 + nc] += sel
    return G, count, cycles


def oprefresh(G: np.ndarray, cfg: dict, g_lsb: int, g_pulse: int, p: dict):
    """(G after, pulses, cycles) of an ideal oprefresh: per pair Δ = G+ − G−, the device on
    Δ's side → 128·g_lsb, the other → max(128·g_lsb − |Δ|, 0)."""
    G = G.astype(np.int64).copy()
    r0, nr, c0, nc = cfg["row0"], cfg["nrows"], cfg["col0"], cfg["ncols"]
    gmax = 128 * g_lsb
    rp = 2 * (r0 + np.arange(nr))
    a, b = G[rp, c0:c0 + nc], G[rp + 1, c0:c0 + nc]
    d = a - b
    lo = np.maximum(gmax - np.abs(d), 0)
    tp, tn = np.where(d >= 0, gmax, lo), np.where(d >= 0, lo, gmax)
    pulses = int((-(-np.abs(tp - a) // g_pulse)).sum() + (-(-np.abs(tn - b) // g_pulse)).sum())
    G[rp, c0:c0 + nc], G[rp + 1, c0:c0 + nc] = tp, tn
    cells = 2 * nr * nc
    return G, pulses, cells * p["t_verify"] + cells * p["t_verify"] + pulses * (p["t_pulse"] + p["t_verify"])
