"""`neurram lstm` (emulator/workloads/lstm.py): the shipped digits LSTMs on the chip — the ideal
chip equals the integer reference bit for bit and the accuracy table's figures (docs/workloads.md)
are re-measured exactly (the whole run takes a few seconds); retraining reproduces the shipped
weights (slow)."""
import numpy as np
import pytest

from emulator.workloads import lstm as L


def _pct(v):
    return round(100 * float(np.mean(v)), 2)


def test_accuracy_table_figures(tmp_path):
    aware = L.evaluate(L.shipped(True), workdir=tmp_path)
    plain = L.evaluate(L.shipped(False), workdir=tmp_path)
    assert aware["ideal_exact"] and plain["ideal_exact"]
    # docs/workloads.md: float / 4-bit / ideal / analog mean over seeds 1-3
    assert [_pct(aware[k]) for k in ("float", "sw4", "ideal", "analog")] == [97.78, 96.89, 97.11, 94.3]
    assert [_pct(plain[k]) for k in ("float", "sw4", "ideal", "analog")] == [97.11, 93.56, 94.67, 90.44]
    assert len(L.cores(aware["q"])) == 2


def test_neurram_lstm_prints_the_table(capsys, tmp_path):
    from emulator.cli import main

    assert main(["lstm", "--seeds", "1", "--n-test", "40", "--write", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "digits LSTM" in out and "noise-aware" in out and "plain" in out
    assert (tmp_path / "lstm_digits.s").exists()


@pytest.mark.slow
def test_retraining_reproduces_the_shipped_weights():
    for noise in (True, False):
        P, S = L.train(noise), L.shipped(noise)
        assert all(np.allclose(P[k], S[k], atol=1e-5) for k in S)
