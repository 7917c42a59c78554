"""Model files (emulator.mapper.modelfile) and `neurram compile` on them: every layer type, the
RBM, the plain W0/b0 form, and bad files reported with the file and the place."""
import json

import numpy as np
import pytest

from emulator.cli import main
from emulator.mapper import (Conv2D, Dense, MaxPool2D, Model, ModelFileError, compile_model, load_model,
                             quantise, reference, run_compiled, save_model)

from .test_mapper_conv import _conv, _dense


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
    (lambda s: s["layers"][0].update(relu=[1]), "field relu must be true/false, got \\[1\\]"),
    (lambda s: s["layers"][0].update(name=5), "field name must be a string, got 5"),
    (lambda s: s["layers"][0].update(name="été"), "must be an ASCII identifier"),
    (lambda s: s["layers"][0].update(residual="a"), "field residual must be an integer or null"),
    (lambda s: s["layers"][0].update(residual_at="mid"), "residual_at must be 'pre' or 'post'"),
    (lambda s: s["layers"].insert(0, {"type": "maxpool2d", "size": 2.0}), "field size must be an integer, got 2.0"),
    (lambda s: s["layers"].insert(0, {"type": "maxpool2d", "size": None}), "field size must be an integer, got null"),
    (lambda s: s["layers"].insert(0, {"type": "dense", "W": "0.W", "relu": True, "name": "fc"}),
     "the name 'fc' is used twice"),
    (lambda s: s["layers"][0].update(b="0.W"), "fc: b must be a non-empty 1-D array, got shape \\(4, 2\\)"),
    (lambda s: s.update(input=[1, 2]), "'input' must be an object"),
    (lambda s: s["input"].update(scale=0), "input scale must be a finite number > 0, got 0"),
    (lambda s: s["input"].update(scale="big"), "input scale must be a finite number > 0"),
    (lambda s: s["input"].update(bits=12), "in_bits must be an integer 1…8 .*got 12"),
    (lambda s: s.update(act_bits=0), "act_bits must be an integer 1…8 .*got 0"),
    (lambda s: s.update(kind="rbm", rbm=[1]), "'rbm' must be an object"),
])
def test_bad_model_files_are_reported_with_the_file_and_the_place(tmp_path, change, msg):
    spec = json.loads(json.dumps(GOOD))
    change(spec)
    p = _spec_file(tmp_path, spec, **{"0.W": np.ones((4, 2))})
    with pytest.raises(ModelFileError, match=msg) as e:
        load_model(p)
    assert str(p) in str(e.value)


@pytest.mark.parametrize("array,msg", [(np.full((4, 2), np.nan), "non-finite values"),
                                       (np.ones((0, 2)), "is empty"),
                                       (np.array([["a", "b"]]), "must be numeric")])
def test_bad_arrays_in_model_files(tmp_path, array, msg):
    p = _spec_file(tmp_path, GOOD, **{"0.W": array})
    with pytest.raises(ModelFileError, match=f"array '0.W' \\(layer 0 \\(dense\\) field W\\) .*{msg}"):
        load_model(p)


def test_unreadable_model_files(tmp_path):
    np.save(tmp_path / "a.npy", np.ones(3))
    with pytest.raises(ModelFileError, match="single .npy array, not a model file"):
        load_model(tmp_path / "a.npy")
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
    err = capsys.readouterr().err          # (an exception would propagate out of main)
    assert "bad.npy" in err and "64 values per row" in err
    assert main(["compile", str(tmp_path / "none.npz"), "-o", str(out)]) == 1
    assert "none.npz: no such file" in capsys.readouterr().err
    assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), "--replicate", "2"]) == 1
    assert "dense-only" in capsys.readouterr().err
    np.save(tmp_path / "empty.npy", np.ones((0, 64)))
    np.save(tmp_path / "nan.npy", np.full((2, 64), np.nan))
    np.savez(tmp_path / "arch.npz", x=np.ones((2, 64)))
    for args, msg in [(["--inputs", str(tmp_path / "empty.npy")], "empty.npy: --inputs has no rows"),
                      (["--inputs", str(tmp_path / "nan.npy")], "nan.npy: --inputs contains non-finite"),
                      (["--inputs", str(tmp_path / "arch.npz")], "arch.npz: --inputs must be a .npy array"),
                      (["--calib", str(tmp_path / "empty.npy")], "empty.npy: --calib has no rows"),
                      (["--in-scale", "0"], "input scale must be a finite number > 0"),
                      (["--in-scale", "nan"], "input scale must be a finite number > 0"),
                      (["--age-ms", "-5"], "--age-ms must be ≥ 0"), (["--copies", "0"], "--copies must be ≥ 1")]:
        assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), *args]) == 1, args
        assert msg in capsys.readouterr().err, args
    for bad in ("prog.txt", 'a"b.s'):
        assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(tmp_path / bad)]) == 1
        assert "the output must be a .s file" in capsys.readouterr().err


def test_model_file_with_a_recurrent_layer(tmp_path, capsys):
    from emulator.mapper import SimpleRNN, quantise_rnn, rnn_reference
    from emulator.workloads import rnn
    from emulator.workloads.digits import load_digits_split

    m = rnn.as_model(rnn.shipped(noise=True))
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


def test_rbm_model_file_and_compile_with_known_or_unknown_positions(tmp_path, capsys):
    from emulator.machine import Machine
    from emulator.mapper import RBM
    from emulator.workloads import rbm as R
    from emulator.workloads.digits import load_digits_split

    rbm = RBM.from_matrix(R.shipped())
    r2 = load_model(save_model(rbm, tmp_path / "rbm.npz"))
    assert isinstance(r2, RBM) and r2.W.shape == (64, 48) and np.allclose(r2.bh, rbm.bh, atol=1e-6)
    V = R.binarise(load_digits_split()[2][:10])
    C, mask = R.corrupt(V, 0.2, seed=0)
    np.save(tmp_path / "c.npy", C)
    np.save(tmp_path / "known.npy", ~mask)
    errs = {}
    for label, extra in (("known", ["--known", str(tmp_path / "known.npy")]), ("unknown", [])):
        out = tmp_path / f"{label}.s"
        assert main(["compile", str(tmp_path / "rbm.npz"), "-o", str(out), "--inputs", str(tmp_path / "c.npy"),
                     *extra]) == 0
        text = capsys.readouterr().out
        assert "--dump count" in text and "smp.bwd" in out.read_text()
        m = Machine()
        m.load(out)
        assert m.run().ok
        cnt = m.mem(m.sym("count"), 10 * 65, "u8").reshape(10, 65)[:, :64]
        rec = (cnt.astype(int) * 2 > 8).astype(int)
        if label == "known":
            assert (rec[~mask] == C[~mask]).all()        # known pixels stay as given
        errs[label] = int((rec != V).sum())
    assert errs["known"] < 0.5 * (C != V).sum()
    np.save(tmp_path / "bad.npy", np.ones((3, 10)))
    assert main(["compile", str(tmp_path / "rbm.npz"), "-o", str(tmp_path / "x.s"), "--inputs",
                 str(tmp_path / "bad.npy")]) == 1
    assert "bad.npy" in capsys.readouterr().err
