"""The batched RBM in row blocks (emulator/mapper/rbm_blocks_batch.py): a batch of Gibbs chains
through the F and T cores gives the per-image loop's `count` bit for bit on the ideal and the
analog model — chunked or not — with the same MVM and sample counts, noise-key counters, scans
and MVM energy events on every core (each core keyed by its own K: STEPS on the F cores and
T_1…, 2·STEPS on T_0).  Both programs age the chip 1 h (cage), so the relaxation epoch is the
same whatever their timing."""
from __future__ import annotations

import numpy as np
import pytest

from emulator import Machine
from emulator.mapper import MapError
from emulator.mapper.rbm import RBM
from emulator.mapper.rbm_blocks import _cores, compile_rbm_blocks, gibbs_blocks_reference, quantise_rbm_blocks

AGE_MS = 3_600_000
MVM_EVENTS = ("line_pulses", "integrations", "compares", "decrements", "macs", "passes", "mvm_cycles")
STEPS, KEEP = 3, 2


def _q(seed=0, nv=300, nh=40):
    rng = np.random.default_rng(seed)
    rbm = RBM(rng.normal(size=(nv, nh)) * 0.3, rng.normal(size=nv) * 0.1, rng.normal(size=nh) * 0.1)
    return quantise_rbm_blocks(rbm)


def _images(q, n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(n, q.n_v)), rng.random((n, q.n_v)) > 0.3


def _run(c, path, model, seed=3):
    m = Machine(model=model, seed=seed).load(c.write(path))
    r = m.run()
    assert r.ok, r
    return m


def _count(m, n, q):
    return m.mem(m.sym("count"), n * (q.n_v + 1), "u8").reshape(n, q.n_v + 1).copy()


@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("n,chunk", [(3, None), (5, 2)])
def test_batched_blocks_equal_the_image_loop(tmp_path, model, n, chunk):
    q = _q()
    C, K = _images(q, n)
    cu = compile_rbm_blocks(q, C, K, STEPS, KEEP, name="u", age_ms=AGE_MS)
    cb = compile_rbm_blocks(q, C, K, STEPS, KEEP, name="b", age_ms=AGE_MS, batched=True, chunk=chunk)
    assert cb.extra["chunk"] == (chunk or n)
    for op in ("bmvm.fwd", "bsmp.fwd", "bkey", "cage"):
        assert op in cb.asm
    assert "bmvm" not in cu.asm and "bsmp" not in cu.asm and "cage" in cu.asm
    a, b = _run(cu, tmp_path / "u.s", model), _run(cb, tmp_path / "b.s", model)
    np.testing.assert_array_equal(_count(b, n, q), _count(a, n, q))
    cnt = _count(a, n, q)
    assert cnt.any() and not (cnt == cnt[0]).all()                   # the chains did sample
    ref = gibbs_blocks_reference(q, C, K, STEPS, KEEP, seed=3)
    # the ideal model is the integer reference; the analog one's read noise moves some samples
    assert np.array_equal(cnt, ref) == (model == "ideal")
    F, T = _cores(q)
    for k in F + T:
        ca, cb_ = a.cores[k], b.cores[k]
        assert (ca.counters["mvms"], ca.counters["samples"]) == (cb_.counters["mvms"], cb_.counters["samples"])
        assert (ca.keys["mvm"], ca.keys["sample"]) == (cb_.keys["mvm"], cb_.keys["sample"])
        for key in MVM_EVENTS + ("scan_shifts",):
            assert ca.events[key] == cb_.events[key], (k, key)
    # each core by its own K: STEPS MVMs per image on an F core, STEPS samples on T_1…, 2·STEPS on T_0
    assert all(b.cores[k].keys["mvm"] == n * STEPS for k in F)
    assert b.cores[T[0]].keys["sample"] == n * 2 * STEPS
    assert all(b.cores[k].keys["sample"] == n * STEPS for k in T[1:])
    # the batched program spends less chip time per run (scans overlap the MVMs)
    assert b.cycle < a.cycle


def test_batched_blocks_need_their_bkey(tmp_path):
    """Without the bkey lines (default keys: vector b the b-th sample of the batch) the draws
    are other ones: the equality above is not by accident."""
    q = _q(seed=5)
    C, K = _images(q, 3, seed=6)
    cu = compile_rbm_blocks(q, C, K, STEPS, KEEP, name="u")
    cb = compile_rbm_blocks(q, C, K, STEPS, KEEP, name="b", batched=True)
    cb.asm = "\n".join(line for line in cb.asm.split("\n") if "bkey" not in line)
    a, b = _run(cu, tmp_path / "u.s", "ideal"), _run(cb, tmp_path / "b.s", "ideal")
    assert not np.array_equal(_count(a, 3, q), _count(b, 3, q))
    assert a.cores[_cores(q)[1][0]].keys["sample"] == b.cores[_cores(q)[1][0]].keys["sample"]


def test_batched_blocks_refuse_bad_input():
    q = _q()
    C, K = _images(q, 2)
    for chunk in (0, -1, 1.5, "4", True, 70000):
        with pytest.raises(MapError, match="chunk"):
            compile_rbm_blocks(q, C, K, batched=True, chunk=chunk)
    with pytest.raises(MapError, match="binary arrays"):
        compile_rbm_blocks(q, C[:, :10], K[:, :10], batched=True)
    with pytest.raises(MapError, match="binary arrays"):
        compile_rbm_blocks(q, C[:0], K[:0], batched=True)
    with pytest.raises(MapError, match="binary arrays"):
        compile_rbm_blocks(q, C * 2, K, batched=True)
    with pytest.raises(MapError, match="keep"):
        compile_rbm_blocks(q, C, K, steps=2, keep=3, batched=True)
    with pytest.raises(MapError, match="age_ms"):
        compile_rbm_blocks(q, C, K, age_ms=-1, batched=True)
    with pytest.raises(MapError, match="key advance"):      # 1 + (B − 1)·2·STEPS passes 2^32 − 1
        compile_rbm_blocks(q, np.zeros((3, q.n_v), np.int64), np.ones((3, q.n_v), bool), steps=2**30,
                           keep=1, batched=True)


@pytest.mark.parametrize("model", ["ideal", "analog"])
def test_mnist_size_batched_equals_the_loop(tmp_path, model):
    """`neurram rbm794`'s program pair on the 794 × 120 RBM (16 cores, untrained weights): the same
    counts, recovered pixels and MVM/sample counts; the batched one takes less chip time per image."""
    from emulator.workloads.rbm_mnist import NH, NV, run

    rng = np.random.default_rng(3)
    rbm = RBM(rng.normal(size=(NV, NH)) * 0.05, rng.normal(size=NV) * 0.05, rng.normal(size=NH) * 0.05)
    kw = dict(n=3, steps=2, keep=1, workdir=str(tmp_path), rbm=rbm, model=model)
    a, b = run(batched=False, **kw), run(batched=True, **kw)
    np.testing.assert_array_equal(a["count"], b["count"])
    assert a["errors_recovered"] == b["errors_recovered"] and b["cores"] == 16
    assert a["bit_exact"] is b["bit_exact"] is (True if model == "ideal" else None)
    assert b["per_inference"]["latency_s"] < a["per_inference"]["latency_s"]
    assert b["per_inference"]["macs"] == a["per_inference"]["macs"]
