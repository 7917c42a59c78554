"""Batches of sequences and of Gibbs chains (emulator/mapper/rnn_batch.py, rbm_batch.py): the
batched RNN and RBM programs give the per-sequence (per-image) loop's outputs bit for bit on the
ideal and the analog model — chunked or not — with the same MVM and sample counts, the same
noise-key counters and the same MVM energy events; and the workloads' batched twins agree with
their shipped loop programs.  Chips are aged (cage) in both programs, so the relaxation epoch is
the same whatever the timing."""
from __future__ import annotations

import numpy as np
import pytest

from emulator import Machine
from emulator.mapper import (RBM, Dense, MapError, Model, SimpleRNN, compile_rbm, compile_rnn, quantise_rbm,
                             quantise_rnn, rnn_reference)
from emulator.mapper.rnn_batch import compile_rnn_batched
from tests.test_batch import scan_shifts

AGE_MS = 3_600_000
MVM_EVENTS = ("line_pulses", "integrations", "compares", "decrements", "macs", "passes", "mvm_cycles")


def _run(c, path, model, seed=3):
    m = Machine(model=model, seed=seed).load(c.write(path))
    r = m.run()
    assert r.ok, r
    return m


def _same_work(a, b, cores, scans=True):
    """The same MVMs/samples with the same keys and MVM energy events on every core (and, with
    `scans`, the same scan shifts)."""
    for k in cores:
        ca, cb = a.cores[k], b.cores[k]
        assert (ca.counters["mvms"], ca.counters["samples"]) == (cb.counters["mvms"], cb.counters["samples"])
        assert ca.keys["mvm"] == cb.keys["mvm"] and ca.keys["sample"] == cb.keys["sample"]
        for key in MVM_EVENTS + (("scan_shifts",) if scans else ()):
            assert ca.events[key] == cb.events[key], key


def _rnn(T=3):
    rng = np.random.default_rng(4)
    nx, nh, no = 3, 5, 4
    m = Model([SimpleRNN(rng.normal(size=(nx, nh)), rng.normal(size=(nh, nh)) * 0.4, rng.normal(size=nh), T),
               Dense(rng.normal(size=(nh, no)), rng.normal(size=no), relu=False)], in_scale=1 / 15, in_bits=4,
              act_bits=4)
    X = rng.random((30, T * nx))
    return quantise_rnn(m, X, copies=2), X


@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("n,chunk,T", [(5, None, 3), (7, 3, 2), (1, None, 1)])
def test_batched_rnn_equals_the_sequence_loop(tmp_path, model, n, chunk, T):
    q, X = _rnn(T)
    codes = q.encode(X[:n])
    cu = compile_rnn(q, codes, name="u", age_ms=AGE_MS, core=4)
    cb = compile_rnn_batched(q, codes, name="b", age_ms=AGE_MS, core=4, chunk=chunk)
    assert "bmvm.fwd" in cb.asm and "bkey" in cb.asm and "bmvm" not in cu.asm
    a, b = _run(cu, tmp_path / "u.s", model), _run(cb, tmp_path / "b.s", model)
    out = lambda m: m.mem(m.sym("out"), n * q.n_out, "i16").copy()   # noqa: E731
    np.testing.assert_array_equal(out(b), out(a))
    np.testing.assert_array_equal(b.mem(b.sym("pred"), n, "u8"), a.mem(a.sym("pred"), n, "u8"))
    if model == "ideal":
        np.testing.assert_array_equal(out(b).reshape(n, -1), rnn_reference(q, codes))
    # the state leaves the core between steps in the batch: scans differ, MVMs do not
    _same_work(a, b, [4], scans=False)
    assert a.cores[4].counters["mvms"] == n * (T + 1)


def test_batched_rnn_refuses_bad_input():
    q, X = _rnn()
    with pytest.raises(MapError, match="chunk"):
        compile_rnn_batched(q, q.encode(X[:2]), chunk=0)
    with pytest.raises(MapError, match="input codes"):
        compile_rnn_batched(q, np.zeros((2, 5)))
    with pytest.raises(MapError, match="empty"):
        compile_rnn_batched(q, np.zeros((0, q.steps * q.n_x)))
    with pytest.raises(MapError, match="core"):
        compile_rnn_batched(q, q.encode(X[:2]), core=48)


def _rbm():
    rng = np.random.default_rng(2)
    return quantise_rbm(RBM(rng.normal(0, 1.2, (10, 6)), rng.normal(0, 0.5, 10), rng.normal(0, 0.5, 6)))


@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("mode,chunk", [("known", None), ("known", 2), ("unknown", None), ("plain", 3)])
def test_batched_rbm_equals_the_chain_loop(tmp_path, model, mode, chunk):
    q, rng = _rbm(), np.random.default_rng(7)
    n = 5
    C = rng.integers(0, 2, (n, q.n_v))
    known = rng.random((n, q.n_v)) > 0.3 if mode == "known" else None
    kw = {"evidence": 0} if mode == "plain" else {}
    cu = compile_rbm(q, C, known, steps=4, keep=2, name="u", age_ms=AGE_MS, core=9, **kw)
    cb = compile_rbm(q, C, known, steps=4, keep=2, name="b", age_ms=AGE_MS, core=9, batched=True, chunk=chunk,
                     **kw)
    assert "bsmp.fwd" in cb.asm and "bsmp.bwd" in cb.asm and "bkey" in cb.asm and "bsmp" not in cu.asm
    a, b = _run(cu, tmp_path / "u.s", model), _run(cb, tmp_path / "b.s", model)
    cnt = lambda m: m.mem(m.sym("count"), n * (q.n_v + 1), "u8").copy()   # noqa: E731
    np.testing.assert_array_equal(cnt(b), cnt(a))
    assert cnt(a).any() and not (cnt(a) == cnt(a)[0]).all()          # the chains did sample
    _same_work(a, b, [9], scans=False)
    # the loop scans each image into H once more (its first hin); every Gibbs step scans the same
    shifts = lambda m: m.cores[9].events["scan_shifts"]                # noqa: E731
    assert shifts(a) - shifts(b) == n * 256 * scan_shifts(9, v_side=False)
    assert a.cores[9].counters["samples"] == n * 2 * 4


def test_batched_rbm_refuses_a_key_advance_past_bkey():
    """1 + (B − 1)·2·STEPS must fit bkey's 32 bits: refused at compile time, not a fault after
    the whole chunk ran."""
    q = _rbm()
    C = np.zeros((3, q.n_v), np.int64)
    with pytest.raises(MapError, match="key advance"):
        compile_rbm(q, C, None, steps=2**31, keep=1, batched=True)
    compile_rbm(q, C, None, steps=4, keep=1, batched=True)          # the usual sizes compile


def test_batched_rbm_refuses_the_split_layout():
    rng = np.random.default_rng(0)
    q = quantise_rbm(RBM(rng.normal(size=(140, 8)), np.zeros(140), np.zeros(8)))
    assert q.layout == "split"
    with pytest.raises(MapError, match="single layout"):
        compile_rbm(q, np.zeros((2, 140), np.int64), batched=True)


@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_workload_batched_twins_equal_the_loops(tmp_path, model):
    """The batched twins neurram rnn --batched and neurram rbm run: the same logits, classes and
    counts as the loop programs (programs/rnn_digits.s, programs/rbm_recover.s)."""
    from emulator.workloads import rbm as RB
    from emulator.workloads import rnn as RN

    Xtr, _, Xte, _ = RN.load_digits_split()
    q = RN.quantise_rnn(RN.shipped(True), Xtr)
    a = RN.run_chip(q, Xte[:12], model, 2, tmp_path, batched=False)
    b = RN.run_chip(q, Xte[:12], model, 2, tmp_path, batched=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    M = RB.shipped()
    ra = RB.run(M, n=6, model=model, seed=2, workdir=tmp_path, batched=False)
    rb = RB.run(M, n=6, model=model, seed=2, workdir=tmp_path, batched=True)
    np.testing.assert_array_equal(ra["rec"], rb["rec"])
    assert ra["err_recovered"] == rb["err_recovered"]
