"""Mapper unit tests: splitting, bias rows, refusal of misfits, core map, codegen, and bit-exact
equivalence of compiled networks on the ideal model with the numpy integer reference."""
import numpy as np
import pytest

from emulator.mapper import (Dense, MapError, Model, compile_model, place, quantise, reference,
                             run_compiled, split_even)


def _model(sizes, seed=0, bias=1.0):
    rng = np.random.default_rng(seed)
    L = []
    for k in range(len(sizes) - 1):
        L.append(Dense(rng.normal(size=(sizes[k], sizes[k + 1])), rng.normal(size=sizes[k + 1]) * bias,
                       k < len(sizes) - 2, f"fc{k + 1}"))
    return Model(L, in_scale=1 / 15)


def test_split_even():
    assert split_even(100, 128) == [(0, 100)]
    assert split_even(129, 128) == [(0, 65), (65, 64)]
    assert split_even(300, 128) == [(0, 100), (100, 100), (200, 100)]
    assert sum(n for _, n in split_even(1000, 256)) == 1000


def test_segments_and_column_blocks():
    rng = np.random.default_rng(1)
    q = quantise(_model([200, 300, 10]), rng.random((50, 200)))
    fc1, fc2 = q.layers
    assert all(n <= 128 for _, n in fc1.segments) and sum(n for _, n in fc1.segments) == fc1.n_rows
    assert len(fc1.colblocks) == 2 and all(n <= 256 for _, n in fc1.colblocks)
    slots = place(q)
    assert len(slots) == len(fc1.segments) * 2 + len(fc2.segments)
    assert len({s.core for s in slots}) == len(slots)


def test_bias_rows_carry_the_bias():
    W = np.zeros((4, 3))
    W[0, 0] = 1.0
    m = Model([Dense(W, np.array([0.5, -0.25, 0.0]), False, "fc")], in_scale=1 / 15)
    q = quantise(m, np.ones((4, 4)))
    L = q.layers[0]
    assert L.n_bias >= 1 and L.codes.shape[0] == 4 + L.n_bias
    bias = (L.codes[4:].astype(int) * np.array(L.bias_input)[:, None]).sum(0)
    assert bias[0] > 0 > bias[1] and bias[2] == 0
    y = reference(q, q.encode(np.zeros((1, 4))))[0]
    assert y[0] > 0 > y[1] and y[2] == 0


def test_no_bias_no_bias_rows():
    m = Model([Dense(np.ones((5, 2)), None, False)], in_scale=1)
    assert quantise(m, np.ones((3, 5))).layers[0].n_bias == 0


def test_refuses_a_model_bigger_than_the_chip():
    rng = np.random.default_rng(0)
    m = _model([1000, 1000, 10])       # 8 segments × 4 blocks + 8 = 40 … then more
    m2 = _model([2000, 1000, 10])
    q = quantise(m2, rng.random((4, 2000)))
    with pytest.raises(MapError, match="needs .* cores .* only 48"):
        place(q)
    q = quantise(m, rng.random((4, 1000)))
    with pytest.raises(MapError, match="only 3 are available"):
        place(q, cores=[0, 6, 12])


def test_refuses_bad_inputs_and_layers():
    q = quantise(_model([10, 4]), np.ones((2, 10)))
    with pytest.raises(MapError, match="inputs must be"):
        compile_model(q, np.zeros((2, 3), np.uint8))
    with pytest.raises(MapError, match="cannot place"):
        quantise(Model([object()]), np.ones((1, 2)))


@pytest.mark.parametrize("sizes,seed,copies", [([64, 10], 0, 1), ([64, 32, 10], 1, 4), ([200, 300, 10], 2, 2),
                                        ([130, 40, 20, 5], 3, 8)])
def test_ideal_chip_matches_integer_reference(tmp_path, sizes, seed, copies):
    rng = np.random.default_rng(seed)
    m = _model(sizes, seed)
    X = rng.random((40, sizes[0]))
    q = quantise(m, X, copies=copies)
    rows = q.encode(X[:6])
    c = compile_model(q, rows, name="t")
    out, pred, r = run_compiled(c, tmp_path / "t.s")
    ref = reference(q, rows)
    assert r.ok
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(pred, ref.argmax(1))
    # the quantised network still tracks the float one
    f = m.forward(np.clip(np.round(X[:6] * 15), 0, 15) / 15)
    assert np.corrcoef(f.ravel(), ref.ravel())[0, 1] > 0.8


def test_program_is_readable_and_powers_only_used_cores(tmp_path):
    q = quantise(_model([200, 20, 10]), np.random.default_rng(0).random((8, 200)))
    c = compile_model(q, q.encode(np.zeros((2, 200))), name="r")
    assert "# Core map:" in c.asm and "fc1 segment 1" in c.asm and "vadd.i16" in c.asm
    assert "3 of 48 cores used" in c.core_map and "left powered off" in c.core_map
    c.write(tmp_path / "r.s")
    assert (tmp_path / "r_x.npy").exists() and (tmp_path / "r_fc1_w.npy").exists()
    from emulator.machine import Machine
    m = Machine().load(tmp_path / "r.s")
    m.run()
    used = {s.core for s in c.slots}
    assert {i for i in range(48) if m.cores[i].powered} == used
