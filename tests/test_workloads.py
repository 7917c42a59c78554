"""The digits workload at reduced size, from the shipped .npy/.npz files (no scikit-learn)."""
import numpy as np

from emulator.mapper import reference
from emulator.workloads import digits as D


def test_shipped_data_and_split():
    Xtr, ytr, Xte, yte = D.load_digits_split()
    assert Xtr.shape == (1347, 64) and Xte.shape == (450, 64)
    assert Xte.max() <= 16 and set(np.unique(yte)) == set(range(10))


def test_digits_ideal_chip_is_bit_exact_and_accurate(tmp_path):
    m = D.shipped_model(noise=True)
    r = D.evaluate(m, n_test=120, workdir=tmp_path, analog=False)
    assert r["ideal_exact"]
    assert r["ideal"] == r["int_ref"]
    assert r["float"] > 0.9 and r["ideal"] > 0.9
    assert abs(r["ideal"] - r["sw4"]) < 0.03


def test_digits_analog_noise_aware_close_to_4bit_and_copies_help(tmp_path):
    m = D.shipped_model(noise=True)
    r = D.evaluate(m, seeds=(1, 2), n_test=200, workdir=tmp_path, age_ms=3_600_000, single=True)
    analog, single = np.mean(r["analog"]), np.mean(r["analog1"])
    assert analog > 0.9                                      # measured 95.9 % on all 450
    assert r["sw4"] - analog < 0.025                         # measured 0.8 pt on all 450
    # averaging the column copies removes a visible part of the device noise
    assert analog - single > 0.01


def test_balancing_rows_remove_the_column_gain_error(tmp_path):
    """Without relaxation, the analog logits stay far closer to the reference with balancing."""
    from emulator.mapper import compile_model, quantise, run_compiled
    Xtr, _, Xte, _ = D.load_digits_split()
    q = quantise(D.shipped_model(noise=True), Xtr)
    rows = q.encode(Xte[:60])
    ref = reference(q, rows)
    err = {}
    for bal in (False, True):
        c = compile_model(q, rows, name="b", balance=bal)
        out, _, _ = run_compiled(c, tmp_path / "b.s", model="analog", seed=1,
                                 config={"relax_scale": 0.0, "read_noise": 0.0})
        err[bal] = np.sqrt(np.mean((out - ref) ** 2))
    assert err[True] < 0.7 * err[False], err          # measured 2.4 vs 4.3 LSB


def test_chip_noise_measurement():
    from emulator.mapper.chipnoise import weight_noise
    s1, s24 = weight_noise(1000), weight_noise(86_400_000)
    assert s1.shape == (8,) and s1[0] < 0.2
    assert 0.2 < s1[1:].mean() < 1.0 and np.all(s24[1:] > s1[1:])   # it grows with age


def test_compile_cli(tmp_path):
    from emulator.cli import main
    from emulator.machine import Machine
    Xte = D.load_digits_split()[2][:5]
    np.save(tmp_path / "x.npy", Xte)
    out = tmp_path / "p.s"
    assert main(["compile", str(D.DATA / "digits_mlp_noise.npz"), "-o", str(out), "--inputs",
                 str(tmp_path / "x.npy"), "--calib", str(tmp_path / "x.npy"),
                 "--in-scale", str(D.IN_SCALE)]) == 0
    m = Machine().load(out)
    assert m.run().ok
    assert m.mem(m.sym("pred"), 5, "u8").shape == (5,)


def test_rbm_recovery_on_chip(tmp_path):
    from emulator.workloads import rbm as R
    M = R.shipped()
    r = R.run(M, n=20, model="analog", seed=1, workdir=tmp_path)
    assert r["err_corrupted"] > 5                    # ≈ 20 % of 64 pixels, half of them wrong
    assert r["reduction"] > 0.5                      # measured 74 % (40 digits, seed 1)
    # the program's ideal run tracks the numpy float reference of the same sampler
    V = R.binarise(R.load_digits_split()[2][:20])
    C, mask = R.corrupt(V, 0.2)
    ref = R.gibbs_numpy(M, C, mask)
    assert abs((ref != V).sum() / 20 - R.run(M, n=20, model="ideal", workdir=tmp_path)["err_recovered"]) < 1.5
    # an untrained (random) RBM does not recover
    bad = R.run(np.random.default_rng(0).normal(0, 0.3, M.shape), n=20, workdir=tmp_path)
    assert bad["reduction"] < 0.4


def test_rbm_program_samples_both_directions():
    from emulator.workloads import rbm as R
    asm, data = R.program(R.shipped(), np.zeros((2, 64), np.int64), np.zeros((2, 64), bool))
    assert "smp.fwd" in asm and "smp.bwd" in asm and data["rbm_recover_w.npy"].shape == (65, 49)


def test_rbm_shipped_program_matches_the_generator():
    """programs/rbm_recover.s and its .npy are what `neurram rbm --write programs` produces
    (the mapper's single-core program, emulator/mapper/rbm.py)."""
    from pathlib import Path

    from emulator.workloads import rbm as R
    progs = Path(__file__).resolve().parent.parent / "programs"
    C, mask = R.corrupt(R.binarise(R.load_digits_split()[2][:40]), 0.2, seed=0)
    asm, data = R.program(R.shipped(), C, mask)
    assert (progs / "rbm_recover.s").read_text() == asm
    for f, a in data.items():
        b = np.load(progs / f)
        assert b.dtype == a.dtype and np.array_equal(b, a), f


def test_rbm_unknown_positions_on_chip(tmp_path):
    from emulator.workloads import rbm as R
    r = R.run(R.shipped(), n=20, model="analog", seed=1, workdir=tmp_path, known_positions=False)
    assert r["corruption"] == "flip" and r["err_corrupted"] == 13      # 20 % of 64 pixels flipped
    assert r["reduction"] > 0.35                     # measured 51 % (20 digits), 52 % (40 digits)
