"""The RBM as a mapper model kind (emulator/mapper/rbm.py): quantisation, refusals, the single-core
and split layouts on the ideal chip, statistical agreement with the float Gibbs reference, and
image recovery with known and unknown corruption positions on the shipped digits RBM."""
import numpy as np
import pytest

from emulator.mapper.model import MapError
from emulator.mapper.rbm import (EVIDENCE, RBM, compile_rbm, corrupt_random, flip, gibbs_counts,
                                 gibbs_reference, quantise_rbm, recover, run_rbm)


def random_rbm(nv, nh, seed=0, sd=0.3):
    rng = np.random.default_rng(seed)
    return RBM(rng.normal(0, sd, (nv, nh)), rng.normal(0, sd, nv), rng.normal(0, sd, nh), "t")


def test_matrix_layout_round_trip_and_quantisation():
    M = np.random.default_rng(1).normal(0, 0.4, (11, 7))
    r = RBM.from_matrix(M)
    assert (r.n_v, r.n_h) == (10, 6)
    assert np.array_equal(r.W, M[:10, :6]) and np.array_equal(r.bh, M[10, :6]) and np.array_equal(r.bv, M[:10, 6])
    back = r.matrix()
    assert back[10, 6] == 0 and np.array_equal(back[:10], M[:10]) and np.array_equal(back[10, :6], M[10, :6])
    q = quantise_rbm(r)
    assert q.codes.shape == (11, 7) and q.codes.dtype == np.int8 and q.layout == "single"
    assert np.abs(q.codes).max() == 112 and np.all(q.codes % 16 == 0)
    assert q.R == round(2 * 16 / q.scale)            # P = ½ + a/4 with u uniform in ±R codes
    assert np.allclose(q.weights[:10, :6], r.W, atol=q.scale / 2 + 1e-12)


@pytest.mark.parametrize("nv, nh, layout, known", [
    (10, 5, "single", True), (10, 5, "single", False), (64, 48, "single", False),
    (127, 128, "single", False), (127, 200, "single", True),
    (40, 30, "split", True), (40, 30, "split", False), (200, 50, "split", False)])
def test_compiles_and_runs(tmp_path, nv, nh, layout, known):
    rng = np.random.default_rng(nv + nh)
    q = quantise_rbm(random_rbm(nv, nh), layout="auto" if layout == "single" or nv > 127 else "split")
    assert q.layout == layout
    C = rng.integers(0, 2, (5, nv))
    K = rng.random((5, nv)) < 0.6 if known else None
    c = compile_rbm(q, C, K, steps=4, keep=3, name="t")
    assert c.asm == compile_rbm(q, C, K, steps=4, keep=3, name="t").asm       # deterministic
    rec, cnt, r, _ = run_rbm(c, tmp_path / "t.s")
    assert r.ok and rec.shape == (5, nv) and set(np.unique(rec)) <= {0, 1}
    assert cnt.max() <= 3 and c.extra["result"] == "count" and c.extra["row"] == nv + 1
    if known:       # the known pixels stay equal to the input in every kept sample
        assert np.array_equal(cnt[K], 3 * C[K]) and np.array_equal(rec[K], C[K])
    else:
        assert c.extra["evidence_code"] != 0 and "vin.i8" in c.asm
    if layout == "single":    # both directions on one array
        assert "smp.fwd" in c.asm and "smp.bwd" in c.asm and len(c.slots) == 1
    else:                     # visible cores + transposed hidden cores, on different chains
        assert "smp.fwd" not in c.asm and {s.name for s in c.slots} == {"vis", "hid"}
        assert len({s.core // 6 for s in c.slots}) == len(c.slots)
    assert "Core map" in c.asm or "Core 0 holds" in c.asm
    assert f"{len(c.slots)} of 48 cores used" in c.core_map
    assert np.array_equal(recover(c, tmp_path / "t.s"), rec)


@pytest.mark.parametrize("layout", ["single", "split"])
def test_chip_samples_like_the_float_reference(tmp_path, layout):
    """1000 copies of one image: per-pixel frequency of 1 in the kept samples, chip vs numpy.
    A wrong temperature or evidence weight in the reference is far outside the bound."""
    rng = np.random.default_rng(3)
    q = quantise_rbm(random_rbm(20, 12, seed=5, sd=0.5), layout=layout)
    C = np.tile(rng.integers(0, 2, 20), (1000, 1))
    K = np.tile(rng.random(20) < 0.5, (1000, 1))
    for known, wrong in ((K, {"temperature": 0.7}), (None, {"evidence": EVIDENCE / 2})):
        _, cnt, _, _ = run_rbm(compile_rbm(q, C, known, steps=6, keep=4, name="s"), tmp_path / "s.s")
        free = slice(None) if known is None else ~K[0]          # the resampled pixels
        freq = lambda kw: gibbs_counts(q, C, known, 6, 4, seed=0, **kw).mean(0)[free] / 4
        d = np.abs(cnt.mean(0)[free] / 4 - freq({}))
        assert d.mean() < 0.02 and d.max() < 0.06, d           # measured ≤ 0.007, max ≤ 0.021
        assert np.abs(cnt.mean(0)[free] / 4 - freq(wrong)).mean() > 0.04    # measured 0.065–0.10


def test_refusals():
    with pytest.raises(MapError, match=r"256 hidden units \+ 1 bias column = 257 columns > 256"):
        quantise_rbm(random_rbm(10, 256))
    with pytest.raises(MapError, match=r"256 visible units \+ 1 bias input = 257 > 256.*partial sums"):
        quantise_rbm(random_rbm(256, 10))
    with pytest.raises(MapError, match=r"128 logical rows.*G\+/G− pairs.*layout='split'"):
        quantise_rbm(random_rbm(128, 10), layout="single")
    assert quantise_rbm(random_rbm(128, 10)).layout == "split"
    with pytest.raises(MapError, match="code scale"):
        quantise_rbm(random_rbm(10, 5), code_scale=20)
    with pytest.raises(MapError, match="W must be n_v × n_h"):
        RBM(np.zeros((4, 3)), np.zeros(3), np.zeros(3))
    q = quantise_rbm(random_rbm(127, 200))
    C = np.zeros((2, 127), np.int64)
    with pytest.raises(MapError, match=r"evidence columns do not fit: 200 hidden units .* = 328 > 256; use evidence=0"):
        compile_rbm(q, C)
    assert compile_rbm(q, C, evidence=0).extra["evidence_code"] == 0
    q = quantise_rbm(random_rbm(10, 5))
    with pytest.raises(MapError, match="N × 10 binary"):
        compile_rbm(q, np.zeros((2, 9)))
    with pytest.raises(MapError, match="N × 10 binary"):
        compile_rbm(q, np.full((2, 10), 2))
    with pytest.raises(MapError, match="known must be a boolean mask"):
        compile_rbm(q, np.zeros((2, 10)), np.ones((2, 9), bool))
    with pytest.raises(MapError, match="keep ≤ min"):
        compile_rbm(q, np.zeros((2, 10)), steps=4, keep=5)
    with pytest.raises(MapError, match="evidence columns are for unknown"):
        compile_rbm(q, np.zeros((2, 10)), np.ones((2, 10), bool), evidence=1.0)
    with pytest.raises(MapError, match="temperature"):
        compile_rbm(q, np.zeros((2, 10)), temperature=-1)
    with pytest.raises(MapError, match="needs 2 cores but only 1"):
        compile_rbm(quantise_rbm(random_rbm(10, 5), layout="split"), np.zeros((2, 10)), core=[3])


def test_noise_beyond_the_register_uses_gshift(tmp_path):
    """Tiny weights need R > 32767: the program samples with noise·2^gshift and stays right."""
    q = quantise_rbm(random_rbm(8, 4, sd=1e-4))
    assert q.R > 32767
    C = np.tile(np.array([1, 0] * 4), (200, 1))
    c = compile_rbm(q, C, None, steps=2, keep=1, evidence=0, temperature=1.0, name="g")
    assert "ccfg.gshift x1" in c.asm and c.extra["noise"] >= 32767
    _, cnt, _, _ = run_rbm(c, tmp_path / "g.s")
    assert abs(cnt.mean() - 0.5) < 0.05           # activations ≪ noise: fair coins


@pytest.fixture(scope="module")
def digits():
    from emulator.workloads import rbm as W
    V = W.binarise(W.load_digits_split()[2][:20])
    return quantise_rbm(RBM.from_matrix(W.shipped())), V


def test_shipped_rbm_known_positions(tmp_path, digits):
    q, V = digits
    C, mask = corrupt_random(V, 0.2)
    for model, seed in (("ideal", 1), ("analog", 1)):
        rec = recover(compile_rbm(q, C, ~mask, name="k"), tmp_path / "k.s", model, seed)
        assert (rec != V).sum() <= 0.5 * (C != V).sum()           # measured 68 % fewer wrong pixels
        assert np.array_equal(rec[~mask], C[~mask])


def test_shipped_rbm_unknown_positions(tmp_path, digits):
    """Flip 20 % of the pixels, positions unknown: the evidence columns make Gibbs sampling a
    denoiser (measured 46–51 % fewer wrong pixels on 20 digits); plain resampling from the
    corrupted image drifts away from it (measured 10 % more wrong pixels)."""
    q, V = digits
    C, _ = flip(V, 0.2)
    e_in = (C != V).sum()
    err = {}
    for model, seed in (("ideal", 1), ("analog", 1)):
        err[model] = (recover(compile_rbm(q, C, name="u"), tmp_path / "u.s", model, seed) != V).sum()
        assert err[model] < 0.65 * e_in
    plain = recover(compile_rbm(q, C, evidence=0, temperature=1.0, name="p"), tmp_path / "p.s")
    assert (plain != V).sum() > 0.9 * e_in
    ref = gibbs_reference(q, C)                   # the float reference agrees (measured 7.0 vs 7.05 per image)
    assert abs((ref != V).sum() - err["ideal"]) / len(V) < 2.0
