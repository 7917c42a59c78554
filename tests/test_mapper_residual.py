"""Residual add and data-parallel replication in the mapper: bit-exact equivalence with the numpy
integer reference on the ideal model, failing-capable checks that the residual is really computed,
replicas give identical results with a shorter batch loop, refusal when replicas do not fit."""
import numpy as np
import pytest

from emulator.mapper import (Dense, MapError, Model, compile_model, measure_cycles, place, quantise,
                             reference, run_compiled)
from emulator.mapper.model import layer_reference


def _res_model(sizes, res, seed=0):
    """sizes: widths; res: {layer index: (source index, 'pre'|'post')}."""
    rng = np.random.default_rng(seed)
    L = []
    for k in range(len(sizes) - 1):
        src, at = res.get(k, (None, "pre"))
        L.append(Dense(rng.normal(size=(sizes[k], sizes[k + 1])), rng.normal(size=sizes[k + 1]),
                       k < len(sizes) - 2, f"fc{k + 1}", residual=src, residual_at=at))
    return Model(L, in_scale=1 / 15)


def _mlp(sizes, seed=0):
    return _res_model(sizes, {}, seed)


CASES = [([40, 10, 24, 10], {2: (0, "pre")}, 1),         # into the logits layer
         ([40, 24, 24, 24, 10], {1: (0, "post"), 2: (1, "pre")}, 2),
         ([150, 30, 30, 6], {1: (0, "post")}, 1)]        # two segments in fc1


@pytest.mark.parametrize("sizes,res,copies", CASES)
def test_residual_ideal_chip_matches_reference(tmp_path, sizes, res, copies):
    rng = np.random.default_rng(len(sizes))
    m = _res_model(sizes, res)
    X = rng.random((40, sizes[0]))
    q = quantise(m, X, copies=copies)
    assert [L.residual for L in q.layers] == [res.get(k, (None,))[0] for k in range(len(sizes) - 1)]
    rows = q.encode(X[:8])
    c = compile_model(q, rows, name="res")
    assert "vmuls.i16" in c.asm and "residual" in c.asm
    out, pred, r = run_compiled(c, tmp_path / "res.s")
    ref = reference(q, rows)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(pred, ref.argmax(1))
    # the quantised network with residuals still tracks the float one
    f = m.forward(np.clip(np.round(X[:8] * 15), 0, 15) / 15)
    assert np.corrcoef(f.ravel(), ref.ravel())[0, 1] > 0.8


def _drop_residual(q):
    import copy
    q2 = copy.deepcopy(q)
    for L in q2.layers:
        L.residual = None
    return q2


@pytest.mark.parametrize("case", [0, 1])
def test_dropping_the_residual_is_detected(tmp_path, case):
    """The reference without the residual, or a program without the residual's vadd, differs."""
    sizes, res, copies = CASES[case]
    rng = np.random.default_rng(5)
    X = rng.random((40, sizes[0]))
    q = quantise(_res_model(sizes, res), X, copies=copies)
    rows = q.encode(X[:8])
    ref = reference(q, rows)
    assert not np.array_equal(reference(_drop_residual(q), rows), ref)
    c = compile_model(q, rows, name="nores")
    c.asm = c.asm.replace("vadd.i16 x6, x6, x8    # saturating add", "nop")
    out, _, _ = run_compiled(c, tmp_path / "nores.s")
    assert not np.array_equal(out, ref)
    with pytest.raises(ValueError, match="residual"):
        layer_reference(q.layers[max(res)], np.zeros((1, q.layers[max(res)].n_rows), np.int64))


def test_residual_refusals():
    X = np.random.default_rng(0).random((10, 12))
    with pytest.raises(MapError, match="width"):
        quantise(_res_model([12, 8, 6, 4], {2: (0, "pre")}), X)
    with pytest.raises(MapError, match="earlier"):
        quantise(_res_model([12, 8, 8, 4], {1: (1, "pre")}), X)
    with pytest.raises(MapError, match="last layer"):
        quantise(_res_model([12, 8, 8], {1: (0, "post")}), X)


def test_no_residual_no_residual_code():
    q = quantise(_mlp([20, 10, 5]), np.ones((3, 20)))
    c = compile_model(q, q.encode(np.ones((2, 20))))
    assert "vmuls" not in c.asm and "_res" not in c.asm


# ---- data-parallel replication

@pytest.mark.parametrize("sizes,R,n", [([64, 10], 4, 24), ([64, 32, 10], 2, 7), ([150, 30, 30, 6], 3, 8)])
def test_replicas_give_identical_results(tmp_path, sizes, R, n):
    rng = np.random.default_rng(R)
    res = {1: (0, "post")} if len(sizes) == 4 else {}
    q = quantise(_res_model(sizes, res), rng.random((40, sizes[0])))
    rows = q.encode(rng.random((n, sizes[0])))
    c1 = compile_model(q, rows, name="one")
    cR = compile_model(q, rows, name="rep", replicate=R)
    o1, p1, _ = run_compiled(c1, tmp_path / "one.s")
    oR, pR, _ = run_compiled(cR, tmp_path / "rep.s")
    np.testing.assert_array_equal(oR, o1)
    np.testing.assert_array_equal(pR, p1)
    np.testing.assert_array_equal(o1, reference(q, rows))
    per = len(c1.slots)
    assert len(cR.slots) == R * per and len({s.core for s in cR.slots}) == R * per
    assert f"{R * per} of 48 cores used" in cR.core_map


def test_replicas_use_distinct_chains_and_overlap():
    rng = np.random.default_rng(0)
    q = quantise(_mlp([64, 10]), rng.random((40, 64)))
    slots = place(q, replicate=4)
    assert len({s.core // 6 for s in slots}) == 4                 # one chain per replica
    assert sorted(s.replica for s in slots) == [0, 1, 2, 3]


def test_replication_shortens_the_batch_loop(tmp_path):
    rng = np.random.default_rng(1)
    q = quantise(_mlp([64, 32, 10]), rng.random((40, 64)))
    rows = q.encode(rng.random((16, 64)))
    base = measure_cycles(compile_model(q, rows, name="b"), tmp_path / "b.s")
    for R in (2, 4):
        d = measure_cycles(compile_model(q, rows, name=f"r{R}", replicate=R), tmp_path / f"r{R}.s")
        assert base["inference"] / d["inference"] >= 1.5 * R / 2, (R, base, d)
        assert d["setup"] > base["setup"]          # R copies to program on the single programmer


def test_replication_refused_when_it_does_not_fit():
    rng = np.random.default_rng(0)
    q = quantise(_mlp([200, 300, 10]), rng.random((8, 200)))   # 2×2 + 3 = 7 cores
    assert len(place(q, replicate=6)) == 42
    with pytest.raises(MapError, match=r"replicate=7 needs 7 × 7 = 49 cores but only 48 .* at most 6"):
        compile_model(q, q.encode(np.zeros((2, 200))), replicate=7)
