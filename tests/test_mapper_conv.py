"""Conv2D and MaxPool2D layers of the mapper: float forward, quantisation, the program's on-chip
im2col and pooling checked bit for bit against the integer reference, and refusals."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.mapper import (Conv2D, Dense, MapError, MaxPool2D, Model, QConv, QPool, compile_model, quantise,
                             reference, run_compiled)
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
                                  "wide_conv_two_blocks", "deep_patch_two_segments", "lenet_eight_cores"])
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
        "lenet_eight_cores": lambda: Model([_conv(rng, 3, 1, 16, name="c1", padding=1), MaxPool2D(2, name="p1"),
                                            _conv(rng, 3, 16, 32, name="c2", padding=1), MaxPool2D(2, name="p2"),
                                            Dense(rng.normal(size=(512, 64)) * 0.05, None, True, "fc1"),
                                            _dense(rng, 64, 10)], in_shape=(16, 16, 1)),
    }[case]()
    q, c, ref, fl = _check_ideal(m, tmp_path, copies=2)
    if case == "wide_conv_two_blocks":
        assert len(q.layers[0].colblocks) == 2
    if case == "deep_patch_two_segments":
        assert len(q.layers[0].segments) == 2 and "→ segment 1" in c.asm
    if case == "lenet_eight_cores":        # c2: 144 patch rows → 2 segments; fc1: 512 → 4 segments
        assert [(s.name, s.seg) for s in c.slots] == [("c1", 0), ("c2", 0), ("c2", 1), ("fc1", 0), ("fc1", 1),
                                                      ("fc1", 2), ("fc1", 3), ("fc", 0)]
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
    (lambda r: [Conv2D(r.normal(size=(3, 3, 4)), None), _dense(r, 144, 2)], (8, 8, 1), "W must be a non-empty 4-D array"),
    (lambda r: [_conv(r, 3, 1, 4, name="my conv"), _dense(r, 144, 2)], (8, 8, 1), "must be an ASCII identifier"),
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


@pytest.mark.parametrize("case,msg", [
    ("input", "the input \\(65,536 bytes per sample\\): the program needs an address offset of 65,536"),
    ("vector", "p: the program needs a vector length of 131,072 \\(setvli takes 0…65535\\)"),
    ("offset", "c: the program needs an address offset of 32,864"),
    ("memory", "needs about 8,0[0-9,]+ bytes of data memory but the chip has 4,194,304"),
])
def test_programs_beyond_the_machine_limits_are_refused(case, msg):
    m, n = {
        "input": (Model([MaxPool2D(8, name="p"), Dense(np.ones((1024, 2)), None, False, "fc")],
                        in_shape=(128, 128, 4)), 1),
        "vector": (Model([Conv2D(np.ones((1, 1, 1, 64)), None, name="c"), MaxPool2D(8, name="p"),
                          Dense(np.ones((4096, 2)), None, False, "fc")], in_shape=(64, 64, 1)), 1),
        "offset": (Model([Conv2D(np.ones((7, 7, 8, 2)), None, stride=7, padding=3, name="c"),
                          Dense(np.ones((586, 2)), None, False, "fc")], in_shape=(1, 2048, 8)), 1),
        "memory": (Model([Dense(np.ones((4000, 4)), None, False, "fc")]), 2000),
    }[case]
    width = int(np.prod(m.in_shape)) if m.in_shape else 4000
    q = quantise(m, np.ones((1, width)) * 2)
    with pytest.raises(MapError, match=msg):
        compile_model(q, q.encode(np.ones((n, width))))


def test_bad_batches_and_names_are_refused():
    rng = np.random.default_rng(0)
    m = Model([_dense(rng, 4, 3, True, "h"), _dense(rng, 3, 2)])
    with pytest.raises(MapError, match="calibration inputs: the batch is empty"):
        quantise(m, np.ones((0, 4)))
    with pytest.raises(MapError, match="calibration inputs contain non-finite"):
        quantise(m, np.full((2, 4), np.inf))
    q = quantise(m, np.ones((2, 4)))
    with pytest.raises(MapError, match="inputs: the batch is empty"):
        q.encode(np.ones((0, 4)))
    with pytest.raises(MapError, match="the batch is empty"):
        compile_model(q, np.zeros((0, q.rows_in), np.uint8))
    with pytest.raises(MapError, match="W has non-finite values"):
        quantise(Model([Dense(np.full((4, 2), np.nan), None, False, "fc")]), np.ones((2, 4)))
    m2 = Model([_dense(rng, 4, 3, True, "r1_h"), _dense(rng, 3, 2)])
    q2 = quantise(m2, np.ones((2, 4)))
    with pytest.raises(MapError, match="looks like a replica's prefix"):
        compile_model(q2, q2.encode(np.ones((2, 4))), replicate=2)
