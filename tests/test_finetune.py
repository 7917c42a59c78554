"""Chip-in-the-loop fine-tuning (emulator.train.measure_features / finetune_dense,
emulator.workloads.finetune, `neurram finetune`)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emulator.train import feature_scale, finetune_dense, measure_features
from emulator.workloads import cnn as K
from emulator.workloads import finetune
from emulator.workloads.digits import COPIES, load_digits_split, shipped_model


def test_measured_features_are_the_next_layers_inputs(tmp_path):
    """On the ideal chip the measurement equals the integer reference of layer 1 exactly."""
    from emulator.mapper import compile_model, quantise
    from emulator.mapper.model import layer_reference

    Xtr, _, _, _ = load_digits_split()
    X = Xtr[:40]
    q = quantise(shipped_model(False), Xtr, copies=COPIES)
    c = compile_model(q, q.encode(X), name="m")
    path = c.write(tmp_path / "m.s")
    core2 = min(s.core for s in c.slots if s.layer == 1)
    got = measure_features(str(path), "fc2_in0", 64, f"hin.u8 c{core2},", len(X), "ideal")
    assert (got == layer_reference(q.layers[0], q.encode(X))).all()
    # the CNN's pooled codes, as its reference computes them
    qc = K.quantise_cnn(K.shipped(False), Xtr)
    p = K.write_program(qc, X, tmp_path, name="c")
    got = measure_features(str(p), "pooled", K.NPOOL, "hin.u8 c1,", len(X), "ideal")
    pt = K.im2col(X).astype(np.int64)
    u = np.concatenate([pt, np.broadcast_to(qc.conv_const().astype(np.int64), (len(X), K.NPOS, qc.nrc - 9))], 2)
    part = np.clip(K._rs(qc.cgain * (u @ qc.conv.astype(np.int64)), qc.cgshift), -127, 127)
    s = part.reshape(len(X), K.NPOS, qc.rc, K.C).sum(2)
    h = np.clip(K._rs(np.maximum(s, 0), K.PSHIFT + int(np.log2(qc.rc))), 0, K.AMAX)
    assert (got == K.pool(h)[0]).all()
    with pytest.raises(ValueError, match="no instruction starts with"):
        measure_features(str(p), "pooled", 4, "hin.u8 c9,", 1, "ideal")


def test_finetune_dense_fits_and_stays_near_the_start():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(600, 8))
    Wt = rng.normal(size=(8, 3))
    y = (F @ Wt).argmax(1)
    W0, b0 = np.zeros((8, 3)), np.zeros(3)
    W, b = finetune_dense(W0, b0, F, y, epochs=100, lr=1e-2, l2=0.0, wbits=8)
    assert np.mean((F @ W + b).argmax(1) == y) > 0.9
    W2, _ = finetune_dense(W0, b0, F, y, epochs=100, lr=1e-2, l2=10.0, wbits=8)
    assert np.abs(W2).max() < np.abs(W).max() / 3
    assert feature_scale(np.array([[1, 2]]), np.array([[0.5, 1.0]])) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return finetune.run(seeds=(1, 2), nets=("mlp", "cnn"), n_train=400, n_test=150, copies=1,
                        workdir=tmp_path_factory.mktemp("finetune"))


def test_fine_tuning_recovers_accuracy_on_the_noisy_mapping(small):
    for net in ("mlp", "cnn"):
        r = small[net]
        assert len(r["runs"]) == 2
        assert 0.6 <= r["before"][0] <= 0.99
        # the measured features carry the chip's error (ideal features are exact codes)
        assert all(run["feature_rms_error"] > 0.05 for run in r["runs"])
        assert r["gain"][0] > 0.0, (net, r)


def test_cli_finetune(tmp_path, capsys):
    from emulator.cli import main
    assert main(["finetune", "--seeds", "1", "--nets", "mlp", "--n-train", "100", "--n-test", "50",
                 "--json", str(tmp_path / "f.json")]) == 0
    out = capsys.readouterr().out
    assert "before" in out and "mlp" in out
    r = json.loads((tmp_path / "f.json").read_text())
    assert r["command"] == "finetune" and r["ok"]        # the report envelope of docs/cli.md
    assert set(r["nets"]) == {"mlp"} and len(r["nets"]["mlp"]["runs"]) == 1
    assert main(["finetune", "--nets", "rnn"]) == 2
    assert main(["finetune", "--copies", "3"]) == 2
