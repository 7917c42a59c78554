"""Per-instruction vectors of the batch instructions, on encoded words (no assembler): bcount,
bstride, bmvm, bsmp against a numpy reference, and the row-strided vector ops vadd2, vmax2,
vcvt2, vargmax2 against numpy, with their cost and faults."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import Machine
from tests.helpers import I, li, program


def test_bcount_and_bstride_set_the_batch_registers():
    m = Machine()
    m.load(program(*li(1, 300), *li(2, 40), *li(3, 8), *li(4, 12), I.bcount(rs1=1),
                   I.bstride(rt=2, rs1=3, rs2=4), I.halt()))
    assert m._native.m.bn == 1
    assert m.run().stop == "halt"
    n = m._native.m
    assert (n.bn, n.bs_d, n.bs_1, n.bs_2) == (300, 40, 8, 12)


@pytest.mark.parametrize("count", [0, 65536])
def test_bcount_refuses_counts_outside_1_to_65535(count):
    m = Machine()
    m.load(program(*li(1, count), I.bcount(rs1=1), I.halt()))
    r = m.run()
    assert r.fault == "bad_config" and r.fault_detail == count


def _bmvm_words(op, direction, nb, nrows, ncols, core=2, gshift=2):
    """Power core, window nrows × ncols, weights at 0x1000 (set directly), inputs at 0x4000
    (nb rows of 16 bytes), outputs at 0x8000 (rows of 512 bytes, i16)."""
    mask = 1 << core
    f = dict(bdir=direction, vt="i8", vd="i16", core=core, rd=6, rs1=5)
    batch = I.bmvm(**f) if op == "bmvm" else I.bsmp(**f)
    return [*li(1, mask), I.cpon(rs1=1), I.sync(rs1=0),
            I.ccfg(rs1=1, csel="nrows", imm16=nrows), I.ccfg(rs1=1, csel="ncols", imm16=ncols),
            I.ccfg(rs1=1, csel="gshift", imm16=gshift), I.ccfg(rs1=1, csel="insigned", imm16=1),
            *li(2, nb), I.bcount(rs1=2), *li(3, 512), *li(4, 16), I.bstride(rt=3, rs1=4, rs2=0),
            *li(5, 0x4000), *li(6, 0x8000),
            batch,
            I.sync(rs1=1), I.halt()]


@pytest.mark.parametrize("direction", ["fwd", "bwd", "rec"])
def test_bmvm_vectors_against_numpy(direction):
    rng = np.random.default_rng(7)
    nb, nrows, ncols = 5, 12, 9 if direction != "rec" else 12
    w = rng.integers(-20, 21, size=(nrows, ncols))
    nin = ncols if direction == "bwd" else nrows
    x = rng.integers(-7, 8, size=(nb, 16)).astype(np.int8)
    m = Machine()
    m.load(program(*_bmvm_words("bmvm", direction, nb, nrows, ncols)))
    m.step(3)
    m.cores[2].set_weights(w)
    m.write_mem(0x4000, x)
    assert m.run().stop == "halt"
    y = m.mem(0x8000, nb * 256, "i16").reshape(nb, 256)
    xs = x[:, :nin].astype(np.int64)
    acc = xs @ w if direction != "bwd" else xs @ w.T
    want = np.clip((acc + 2) >> 2, -127, 127)
    nout = nrows if direction != "fwd" else ncols
    if direction == "rec":   # H after mvm.rec: outputs over columns 0 … ncols−1 of the input row
        np.testing.assert_array_equal(y[:, :nrows], want[:, :nrows])
    else:
        np.testing.assert_array_equal(y[:, :nout], want)
    assert m.cores[2].counters["mvms"] == nb


def test_bsmp_counts_samples_and_gives_bits():
    rng = np.random.default_rng(1)
    m = Machine(seed=3)
    m.load(program(*_bmvm_words("bsmp", "fwd", 6, 8, 8)))
    m.step(3)
    m.cores[2].set_weights(rng.integers(-20, 21, size=(8, 8)))
    m.write_mem(0x4000, rng.integers(-7, 8, size=(6, 16)).astype(np.int8))
    assert m.run().stop == "halt"
    y = m.mem(0x8000, 6 * 256, "i16").reshape(6, 256)[:, :8]
    assert set(np.unique(y)) <= {0, 1}
    assert m.cores[2].counters["samples"] == 6 and m.cores[2].counters["mvms"] == 0


def test_bmvm_on_a_powered_off_core_faults_before_anything_changes():
    m = Machine()
    words = _bmvm_words("bmvm", "fwd", 2, 4, 4)
    m.load(program(*words[3:]))      # no cpon
    r = m.run()
    assert r.fault == "core_off"


def _rows_prog_words(op, dt, vl, rows, sd, s1, s2, dd=None):
    words = li(1, 0x100) + li(2, 0x2000) + li(3, 0x6000) + li(4, rows) + li(5, sd) + li(6, s1)
    words += li(7, s2) + li(8, vl)
    words += [I.bcount(rs1=4), I.bstride(rt=5, rs1=6, rs2=7), I.setvl(rs1=8)]
    f = dict(vt=dt, rd=1, rs1=2)
    if op in ("vadd2", "vmax2"):
        f["rs2"] = 3
    if dd is not None:
        f["vd"] = dd
    return words + [getattr(I, op)(**f), I.halt()]


def test_the_row_ops_are_encoded_as_the_table_says():
    # every row op by name, so the per-instruction vector check sees I.vadd2(…) etc.
    for w in (I.vadd2(vt="i16", rd=1, rs1=2, rs2=3), I.vmax2(vt="u8", rd=1, rs1=2, rs2=3),
              I.vcvt2(vd="u8", vt="i16", rd=1, rs1=2), I.vargmax2(vd="u8", vt="i16", rd=1, rs1=2)):
        assert w >> 24 in (0x53, 0x54, 0x55, 0x56)


@pytest.mark.parametrize("op", ["vadd2", "vmax2", "vcvt2", "vargmax2"])
@pytest.mark.parametrize("dt", ["i8", "i16", "i32"])
def test_row_strided_vector_ops_match_numpy(op, dt):
    rng = np.random.default_rng(3)
    npdt = {"i8": np.int8, "i16": np.int16, "i32": np.int32}[dt]
    es = np.dtype(npdt).itemsize
    rows, vl = 5, 7
    s1, s2 = 12 * es, 9 * es
    dd = {"vcvt2": "i16", "vargmax2": "u8"}.get(op)
    des = 1 if dd == "u8" else 2 if dd else es
    sd = 10 * des
    words = _rows_prog_words(op, dt, vl, rows, sd, s1, s2, dd)
    m = Machine()
    m.load(program(*words))
    A = rng.integers(-100, 100, size=(rows, 12)).astype(npdt)
    B = rng.integers(-100, 100, size=(rows, 9)).astype(npdt)
    m.write_mem(0x2000, A)
    m.write_mem(0x6000, B)
    m.run()
    got = m.mem(0x100, rows * sd // des, {1: "u8", 2: "i16", 4: "i32"}[des] if dd else dt)
    got = got.reshape(rows, sd // des)
    a, b = A[:, :vl].astype(np.int64), B[:, :vl].astype(np.int64)
    want = {"vadd2": lambda: a + b, "vmax2": lambda: np.maximum(a, b), "vcvt2": lambda: a,
            "vargmax2": lambda: a.argmax(axis=1)[:, None]}[op]()
    info = np.iinfo(got.dtype)
    np.testing.assert_array_equal(got[:, :want.shape[1]], np.clip(want, info.min, info.max))
    # cost t_vsetup + BN·ceil(VL / vec_lanes), after one cycle per earlier instruction
    lanes, setup = m.config["vec_lanes"], m.config["t_vsetup"]
    assert m.cycle == len(words) - 2 + setup + rows * -(-vl // lanes) + 1


def test_row_ops_check_every_row_before_writing():
    m = Machine(config={"mem_size": 1 << 16})
    words = _rows_prog_words("vadd2", "i16", 4, 3, 40000, 2, 2)   # row 1 of rd beyond memory
    m.load(program(*words))
    before = m.mem(0x100, 8, "i16").copy()
    r = m.run()
    assert r.fault == "mem_bounds"
    np.testing.assert_array_equal(m.mem(0x100, 8, "i16"), before)
    m = Machine()
    m.load(program(*_rows_prog_words("vadd2", "i16", 4, 3, 6, 3, 2)))   # odd stride of rs1
    assert m.run().fault == "mem_align"


def _sequential(mem, op, dt, dd, d, a, b, vl, rows, sd, s1, s2):
    """The row ops element by element, in order, on a bytearray: the semantics the fast paths keep."""
    fmt = {"i8": "b", "u8": "B", "i16": "h", "i32": "i"}
    lim = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767), "i32": (-2**31, 2**31 - 1)}
    import struct
    es, ds = struct.calcsize(fmt[dt]), struct.calcsize(fmt[dd])
    get = lambda addr, t: struct.unpack_from("<" + fmt[t], mem, addr)[0]  # noqa: E731
    for r in range(rows):
        for k in range(vl):
            x = get(a + r * s1 + k * es, dt)
            if op == "vadd2":
                v = x + get(b + r * s2 + k * es, dt)
            elif op == "vmax2":
                v = max(x, get(b + r * s2 + k * es, dt))
            else:
                v = x
            lo, hi = lim[dd]
            struct.pack_into("<" + fmt[dd], mem, d + r * sd + k * ds, min(max(v, lo), hi))


@pytest.mark.parametrize("op,dt,dd,doff,aoff", [
    ("vadd2", "i16", "i16", 0, 0),          # in place
    ("vadd2", "i16", "i16", 2, 0),          # destination one element after the source
    ("vadd2", "i16", "i16", 0, 2),
    ("vmax2", "i16", "i16", 6, 0),
    ("vcvt2", "i16", "u8", 0, 0),           # narrowing in place
    ("vcvt2", "u8", "i16", 0, 0),           # widening in place: writes run ahead of reads
    ("vcvt2", "i16", "i32", 4, 0)])
def test_overlapping_rows_behave_like_the_sequential_loop(op, dt, dd, doff, aoff):
    rng = np.random.default_rng(5)
    base, vl, rows, sd, s1, s2 = 0x2000, 300, 3, 700, 700, 700
    init = rng.integers(0, 256, size=4096).astype(np.uint8)
    words = li(1, base + doff) + li(2, base + aoff) + li(3, base + 64) + li(4, rows) + li(5, sd)
    words += li(6, s1) + li(7, s2) + li(8, vl) + [I.bcount(rs1=4), I.bstride(rt=5, rs1=6, rs2=7), I.setvl(rs1=8)]
    f = dict(vt=dt, rd=1, rs1=2)
    if op == "vadd2":
        words.append(I.vadd2(rs2=3, **f))
    elif op == "vmax2":
        words.append(I.vmax2(rs2=3, **f))
    else:
        words.append(I.vcvt2(vd=dd, **f))
    m = Machine()
    m.load(program(*words, I.halt()))
    m.write_mem(base, init)
    assert m.run().stop == "halt"
    want = bytearray(init.tobytes())
    _sequential(want, op, dt, dd, doff, aoff, 64, vl, rows, sd, s1, s2)
    np.testing.assert_array_equal(m.mem(base, 4096), np.frombuffer(bytes(want), np.uint8))


@settings(max_examples=120, deadline=None)
@given(op=st.sampled_from([("vadd2", "i16"), ("vmax2", "i16"), ("vcvt2", "i16"), ("vcvt2", "u8")]),
       rows=st.integers(1, 6), vl=st.integers(1, 70),
       strides=st.tuples(*[st.integers(0, 48).map(lambda k: 2 * k)] * 3),
       offs=st.tuples(*[st.integers(0, 96).map(lambda k: 2 * k)] * 3), seed=st.integers(0, 2**16))
def test_row_ops_in_any_layout_behave_like_the_sequential_loop(op, rows, vl, strides, offs, seed):
    """Rows that overlap each other or the sources, with equal or unequal strides (the i16 rows
    path takes all rows in one call when every row may, else goes row by row): always the
    element-by-element loop, row after row."""
    op, dd = op
    sd, s1, s2 = strides
    base = 0x2000
    d, a, b = (base + o for o in offs)
    init = np.random.default_rng(seed).integers(0, 256, size=1024).astype(np.uint8)
    words = li(1, d) + li(2, a) + li(3, b) + li(4, rows) + li(5, sd) + li(6, s1) + li(7, s2) + li(8, vl)
    words += [I.bcount(rs1=4), I.bstride(rt=5, rs1=6, rs2=7), I.setvl(rs1=8)]
    f = dict(vt="i16", rd=1, rs1=2)
    words.append(I.vadd2(rs2=3, **f) if op == "vadd2" else I.vmax2(rs2=3, **f) if op == "vmax2"
                 else I.vcvt2(vd=dd, **f))
    m = Machine()
    m.load(program(*words, I.halt()))
    m.write_mem(base, init)
    assert m.run().stop == "halt"
    want = bytearray(init.tobytes())
    _sequential(want, op, "i16", dd, offs[0], offs[1], offs[2], vl, rows, sd, s1, s2)
    np.testing.assert_array_equal(m.mem(base, 1024), np.frombuffer(bytes(want), np.uint8))
