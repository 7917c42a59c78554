"""The batched mapper (compile_batched): its programs give the per-sample loop's outputs bit for bit
on both models — segments, column blocks, copies, residuals, conv (padding, stride, two
segments) and pooling, chunked batches — and the shipped digits program pair under programs/
agrees on ideal and analog."""
from pathlib import Path

import numpy as np
import pytest

from emulator import Machine
from emulator.mapper import MapError, compile_batched, compile_model, quantise, reference, run_compiled
from tests.test_mapper_residual import _res_model

ROOT = Path(__file__).resolve().parent.parent

CASES = [([40, 10, 24, 10], {2: (0, "pre")}, 1, None),          # residual into the logits
         ([150, 30, 30, 6], {1: (0, "post")}, 2, 3),             # two segments in fc1, chunks of 3
         ([20, 300, 10], {}, 1, None)]                           # two column blocks in fc1


@pytest.mark.parametrize("sizes,res,copies,chunk", CASES)
@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_batched_program_equals_the_sample_loop(tmp_path, sizes, res, copies, chunk, model):
    rng = np.random.default_rng(len(sizes))
    m = _res_model(sizes, res)
    X = rng.random((40, sizes[0]))
    q = quantise(m, X, copies=copies)
    rows = q.encode(X[:7])
    cu = compile_model(q, rows, name="u", age_ms=3_600_000)
    cb = compile_batched(q, rows, name="b", age_ms=3_600_000, chunk=chunk)
    assert "bmvm.fwd" in cb.asm and "bmvm" not in cu.asm
    ou, pu, ru = run_compiled(cu, tmp_path / "u.s", model=model, seed=3)
    ob, pb, rb = run_compiled(cb, tmp_path / "b.s", model=model, seed=3)
    np.testing.assert_array_equal(ob, ou)
    np.testing.assert_array_equal(pb, pu)
    if model == "ideal":
        np.testing.assert_array_equal(ob, reference(q, rows))
    if chunk is None:   # (chunks of 3 pad the 7 samples to 9)
        assert rb.cycles < ru.cycles


def _conv_models():
    from emulator.mapper import Conv2D, Dense, MaxPool2D, Model

    rng = np.random.default_rng(0)
    yield Model([Conv2D(rng.normal(size=(3, 3, 1, 8)), np.zeros(8), name="conv"), MaxPool2D(2, name="pool"),
                 Dense(rng.normal(size=(72, 10)), np.zeros(10), relu=False, name="fc")],
                in_scale=1.0, in_shape=(8, 8, 1))
    # padding, stride 2, a conv of two row segments (3·3·16 + bias > 128 rows), two dense layers
    yield Model([Conv2D(rng.normal(size=(3, 3, 2, 16)), rng.normal(size=16), padding=1, name="c1"),
                 Conv2D(rng.normal(size=(3, 3, 16, 12)), rng.normal(size=12), stride=2, name="c2"),
                 Dense(rng.normal(size=(2 * 2 * 12, 12)), rng.normal(size=12), name="d1"),
                 Dense(rng.normal(size=(12, 5)), np.zeros(5), relu=False, name="d2")],
                in_scale=1.0, in_shape=(6, 6, 2))


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_batched_conv_program_equals_the_sample_loop(tmp_path, index, model):
    """Conv layers run per sample with the im2col patches as the batch (one vcvt2 per patch row
    and output row gathers them), dense layers over the chunk: the loop's outputs bit for bit."""
    m = list(_conv_models())[index]
    rng = np.random.default_rng(index)
    X = rng.random((9, int(np.prod(m.in_shape)))) * 15
    q = quantise(m, X, copies=2)
    rows = q.encode(X[:5])
    cu = compile_model(q, rows, name="u", age_ms=3_600_000)
    cb = compile_batched(q, rows, name="b", age_ms=3_600_000, chunk=3 if index else None)
    if index:
        assert max(len(L.segments) for L in q.layers if hasattr(L, "segments")) == 2
    ou, pu, ru = run_compiled(cu, tmp_path / "u.s", model=model, seed=3)
    ob, pb, rb = run_compiled(cb, tmp_path / "b.s", model=model, seed=3)
    np.testing.assert_array_equal(ob, ou)
    np.testing.assert_array_equal(pb, pu)
    if model == "ideal":
        np.testing.assert_array_equal(ob, reference(q, rows))
    assert "vcvt2.u8.u8" in cb.asm and "bmvm.fwd" in cb.asm


def test_batched_mapper_refuses_what_it_cannot_compile():
    rng = np.random.default_rng(0)
    q = quantise(_res_model([10, 4], {}), rng.random((4, 10)))
    with pytest.raises(MapError, match="chunk"):
        compile_batched(q, q.encode(rng.random((2, 10))), chunk=0)
    with pytest.raises(MapError, match="empty"):
        compile_batched(q, np.zeros((0, q.rows_in), np.uint8))
    with pytest.raises(MapError, match=f"N × {q.rows_in} codes"):
        compile_batched(q, np.zeros((3, 7), np.uint8))


@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_shipped_digits_programs_agree(model):
    """programs/digits_mlp_noise.s (per-sample loop, kept for this test and bench B3) and its
    batched twin give the same logits and predictions for all 450 test digits."""
    res = []
    for name in ("digits_mlp_noise.s", "digits_mlp_noise_batched.s"):
        m = Machine(model=model, seed=1).load(ROOT / "programs" / name)
        r = m.run()
        assert r.ok, r
        res.append((m.mem(m.sym("out"), 450 * 10, "i16").copy(), m.mem(m.sym("pred"), 450, "u8").copy(),
                    r.cycles))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])
    assert res[1][2] < res[0][2]


def test_compile_cli_batched(tmp_path, capsys):
    """neurram compile --batched writes the batched program; it runs to the loop's results."""
    from emulator.cli import main
    from emulator.mapper import save_model

    m = list(_conv_models())[0]
    save_model(m, tmp_path / "cnn.npz")
    X = np.random.default_rng(2).random((4, 64)) * 15
    np.save(tmp_path / "x.npy", X)
    outs = {}
    for flag in ([], ["--batched"]):
        out = tmp_path / ("b" if flag else "u") / "cnn.s"
        assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(out), "--inputs", str(tmp_path / "x.npy"),
                     "--copies", "2", *flag]) == 0
        mach = Machine().load(out)
        assert mach.run().ok
        outs[bool(flag)] = mach.mem(mach.sym("out"), 4 * 10, "i16").copy()
        assert ("bmvm" in out.read_text()) == bool(flag)
    np.testing.assert_array_equal(outs[True], outs[False])
    capsys.readouterr()
    assert main(["compile", str(tmp_path / "cnn.npz"), "-o", str(tmp_path / "c.s"), "--batched",
                 "--replicate", "2"]) == 1
    assert "replicat" in capsys.readouterr().err
