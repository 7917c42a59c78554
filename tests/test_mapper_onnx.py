"""ONNX import (emulator/mapper/onnx_import.py): graphs built with onnx.helper (an MLP, the small
digits-shaped CNN, a residual block with BatchNormalization, an LSTM) import, compile and run
bit-exact against the integer reference of the same quantised network on the ideal model; the
importer's float forward equals onnxruntime's when it is installed; refusals name the node, its
op type and the reason."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from emulator.mapper import MapError, quantise, reference, run_compiled  # noqa: E402
from emulator.mapper.lstm import quantise_lstm  # noqa: E402
from emulator.mapper.lstm import reference as lstm_reference  # noqa: E402
from emulator.mapper.onnx_import import compile_onnx, from_onnx  # noqa: E402

R = np.random.default_rng(0)


def _w(name, *shape, scale=None):
    a = R.normal(size=shape) * (scale if scale is not None else 1 / np.sqrt(shape[-1] if len(shape) > 1 else 1))
    return numpy_helper.from_array(a.astype(np.float32), name)


def _graph(nodes, inits, in_shape, out_shape, opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def mlp():
    return _graph([helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], "fc1", transB=1),
                   helper.make_node("Relu", ["h"], ["a"], "relu1"),
                   helper.make_node("MatMul", ["a", "W2"], ["m"], "fc2"),
                   helper.make_node("Add", ["m", "b2"], ["y"], "bias2")],
                  [_w("W1", 24, 16), _w("b1", 24, scale=0.3), _w("W2", 24, 10), _w("b2", 10, scale=0.3)],
                  ["N", 16], ["N", 10])


def cnn():
    return _graph([helper.make_node("Conv", ["x", "K", "kb"], ["c"], "conv", pads=[1, 1, 1, 1]),
                   helper.make_node("Relu", ["c"], ["r"], "relu"),
                   helper.make_node("MaxPool", ["r"], ["p"], "pool", kernel_shape=[2, 2], strides=[2, 2]),
                   helper.make_node("Flatten", ["p"], ["f"], "flat"),
                   helper.make_node("Gemm", ["f", "W", "b"], ["y"], "fc")],
                  [_w("K", 4, 1, 3, 3, scale=0.5), _w("kb", 4, scale=0.1), _w("W", 64, 10), _w("b", 10, scale=0.2)],
                  ["N", 1, 8, 8], ["N", 10])


def resblock():
    bn = lambda n, c: [_w(f"{n}_s", c, scale=0.2), _w(f"{n}_b", c, scale=0.2), _w(f"{n}_m", c, scale=0.2),
                       numpy_helper.from_array((R.random(c) + 0.5).astype(np.float32), f"{n}_v")]
    ins = lambda n: [f"{n}_s", f"{n}_b", f"{n}_m", f"{n}_v"]
    inits = [_w("W0", 16, 20), _w("W1", 20, 20), _w("W2", 20, 20), _w("W3", 20, 5)] + bn("bn0", 20) + bn("bn1", 20) \
        + bn("bn2", 20)
    for t in inits[4:]:
        if t.name.endswith("_s"):
            t.CopyFrom(numpy_helper.from_array((numpy_helper.to_array(t) + 1).astype(np.float32), t.name))
    return _graph([helper.make_node("MatMul", ["x", "W0"], ["a0"], "stem"),
                   helper.make_node("BatchNormalization", ["a0"] + ins("bn0"), ["b0"], "bn0"),
                   helper.make_node("Relu", ["b0"], ["r0"], "r0"),
                   helper.make_node("MatMul", ["r0", "W1"], ["a1"], "blk1"),
                   helper.make_node("BatchNormalization", ["a1"] + ins("bn1"), ["b1"], "bn1"),
                   helper.make_node("Relu", ["b1"], ["r1"], "r1"),
                   helper.make_node("MatMul", ["r1", "W2"], ["a2"], "blk2"),
                   helper.make_node("BatchNormalization", ["a2"] + ins("bn2"), ["b2"], "bn2"),
                   helper.make_node("Add", ["b2", "r0"], ["s"], "residual"),
                   helper.make_node("Relu", ["s"], ["r2"], "r2"),
                   helper.make_node("MatMul", ["r2", "W3"], ["y"], "head")], inits, ["N", 16], ["N", 5])


def lstm(T=4, F=6, H=10):
    return _graph([helper.make_node("LSTM", ["x", "W", "Rw", "B"], ["", "hT"], "lstm", hidden_size=H),
                   helper.make_node("Squeeze", ["hT", "ax"], ["h"], "sq"),
                   helper.make_node("Gemm", ["h", "Wo", "bo"], ["y"], "readout")],
                  [_w("W", 1, 4 * H, F), _w("Rw", 1, 4 * H, H), _w("B", 1, 8 * H, scale=0.3),
                   numpy_helper.from_array(np.array([0], np.int64), "ax"), _w("Wo", H, 3), _w("bo", 3, scale=0.2)],
                  [T, "N", F], ["N", 3])


GRAPHS = {"mlp": (mlp, (16,)), "cnn": (cnn, (1, 8, 8)), "resblock": (resblock, (16,)), "lstm": (lstm, None)}


def _batch(name, n=6):
    if name == "lstm":
        return R.normal(size=(4, n, 6))
    return R.random((n, *GRAPHS[name][1]))


@pytest.mark.parametrize("name", list(GRAPHS))
def test_float_forward_equals_onnxruntime(name):
    ort = pytest.importorskip("onnxruntime")
    mp = GRAPHS[name][0]()
    X = _batch(name).astype(np.float32)
    want = ort.InferenceSession(mp.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]
    imp = from_onnx(mp)
    assert np.allclose(imp.model.forward(imp.to_rows(X)), want, atol=1e-4)


@pytest.mark.parametrize("name", list(GRAPHS))
def test_import_compile_run_bit_exact(tmp_path, name):
    mp = GRAPHS[name][0]()
    path = tmp_path / f"{name}.onnx"
    onnx.save(mp, path)
    X, C = _batch(name), _batch(name, 40)
    c = compile_onnx(path, X, C, name)
    logits, _, _ = run_compiled(c, tmp_path / f"{name}.s")
    imp = from_onnx(path)
    imp.model.in_scale = c.qmodel.in_scale
    if name == "lstm":
        q = quantise_lstm(imp.model, imp.to_rows(C))
        ref = lstm_reference(q, q.encode(imp.to_rows(X)))
    else:
        q = quantise(imp.model, imp.to_rows(C))
        ref = reference(q, q.encode(imp.to_rows(X)))
    assert np.array_equal(logits, ref)
    if name == "resblock":
        assert q.layers[2].residual == 0


def _one(op, inputs, attrs=None, inits=(), in_shape=("N", 4), name="bad"):
    return _graph([helper.make_node(op, inputs, ["y"], name, **(attrs or {}))], list(inits), in_shape, ["N", 4])


@pytest.mark.parametrize("mp,msg", [
    (lambda: _one("Softmax", ["x"]), "'bad' \\(Softmax\\): operator not supported"),
    (lambda: _one("Conv", ["x", "K"], {"group": 2}, [_w("K", 2, 1, 3, 3)], ("N", 2, 6, 6)),
     "'bad' \\(Conv\\): groups = 2"),
    (lambda: _one("Conv", ["x", "K"], {"strides": [1, 2]}, [_w("K", 2, 1, 3, 3)], ("N", 1, 6, 6)),
     "'bad' \\(Conv\\): strides"),
    (lambda: _one("Gemm", ["x", "W"], {"alpha": 2.0}, [_w("W", 4, 4)]), "'bad' \\(Gemm\\): only alpha"),
    (lambda: _one("Gemm", ["x", "x"]), "'bad' \\(Gemm\\): the weight \\(B\\) must be a constant"),
    (lambda: _one("Gemm", ["x", "W"], None, [_w("W", 4, 4)], ("N", "F")), "dimension 1 is dynamic"),
    (lambda: _one("Clip", ["x"]), "'bad' \\(Clip\\)"),
    (lambda: _graph([helper.make_node("RNN", ["x", "W", "Rw"], ["", "h"], "rnn", hidden_size=3)],
                    [_w("W", 1, 3, 2), _w("Rw", 1, 3, 3)], [2, "N", 2], ["N", 4]),
     "'rnn' \\(RNN\\): activations \\['Tanh'\\]"),
    (lambda: _graph([helper.make_node("Gemm", ["x", "W"], ["y"], "g")], [_w("W", 4, 4)], ["N", 4], ["N", 4], opset=9),
     "opset 9"),
])
def test_refusals_name_node_op_and_reason(mp, msg):
    with pytest.raises(MapError, match=msg):
        from_onnx(mp())


def test_bad_files(tmp_path):
    with pytest.raises(MapError, match="no such file"):
        from_onnx(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\xffjunk")
    with pytest.raises(MapError, match="not an ONNX model"):
        from_onnx(tmp_path / "junk.onnx")


def _torch_like_kws(T=8, F=40, H=112, classes=12):
    """What torch.onnx.export writes for the tutorial's KWS net (docs/tutorial.md §12): batch 1,
    the zero initial states folded into constants, h[0] as a Gather."""
    z = numpy_helper.from_array(np.zeros((1, 1, H), np.float32), "h0")
    zc = numpy_helper.from_array(np.zeros((1, 1, H), np.float32), "c0")
    idx = numpy_helper.from_array(np.array(0, np.int64), "i0")
    return _graph([helper.make_node("LSTM", ["x", "W", "Rw", "B", "", "h0", "c0"], ["Y", "hT", "cT"], "/lstm/LSTM",
                                    hidden_size=H),
                   helper.make_node("Gather", ["hT", "i0"], ["h"], "/Gather", axis=0),
                   helper.make_node("Gemm", ["h", "Wo", "bo"], ["y"], "/fc/Gemm", transB=1)],
                  [_w("W", 1, 4 * H, F), _w("Rw", 1, 4 * H, H), _w("B", 1, 8 * H, scale=0.3), z, zc, idx,
                   _w("Wo", classes, H), _w("bo", classes, scale=0.2)], [T, 1, F], [1, classes])


def test_tutorial_commands(tmp_path, capsys, monkeypatch):
    from emulator.cli import main

    monkeypatch.chdir(tmp_path)
    onnx.save(_torch_like_kws(), "kws.onnx")
    np.save("frames.npy", R.normal(size=(8, 20, 40)))
    assert main(["compile", "kws.onnx", "-o", "kws/kws.s", "--inputs", "frames.npy", "--calib", "frames.npy",
                 "--map"]) == 0
    assert "5 of 48 cores used" in capsys.readouterr().out
    assert main(["run", "kws/kws.s", "--dump", "pred", "--report"]) == 0


def test_neurram_compile_onnx(tmp_path, capsys):
    from emulator.cli import main

    onnx.save(lstm(), tmp_path / "kws.onnx")
    np.save(tmp_path / "x.npy", _batch("lstm", 3))
    assert main(["compile", str(tmp_path / "kws.onnx"), "-o", str(tmp_path / "kws.s"),
                 "--inputs", str(tmp_path / "x.npy")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "kws_lstm_w.npy").exists()
    np.save(tmp_path / "bad.npy", np.zeros((3, 7)))
    assert main(["compile", str(tmp_path / "kws.onnx"), "-o", str(tmp_path / "kws.s"),
                 "--calib", str(tmp_path / "bad.npy")]) == 1
    assert "expected 4 × N × 6 (or N × 24 rows)" in capsys.readouterr().err
