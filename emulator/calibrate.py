"""Per-column calibration of an analog MVM, like the paper's (facts §6: per-column linear
slope/intercept fits of chip output against the ideal product).

    cal = calibrate(w, model="analog", seed=1)          # run the calibration program, fit
    cal.residual_lsb, cal.slope, cal.intercept           # per column
    y_fixed = cal.apply(y_raw)                           # the driver applies the correction
    add, mul, shift = cal.vector_constants()             # or the vector unit: vadds, vmul, vsra

The calibration program (its loop is emulator/data/calibrate.s, which programs/calibrate.s and
calibrate() include after their own data) programs the
weights `calib_w` into core 0 with cprog, runs one forward MVM for each input vector of
`calib_x` and scans the outputs to `calib_y` (int16).  `from_machine` reads those symbols after
the run: the first half of the vectors fits y_chip ≈ slope·y_ideal + intercept per column,
the second half measures the residual error in output LSBs before and after the correction.
`neurram run` does the same for any program that defines the three symbols.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYMBOLS = ("calib_w", "calib_x", "calib_y")
Q = 8   # fraction bits of the vector unit's multiplier

@dataclass
class Calibration:
    slope: np.ndarray            # per column
    intercept: np.ndarray        # per column, output codes
    rms_before: np.ndarray       # per column: RMS(y_chip − y_ideal) on the held-out vectors, LSB
    residual_lsb: np.ndarray     # per column: RMS(corrected − y_ideal) on the held-out vectors, LSB
    n_fit: int
    n_test: int

    def apply(self, y) -> np.ndarray:
        """Corrected outputs (float): (y − intercept) / slope, column-wise."""
        return (np.asarray(y, float) - self.intercept) / self.slope

    def vector_constants(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(add, mul, shift) for the vector unit: y' = (vmul(vadd(y, add), mul) + 2^(shift−1))
        >> shift, i.e. vadd.i16 / vmul.i32 / vsra.i32 with per-column int32 vectors."""
        add = -np.round(self.intercept).astype(np.int32)
        mul = np.round((1 << Q) / self.slope).astype(np.int32)
        return add, mul, Q

    def apply_vector(self, y) -> np.ndarray:
        """What the vector unit computes with vector_constants() (integer, rounding half up)."""
        add, mul, s = self.vector_constants()
        v = (np.asarray(y, np.int64) + add) * mul
        return (v + (1 << (s - 1))) >> s

    def to_dict(self) -> dict:
        return {"columns": len(self.slope), "n_fit": self.n_fit, "n_test": self.n_test,
                "slope": self.slope.tolist(), "intercept": self.intercept.tolist(),
                "rms_before_lsb": self.rms_before.tolist(),
                "residual_lsb": self.residual_lsb.tolist(),
                "mean_rms_before_lsb": float(self.rms_before.mean()),
                "mean_residual_lsb": float(self.residual_lsb.mean())}


def ideal_outputs(w: np.ndarray, x: np.ndarray, cfg: dict) -> np.ndarray:
    """The ideal model's outputs for each input vector (rows of x), docs/machine.md."""
    acc = x.astype(np.int64) @ w.astype(np.int64)
    s = cfg["gshift"]
    y = cfg["gain"] * acc
    y = y if s == 0 else (y + (1 << (s - 1))) >> s
    y = y + cfg["offset"]
    hi = 2 ** (cfg["outbits"] - 1) - 1 if cfg["outsigned"] else 2 ** cfg["outbits"] - 1
    lo = -hi if cfg["outsigned"] else 0
    return np.clip(y, lo, hi)


def fit(y_chip: np.ndarray, y_ideal: np.ndarray) -> Calibration:
    """Least-squares slope/intercept per column on the first half, residuals on the second.
    Outputs that clip in the ideal model are left out of the fit."""
    n = len(y_chip)
    k = n // 2
    yc, yi = y_chip.astype(float), y_ideal.astype(float)
    cols = yc.shape[1]
    slope, icpt = np.ones(cols), np.zeros(cols)
    for j in range(cols):
        a, b = yi[:k, j], yc[:k, j]
        if np.ptp(a) > 0:
            slope[j], icpt[j] = np.polyfit(a, b, 1)
        if not abs(slope[j]) > 1e-3:
            slope[j], icpt[j] = 1.0, 0.0
    test_c, test_i = yc[k:], yi[k:]
    before = np.sqrt(np.mean((test_c - test_i) ** 2, axis=0))
    after = np.sqrt(np.mean(((test_c - icpt) / slope - test_i) ** 2, axis=0))
    return Calibration(slope, icpt, before, after, k, n - k)


def program(rows: int, cols: int, n: int, gshift: int):
    """The calibration program for a rows × cols weight block and n input vectors, assembled: its
    data (zeros, written before the run) followed by the shipped loop."""
    from asm import assemble

    from .data import DIR

    loop = (DIR / "calibrate.s").as_posix().replace("\\", "\\\\").replace('"', '\\"')
    return assemble(f"""
        .equ ROWS, {rows}
        .equ COLS, {cols}
        .equ N, {n}
        .equ GSHIFT, {gshift}
        .data
calib_w: .zero ROWS * COLS
calib_x: .zero N * ROWS
        .align 1
calib_y: .zero 2 * N * COLS
        .include "{loop}"
""", "<calibration>")


def has_calibration(machine) -> bool:
    prog = machine.program
    return prog is not None and all(s in prog.symbols for s in SYMBOLS)


def from_machine(machine, core: int = 0) -> Calibration:
    """Fit the calibration from a finished run of a program with calib_w / calib_x / calib_y."""
    cfg = machine.cores[core].config
    rows, cols = cfg["nrows"], cfg["ncols"]
    w = machine.mem("calib_w", rows * cols, "i8").reshape(rows, cols)
    xs = machine.program.symbols["calib_x"][1]
    ys = machine.program.symbols["calib_y"][1]
    n = (ys - xs) // rows
    # the convention of programs/calibrate.s: n input vectors at calib_x, directly followed by
    # their n output vectors at calib_y
    if ys <= xs or (ys - xs) % rows or n < 4:
        raise ValueError(f"calibration layout: calib_x ({xs:#x}) must hold at least 4 vectors of "
                         f"{rows} int8 inputs and be followed directly by calib_y ({ys:#x})")
    if ys + n * cols * 2 > machine.memory.size:
        raise ValueError(f"calibration layout: calib_y ({ys:#x}) has no room for {n} × {cols} int16 outputs")
    x = machine.mem("calib_x", n * rows, "i8").reshape(n, rows)
    y = machine.mem("calib_y", n * cols, "i16").reshape(n, cols)
    return fit(y, ideal_outputs(w, x, cfg))


def calibrate(w, x=None, n: int = 64, gshift: int = 5, model: str = "analog", seed: int = 1,
              config=None) -> Calibration:
    """Run the calibration program for weight codes w (rows × cols ≤ 128 × 256) with n random
    signed 4-bit input vectors (or the given x) and fit the per-column correction."""
    from .machine import Machine

    w = np.asarray(w, np.int8)
    rows, cols = w.shape
    if x is None:
        x = np.random.default_rng(seed).integers(-7, 8, size=(n, rows))
    x = np.asarray(x, np.int8)
    m = Machine(model=model, seed=seed, config=config)
    m.load(program(rows, cols, len(x), gshift))
    m.write_mem("calib_w", w)
    m.write_mem("calib_x", x)
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"calibration program stopped: {r.message or r.stop}")
    return from_machine(m)
