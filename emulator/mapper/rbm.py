"""The RBM as a model kind of the mapper: a binary restricted Boltzmann machine stored on the chip
and sampled with the stochastic neurons (`smp`), compiled into an image-recovery program
(docs/mapper.md, "RBM").

Units are the chip's stochastic neurons: `smp` outputs 1 if acc + u > 0 with u uniform in
[−R, R], i.e. P(1) = clip(½ + a/4) of the float activation a when R = 2·code_scale/scale (the
"hard sigmoid"); a temperature T scales the noise (R·T: P = clip(½ + a/(4T))).

Layouts (`quantise_rbm`):

* **single** (n_v + 1 ≤ 128): one core holds the RBM as the workload does — rows the visible
  units and a bias row (input 1, the hidden biases), columns the hidden units and a bias column
  (input 1, the visible biases).  `smp.fwd` samples the hidden units (H → V), `smp.bwd` the
  visible ones (V → H): both directions on the same array.
* **split** (128 < n_v + 1 ≤ 256): `smp` thresholds each core's own sum, so partial sums of a
  visible layer spread over several cores' rows cannot be sampled.  Instead every sample is a
  whole sum on one core, taken backwards (over a core's ≤ 256 columns): *visible cores* hold
  row segments of the visible units × (hidden units + bias column) and sample their visible
  units with `smp.bwd`; *hidden cores* hold a transposed copy — row segments of the hidden
  units × (visible units + bias column) — and sample the hidden units with `smp.bwd`.  The
  weights are stored twice; n_v + 1 > 256 or n_h + 1 > 256 is refused.

Recovery (`compile_rbm`): Gibbs sampling from each corrupted image; with `known` (pixels known to
be right) those pixels stay clamped and the rest are resampled; without it (corruption positions
unknown) every pixel is resampled, and *evidence columns* tie the chain to the input: one column
per visible unit with a diagonal code λ, driven by ±1 = 2·c − 1 (the corrupted pixel), adds
λ·(2c − 1) to each visible pre-activation — the posterior of a pixel-flip corruption
(λ ≈ log-odds that a pixel is right).  The recovered image is the majority vote of the last
`keep` visible samples.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .codegen import Compiled
from .model import IDENT, MAX_COLS, MAX_ROWS, MapError, finite_array, is_int, is_real, quantise_weights, split_even

EVIDENCE = 1.25             # default λ of the unknown-positions mode (pre-activation units)
UNKNOWN_TEMPERATURE = 0.5   # default temperature of the unknown-positions mode
NOISE_MAX = 32767           # ccfg.noise range
GSHIFT_MAX = 31             # ccfg.gshift range: the noise is at most NOISE_MAX · 2^GSHIFT_MAX
AGE_MAX = 2**63 - 1         # cage takes a 64-bit register (ms)
ORIGIN = "emulator/mapper/rbm.py"


def hsig(a, temperature=1.0):
    """The stochastic unit's P(1) = clip(½ + a/(4T)) (T = 0: a step at a > 0, as smp without noise)."""
    a = np.asarray(a, float)
    if temperature == 0:
        return (a > 0).astype(float)
    return np.clip(0.5 + a / (4.0 * temperature), 0.0, 1.0)


def fake_quant(M, wbits=4):
    """Symmetric per-matrix quantisation to levels ±(2^(wbits−1)−1): (dequantised M, level scale)."""
    lev, s = quantise_weights(M, wbits)
    return lev * s, s


@dataclass
class RBM:
    """A binary RBM (float): P(h_j = 1 | v) = σ(v·W[:, j] + bh_j), P(v_i = 1 | h) = σ(W[i]·h + bv_i)."""
    W: np.ndarray                   # n_v × n_h
    bv: np.ndarray                  # n_v visible biases
    bh: np.ndarray                  # n_h hidden biases
    name: str = "rbm"

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Validate (and convert to float arrays) the fields; MapError naming the RBM and the field:
        the name an ASCII identifier (it labels the core map), W/bv/bh finite, at least one unit
        each side.  quantise_rbm checks again (fields can be reassigned)."""
        nm = self.name
        if not isinstance(nm, str) or not IDENT.match(nm):
            raise MapError(f"RBM: name {nm!r} must be an ASCII identifier ([A-Za-z_][A-Za-z0-9_]*; "
                           f"it names the RBM in the core map and the program)")
        self.W = finite_array(self.W, nm, "W")
        self.bv = finite_array(self.bv, nm, "bv").reshape(-1)
        self.bh = finite_array(self.bh, nm, "bh").reshape(-1)
        if self.W.ndim != 2 or self.bv.shape != (self.W.shape[0],) or self.bh.shape != (self.W.shape[1],):
            raise MapError(f"{nm}: W must be n_v × n_h with bv of n_v and bh of n_h entries, "
                           f"got W {self.W.shape}, bv {self.bv.shape}, bh {self.bh.shape}")
        if min(self.W.shape) < 1:
            raise MapError(f"{nm}: needs at least one visible and one hidden unit, got W {self.W.shape}")

    @property
    def n_v(self) -> int:
        return self.W.shape[0]

    @property
    def n_h(self) -> int:
        return self.W.shape[1]

    @classmethod
    def from_matrix(cls, M, name="rbm") -> "RBM":
        """From the workload's (n_v+1) × (n_h+1) layout: row n_v the hidden biases, column n_h the
        visible biases (the corner is unused)."""
        try:
            M = np.asarray(M, float)
        except (TypeError, ValueError):
            raise MapError(f"{name}: the RBM matrix must be a numeric array") from None
        if M.ndim != 2 or min(M.shape) < 2:
            raise MapError(f"{name}: the RBM matrix must be (n_v+1) × (n_h+1), got {M.shape}")
        return cls(M[:-1, :-1], M[:-1, -1], M[-1, :-1], name)

    def matrix(self) -> np.ndarray:
        """The (n_v+1) × (n_h+1) layout of from_matrix (corner 0)."""
        M = np.zeros((self.n_v + 1, self.n_h + 1))
        M[:-1, :-1], M[:-1, -1], M[-1, :-1] = self.W, self.bv, self.bh
        return M


@dataclass
class QRBM:
    """A quantised RBM: int8 codes in the matrix layout (visible rows + bias row, hidden columns +
    bias column), the level scale, the sampling noise amplitude and the core layout."""
    name: str
    codes: np.ndarray               # (n_v+1) × (n_h+1) int8 = levels × code_scale
    scale: float                    # float value of one weight level
    code_scale: int                 # codes per level
    wbits: int
    R: int                          # smp noise amplitude (accumulator units) for T = 1: R = 2·code_scale/scale
    layout: str                     # "single" or "split"
    vsegs: list = field(default_factory=list)   # visible rows per core [(start, count)] (single: with the bias row)
    hsegs: list = field(default_factory=list)   # split: hidden units per transposed core

    @property
    def n_v(self) -> int:
        return self.codes.shape[0] - 1

    @property
    def n_h(self) -> int:
        return self.codes.shape[1] - 1

    @property
    def weights(self) -> np.ndarray:
        """The fake-quantised float matrix the codes stand for ((n_v+1) × (n_h+1))."""
        return self.codes.astype(float) / self.code_scale * self.scale

    @property
    def n_cores(self) -> int:
        return len(self.vsegs) + len(self.hsegs)


def quantise_rbm(rbm: RBM, wbits=4, code_scale=None, layout="auto") -> QRBM:
    """Quantise the weights and biases together to 4-bit levels × code_scale (default 112 // qmax,
    16 for 4 bits: codes ±112) and choose the layout: "single" (one core, n_v + 1 ≤ 128),
    "split" (visible and transposed hidden cores, n_v + 1 ≤ 256) or "auto"."""
    if not isinstance(rbm, RBM):
        raise MapError(f"quantise_rbm takes an RBM, not {type(rbm).__name__}")
    rbm.check()
    nv, nh, nm = rbm.n_v, rbm.n_h, rbm.name
    if not is_int(wbits) or not 2 <= wbits <= 8:
        raise MapError(f"{nm}: wbits must be an integer 2 … 8 (weight levels ±(2^(wbits−1)−1)), got {wbits!r}")
    qmax = 2 ** (wbits - 1) - 1
    if code_scale is None:
        code_scale = 112 // qmax
    if not is_int(code_scale) or code_scale < 1:
        raise MapError(f"{nm}: code_scale must be an integer ≥ 1, got {code_scale!r}")
    if qmax * code_scale > 127:
        raise MapError(f"{rbm.name}: weight levels ±{qmax} × code scale {code_scale} exceed int8 codes")
    if nh + 1 > MAX_COLS:
        raise MapError(f"{nm}: {nh} hidden units + 1 bias column = {nh + 1} columns > {MAX_COLS}: each "
                       f"visible sample sums over all hidden units, so they must sit on one core's "
                       f"{MAX_COLS} columns (smp thresholds a core's own sum; partial sums over several "
                       f"cores cannot be sampled) — at most {MAX_COLS - 1} hidden units")
    if nv + 1 > MAX_COLS:
        raise MapError(f"{nm}: {nv} visible units + 1 bias input = {nv + 1} > {MAX_COLS}: each hidden "
                       f"sample sums over all visible units, which must sit on one core — on its "
                       f"{MAX_ROWS} logical rows (H holds {MAX_ROWS}: the 256 physical rows are "
                       f"differential G+/G− pairs) or, in the split layout, on the {MAX_COLS} columns "
                       f"of the transposed copy; smp thresholds each core's own sum, so partial sums "
                       f"over several cores cannot be sampled — at most {MAX_COLS - 1} visible units")
    if layout == "auto":
        layout = "single" if nv + 1 <= MAX_ROWS else "split"
    if layout == "single" and nv + 1 > MAX_ROWS:
        raise MapError(f"{nm}: {nv} visible units + 1 bias row = {nv + 1} rows > {MAX_ROWS}: one core's "
                       f"H holds {MAX_ROWS} logical rows (the 256 physical rows are differential G+/G− "
                       f"pairs), and smp.fwd samples the hidden units from that core's own sum; "
                       f"use layout='split' (hidden units sampled from a transposed copy)")
    if layout not in ("single", "split"):
        raise MapError(f"{nm}: layout must be 'auto', 'single' or 'split', got {layout!r}")
    lev, s = quantise_weights(rbm.matrix(), wbits)
    codes = (lev * code_scale).astype(np.int8)
    Rf = 2.0 * code_scale / s                            # a = (s/code)·acc, P = ½ + a/4 → R = 2·code/s
    if not Rf <= NOISE_MAX * 2**GSHIFT_MAX:
        raise MapError(f"{nm}: the weights are too small to sample: the largest |weight or bias| "
                       f"{s * qmax:.3g} needs a noise amplitude of {Rf:.3g} accumulator units, beyond "
                       f"ccfg.noise · 2^gshift ≤ {NOISE_MAX} · 2^{GSHIFT_MAX}; rescale the RBM")
    R = max(1, int(round(Rf)))
    if layout == "single":
        return QRBM(nm, codes, s, code_scale, wbits, R, layout, [(0, nv + 1)], [])
    return QRBM(nm, codes, s, code_scale, wbits, R, layout, split_even(nv, MAX_ROWS), split_even(nh, MAX_ROWS))


@dataclass
class Sampler:
    """How a compiled program samples: noise amplitude A with shift g (u uniform in ±A·2^g
    accumulator units), the temperature, the evidence code and its float λ."""
    noise: int
    gshift: int
    temperature: float
    evidence_code: int
    evidence: float


def sampler(q: QRBM, known: bool, temperature=None, evidence=None) -> Sampler:
    """The sampling settings of a program (shared by compile_rbm and gibbs_reference): defaults
    T = 1 and no evidence with known positions, T = UNKNOWN_TEMPERATURE and λ = EVIDENCE
    without; λ is rounded to a code and clipped to ±127 (one cell)."""
    for what, v in (("temperature", temperature), ("evidence", evidence)):
        if v is not None and not (is_real(v) and np.isfinite(v)):
            raise MapError(f"{q.name}: {what} must be a finite number or None, got {v!r}")
    T = (1.0 if known else UNKNOWN_TEMPERATURE) if temperature is None else float(temperature)
    lam = (0.0 if known else EVIDENCE) if evidence is None else float(evidence)
    if T < 0:
        raise MapError(f"{q.name}: temperature must be ≥ 0, got {T}")
    if q.R * T > NOISE_MAX * 2**GSHIFT_MAX:
        raise MapError(f"{q.name}: temperature {T:g} needs a noise amplitude of {q.R * T:.3g} accumulator "
                       f"units, beyond ccfg.noise · 2^gshift ≤ {NOISE_MAX} · 2^{GSHIFT_MAX}; "
                       f"use a lower temperature")
    if known and lam:
        raise MapError(f"{q.name}: evidence columns are for unknown corruption positions "
                       f"(with `known` the known pixels are clamped); pass evidence=None or 0")
    rt, g = int(round(q.R * T)), 0
    while rt > NOISE_MAX:
        g += 1
        rt = int(round(q.R * T / 2**g))
    lc = int(np.clip(np.round(lam / q.scale * q.code_scale), -127, 127))
    return Sampler(rt, g, T, lc, lc / q.code_scale * q.scale)


def _check_images(q: QRBM, corrupted, known):
    try:
        C = np.asarray(corrupted)
        known = None if known is None else np.asarray(known)
    except (TypeError, ValueError):
        raise MapError(f"{q.name}: corrupted (and known) must be N × {q.n_v} arrays") from None
    if C.ndim != 2 or C.shape[1] != q.n_v or not np.isin(C, (0, 1)).all():
        raise MapError(f"{q.name}: corrupted must be N × {q.n_v} binary (0/1) images, got shape {C.shape}")
    if known is not None:
        if known.shape != C.shape:
            raise MapError(f"{q.name}: known must be a boolean mask of the images' shape {C.shape}, "
                           f"got {known.shape}")
        if not np.isin(known, (0, 1)).all():
            raise MapError(f"{q.name}: known must be a boolean (0/1) mask; it has other values")
        known = known.astype(bool)
    return C.astype(np.int64), known


def _check_steps(who, steps, keep) -> None:
    if not is_int(steps) or not is_int(keep) or steps < 1 or not 1 <= keep <= min(steps, 255):
        raise MapError(f"{who}: need integers steps ≥ 1 and 1 ≤ keep ≤ min(steps, 255) (u8 counts), "
                       f"got steps={steps!r}, keep={keep!r}")


def run_rbm(c: Compiled, path, model="ideal", seed=1, config=None):
    """Write and run a compiled RBM program: (recovered N × n_v images, counts N × n_v,
    RunResult, wall seconds)."""
    from emulator.machine import Machine

    from dataclasses import replace

    t0 = time.time()
    m = Machine(model=model, seed=seed, config=config).load(c.write(path))
    m.enable_profile()
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"{c.name}: the RBM program stopped: {r}")
    r = replace(r, per_inference=m.profile_report(inferences=c.n)["per_inference"])
    row, nv = c.extra["row"], c.extra["n_out"]
    cnt = m.mem(m.sym(c.extra["result"]), c.n * row, "u8").reshape(c.n, row)[:, :nv].astype(np.int64)
    return (cnt * 2 > c.extra["keep"]).astype(np.int64), cnt, r, time.time() - t0


def recover(c: Compiled, path, model="ideal", seed=1, config=None) -> np.ndarray:
    """Run a compiled RBM program; the recovered binary images (N × n_v)."""
    return run_rbm(c, path, model, seed, config)[0]


def gibbs_counts(q: QRBM, corrupted, known=None, steps=16, keep=8, seed=0, temperature=None,
                 evidence=None) -> np.ndarray:
    """numpy float reference of the program (hard-sigmoid units on the fake-quantised weights,
    the program's temperature and quantised evidence λ; numpy's random numbers, so it agrees
    with the chip statistically, not sample for sample): the counts of the last `keep` visible
    samples (N × n_v), like the program's `count`."""
    C, known = _check_images(q, corrupted, known)
    _check_steps(q.name, steps, keep)
    smp = sampler(q, known is not None, temperature, evidence)
    rng = np.random.default_rng(seed)
    Mq, nv, nh, T = q.weights, q.n_v, q.n_h, smp.temperature
    free = np.ones(C.shape, bool) if known is None else ~known
    ev = smp.evidence * (2 * C - 1)
    v = np.concatenate([C, np.ones((len(C), 1))], 1).astype(float)
    count = np.zeros(C.shape, np.int64)
    for t in range(steps):
        h = (rng.random((len(C), nh + 1)) < hsig(v @ Mq, T)).astype(float)
        h[:, nh] = 1
        a = h @ Mq.T
        a[:, :nv] += ev
        vs = (rng.random((len(C), nv + 1)) < hsig(a, T)).astype(float)
        v[:, :nv] = np.where(free, vs[:, :nv], C)
        if t >= steps - keep:
            count += v[:, :nv].astype(np.int64)
    return count


def gibbs_reference(q: QRBM, corrupted, known=None, steps=16, keep=8, seed=0, temperature=None,
                    evidence=None) -> np.ndarray:
    """The recovered images (N × n_v) of the float reference: majority vote of gibbs_counts."""
    return (gibbs_counts(q, corrupted, known, steps, keep, seed, temperature, evidence) * 2 > keep).astype(np.int64)


def _positions(rng, n, nv, k):
    mask = np.zeros((n, nv), bool)
    for i in range(n):
        mask[i, rng.choice(nv, k, replace=False)] = True
    return mask


def corrupt_random(V, frac=0.2, seed=0):
    """Replace `frac` of each image's pixels (random positions) by random bits: (corrupted,
    mask of the replaced positions — about half of them are actually wrong)."""
    V = np.asarray(V)
    rng = np.random.default_rng(seed)
    mask = _positions(rng, len(V), V.shape[1], int(round(frac * V.shape[1])))
    return np.where(mask, rng.integers(0, 2, V.shape), V).astype(np.int64), mask


def flip(V, frac=0.2, seed=0):
    """Flip `frac` of each image's pixels (random positions): (corrupted, mask of the flips)."""
    V = np.asarray(V)
    mask = _positions(np.random.default_rng(seed), len(V), V.shape[1], int(round(frac * V.shape[1])))
    return np.where(mask, 1 - V, V).astype(np.int64), mask
