"""The LSTM layer (emulator/mapper/lstm.py): the vsigm / vtanh instructions against their numpy
model for every i16 input, their documented error, the compiled multi-core program bit-exact
against the integer reference on the ideal model, refusals, and the keyword-spotting-shaped
example's cores and time."""
import numpy as np
import pytest

from emulator.mapper import Dense, MapError, Model, run_compiled
from emulator.mapper.lstm import LSTM, compile_lstm, quantise_lstm, reference, vsigm, vtanh
from tests.helpers import I, machine, program

A, D = 0x1000, 0x30000


@pytest.mark.parametrize("op,fn", [("vsigm", vsigm), ("vtanh", vtanh)])
@pytest.mark.parametrize("frac", [0, 5, 11, 15, 40])
def test_nonlinearity_matches_numpy_on_every_i16(op, fn, frac):
    x = np.arange(-32768, 32768, dtype=np.int64)
    m = machine({"mem_size": 1 << 20})
    m.load(program(I.setvl(rs1=15), getattr(I, op)(vt="i16", rd=3, rs1=1, vimm=frac), I.halt()))
    m.write_mem(A, x.astype(np.int16))
    for r, v in {1: A, 3: D, 15: len(x)}.items():
        m.set_reg(r, v)
    m.step(2)
    assert np.array_equal(m.mem(D, len(x), "i16").astype(np.int64), fn(x, frac))


def test_nonlinearity_error_is_as_documented():
    x = np.arange(-32768, 32768)
    for f in (8, 11, 13):
        v = x / 2**f
        assert np.abs(vsigm(x, f) / 16384 - 1 / (1 + np.exp(-v))).max() <= 0.0008
        assert np.abs(vtanh(x, f) / 16384 - np.tanh(v)).max() <= 0.0016


def _model(nx, nh, T, nout, seed=0, bias=True, in_bits=4, act_bits=4):
    r = np.random.default_rng(seed)
    cell = LSTM(r.normal(size=(nx, 4 * nh)) / np.sqrt(nx), r.normal(size=(nh, 4 * nh)) / np.sqrt(nh),
                r.normal(size=4 * nh) * 0.5 if bias else None, T, "cell")
    ro = Dense(r.normal(size=(nh, nout)), r.normal(size=nout) if bias else None, relu=False, name="ro")
    return Model([cell, ro], in_scale=1 / 15, in_bits=in_bits, act_bits=act_bits)


def test_float_forward_is_the_lstm_recurrence():
    m = _model(3, 4, 5, 2, seed=2)
    cell = m.layers[0]
    X = np.random.default_rng(0).normal(size=(6, 15))
    sg = lambda v: 1 / (1 + np.exp(-v))
    h, c = np.zeros((6, 4)), np.zeros((6, 4))
    for t in range(5):
        z = X[:, 3 * t:3 * t + 3] @ cell.Wx + h @ cell.Wh + cell.b
        i, f, g, o = np.split(z, 4, 1)
        c = sg(f) * c + sg(i) * np.tanh(g)
        h = sg(o) * np.tanh(c)
    assert np.allclose(cell.forward(X), h) and np.allclose(m.forward(X), h @ m.layers[1].W + m.layers[1].b)


# (n_x, n_h, T, n_out, options): one core, column copies, several row segments and column blocks,
# no biases, other code widths
SHAPES = [(3, 5, 2, 2, {}), (8, 32, 8, 10, {"copies": 4}), (40, 112, 3, 12, {}),
          (5, 70, 2, 3, {"bias": False}), (6, 9, 4, 4, {"in_bits": 3, "act_bits": 6})]


@pytest.mark.parametrize("nx,nh,T,nout,opt", SHAPES)
def test_chip_equals_integer_reference(tmp_path, nx, nh, T, nout, opt):
    copies = opt.pop("copies", 1)
    m = _model(nx, nh, T, nout, **opt)
    X = np.random.default_rng(1).normal(size=(4, nx * T))
    q = quantise_lstm(m, X, copies=copies)
    codes = q.encode(X)
    c = compile_lstm(q, codes, "t")
    logits, pred, _ = run_compiled(c, tmp_path / "t.s")
    ref = reference(q, codes)
    assert np.array_equal(logits, ref) and np.array_equal(pred, ref.argmax(1))
    # the integer network tracks the float one
    assert np.corrcoef((ref * q.s_y).ravel(), m.forward(X).ravel())[0, 1] > 0.8


def test_refusals():
    m = _model(4, 6, 2, 3)
    with pytest.raises(MapError, match="Model\\(\\[LSTM, Dense\\]\\)"):
        quantise_lstm(Model([m.layers[0]]), np.zeros((1, 8)))
    with pytest.raises(MapError, match="calibration inputs must be N × 8"):
        quantise_lstm(m, np.zeros((1, 7)))
    bad = Model([LSTM(np.zeros((4, 20)), np.zeros((6, 24)), None, 2, "cell"), m.layers[1]])
    with pytest.raises(MapError, match="cell: Wx must be n_x × 4·n_h"):
        quantise_lstm(bad, np.zeros((1, 8)))
    with pytest.raises(MapError, match="needs .* cores .* but the chip has 48"):
        quantise_lstm(_model(100, 600, 1, 2), np.random.default_rng(0).normal(size=(2, 100)))
    q = quantise_lstm(m, np.random.default_rng(0).normal(size=(3, 8)))
    with pytest.raises(MapError, match="within ±15"):
        compile_lstm(q, np.full((1, 8), 20))


def test_keyword_spotting_shaped_example(tmp_path):
    """40 MFCC-like features per frame, 112 hidden units (the paper's cell size), 12 classes, 8
    frames: 5 cores (2 row segments × 2 column blocks for the gates, one readout core); one
    sequence costs 36 654 cycles (0.367 ms at 100 MHz) and ≈ 3.00 µJ on the chip profile, 171 951
    cycles and ≈ 3.82 µJ on the board's (docs/mapper.md), measured as the difference between
    batches of 6 and 2."""
    from emulator.machine import Machine

    m = _model(40, 112, 8, 12, seed=5)
    q = quantise_lstm(m, np.random.default_rng(3).normal(size=(2, 320)))
    for prof, want_cyc, lo, hi in (("chip", 36_654, 2.95e6, 3.05e6), ("board", 171_951, 3.77e6, 3.87e6)):
        runs = []
        for n in (2, 6):
            c = compile_lstm(q, q.encode(np.random.default_rng(3).normal(size=(n, 320))), "kws")
            M = Machine(model="ideal", config=prof)
            M.load(c.write(tmp_path / "kws.s"))
            r = M.run()
            runs.append((r.cycles, M.energy_report()["total_pj"]))
        assert len(c.slots) == 5
        cyc, pj = (runs[1][0] - runs[0][0]) / 4, (runs[1][1] - runs[0][1]) / 4
        assert cyc == want_cyc, (prof, cyc)
        assert lo < pj < hi, (prof, pj)
