"""Conv2D and MaxPool2D layers of the mapper, and the model file `neurram compile` reads."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.cli import main
from emulator.mapper import (Conv2D, Dense, MapError, MaxPool2D, Model, ModelFileError, QConv, QPool,
                             compile_model, load_model, quantise, reference, run_compiled, save_model)
from emulator.mapper.model import patches


def _conv(rng, k, ci, co, **kw):
    return Conv2D(rng.normal(size=(k, k, ci, co)), rng.normal(size=co) * 0.5, **kw)


def _dense(rng, n_in, n_out, relu=False, name="fc"):
    return Dense(rng.normal(size=(n_in, n_out)), rng.normal(size=n_out), relu, name)


def _check_ideal(m, tmp_path, n=3, copies=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, int(np.prod(m.in_shape)))) * 15
    q = quantise(m, X, copies=copies)
    c = compile_model(q, q.encode(X), name="net")
    out, pred, r = run_compiled(c, tmp_path / "net.s")
    ref = reference(q, q.encode(X))
    assert (out == ref).all()
    assert (pred == ref.argmax(1)).all()
    return q, c, ref, m.forward(X)


def test_patches_match_a_direct_convolution():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 6, 3))
    W = rng.normal(size=(3, 2, 3, 4))
    L = Conv2D(W, None, stride=2, padding=1, relu=False)
    y = L.forward(x)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    assert y.shape == (2, 4, 4, 4) == (2, *L.out_shape((7, 6, 3)))
    for oy in range(4):
        for ox in range(4):
            win = xp[:, 2 * oy:2 * oy + 3, 2 * ox:2 * ox + 2, :]
            assert np.allclose(y[:, oy, ox], np.einsum("nhwc,hwco->no", win, W))
    assert patches(x, 1, 1).shape == (2, 7, 6, 3)


@pytest.mark.parametrize("case", ["conv_pool_dense", "pad_stride_two_convs", "pool_first_size4",
                                  "wide_conv_two_blocks", "deep_patch_two_segments"])
def test_ideal_chip_matches_integer_reference(tmp_path, case):
    rng = np.random.default_rng(7)
    m = {
        "conv_pool_dense": lambda: Model([_conv(rng, 3, 1, 8, name="c1"), MaxPool2D(2, name="p1"),
                                          _dense(rng, 72, 10)], in_shape=(8, 8, 1)),
        "pad_stride_two_convs": lambda: Model([_conv(rng, 3, 2, 16, padding=1, name="c1"),
                                               _conv(rng, 3, 16, 8, stride=2, name="c2"),
                                               _dense(rng, 72, 6)], in_shape=(8, 8, 2)),
        "pool_first_size4": lambda: Model([MaxPool2D(4, name="p0"), _dense(rng, 12, 5)], in_shape=(8, 8, 3)),
        "wide_conv_two_blocks": lambda: Model([_conv(rng, 2, 3, 300, name="c1"), _dense(rng, 1200, 7)],
                                              in_shape=(3, 3, 3)),
        "deep_patch_two_segments": lambda: Model([_conv(rng, 3, 16, 4, name="c1", padding=1),
                                                  _dense(rng, 4 * 4 * 4, 3)], in_shape=(4, 4, 16)),
    }[case]()
    q, c, ref, fl = _check_ideal(m, tmp_path, copies=2)
    if case == "wide_conv_two_blocks":
        assert len(q.layers[0].colblocks) == 2
    if case == "deep_patch_two_segments":
        assert len(q.layers[0].segments) == 2 and "→ segment 1" in c.asm
    if case == "pool_first_size4":
        assert isinstance(q.layers[0], QPool) and c.asm.count("        vpmax.u8") == 4
        assert [s.layer for s in c.slots] == [1]
    # the quantised network follows the float one
    assert np.corrcoef(ref.ravel(), fl.ravel())[0, 1] > 0.9


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=st.integers(3, 7), w=st.integers(3, 7), ci=st.integers(1, 4), co=st.integers(1, 12),
       k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1), seed=st.integers(0, 99))
def test_conv_shapes_property(tmp_path, h, w, ci, co, k, stride, pad, seed):
    rng = np.random.default_rng(seed)
    conv = _conv(rng, k, ci, co, stride=stride, padding=pad, name="c")
    ho, wo, _ = conv.out_shape((h, w, ci))
    if min(ho, wo) < 1:
        return
    m = Model([conv, _dense(rng, ho * wo * co, 4)], in_shape=(h, w, ci))
    _check_ideal(m, tmp_path, n=2, seed=seed)


def test_the_shipped_cnn_through_the_general_mapper(tmp_path):
    from emulator.workloads import cnn
    from emulator.workloads.digits import load_digits_split

    Xtr, _, Xte, yte = load_digits_split()
    m = cnn.as_model(cnn.shipped(noise=True))
    q = quantise(m, Xtr, copies=16)
    assert isinstance(q.layers[0], QConv) and q.layers[0].out_shape == (6, 6, 8)
    c = compile_model(q, q.encode(Xte[:60]), name="cnn_gen", age_ms=3_600_000)
    out, pred, _ = run_compiled(c, tmp_path / "cnn_gen.s")
    assert (out == reference(q, q.encode(Xte[:60]))).all()
    assert np.mean(pred == yte[:60]) >= 0.9
    _, pred, _ = run_compiled(c, tmp_path / "cnn_gen.s", model="analog", seed=1)
    assert np.mean(pred == yte[:60]) >= 0.85


@pytest.mark.parametrize("layers,in_shape,msg", [
    (lambda r: [_conv(r, 3, 1, 4), _dense(r, 36, 2)], None, "needs an \\(H, W, C\\) feature map"),
    (lambda r: [_dense(r, 64, 8, True), _conv(r, 1, 1, 2)], (8, 8, 1), "layer 0 produces a flat vector"),
    (lambda r: [_conv(r, 3, 2, 4), _dense(r, 144, 2)], (8, 8, 1), "expects 2 input channels"),
    (lambda r: [_conv(r, 3, 1, 4), MaxPool2D(3), _dense(r, 16, 2)], (8, 8, 1), "power of two"),
    (lambda r: [_conv(r, 3, 1, 4), MaxPool2D(4), _dense(r, 4, 2)], (8, 8, 1), "divisible by 4"),
    (lambda r: [_conv(r, 3, 1, 4)], (8, 8, 1), "last layer must be dense"),
    (lambda r: [_conv(r, 3, 1, 4), _dense(r, 100, 2)], (8, 8, 1), "144 values \\(the 6×6×4 feature map"),
    (lambda r: [_conv(r, 9, 1, 4), _dense(r, 4, 2)], (8, 8, 1), "does not fit the padded input"),
    (lambda r: [Conv2D(r.normal(size=(3, 3, 1, 4)), None, relu=False), _dense(r, 144, 2)], (8, 8, 1), "need relu"),
    (lambda r: [Conv2D(r.normal(size=(3, 3, 4)), None), _dense(r, 144, 2)], (8, 8, 1), "kh × kw × C_in × C_out"),
    (lambda r: [_conv(r, 3, 1, 4, name="my conv"), _dense(r, 144, 2)], (8, 8, 1), "must be an identifier"),
])
def test_refusals_name_the_layer_and_the_problem(layers, in_shape, msg):
    rng = np.random.default_rng(0)
    m = Model(layers(rng), in_shape=in_shape)
    with pytest.raises(MapError, match=msg):
        quantise(m, np.ones((2, 64)))


def test_replicate_is_refused_for_conv_models(tmp_path):
    rng = np.random.default_rng(0)
    m = Model([_conv(rng, 3, 1, 4, name="c"), _dense(rng, 144, 2)], in_shape=(8, 8, 1))
    q = quantise(m, np.ones((2, 64)))
    with pytest.raises(MapError, match="dense-only"):
        compile_model(q, q.encode(np.ones((2, 64))), replicate=2)
    with pytest.raises(MapError, match="inputs must be N × 64"):
        compile_model(q, np.zeros((2, 65), np.uint8))


# ------------------------------------------------------------------------------- model files

def test_model_file_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    m = Model([_conv(rng, 3, 2, 4, name="c1", padding=1, stride=2), MaxPool2D(2, name="p"),
               _dense(rng, 16, 6, True, "h"), Dense(rng.normal(size=(6, 6)), None, False, "out", residual=2)],
              in_scale=0.5, in_bits=3, act_bits=5, in_shape=(8, 8, 2))
    p = save_model(m, tmp_path / "m.model")          # no .npz suffix added
    assert p.exists() and not (tmp_path / "m.model.npz").exists()
    m2 = load_model(p)
    assert (m2.in_shape, m2.in_scale, m2.in_bits, m2.act_bits) == ((8, 8, 2), 0.5, 3, 5)
    assert [type(L) for L in m2.layers] == [Conv2D, MaxPool2D, Dense, Dense]
    assert (m2.layers[0].stride, m2.layers[0].padding, m2.layers[3].residual, m2.layers[3].b) == (2, 1, 2, None)
    X = rng.random((4, 128)) * 7
    assert np.allclose(m.forward(X), m2.forward(X), atol=1e-3)       # float32 storage
    assert load_model(p, in_scale=2.0).in_scale == 2.0


def test_plain_w0_b0_files_still_load(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "p.npz", W0=rng.normal(size=(5, 4)), b0=np.zeros(4), W1=rng.normal(size=(4, 3)))
    m = load_model(tmp_path / "p.npz")
    assert [L.relu for L in m.layers] == [True, False] and m.layers[1].b is None and m.in_scale == 1.0


def _spec_file(tmp_path, spec, **arrays):
    p = tmp_path / "bad.npz"
    np.savez(p, __model__=np.array(json.dumps(spec) if not isinstance(spec, str) else spec), **arrays)
    return p


GOOD = {"format": "nr48-model", "version": 1, "input": {"shape": None, "scale": 1.0, "bits": 4},
        "layers": [{"type": "dense", "W": "0.W", "b": None, "relu": False, "name": "fc"}]}


@pytest.mark.parametrize("change,msg", [
    (lambda s: s.update(version=7), "version 7"),
    (lambda s: s.update(format="other"), "not an nr48-model description"),
    (lambda s: s.update(kind="graph"), "unknown model kind 'graph'"),
    (lambda s: s.update(layers=[]), "non-empty list"),
    (lambda s: s["layers"][0].update(type="lstm"), "layer 0: type 'lstm' is not one of dense, conv2d"),
    (lambda s: s["layers"][0].update(W="nope"), "names array 'nope', which the file does not hold"),
    (lambda s: s["layers"][0].update(kernel=3), "unknown field\\(s\\) kernel"),
    (lambda s: s["layers"][0].pop("W"), "missing field\\(s\\) W"),
    (lambda s: s["input"].update(shape=[8, 8]), "input shape must be \\[H, W, C\\]"),
    (lambda s: s["layers"][0].update(relu=[1]), "field relu must be a number"),
])
def test_bad_model_files_are_reported_with_the_file_and_the_place(tmp_path, change, msg):
    spec = json.loads(json.dumps(GOOD))
    change(spec)
    p = _spec_file(tmp_path, spec, **{"0.W": np.ones((4, 2))})
    with pytest.raises(ModelFileError, match=msg) as e:
        load_model(p)
    assert str(p) in str(e.value)


def test_unreadable_model_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "missing.npz")
    (tmp_path / "t.npz").write_text("hello")
    with pytest.raises(ModelFileError, match="not a model file"):
        load_model(tmp_path / "t.npz")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(_spec_file(tmp_path, "{nope"))
    np.savez(tmp_path / "x.npz", A=np.ones(3))
    with pytest.raises(ModelFileError, match="expected arrays W0, b0"):
        load_model(tmp_path / "x.npz")
    np.savez(tmp_path / "w.npz", W0=np.ones((3, 2)), W1=np.ones((3, 2)))
    with pytest.raises(ModelFileError, match="fc2: dense layer has 3 inputs, its input has 2"):
        load_model(tmp_path / "w.npz")


def test_compile_cli_with_a_conv_model_file(tmp_path, capsys):
    rng = np.random.default_rng(5)
    m = Model([_conv(rng, 3, 1, 6, name="conv"), MaxPool2D(2, name="pool"), _dense(rng, 54, 4)],
              in_scale=1.0, in_shape=(8, 8, 1))
    save_model(m, tmp_path / "cnn.npz")
    X = rng.random((3, 64)) * 15
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "prog" / "cnn.s"
    assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), "--inputs", str(tmp_path / "x.npy"),
                 "--copies", "4"]) == 0
    text = capsys.readouterr().out
    assert "2 of 48 cores used" in text and out.exists()      # the pool needs no core
    assert "vpmax.u8" in out.read_text() and "conv_fmap" in out.read_text()
    q = quantise(m, X, copies=4)
    logits, _, _ = run_compiled(compile_model(q, q.encode(X), name="cnn"), tmp_path / "again" / "cnn.s")
    assert (logits == reference(q, q.encode(X))).all()
    # bad inputs: a clear message naming the file, no traceback
    np.save(tmp_path / "bad.npy", np.ones((2, 10)))
    assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), "--inputs", str(tmp_path / "bad.npy")]) == 1
    err = capsys.readouterr().err
    assert "bad.npy" in err and "64 values per row" in err and "Traceback" not in err
    assert main(["compile", str(tmp_path / "none.npz"), "-o", str(out)]) == 1
    assert "none.npz: no such file" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), "--replicate", "2"]) == 1
    assert "dense-only" in capsys.readouterr().err


def test_model_file_with_a_recurrent_layer(tmp_path, capsys):
    from emulator.mapper import SimpleRNN, quantise_rnn, rnn_reference
    from emulator.mapper.rnn import from_workload_params
    from emulator.workloads import rnn
    from emulator.workloads.digits import load_digits_split

    m = from_workload_params(rnn.shipped(noise=True))
    m2 = load_model(save_model(m, tmp_path / "rnn.npz"))
    assert isinstance(m2.layers[0], SimpleRNN) and (m2.layers[0].steps, m2.layers[0].h_max) == (8, 15.0)
    Xtr, _, Xte, _ = load_digits_split()
    np.save(tmp_path / "x.npy", Xte[:6])
    np.save(tmp_path / "cal.npy", Xtr)
    out = tmp_path / "rnn.s"
    assert main(["compile", str(tmp_path / "rnn.npz"), "-o", str(out), "--inputs", str(tmp_path / "x.npy"),
                 "--calib", str(tmp_path / "cal.npy"), "--copies", "8"]) == 0
    assert "mvm.rec" in out.read_text() and "1 of 48 cores used" in capsys.readouterr().out
    from emulator.machine import Machine
    mach = Machine()
    mach.load(out)
    assert mach.run().ok
    q = quantise_rnn(m2, Xtr, copies=8)
    want = rnn_reference(q, q.encode(Xte[:6]))
    assert (mach.mem(mach.sym("out"), want.size, "i16").reshape(want.shape) == want).all()
