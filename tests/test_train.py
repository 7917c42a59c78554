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
