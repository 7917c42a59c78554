"""The RBM as a mapper model kind (emulator/mapper/rbm.py): quantisation, refusals, the single-core
and split layouts on the ideal chip, statistical agreement with the float Gibbs reference, and
image recovery with known and unknown corruption positions on the shipped digits RBM."""
import re

import numpy as np
import pytest

from emulator.mapper.model import MapError
from emulator.mapper.rbm import (EVIDENCE, RBM, corrupt_random, flip, gibbs_counts, gibbs_reference,
                                 quantise_rbm, recover, run_rbm)
from emulator.mapper.rbm_codegen import compile_rbm


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


# ------------------------------------------------------------------ input handling (review fixes)

@pytest.mark.parametrize("field", ["W", "bv", "bh"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_fields_are_refused(field, bad):
    """NaN weights were a ValueError (int of a NaN noise amplitude) in quantise_rbm."""
    f = {"W": np.full((4, 3), 0.2), "bv": np.zeros(4), "bh": np.zeros(3)}
    f[field].flat[-1] = bad
    with pytest.raises(MapError, match=rf"^t: {field} has non-finite values \(NaN or inf\)$"):
        RBM(f["W"], f["bv"], f["bh"], "t")
    r = random_rbm(4, 3)                  # reassigned after construction: quantise_rbm checks again
    setattr(r, field, f[field])
    with pytest.raises(MapError, match=rf"^t: {field} has non-finite values"):
        quantise_rbm(r)
    M = np.zeros((5, 4))
    M[0, 0] = bad
    with pytest.raises(MapError, match=r"^rbm: W has non-finite values"):
        RBM.from_matrix(M)


@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0)])
def test_empty_rbm_is_refused(shape):
    with pytest.raises(MapError, match=rf"^rbm: needs at least one visible and one hidden unit, "
                                       rf"got W \({shape[0]}, {shape[1]}\)"):
        RBM(np.zeros(shape), np.zeros(shape[0]), np.zeros(shape[1]))


@pytest.mark.parametrize("name", [5, None, "", "my rbm", "rbm-1", "1rbm", "bild_ä"])
def test_name_must_be_an_ascii_identifier(name):
    """An int name crashed codegen.core_map_text; other names broke the core map's columns."""
    with pytest.raises(MapError, match=rf"^RBM: name {re.escape(repr(name))} must be an ASCII identifier"):
        RBM(np.zeros((4, 3)), np.zeros(4), np.zeros(3), name)
    with pytest.raises(MapError, match="must be an ASCII identifier"):
        RBM.from_matrix(np.zeros((5, 4)), name)


def test_empty_batch_is_refused():
    """N = 0 wrote `.equ N, 0`: the image loop's counter wrapped and the run spun to the cycle limit."""
    for layout in ("single", "split"):
        q = quantise_rbm(random_rbm(10, 5), layout=layout)
        with pytest.raises(MapError, match=r"^t: the batch is empty: give at least one input"):
            compile_rbm(q, np.zeros((0, 10), np.int64))
        with pytest.raises(MapError, match=r"^t: the batch is empty"):
            compile_rbm(q, np.zeros((0, 10), np.int64), np.zeros((0, 10), bool))


def test_settings_are_checked():
    q = quantise_rbm(random_rbm(10, 5))
    C = np.zeros((2, 10), np.int64)
    for kw, match in [
            ({"temperature": np.nan}, r"^t: temperature must be a finite number or None, got nan"),
            ({"temperature": np.inf}, r"^t: temperature must be a finite number or None, got inf"),
            ({"temperature": "1"}, r"^t: temperature must be a finite number or None, got '1'"),
            ({"temperature": 1e20}, r"^t: temperature 1e\+20 needs a noise amplitude of .* beyond ccfg\.noise · "
                                    r"2\^gshift ≤ 32767 · 2\^31; use a lower temperature"),
            ({"evidence": np.nan}, r"^t: evidence must be a finite number or None, got nan"),
            ({"evidence": -np.inf}, r"^t: evidence must be a finite number or None, got -inf"),
            ({"steps": 2.5}, r"need integers steps ≥ 1 .* got steps=2\.5, keep=8"),
            ({"steps": True, "keep": 1}, r"need integers steps ≥ 1 .* got steps=True, keep=1"),
            ({"steps": 4, "keep": "3"}, r"need integers steps ≥ 1 .* got steps=4, keep='3'"),
            ({"age_ms": np.nan}, r"age_ms must be a number of milliseconds"),
            ({"age_ms": -1}, r"age_ms must be a number of milliseconds"),
            ({"core": ["a"]}, r"cores must be distinct ids 0…47"),
            ({"core": 2.0}, r"core must be a core id 0…47 or a list of them, got 2\.0")]:
        with pytest.raises(MapError, match=match):
            compile_rbm(q, C, **kw)
    with pytest.raises(MapError, match=r"need integers steps"):
        gibbs_counts(q, C, steps=2.5)
    for bad in (np.nan, 2):
        K = np.ones((2, 10))
        K[0, 0] = bad
        with pytest.raises(MapError, match=r"^t: known must be a boolean \(0/1\) mask; it has other values"):
            compile_rbm(q, C, K)
    for Cbad in (np.full((2, 10), np.nan), [[0, 1], [0]]):
        with pytest.raises(MapError, match=r"^t: corrupted"):
            compile_rbm(q, Cbad)
    r = random_rbm(10, 5)
    for kw, match in [({"wbits": 1}, r"^t: wbits must be an integer 2 … 8"), ({"wbits": 4.0}, "wbits"),
                      ({"code_scale": 0}, r"^t: code_scale must be an integer ≥ 1, got 0"),
                      ({"code_scale": 2.5}, "code_scale")]:
        with pytest.raises(MapError, match=match):
            quantise_rbm(r, **kw)
    with pytest.raises(MapError, match=r"^quantise_rbm takes an RBM"):
        quantise_rbm(np.zeros((5, 4)))
    # weights so small that no noise register setting samples them (was an OverflowError for 5e-323)
    for w in (1e-300, 5e-323):
        with pytest.raises(MapError, match=r"^t: the weights are too small to sample: .* ≤ 32767 · 2\^31; rescale"):
            quantise_rbm(RBM(np.full((4, 3), w), np.zeros(4), np.zeros(3), "t"))


@pytest.mark.parametrize("nv, nh, known, evidence", [
    (255, 255, True, None), (127, 255, True, None), (255, 127, False, None), (127, 128, False, None),
    (255, 255, False, 0)])
def test_largest_rbms_assemble(tmp_path, nv, nh, known, evidence):
    """The largest accepted sizes keep every immediate in range (addi imm16, setvli uimm16, sb
    offsets, ccfg fields): the assembler checks them all."""
    from emulator.machine import Machine

    q = quantise_rbm(random_rbm(nv, nh))
    C = np.random.default_rng(0).integers(0, 2, (3, nv))
    c = compile_rbm(q, C, np.ones_like(C, bool) if known else None, steps=2, keep=1, name="big",
                    evidence=evidence)
    Machine().load(c.write(tmp_path / "big.s"))
