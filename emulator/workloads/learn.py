"""On-chip learning: the digits MLP's last layer trained on the chip with sign-based outer-product
updates (opu), next to the offline-trained layer programmed with write-verify.

Layer 1 (fc1 of the shipped plain MLP) is programmed once on core 0; it maps the 4-bit pixel
codes to 4-bit hidden codes (mvm.fwd, ReLU and requantisation on the vector unit).  Layer 2
(64 hidden + bias → 10) starts at zero on core 6, refreshed to the top of the conductance range
so that both devices of every pair have room to fall.  Per training digit:

  forward   hin hidden codes → mvm.fwd → logits z (vout)
  error     d = T − z with T = +M for the label, −M elsewhere; e = d where it points the way T
            does (z inside the margin: a hinge), else 0; e ← clip(round(e / 2^K), ±1): ternary,
            errors below 2^(K−1) count as 0 (all on the vector unit)
  update    x = sign(hidden codes) (H, already there), y = e (V): opu on the G+ devices, then
            opu with y = −e on the G− devices (opdev 1): ΔW = +1 where x·e = +1, −1 where −1
            per device that has room; every REFRESH digits oprefresh re-centres the pairs

With `both`, layer 1 learns too (pretrained fc1, refreshed like layer 2): on every L1_EVERY-th
digit the error goes back through the transposed MVM of layer 2 (mvm.bwd: H ← W2·(−e)), is
masked where the hidden unit is active (the ReLU derivative), ternarised with a dead zone, and
layer 1 takes the same pair of opu updates with the input codes on its rows.

After each epoch the test digits run forward only and their predictions are stored; Python
reads the accuracy per epoch and the energy and time of each training epoch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .digits import IN_SCALE, load_digits_split, shipped_model
from .chiprun import SCRATCH

CORE1, CORE2 = 0, 6
MARGIN = 24          # hinge margin M of the logits, output codes
DEADZONE = 3         # K: |e| < 2^(K−1) = 4 codes counts as no error
REFRESH = 200        # training digits between pair refreshes
GSHIFT2 = 5          # layer-2 readout: logits = acc / 2^5
H_BITS = 4
BWD_GSHIFT = 2       # transposed MVM readout: hidden error = W2·e / 4
DEADZONE1 = 6        # hidden error |δ| < 2^5 = 32 (W2·e / 4) counts as 0
L1_EVERY = 8         # both layers: layer 1 takes an update on every 8th digit (its learning rate)


def _balance(codes: np.ndarray) -> np.ndarray:
    from .snn import _balance as bal
    return bal(codes)


def layer1(model=None):
    """(codes rows × 64 int8, gain, gshift, λ) of fc1: rows = 64 pixels + bias + balancing;
    hidden code = clip(round(gain·acc / 2^gshift), 0, 15) ≈ 15·relu(a1)/λ."""
    model = model or shipped_model(noise=False)
    W0, b0 = model.layers[0].W, model.layers[0].b
    Xtr, _, _, _ = load_digits_split()
    a1 = np.maximum(Xtr @ W0 + b0, 0)
    lam = float(np.percentile(a1[a1 > 0], 99.5))
    M = np.vstack([W0 * IN_SCALE, b0[None, :]])       # input codes are X / IN_SCALE, bias input 1
    s = float(np.abs(M).max()) / 127
    codes = np.clip(np.round(M / s), -127, 127).astype(np.int8)
    factor = s * 15 / lam                               # hidden code per unit of acc
    gshift = 16
    while factor * (1 << gshift) > 32767:
        gshift -= 1
    return _balance(codes), int(round(factor * (1 << gshift))), gshift, lam


def _inputs(X: np.ndarray, rows: int) -> np.ndarray:
    x = np.zeros((len(X), rows), dtype=np.uint8)
    x[:, :64] = np.clip(np.round(X / IN_SCALE), 0, 15)
    x[:, 64] = 1
    return x


def build(epochs: int = 3, n_train: int | None = None, n_test: int | None = None, both: bool = False) -> dict:
    """The program and its data: {"asm", "data", "n_train", "n_test", "epochs", "rows1"}."""
    if not 1 <= epochs <= 50:
        raise ValueError(f"epochs must be 1..50, got {epochs}")
    Xtr, ytr, Xte, _ = load_digits_split()
    Xtr, ytr = (Xtr, ytr) if n_train is None else (Xtr[:n_train], ytr[:n_train])
    Xte = Xte if n_test is None else Xte[:n_test]
    c1, gain1, gs1, _ = layer1()
    rows1 = len(c1)
    rows2 = 65
    T = np.full((len(ytr), 10), -MARGIN, np.int16)
    T[np.arange(len(ytr)), ytr] = MARGIN
    data = {"learn_xtr.npy": _inputs(Xtr, rows1), "learn_xte.npy": _inputs(Xte, rows1),
            "learn_t.npy": T, "learn_ts.npy": np.sign(T).astype(np.int16),
            "learn_w1.npy": c1, "learn_w2.npy": np.zeros((rows2, 10), np.int8)}
    asm = _program(len(Xtr), len(Xte), epochs, rows1, rows2, gain1, gs1, train=True, both=both)
    return {"asm": asm, "data": data, "n_train": len(Xtr), "n_test": len(Xte), "epochs": epochs,
            "rows1": rows1}


def _forward(tag: str, xreg: str) -> str:
    """hidden codes and logits of the digit at xreg: z (i16 × 10) in memory."""
    return f"""        hin.u8  c{CORE1}, {xreg}
        li      x2, 1 << {CORE1}
        mvm.fwd x2
        la      x3, acc1
        vout.i16 c{CORE1}, x3
        sync    x2
        setvli  64
        vrelu.i16 x3, x3
        vclipu.i16 x3, x3, {H_BITS}
        la      x4, hid
        vcvt.u8.i16 x4, x3          # hidden codes (bias byte after them stays 1)
        hin.u8  c{CORE2}, x4
        li      x2, 1 << {CORE2}
        mvm.fwd x2
        la      x3, z
        vout.i16 c{CORE2}, x3
        sync    x2                  # {tag}: logits in z
        setvli  10
"""


def _backward() -> str:
    """Both layers: the hidden error through the transposed MVM of layer 2 (V holds −e after the
    second opu, so H ← −W2·e), masked where the hidden unit is active, ternarised, and the
    outer-product updates of layer 1 with the input codes (core 0's H) on the rows."""
    return f"""        addi    x1, x1, -1          # layer 1 learns on every {L1_EVERY}th digit only
        bnez    x1, skip_l1
        li      x1, {L1_EVERY}
        ccfg.inbits x2, 2           # ternary error in: signed, 1 magnitude bit
        ccfg.insigned x2, 1
        ccfg.gshift x2, {BWD_GSHIFT}
        mvm.bwd x2                  # H ← W2·(−e), the hidden error with its sign flipped
        la      x7, dh
        hout.i16 c{CORE2}, x7
        sync    x2
        ccfg.inbits x2, {H_BITS}
        ccfg.insigned x2, 0
        ccfg.gshift x2, {GSHIFT2}
        setvli  64
        la      x6, acc1            # the hidden codes (i16) of this digit
        la      x5, msk
        vclipu.i16 x5, x6, 1        # 1 where the hidden unit is active (ReLU derivative)
        vmul.i16 x7, x7, x5
        vsra.i16 x7, x7, {DEADZONE1}
        vclip.i16 x7, x7, 2         # ternary −δ
        li      x8, 1 << {CORE1}
        li      x6, -1
        la      x5, dpos
        vmuls.i16 x5, x7, x6        # +δ
        vin.i16 c{CORE1}, x5
        opu     x8                  # layer 1, G+ devices: ΔW1 = x·δ
        vin.i16 c{CORE1}, x7
        li      x6, 1
        ccfgr.opdev x8, x6
        opu     x8                  # G− devices with −δ
        ccfgr.opdev x8, x0
skip_l1:
"""


def _program(ntr: int, nte: int, epochs: int, rows1: int, rows2: int, gain1: int, gs1: int,
             train: bool, both: bool = False) -> str:
    """The training program, or (train False) the same chip set-up and test loop only: layer 2
    programmed by write-verify from learn_w2.npy."""
    head = f"""# learn_digits.s — generated by emulator.workloads.learn: the digits MLP's last layer trained
# on the chip with sign-based outer-product updates (opu); see the module's docstring.
        .equ NTR, {ntr}
        .equ NTE, {nte}
        .equ EPOCHS, {epochs}
        .equ XROW, {rows1}

        .data
xtr:    .npy "learn_xtr.npy", u8
xte:    .npy "learn_xte.npy", u8
tgt:    .npy "learn_t.npy", i16      # T: +M for the label, −M elsewhere
tsg:    .npy "learn_ts.npy", i16     # sign(T)
w1:     .npy "learn_w1.npy", i8
w2:     .npy "learn_w2.npy", i8      # zeros: layer 2 starts untrained
        .align 2
acc1:   .zero 128
hid:    .zero 64
        .byte 1                      # the bias input of layer 2
        .align 2
z:      .zero 20
err:    .zero 20
nerr:   .zero 20
dh:     .zero 130                    # hidden error (i16, rows 0…64)
        .align 2
msk:    .zero 128
dpos:   .zero 128
pred:   .zero EPOCHS * NTE

        .text
_start:
        li      x2, (1 << {CORE1}) | (1 << {CORE2})
        cpon    x2
        li      x2, 1 << {CORE1}
        ccfg.nrows x2, {rows1}
        ccfg.ncols x2, 64
        ccfg.inbits x2, 4
        ccfg.insigned x2, 0
        ccfg.gain x2, {gain1}
        ccfg.gshift x2, {gs1}
        la      x3, w1
        cprog   c{CORE1}, x3
        li      x2, 1 << {CORE2}
        ccfg.nrows x2, {rows2}
        ccfg.ncols x2, 10
        ccfg.inbits x2, {H_BITS}
        ccfg.insigned x2, 0
        ccfg.gshift x2, {GSHIFT2}
        la      x3, w2
        cprog   c{CORE2}, x3
"""
    if train:
        head += f"""        oprefresh c{CORE2}              # both devices of every pair to the top: room to fall
"""
    if both:
        head += f"""        oprefresh c{CORE1}
        li      x1, {L1_EVERY}
"""
    head += """        sync    x0
        li      x9, EPOCHS
        la      x15, pred
epoch:
"""
    loop = f"""        la      x10, xtr
        la      x11, tgt
        la      x12, tsg
        li      x13, NTR
        li      x14, {REFRESH}
train:
{_forward("train", "x10")}        la      x5, err
        vsub.i16 x5, x11, x3        # d = T − z
        vmul.i16 x5, x5, x12        # ·sign(T)
        vrelu.i16 x5, x5            # only where z is inside the margin
        vmul.i16 x5, x5, x12
        vsra.i16 x5, x5, {DEADZONE}
        vclip.i16 x5, x5, 2         # ternary error
        vin.i16 c{CORE2}, x5
        opu     x2                  # G+ devices: ΔW = x·e
        li      x6, -1
        la      x7, nerr
        vmuls.i16 x7, x5, x6
        vin.i16 c{CORE2}, x7
        li      x6, 1
        ccfgr.opdev x2, x6
        opu     x2                  # G− devices with −e: ΔW = x·e again
        ccfgr.opdev x2, x0
{_backward() if both else ""}        addi    x14, x14, -1
        bnez    x14, no_refresh
        oprefresh c{CORE2}
{f"        oprefresh c{CORE1}" + chr(10) if both else ""}        li      x14, {REFRESH}
no_refresh:
        addi    x10, x10, XROW
        addi    x11, x11, 20
        addi    x12, x12, 20
        addi    x13, x13, -1
        bnez    x13, train
        sync    x0
"""
    tail = f"""train_done:
        la      x10, xte
        li      x13, NTE
test:
{_forward("test", "x10")}        vargmax.i16 x6, x3
        sb      x6, 0(x15)
        addi    x15, x15, 1
        addi    x10, x10, XROW
        addi    x13, x13, -1
        bnez    x13, test
test_done:
        addi    x9, x9, -1
        bnez    x9, epoch
        halt
"""
    return head + (loop if train else "") + tail


def run(epochs: int = 3, n_train: int | None = None, n_test: int | None = None, model: str = "ideal",
        seed: int = 0, workdir=SCRATCH / "learn", both: bool = False) -> dict:
    """Accuracy per epoch, energy and time per training epoch, and the offline-trained layer 2
    programmed on the same chip for comparison."""
    from emulator.machine import Machine

    p = build(epochs, n_train, n_test, both)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    for f, a in p["data"].items():
        np.save(work / f, a)
    (work / "learn_digits.s").write_text(p["asm"])
    _, _, _, yte = load_digits_split()
    yte = yte[:p["n_test"]]
    m = Machine(model=model, seed=seed)
    m.load(str(work / "learn_digits.s"))
    marks = {m.sym("epoch"): "epoch", m.sym("train_done"): "train_done"}
    for a in marks:
        m.set_breakpoint(a)
    curve, train_e, train_t = [], [], []
    e0 = c0 = None
    while True:
        r = m.run()
        if r.stop == "breakpoint":
            rep = m.energy_report()
            if marks[m.pc] == "epoch":
                e0, c0 = rep["total_pj"], m.cycle
            else:
                train_e.append((rep["total_pj"] - e0) * 1e-6)
                train_t.append((m.cycle - c0) / m.config.clock_hz)
            continue
        if not r.ok:
            raise RuntimeError(f"learn_digits.s stopped: {r}")
        break
    pred = m.mem(m.sym("pred"), epochs * p["n_test"], "u8").reshape(epochs, p["n_test"])
    curve = [float(np.mean(pr == yte)) for pr in pred]
    ev = m.cores[CORE2].events
    upd = m.cores[CORE2].update_pulses
    return {"epochs": epochs, "n_train": p["n_train"], "n_test": p["n_test"], "model": model, "seed": seed,
            "accuracy": curve, "train_energy_uj": train_e, "train_time_s": train_t,
            "update_pulses": ev["op_pulses"], "max_pulses_per_cell": int(upd.max()), "both": both,
            "update_pulses_layer1": m.cores[CORE1].events["op_pulses"],
            "refreshes": ev["refreshes"], "offline": offline(p["n_test"], model, seed, work)}


def offline(n_test: int, model: str, seed: int, work: Path) -> dict:
    """The shipped MLP's layer 2 programmed by write-verify on the same chip (layer 1 as above):
    its test accuracy and the energy and time of programming it."""
    from emulator.machine import Machine

    mdl = shipped_model(noise=False)
    c1, gain1, gs1, lam = layer1(mdl)
    W1, b1 = mdl.layers[1].W, mdl.layers[1].b
    # hidden code h = 15·a1/λ, so a1 = λ/15·h: the logits are (λ/15)·W1ᵀh + b1
    M = np.vstack([W1 * lam / 15, b1[None, :]])
    s = float(np.abs(M).max()) / 127
    c2 = np.clip(np.round(M / s), -127, 127).astype(np.int8)
    _, _, Xte, yte = load_digits_split()
    Xte, yte = Xte[:n_test], yte[:n_test]
    asm = _program(1, n_test, 1, len(c1), 65, gain1, gs1, train=False)
    data = {"learn_xtr.npy": np.zeros((1, len(c1)), np.uint8), "learn_xte.npy": _inputs(Xte, len(c1)),
            "learn_t.npy": np.zeros((1, 10), np.int16), "learn_ts.npy": np.zeros((1, 10), np.int16),
            "learn_w1.npy": c1, "learn_w2.npy": c2}
    d = work / "offline"
    d.mkdir(parents=True, exist_ok=True)
    for f, a in data.items():
        np.save(d / f, a)
    (d / "learn_digits.s").write_text(asm)
    m = Machine(model=model, seed=seed)
    m.load(str(d / "learn_digits.s"))
    m.set_breakpoint(m.sym("epoch"))
    r = m.run()
    if r.stop != "breakpoint":
        raise RuntimeError(f"offline program stopped: {r}")
    rep = m.energy_report()
    prog_uj = rep["cores"][str(CORE2)]["energy_pj"]["program"] * 1e-6
    prog_s = m.cycle / m.config.clock_hz
    m.clear_breakpoints()
    r = m.run()
    if not r.ok:
        raise RuntimeError(f"offline program stopped: {r}")
    pred = m.mem(m.sym("pred"), n_test, "u8")
    return {"accuracy": float(np.mean(pred == yte)), "program_energy_uj": prog_uj, "program_time_s": prog_s}
