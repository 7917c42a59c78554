"""Noise-aware numpy training: it learns, and noise injection makes weights robust to noise."""
import numpy as np

from emulator.train import fake_quant_a, fake_quant_w, quantised_forward, train_mlp
from emulator.workloads import digits as D


def test_fake_quant():
    W = np.array([[1.0, -0.5, 0.07]])
    q = fake_quant_w(W, 4)
    assert len(np.unique(np.round(q * 7))) == 3 and np.max(np.abs(q)) == 1.0
    a, mask = fake_quant_a(np.array([-1.0, 0.5, 2.0]), 1.5, 4)
    assert a[0] == 0 and a[2] == 1.5 and list(mask) == [False, True, False]


def test_train_mlp_learns_digits_with_and_without_noise():
    Xtr, ytr, Xte, yte = D.load_digits_split()
    for eta in (0.0, 0.1):
        m = train_mlp(Xtr[:600], ytr[:600], [32, 10], eta=eta, epochs=25, seed=0, in_scale=D.IN_SCALE)
        acc = np.mean(quantised_forward(m, Xte, X_calib=Xtr).argmax(1) == yte)
        assert acc > 0.8, (eta, acc)


def test_level_sigma_noise_matches_the_given_sigma_per_level():
    from emulator.train import weight_noise_sample
    rng = np.random.default_rng(0)
    W = np.tile(np.array([0.0, 1.0, 7.0]), (20000, 1))
    Wq = fake_quant_w(W, 4)
    n = weight_noise_sample(rng, W, Wq, 0.0, 4, level_sigma=np.arange(8) * 0.1)
    assert abs(n[:, 0].std()) < 1e-12
    assert abs(n[:, 1].std() - 0.1) < 0.01 and abs(n[:, 2].std() - 0.7) < 0.02


def test_col2im_is_the_adjoint_of_patches():
    from emulator.mapper.model import patches
    from emulator.train import _col2im
    rng = np.random.default_rng(0)
    for (h, w, c, k, s, p) in [(5, 6, 2, 3, 1, 0), (7, 5, 3, 3, 2, 1), (4, 4, 1, 2, 2, 0), (3, 3, 2, 3, 1, 2)]:
        x = rng.normal(size=(2, h, w, c))
        px = patches(x, k, k, s, p)
        g = rng.normal(size=px.shape)
        assert np.isclose((px * g).sum(), (x * _col2im(g, x.shape, k, k, s, p)).sum())


def test_train_a_small_cnn_that_the_mapper_compiles(tmp_path):
    from emulator.mapper import (Conv2D, Dense, MaxPool2D, Model, compile_model, quantise, reference,
                                 run_compiled)
    from emulator.train import train
    Xtr, ytr, Xte, yte = D.load_digits_split()
    rng = np.random.default_rng(0)
    start = Model([Conv2D(rng.normal(0, 0.3, (3, 3, 1, 4)), None, name="conv"), MaxPool2D(2, name="pool"),
                   Dense(rng.normal(0, 0.1, (36, 10)), np.zeros(10), False, "fc")],
                  in_scale=D.IN_SCALE, in_shape=(8, 8, 1))
    m = train(start, Xtr[:800], ytr[:800], eta=0.1, epochs=30, seed=0)
    assert start.layers[0].b is None and m.layers[0].b.shape == (4,)          # a new model
    assert np.mean(m.forward(Xte).argmax(1) == yte) > 0.8
    q = quantise(m, Xtr, copies=4)
    c = compile_model(q, q.encode(Xte[:40]), name="cnn")
    out, pred, _ = run_compiled(c, tmp_path / "cnn.s")
    assert (out == reference(q, q.encode(Xte[:40]))).all() and np.mean(pred == yte[:40]) > 0.75


def test_train_refuses_what_it_cannot_train():
    import pytest

    from emulator.mapper import Dense, MapError, Model
    from emulator.train import train
    rng = np.random.default_rng(0)
    res = Model([Dense(rng.normal(size=(4, 4)), None, True, "a"), Dense(rng.normal(size=(4, 4)), None, True, "b",
                                                                      residual=0), Dense(np.ones((4, 2)), None, False, "c")])
    with pytest.raises(ValueError, match="residual"):
        train(res, np.ones((3, 4)), [0, 1, 0])
    with pytest.raises(ValueError, match="hidden layer h needs relu"):
        train(Model([Dense(np.ones((4, 3)), None, False, "h"), Dense(np.ones((3, 2)), None, False, "o")]),
              np.ones((3, 4)), [0, 1, 0])
    with pytest.raises(MapError, match="dense layer has 5 inputs"):
        train(Model([Dense(np.ones((5, 2)), None, False, "fc")], in_shape=(2, 2, 1)), np.ones((3, 4)), [0, 1, 0])
