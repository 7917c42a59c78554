"""The spiking digits classifier (emulator.workloads.snn, `neurram snn`): the ideal chip's
spike counts equal the numpy reference exactly, and accuracy, spikes and costs per inference
stay inside bounds a broken conversion or IF mode would leave."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emulator.workloads import snn


@pytest.fixture(scope="module")
def ideal(tmp_path_factory):
    return snn.run(steps=32, n_test=120, model="ideal", seed=0, workdir=tmp_path_factory.mktemp("snn"))


def test_conversion_fits_the_cores_and_uses_the_mlp_thresholds():
    p = snn.convert(steps=8, n_test=5)
    assert p.rows1 <= 128 and p.rows2 <= 128
    assert p.codes1.shape[1] == 64 and p.codes2.shape[1] == 10
    # balancing rows give every column the same Σ|code| (same line conductance)
    for c in (p.codes1, p.codes2):
        tot = np.abs(c.astype(int)).sum(0)
        assert tot.max() - tot.min() == 0
    assert 1 <= p.thr1 <= 32767 and 1 <= p.thr2 <= 32767
    # rate coding: spike probability X/16, bias row always 1
    assert (p.spikes[:, :, 64] == 1).all() and set(np.unique(p.spikes)) <= {0, 1}


def test_ideal_spike_counts_equal_the_reference_and_accuracy_holds(ideal):
    s, m = ideal["snn"], ideal["mlp"]
    assert s["exact"]
    assert s["accuracy"] >= 0.9 and m["accuracy"] >= 0.9
    assert abs(s["accuracy"] - m["accuracy"]) <= 0.05
    assert 50 <= s["spikes_per_inference"] <= 600


def test_costs_per_inference_follow_the_steps(ideal, tmp_path):
    s, m = ideal["snn"], ideal["mlp"]
    # 32 steps of two ifsteps and four scans cost more than one pass of two MVMs, and the
    # scans that move the spike vectors dominate the energy
    assert s["cycles_per_inference"] > 3 * m["cycles_per_inference"]
    assert s["scan_nj"] > 0.5 * s["energy_nj"]
    half = snn.run(steps=16, n_test=20, model="ideal", workdir=tmp_path)["snn"]
    full = snn.run(steps=32, n_test=20, model="ideal", workdir=tmp_path)["snn"]
    assert 1.8 < full["cycles_per_inference"] / half["cycles_per_inference"] < 2.1


def test_cli_prints_the_table_and_json(tmp_path, capsys):
    from emulator.cli import main
    assert main(["snn", "--n-test", "10", "--steps", "8", "--json", str(tmp_path / "r.json"),
                 "--write", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "spikes / inference" in out and "equal the numpy reference: yes" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["steps"] == 8 and r["n"] == 10
    assert (tmp_path / "snn_digits.s").exists()
    assert main(["snn", "--n-test", "1"]) == 2
