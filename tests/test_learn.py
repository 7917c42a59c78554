"""On-chip learning (emulator.workloads.learn, `neurram learn`): the last layer learns from
zero with outer-product updates, the accuracy rises over the epochs, and the costs are counted."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emulator.workloads import learn


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return learn.run(epochs=3, n_train=300, n_test=100, workdir=tmp_path_factory.mktemp("learn"))


def test_the_layer_learns_from_zero(small):
    acc = small["accuracy"]
    assert len(acc) == 3
    assert acc[0] >= 0.5                  # untrained: 0.1 (every logit equal)
    assert acc[-1] >= 0.75 and acc[-1] >= acc[0]
    assert small["offline"]["accuracy"] >= 0.9
    # every update is a pulse on a cell; the refresh runs every REFRESH digits
    assert small["update_pulses"] > 1000 and small["max_pulses_per_cell"] >= 10
    assert small["refreshes"] == 1 + 3 * (300 // learn.REFRESH)   # the counter restarts each epoch


def test_training_costs_are_per_epoch_and_dwarf_programming(small):
    e, t = small["train_energy_uj"], small["train_time_s"]
    assert len(e) == len(t) == 3
    assert max(e) / min(e) < 1.1 and max(t) / min(t) < 1.1      # same work every epoch
    assert min(e) > 10 * small["offline"]["program_energy_uj"]


def test_layer1_codes_fit_a_core_and_map_to_4_bit_hidden_codes():
    codes, gain, gshift, lam = learn.layer1()
    assert codes.shape[1] == 64 and 65 <= len(codes) <= 128
    assert 1 <= gain <= 32767 and 0 <= gshift <= 31 and lam > 0
    tot = np.abs(codes.astype(int)).sum(0)
    assert tot.max() == tot.min()


def test_cli_learn(tmp_path, capsys):
    from emulator.cli import main
    assert main(["learn", "--epochs", "1", "--n-train", "50", "--n-test", "20",
                 "--json", str(tmp_path / "l.json")]) == 0
    assert "offline-trained layer" in capsys.readouterr().out
    r = json.loads((tmp_path / "l.json").read_text())
    assert r["epochs"] == 1 and len(r["accuracy"]) == 1
    assert main(["learn", "--epochs", "51"]) == 2


def test_both_layers_send_the_error_back_through_the_transposed_mvm(tmp_path):
    # layer 1 learns slowly (every 8th digit, a dead zone of 32): the whole training set, 2 epochs
    r = learn.run(epochs=2, n_test=80, both=True, workdir=tmp_path / "a")
    assert r["both"] and r["update_pulses_layer1"] > 100
    assert r["accuracy"][-1] >= 0.85
    one = learn.run(epochs=1, n_train=100, n_test=20, workdir=tmp_path / "b")
    assert one["update_pulses_layer1"] == 0
    p = learn.build(1, 10, 10, both=True)["asm"]
    assert "mvm.bwd" in p and p.count("opu ") == 4
