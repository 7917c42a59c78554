"""The digits CNN (emulator/workloads/cnn.py): ideal chip == numpy integer reference bit for bit,
the check can fail (one changed weight), pooling layout, a short training run learns."""
import dataclasses

import numpy as np

from emulator.workloads import cnn as K
from emulator.workloads.digits import load_digits_split


def _setup(n=12):
    Xtr, ytr, Xte, yte = load_digits_split()
    q = K.quantise_cnn(K.shipped(True), Xtr)
    return q, Xte[:n], yte[:n]


def test_ideal_chip_equals_integer_reference(tmp_path):
    q, X, y = _setup()
    out, pred, r, _ = K.run_chip(q, X, "ideal", 1, tmp_path)
    ref = K.reference(q, X)
    assert np.array_equal(out, ref)
    assert np.array_equal(pred, ref.argmax(1))
    assert np.mean(pred == y) >= 0.8


def test_batched_program_equals_the_loop_on_both_models(tmp_path):
    """cnn_batched.program_batched (what run_chip runs) gives the per-position loop's logits and
    predictions bit for bit, also on the analog model, also with chunks that pad the batch."""
    from emulator.workloads.cnn_batched import program_batched
    from emulator.workloads.chiprun import run_classifier, save_program

    q, X, _ = _setup(7)
    for model in ("ideal", "analog"):
        ou, pu, ru, _ = K.run_chip(q, X, model, 2, tmp_path, batched=False)
        for chunk in (7, 3):
            path = save_program(*program_batched(q, X, f"b{chunk}", chunk=chunk), tmp_path, f"b{chunk}")
            ob, pb, rb, _ = run_classifier(path, len(X), K.NCLS, "cnn", model, 2)
            assert np.array_equal(ob, ou) and np.array_equal(pb, pu), (model, chunk)
        assert rb.cycles != ru.cycles


def test_one_changed_weight_breaks_equality(tmp_path):
    q, X, _ = _setup(6)
    ref = K.reference(q, X)
    for which in ("conv", "fc"):
        w = getattr(q, which).copy()
        w[3, 1] = w[3, 1] + (40 if w[3, 1] < 0 else -40)      # one cell of one copy
        q2 = dataclasses.replace(q, **{which: w})
        out, _, _, _ = K.run_chip(q2, X, "ideal", 1, tmp_path / which)
        assert not np.array_equal(out, ref), which
        assert np.array_equal(out, K.reference(q2, X)), which


def test_pool_layout_matches_loops():
    rng = np.random.default_rng(0)
    h = rng.integers(0, 16, (2, K.NPOS, K.C))
    hp, _, _ = K.pool(h)
    img = h.reshape(2, K.OW, K.OW, K.C)
    want = np.stack([img[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max((1, 2))
                     for i in range(K.OW // 2) for j in range(K.OW // 2)], 1).reshape(2, K.NPOOL)
    assert np.array_equal(hp, want)


def test_short_training_learns():
    Xtr, ytr, Xte, yte = load_digits_split()
    P = K.train_cnn(Xtr[:400], ytr[:400], epochs=8, seed=0)
    assert np.mean(K.forward_float(P, Xte[:200])[0].argmax(1) == yte[:200]) > 0.75
