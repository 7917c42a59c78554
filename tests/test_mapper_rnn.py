"""The mapper's recurrent layer (emulator/mapper/rnn.py): the float cell, bit-exact equivalence of
the compiled one-core program (mvm.rec) with the numpy integer reference on the ideal model for
many shapes, refusal of misfits, and the shipped digits RNN converted into Model([SimpleRNN, Dense])."""
import numpy as np
import pytest

from emulator.mapper import Dense, MapError, Model, compile_rnn, measure_cycles, run_compiled
from emulator.mapper.rnn import SimpleRNN, quantise_rnn, reference
from emulator.workloads import rnn as W
from emulator.workloads.digits import AGE_MS, IN_SCALE, load_digits_split


def _model(nx, nh, T, nout, seed=0, bias=True, h_max=None, in_bits=4, act_bits=4):
    rng = np.random.default_rng(seed)
    cell = SimpleRNN(rng.normal(size=(nx, nh)) / np.sqrt(nx), rng.normal(size=(nh, nh)) * 0.7 / np.sqrt(nh),
                     rng.normal(size=nh) * 0.5 if bias else None, T, "cell", h_max)
    ro = Dense(rng.normal(size=(nh, nout)), rng.normal(size=nout) if bias else None, relu=False, name="ro")
    return Model([cell, ro], in_scale=1 / 15, in_bits=in_bits, act_bits=act_bits)


def _inputs(m, n, seed=1):
    cell = m.layers[0]
    return np.random.default_rng(seed).random((n, cell.steps * cell.n_x))


def test_float_forward_is_the_recurrence():
    m = _model(3, 7, 5, 4, seed=3)
    cell, ro = m.layers
    X = _inputs(m, 6)
    h = np.zeros((6, 7))
    for t in range(5):
        h = np.maximum(X[:, 3 * t:3 * t + 3] @ cell.Wx + h @ cell.Wh + cell.b, 0)
    assert np.allclose(cell.forward(X), h) and np.allclose(m.forward(X), h @ ro.W + ro.b)
    assert len(cell.states(X)) == 5 and np.allclose(cell.states(X)[-1], h)
    clipped = SimpleRNN(cell.Wx * 5, cell.Wh, None, 5, h_max=0.5)
    h = np.zeros((6, 7))
    for t in range(5):
        h = np.clip(X[:, 3 * t:3 * t + 3] @ clipped.Wx + h @ clipped.Wh, 0, 0.5)
    assert np.allclose(clipped.forward(X), h) and h.max() == 0.5


# (n_x, n_h, T, n_out, bias, options): random shapes plus the edges (1 input, 1 hidden unit, 1 step,
# a full 128-row core, 100 outputs = no room for copies, other code widths, a clipped cell)
SHAPES = [(3, 5, 2, 2, True, {}), (16, 40, 8, 12, True, {}), (7, 23, 4, 10, False, {}),
          (12, 31, 6, 3, True, {"copies": 4}), (5, 17, 3, 7, True, {"hcopy": 1}),
          (1, 1, 1, 2, True, {}), (6, 120, 2, 5, True, {}), (4, 9, 3, 100, True, {}),
          (9, 14, 5, 6, True, {"act_bits": 3, "in_bits": 2}), (8, 20, 4, 4, True, {"h_max": 1.0}),
          (11, 26, 7, 9, True, {"balance": False})]


@pytest.mark.parametrize("nx,nh,T,nout,bias,opt", SHAPES)
def test_ideal_chip_equals_the_integer_reference(tmp_path, nx, nh, T, nout, bias, opt):
    kw = {k: opt[k] for k in ("copies", "hcopy", "balance") if k in opt}
    m = _model(nx, nh, T, nout, seed=nx * 100 + nh, bias=bias, h_max=opt.get("h_max"),
               in_bits=opt.get("in_bits", 4), act_bits=opt.get("act_bits", 4))
    X = _inputs(m, 200)
    q = quantise_rnn(m, X, **kw)
    assert q.nr <= 128 and q.hh <= 128 and q.n_out * q.rep <= 128
    assert q.P == (min(q.pad_need, 128 - q.n_rows) if kw.get("balance", True) else 0)
    codes = q.encode(X[:16])
    c = compile_rnn(q, codes, name="r")
    out, pred, r = run_compiled(c, tmp_path / "r.s")
    ref = reference(q, codes)
    assert out.shape == (16, nout) and np.array_equal(out, ref)
    assert np.array_equal(pred, ref.argmax(1))
    assert r.cores_used == (0,)
    # the integer model follows the float one (loose: random, untrained networks)
    agree = np.mean(reference(q, q.encode(X)).argmax(1) == m.forward(q.encode(X) * m.in_scale).argmax(1))
    assert agree > 0.6, agree


def test_defaults_take_the_most_copies_that_fit():
    m = _model(5, 12, 4, 3)
    q = quantise_rnn(m, _inputs(m, 50))
    assert q.rep == 16 and q.hcopy > 1 and q.n_rows <= 128
    with pytest.raises(MapError, match="fewer hidden copies"):
        quantise_rnn(m, _inputs(m, 50), hcopy=q.hcopy + 1)
    assert quantise_rnn(m, _inputs(m, 50), copies=5).rep == 4
    assert quantise_rnn(_model(5, 12, 4, 50), _inputs(m, 50)).rep == 2         # 100 of 128 columns


def test_program_is_deterministic_readable_and_placed(tmp_path):
    m = _model(4, 10, 3, 5)
    X = _inputs(m, 30)
    q = quantise_rnn(m, X)
    a = compile_rnn(q, q.encode(X), name="p", core=7, age_ms=1000)
    b = compile_rnn(quantise_rnn(m, X), q.encode(X), name="p", core=7, age_ms=1000)
    assert a.asm == b.asm and all(np.array_equal(a.data[f], b.data[f]) for f in a.data)
    assert "mvm.rec x1" in a.asm and "hin.u8  c7, x10" in a.asm and "cage    x2" in a.asm
    assert "li      x1, 1 << 7" in a.asm and "# H, the core's input register" in a.asm
    assert a.slots[0].core == 7 and a.n_out == 5 and "chain 1:     .  cell     ." in a.core_map
    out, _, r = run_compiled(a, tmp_path / "p.s")
    assert r.cores_used == (7,) and np.array_equal(out, reference(q, q.encode(X)))
    cyc = measure_cycles(a, tmp_path / "p.s")
    assert 0 < cyc["setup"] < cyc["total"] and cyc["inference"] > 0


def test_reference_sees_a_changed_weight(tmp_path):
    """The bit-exact comparison can fail: the program keeps its codes, the model changes."""
    m = _model(6, 15, 4, 6, seed=5)
    X = _inputs(m, 20)
    q = quantise_rnn(m, X)
    c = compile_rnn(q, q.encode(X), name="w")
    j = int(np.argmax(np.abs(q.rec[:15, 0])))          # the largest recurrent code of unit 0
    q.rec[j, :] = -q.rec[j, :]
    out, _, _ = run_compiled(c, tmp_path / "w.s")
    assert not np.array_equal(out, reference(q, q.encode(X)))


def test_analog_run_completes_near_the_reference(tmp_path):
    m = _model(5, 20, 4, 6, seed=2)
    X = _inputs(m, 40)
    q = quantise_rnn(m, X)
    c = compile_rnn(q, q.encode(X), name="a")
    out, pred, r = run_compiled(c, tmp_path / "a.s", model="analog", seed=1)
    ref = reference(q, q.encode(X))
    assert r.ok and out.shape == ref.shape and not np.array_equal(out, ref)
    assert np.corrcoef(out.ravel(), ref.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("make,kw,match", [
    (lambda: _model(3, 129, 2, 4), {}, r"129 hidden units .* H\[j\].* ≤ 128"),
    (lambda: _model(8, 48, 2, 4), {"hcopy": 3}, r"hcopy × n_h = 3 × 48 = 144 hidden columns.*hcopy ≤ 2"),
    (lambda: _model(40, 100, 2, 4), {}, r"needs hcopy 1 × \(100 hidden \+ 40 inputs\) \+ \d bias rows = 14\d "
                                        r"rows, but a core has 128; use fewer hidden units"),
    (lambda: _model(20, 50, 2, 4), {"hcopy": 2}, r"needs hcopy 2 × .* = 14\d rows.*fewer hidden copies"),
    (lambda: _model(3, 8, 2, 129), {}, r"129 outputs need 129 readout columns at col0 128.*only 128"),
    (lambda: Model([_model(3, 8, 2, 4).layers[1]]), {}, r"Model\(\[SimpleRNN, Dense\]\).*got \[Dense\]"),
    (lambda: Model(_model(3, 8, 2, 4).layers + [Dense(np.ones((4, 2)))]), {}, r"got \[SimpleRNN, Dense, Dense\]"),
    (lambda: Model(_model(3, 8, 2, 4).layers[::-1]), {}, r"got \[Dense, SimpleRNN\]"),
    (lambda: Model([_model(3, 8, 2, 4).layers[0], Dense(np.ones((8, 4)), relu=True)]), {}, "relu=False"),
    (lambda: Model([SimpleRNN(np.ones((3, 8)), np.ones((8, 7)), None, 2), Dense(np.ones((8, 4)), relu=False)]),
     {}, r"Wh n_h × n_h"),
    (lambda: Model([_model(3, 8, 2, 4).layers[0], Dense(np.ones((9, 4)), relu=False, name="out")]), {},
     r"out: the readout's W must be n_h × n_out = 8 × …"),
    (lambda: _model(3, 8, 2, 4, in_bits=9), {}, "in_bits must be 1 … 8"),
])
def test_refuses_misfits(make, kw, match):
    m = make()
    L0 = m.layers[0]
    X = _inputs(m, 4) if isinstance(L0, SimpleRNN) and L0.Wx.shape[1] == L0.Wh.shape[0] else np.ones((4, 6))
    with pytest.raises(MapError, match=match):
        quantise_rnn(m, X, **kw)


def test_refuses_inputs_of_the_wrong_width():
    m = _model(3, 8, 4, 2)
    with pytest.raises(MapError, match=r"N × 12 \(T = 4 steps × 3 inputs\)"):
        quantise_rnn(m, np.ones((5, 11)))
    q = quantise_rnn(m, np.ones((5, 12)))
    with pytest.raises(MapError, match="N × 12"):
        q.encode(np.ones((5, 13)))
    with pytest.raises(MapError, match="N × 12"):
        compile_rnn(q, np.ones((5, 8), np.uint8))
    with pytest.raises(MapError, match="core must be 0 … 47"):
        compile_rnn(q, np.ones((5, 12), np.uint8), core=48)


# ------------------------------------------------------------------------- the digits RNN

@pytest.fixture(scope="module")
def digits():
    Xtr, _, Xte, yte = load_digits_split()
    m = W.as_model(W.shipped(noise=True))
    return m, quantise_rnn(m, Xtr), Xte[:40], yte[:40]


def test_converted_digits_rnn_is_the_workloads_network(digits):
    m, q, Xte, _ = digits
    P = W.shipped(noise=True)
    Xq = np.round(Xte / IN_SCALE) * IN_SCALE                 # on the code grid, as the workload reads it
    assert np.allclose(m.forward(Xq), W.forward_float(P, Xq, quant=False)[0])
    # the same 4-bit codes as the hand-written generator (hidden ×2, then pixels ×2)
    qw = W.quantise_rnn(P, load_digits_split()[0])
    assert q.hcopy == qw.hc == 2 and q.s_h == 1.0 and q.gain == qw.gain and q.gshift == qw.gshift
    assert np.array_equal(q.rec[:112], qw.rec[:112]) and np.array_equal(q.out[:112], qw.out[:112])


def test_digits_ideal_and_analog(tmp_path, digits):
    m, q, Xte, yte = digits
    codes = q.encode(Xte)
    ref = reference(q, codes)
    assert np.mean(ref.argmax(1) == yte) > 0.85                       # 92.7 % on all 450
    assert np.mean(ref.argmax(1) == m.forward(Xte).argmax(1)) > 0.85   # 96.4 % on all 450
    c = compile_rnn(q, codes, name="digits_rnn", age_ms=AGE_MS)
    out, pred, _ = run_compiled(c, tmp_path / "digits_rnn.s")
    assert np.array_equal(out, ref)
    _, pred, _ = run_compiled(c, tmp_path / "digits_rnn.s", model="analog", seed=1)
    assert np.mean(pred == yte) > 0.8                                  # 92.4 % (seeds 1–3) on all 450


# ------------------------------------------------------------------ input handling (review fixes)

def _cell_model(Wx=None, Wh=None, b=None, steps=2, name="cell", h_max=None, W=None, bo=None, ro_name="ro",
                **kw):
    """A [SimpleRNN, Dense] model with 3 inputs, 5 hidden units, 2 outputs unless overridden."""
    rng = np.random.default_rng(7)
    cell = SimpleRNN(rng.normal(size=(3, 5)) if Wx is None else Wx,
                     rng.normal(size=(5, 5)) * 0.3 if Wh is None else Wh, b, steps, name, h_max)
    ro = Dense(rng.normal(size=(5, 2)) if W is None else W, bo, relu=False, name=ro_name)
    return Model([cell, ro], **{"in_scale": 1 / 15, **kw})


@pytest.mark.parametrize("bo", [None, np.array([0.5, -0.3])])
def test_dead_calibration_is_refused(bo):
    """One all-zero calibration sample (neurram compile without --calib/--inputs) and no bias: the
    hidden state is 0, its range unknown — was a 1.29 TiB allocation (readout bias) or an unnamed
    gain error; h_max gives the range without calibration."""
    m = _cell_model(bo=bo)
    with pytest.raises(MapError, match=r"^cell: the hidden state is 0 for every calibration input, so its "
                                       r"range is unknown; calibrate with inputs that drive the cell "
                                       r"\(--calib / --inputs\) or set h_max$"):
        quantise_rnn(m, np.zeros((1, 6)))
    m.layers[0].h_max = 1.0
    q = quantise_rnn(m, np.zeros((1, 6)))
    assert q.n_rows <= 128 and q.s_h == pytest.approx(1 / 15)


def test_bias_rows_are_capped_and_name_the_layer():
    # a readout bias against a tiny hidden range: ~10^5 bias rows, refused before any is allocated
    m = _cell_model(h_max=1e-6, bo=np.array([0.6, -0.2]))
    with pytest.raises(MapError, match=r"^ro: the bias needs \d+ bias rows \(\|b\| up to 0\.6 against weight "
                                       r"level .* at most 64 rows\); rescale the layer or calibrate"):
        quantise_rnn(m, np.ones((2, 6)))
    # a cell bias far beyond the hidden range h_max: refused with every number of hidden copies
    for hcopy in (None, 1):
        with pytest.raises(MapError, match=r"^cell: the bias needs \d+ bias rows \(\|b\| up to 1e\+06"):
            quantise_rnn(_cell_model(b=np.full(5, 1e6), h_max=1.0), np.ones((2, 6)), hcopy=hcopy)
    with pytest.raises(MapError, match=r"^cell: the bias needs [\d.]+e\+299 bias rows"):
        quantise_rnn(_cell_model(b=np.full(5, 1e300), h_max=1.0), np.ones((2, 6)))
    # a bias that needs many rows with 25 hidden copies but fits with fewer: the default finds them
    m = _cell_model(b=np.full(5, 40.0), h_max=1.0)
    q = quantise_rnn(m, np.ones((2, 6)))
    assert 1 <= q.hcopy < 128 // 5 and q.n_rows <= 128


def test_gain_failures_name_the_layer():
    # h_max far above what the inputs reach: the recurrent gain is below what gain/2^gshift can express
    m = _cell_model(Wh=np.zeros((5, 5)), h_max=1e9)
    with pytest.raises(MapError, match=r"^cell: .*gain.*\(the recurrent neuron\); hidden code 6\.67e\+07: "
                                       r"set h_max or calibrate"):
        quantise_rnn(m, np.ones((2, 6)))
    with pytest.raises(MapError, match=r"^cell: .*gain.*the recurrent neuron"):
        quantise_rnn(m, np.ones((2, 6)), hcopy=1)


@pytest.mark.parametrize("field,who", [("Wx", "cell"), ("Wh", "cell"), ("b", "cell"), ("W", "ro"), ("bo", "ro")])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(field, who, bad):
    """NaN recurrent weights were a MemoryError (an int64 cast of NaN bias levels)."""
    shapes = {"Wx": (3, 5), "Wh": (5, 5), "b": (5,), "W": (5, 2), "bo": (2,)}
    a = np.full(shapes[field], 0.1)
    a.flat[-1] = bad
    m = _cell_model(**{field: a})
    name = "b" if field == "bo" else field
    with pytest.raises(MapError, match=rf"^{who}: {name} has non-finite values \(NaN or inf\)$"):
        quantise_rnn(m, np.ones((2, 6)))


@pytest.mark.parametrize("kw,match", [
    ({"Wx": np.zeros((0, 5))}, r"cell: needs at least one input and one hidden unit; got Wx \(0, 5\)"),
    ({"Wx": np.zeros((3, 0)), "Wh": np.zeros((0, 0)), "W": np.zeros((0, 2))},
     r"cell: needs at least one input and one hidden unit; got Wx \(3, 0\)"),
    ({"W": np.zeros((5, 0))}, r"ro: the readout's W must be n_h × n_out = 5 × … \(n_out ≥ 1\), got \(5, 0\)"),
    ({"Wx": [["a", "b"]]}, r"cell: Wx must be a numeric array"),
])
def test_empty_dimensions_are_refused(kw, match):
    X = np.ones((2, 2 * np.shape(kw.get("Wx", np.zeros((3, 5))))[0]))
    with pytest.raises(MapError, match=match):
        quantise_rnn(_cell_model(**kw), X if X.shape[1] else np.ones((2, 1)))


@pytest.mark.parametrize("kw,match", [
    ({"steps": True}, r"cell: steps must be an integer ≥ 1, got True"),
    ({"steps": 2.5}, r"cell: steps must be an integer ≥ 1, got 2\.5"),
    ({"steps": "3"}, r"cell: steps must be an integer ≥ 1, got '3'"),
    ({"steps": 0}, r"cell: steps must be an integer ≥ 1, got 0"),
    ({"h_max": 0.0}, r"cell: h_max must be a finite number > 0 or None, got 0\.0"),
    ({"h_max": float("nan")}, r"cell: h_max must be a finite number > 0 or None, got nan"),
    ({"h_max": float("inf")}, r"cell: h_max must be a finite number > 0 or None, got inf"),
    ({"h_max": "1"}, r"cell: h_max must be a finite number > 0 or None, got '1'"),
    ({"h_max": 5e-324}, r"cell: the hidden code 0 \(h_max 5e-324\) is too small"),
    ({"name": 5}, r"recurrent layer \(SimpleRNN\): name 5 must be an ASCII identifier"),
    ({"name": "my cell"}, r"name 'my cell' must be an ASCII identifier \(\[A-Za-z_\]\[A-Za-z0-9_\]\*"),
    ({"name": "zelle_ü"}, r"name 'zelle_ü' must be an ASCII identifier"),
    ({"ro_name": 3}, r"the readout \(Dense\): name 3 must be an ASCII identifier"),
    ({"in_scale": 0}, r"cell: in_scale must be a finite number > 0, got 0"),
    ({"in_scale": float("nan")}, r"cell: in_scale must be a finite number > 0, got nan"),
    ({"in_scale": float("inf")}, r"cell: in_scale must be a finite number > 0, got inf"),
    ({"in_scale": "0.1"}, r"cell: in_scale must be a finite number > 0, got '0\.1'"),
    ({"in_bits": 0}, r"cell: in_bits must be 1 … 8, an integer .* got 0"),
    ({"in_bits": 4.0}, r"cell: in_bits must be 1 … 8, an integer .* got 4\.0"),
    ({"act_bits": True}, r"cell: act_bits must be 1 … 8, an integer .* got True"),
    ({"act_bits": 9}, r"cell: act_bits must be 1 … 8, an integer .* got 9"),
])
def test_field_types_are_checked(kw, match):
    m = _cell_model(**kw)
    with pytest.raises(MapError, match=match):
        quantise_rnn(m, np.ones((2, 6)))


def test_empty_batches_and_non_finite_inputs():
    m = _cell_model(b=np.full(5, 0.2))
    with pytest.raises(MapError, match=r"^cell: the calibration inputs are empty \(0 × 6\): give at least one input"):
        quantise_rnn(m, np.zeros((0, 6)))
    for bad in (np.nan, np.inf):
        X = np.ones((3, 6))
        X[1, 2] = bad
        with pytest.raises(MapError, match=r"^cell: the calibration inputs have non-finite values"):
            quantise_rnn(m, X)
    q = quantise_rnn(m, np.ones((3, 6)))
    with pytest.raises(MapError, match=r"^cell: the batch is empty: give at least one input$"):
        compile_rnn(q, np.zeros((0, 6), np.uint8))
    with pytest.raises(MapError, match=r"^cell: the batch is empty"):
        compile_rnn(q, q.encode(np.zeros((0, 6))))
    with pytest.raises(MapError, match=r"^cell: the inputs have non-finite values"):
        q.encode(np.full((2, 6), np.nan))
    with pytest.raises(MapError, match=r"^cell: the input codes have non-finite values"):
        compile_rnn(q, np.full((2, 6), np.inf))
    with pytest.raises(MapError, match=r"^cell: input codes must be whole bytes 0 … 255"):
        compile_rnn(q, np.full((2, 6), 2.5))
    with pytest.raises(MapError, match=r"^cell: age_ms must be a number of milliseconds"):
        compile_rnn(q, np.ones((2, 6), np.uint8), age_ms=float("nan"))
    with pytest.raises(MapError, match=r"^cell: core must be 0 … 47, got '3'"):
        compile_rnn(q, np.ones((2, 6), np.uint8), core="3")
    with pytest.raises(MapError, match=r"^cell: the hidden state overflows on the calibration inputs"):
        quantise_rnn(_cell_model(Wx=np.full((3, 5), 1e200), Wh=np.full((5, 5), 1e200), steps=4),
                     np.ones((2, 12)))


def test_long_sequences_keep_immediates_in_range(tmp_path):
    """T·n_x = 33 000 > 32 767: the input pointer steps by one step's XW rows (addi imm16), never by
    a whole sample, so long sequences assemble and run bit-exact."""
    m = _model(100, 4, 330, 3, seed=4)
    X = _inputs(m, 3)
    q = quantise_rnn(m, X)
    assert q.in_width == 33000 and q.xw <= 128
    codes = q.encode(X[:2])
    out, _, _ = run_compiled(compile_rnn(q, codes, name="long"), tmp_path / "long.s")
    assert np.array_equal(out, reference(q, codes))
