"""The recurrent digits network (mvm.rec, row by row) from the shipped weights (no scikit-learn)."""
from pathlib import Path

import numpy as np
import pytest

from emulator.workloads import rnn as R

ROOT = Path(__file__).resolve().parent.parent


def test_bias_levels_are_exact_and_in_range():
    B = np.arange(-217, 218)
    rows = R.bias_levels(B, K=2)
    assert rows.shape == (3, len(B)) and np.abs(rows).max() <= 7
    assert np.array_equal(rows[:2].sum(0) * 15 + rows[2], B)


def test_ideal_chip_is_bit_exact_and_accurate(tmp_path):
    r = R.evaluate(R.shipped(noise=True), n_test=100, workdir=tmp_path, analog=False)
    assert r["ideal_exact"] and r["ideal"] == r["int_ref"]
    assert r["ideal"] > 0.88 and abs(r["ideal"] - r["sw4"]) < 0.03
    q = r["q"]
    assert q.nr <= 128 and q.hc * R.NH <= 128          # mvm.rec writes H[col0 …] below 128


def test_reference_sees_a_changed_weight(tmp_path):
    """The bit-exact comparison can fail: one recurrent code changed in the program's data."""
    Xtr, _, Xte, _ = R.load_digits_split()
    q = R.quantise_rnn(R.shipped(noise=True), Xtr)
    ref = R.reference(q, Xte[:30])
    q.rec[3, 5] = q.rec[3, 5] + 48 if q.rec[3, 5] < 0 else q.rec[3, 5] - 48
    out, _, _, _ = R.run_chip(q, Xte[:30], "ideal", workdir=tmp_path)
    assert not np.array_equal(out, ref)
    assert np.array_equal(out, R.reference(q, Xte[:30]))


def test_analog_noise_aware_close_to_4bit(tmp_path):
    r = R.evaluate(R.shipped(noise=True), seeds=(1, 2), n_test=200, workdir=tmp_path)
    a = np.mean(r["analog"])
    assert a > 0.88                                    # measured 93.0 % on all 450
    assert r["sw4"] - a < 0.025                        # measured 0.07 pt on all 450


def test_training_learns_quickly():
    Xtr, ytr, _, _ = R.load_digits_split()
    P = R.train_rnn(Xtr[:400], ytr[:400], epochs=8, seed=0)
    assert np.mean(R.forward_float(P, Xtr[:400])[0].argmax(1) == ytr[:400]) > 0.7
    # an untrained network is at chance
    P0 = R.train_rnn(Xtr[:10], ytr[:10], epochs=0)
    assert np.mean(R.forward_float(P0, Xtr[:400])[0].argmax(1) == ytr[:400]) < 0.3


def test_shipped_program_matches_the_generator(tmp_path):
    """programs/rnn_digits.s and its .npy are what `neurram rnn --write programs` produces."""
    Xtr, _, Xte, _ = R.load_digits_split()
    q = R.quantise_rnn(R.shipped(noise=True), Xtr)
    asm, data = R.program(q, Xte[:R.N_PROGRAM])
    assert (ROOT / "programs" / "rnn_digits.s").read_text() == asm
    for f, a in data.items():
        assert np.array_equal(np.load(ROOT / "programs" / f), a), f
    assert "mvm.rec" in asm and "ccfg.row0 x1, HH" in asm


def test_rnn_cli(capsys):
    from emulator.cli import main
    assert main(["rnn", "--n-test", "40", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "mvm.rec" in out and "recurrent" in out and "readout" in out
    assert "per-sample loop program: chip time" in out       # the loop is rnn's default
    assert main(["rnn", "--n-test", "40", "--seeds", "1", "--batched"]) == 0
    assert "batched program: chip time" in capsys.readouterr().out


def test_refuses_too_many_hidden_units():
    from emulator.mapper import MapError
    Xtr = R.load_digits_split()[0]
    with pytest.raises(MapError):
        R.quantise_rnn(R.shipped(noise=True), Xtr, hc=3)
