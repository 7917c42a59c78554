"""Vector unit: per-instruction vectors for every vector instruction and element type, property
tests against a Python-integer model of saturating element-wise semantics, overlap order,
and the cost t_vsetup + ceil(VL / vec_lanes)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import I, machine, program

DT = {"i8": np.int8, "i16": np.int16, "i32": np.int32, "u8": np.uint8}
A, B, D = 0x1000, 0x2000, 0x3000   # source, second source, destination


def rng_of(dt):
    info = np.iinfo(DT[dt])
    return int(info.min), int(info.max)


def sat(v: int, dt: str) -> int:
    lo, hi = rng_of(dt)
    return max(lo, min(hi, v))


def run_vec(word, vl, a=None, b=None, regs=None, dt="i16", dd=None, config=None):
    """setvl x15; word; halt — with x1 = A, x2 = B (or a scalar), x3 = D."""
    m = machine(config)
    m.load(program(I.setvl(rs1=15), word, I.halt()))
    if a is not None:
        m.write_mem(A, np.asarray(a, dtype=DT[dt]))
    if b is not None:
        m.write_mem(B, np.asarray(b, dtype=DT[dt]))
    m.set_reg(15, vl)
    for r, v in {1: A, 2: B, 3: D, **(regs or {})}.items():
        m.set_reg(r, v)
    m.step(2)
    return m


def cost(vl, lanes=16, setup=2, work=1):
    return setup + -(-work * vl // lanes)


def out(m, n, dt):
    return [int(v) for v in m.mem(D, n, dt)]


# ---------------------------------------------------------------- per-instruction vectors

def test_vadd_saturates_i8():
    m = run_vec(I.vadd(vt="i8", rd=3, rs1=1, rs2=2), 3, [100, -100, 5], [100, -100, -7], dt="i8")
    assert out(m, 3, "i8") == [127, -128, -2]
    assert m.cycle == 1 + cost(3)


def test_vsigm_vtanh_knots_symmetry_and_saturation():
    # x / 2^8: 1.0 is knot 4 of σ (step 1/4) and knot 8 of tanh (step 1/8); beyond the last knot flat
    m = run_vec(I.vsigm(vt="i16", rd=3, rs1=1, vimm=8), 5, [0, 256, -256, 2560, 32], dt="i16")
    assert out(m, 5, "i16") == [8192, 11978, 16384 - 11978, 16379, 8192 + (9211 - 8192 + 1) // 2]   # half-way rounds up
    assert m.cycle == 1 + cost(5)
    m = run_vec(I.vtanh(vt="i32", rd=3, rs1=1, vimm=8), 4, [0, 256, -256, 1 << 20], dt="i32")
    assert out(m, 4, "i32") == [0, 12478, -12478, 16373]


def test_vsub_u8_saturates_at_zero():
    m = run_vec(I.vsub(vt="u8", rd=3, rs1=1, rs2=2), 2, [5, 200], [7, 100], dt="u8")
    assert out(m, 2, "u8") == [0, 100]


def test_vmul_i16():
    m = run_vec(I.vmul(vt="i16", rd=3, rs1=1, rs2=2), 3, [300, -300, 7], [300, 300, -3])
    assert out(m, 3, "i16") == [32767, -32768, -21]


def test_vmax_vmin_i32():
    m = run_vec(I.vmax(vt="i32", rd=3, rs1=1, rs2=2), 2, [1, -5], [-1, 3], dt="i32")
    assert out(m, 2, "i32") == [1, 3]
    m = run_vec(I.vmin(vt="i32", rd=3, rs1=1, rs2=2), 2, [1, -5], [-1, 3], dt="i32")
    assert out(m, 2, "i32") == [-1, -5]


def test_vmuls_and_vadds_take_a_scalar_register():
    m = run_vec(I.vmuls(vt="i16", rd=3, rs1=1, rs2=4), 3, [2, -2, 20000], regs={4: (-3) & (2**64 - 1)})
    assert out(m, 3, "i16") == [-6, 6, -32768]
    m = run_vec(I.vadds(vt="i8", rd=3, rs1=1, rs2=4), 2, [100, -100], dt="i8", regs={4: 2**62})
    assert out(m, 2, "i8") == [127, 127]


def test_vrelu():
    m = run_vec(I.vrelu(vt="i16", rd=3, rs1=1), 3, [-4, 0, 9])
    assert out(m, 3, "i16") == [0, 0, 9]


def test_vsra_rounds_half_up():
    m = run_vec(I.vsra(vt="i16", rd=3, rs1=1, vimm=2), 5, [5, 6, -5, -6, -7])
    assert out(m, 5, "i16") == [1, 2, -1, -1, -2]   # (x + 2) >> 2
    m = run_vec(I.vsra(vt="i16", rd=3, rs1=1, vimm=0), 2, [5, -6])
    assert out(m, 2, "i16") == [5, -6]


def test_vsll_saturates():
    m = run_vec(I.vsll(vt="i16", rd=3, rs1=1, vimm=4), 3, [3, 4096, -4096])
    assert out(m, 3, "i16") == [48, 32767, -32768]
    m = run_vec(I.vsll(vt="i32", rd=3, rs1=1, vimm=63), 3, [0, 1, -1], dt="i32")
    assert out(m, 3, "i32") == [0, 2**31 - 1, -2**31]


def test_vclip_is_a_sign_magnitude_code():
    m = run_vec(I.vclip(vt="i16", rd=3, rs1=1, vbits=4), 4, [9, -9, 3, -8])
    assert out(m, 4, "i16") == [7, -7, 3, -7]


def test_vclipu_requantises_unsigned():
    m = run_vec(I.vclipu(vt="i16", rd=3, rs1=1, vbits=3), 3, [-2, 5, 9])
    assert out(m, 3, "i16") == [0, 5, 7]


def test_vcvt_saturates_to_the_destination_type():
    m = run_vec(I.vcvt(vd="i8", vt="i16", rd=3, rs1=1), 3, [300, -300, 5])
    assert out(m, 3, "i8") == [127, -128, 5]
    m = run_vec(I.vcvt(vd="u8", vt="i16", rd=3, rs1=1), 2, [-3, 256])
    assert out(m, 2, "u8") == [0, 255]
    m = run_vec(I.vcvt(vd="i32", vt="i8", rd=3, rs1=1), 2, [-3, 100], dt="i8")
    assert out(m, 2, "i32") == [-3, 100]


def test_vpmax_groups():
    # groups of 2: out[k·2+i] = max(in[4k+i], in[4k+2+i])
    m = run_vec(I.vpmax(vt="i16", rd=3, rs1=1, rs2=4), 4, [1, 8, 5, 2, 0, -1, -3, 4], regs={4: 2})
    assert out(m, 4, "i16") == [5, 8, 0, 4]
    assert m.cycle == 1 + cost(4, work=2)


def test_vfill_saturates_the_scalar():
    m = run_vec(I.vfill(vt="i8", rd=3, rs1=4), 3, regs={4: 1000}, dt="i8")
    assert out(m, 3, "i8") == [127] * 3


def test_vargmax_first_largest_and_vsum():
    m = run_vec(I.vargmax(vt="i16", rd=5, rs1=1), 5, [3, 9, -2, 9, 1])
    assert int(m.regs[5]) == 1
    m = run_vec(I.vsum(vt="i8", rd=5, rs1=1), 4, [-128, -128, 127, 1], dt="i8")
    assert int(m.regs[5]) == -128
    m = run_vec(I.vargmax(vt="i16", rd=5, rs1=1), 0, regs={5: 77})
    assert int(m.regs[5]) == 0


def test_vl_zero_touches_nothing_and_costs_setup():
    m = run_vec(I.vadd(vt="i32", rd=3, rs1=1, rs2=2), 0, regs={1: 10**9, 2: 10**9, 3: 10**9})
    assert m.cycle == 1 + 2


def test_elements_are_processed_in_increasing_order():
    # destination one element above the source: each result feeds the next read
    m = run_vec(I.vadds(vt="i16", rd=3, rs1=1, rs2=4), 4, [1, 0, 0, 0, 0],
                regs={3: A + 2, 4: 10})
    assert [int(v) for v in m.mem(A, 5, "i16")] == [1, 11, 21, 31, 41]


@pytest.mark.parametrize("vl,lanes", [(1, 16), (16, 16), (17, 16), (256, 16), (100, 7)])
def test_cost_formula(vl, lanes):
    m = run_vec(I.vrelu(vt="i8", rd=3, rs1=1), vl, [0] * vl, dt="i8", config={"vec_lanes": lanes})
    assert m.cycle == 1 + cost(vl, lanes)


# ---------------------------------------------------------------- properties

BINARY = {
    "vadd": lambda a, b: a + b, "vsub": lambda a, b: a - b, "vmul": lambda a, b: a * b,
    "vmax": max, "vmin": min,
}


def elems(dt, n):
    lo, hi = rng_of(dt)
    return st.lists(st.integers(lo, hi), min_size=n, max_size=n)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(BINARY)), st.sampled_from(sorted(DT)), st.integers(0, 40), st.data())
def test_binary_ops_match_the_integer_model(op, dt, vl, data):
    a, b = data.draw(elems(dt, vl)), data.draw(elems(dt, vl))
    m = run_vec(getattr(I, op)(vt=dt, rd=3, rs1=1, rs2=2), vl, a or None, b or None, dt=dt)
    assert out(m, vl, dt) == [sat(BINARY[op](x, y), dt) for x, y in zip(a, b)]
    assert m.cycle == 1 + cost(vl)


SCALAR = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["vmuls", "vadds"]), st.sampled_from(sorted(DT)), st.integers(1, 20),
       SCALAR, st.data())
def test_scalar_ops_match_the_integer_model(op, dt, vl, s, data):
    a = data.draw(elems(dt, vl))
    m = run_vec(getattr(I, op)(vt=dt, rd=3, rs1=1, rs2=4), vl, a, dt=dt, regs={4: s & (2**64 - 1)})
    f = (lambda x: x * s) if op == "vmuls" else (lambda x: x + s)
    assert out(m, vl, dt) == [sat(f(x), dt) for x in a]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(DT)), st.integers(1, 20), st.integers(0, 63), st.data())
def test_shifts_match_the_integer_model(dt, vl, sh, data):
    a = data.draw(elems(dt, vl))
    m = run_vec(I.vsra(vt=dt, rd=3, rs1=1, vimm=sh), vl, a, dt=dt)
    assert out(m, vl, dt) == [sat((x + (1 << (sh - 1))) >> sh if sh else x, dt) for x in a]
    m = run_vec(I.vsll(vt=dt, rd=3, rs1=1, vimm=sh), vl, a, dt=dt)
    assert out(m, vl, dt) == [sat(x << sh, dt) for x in a]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(DT)), st.integers(1, 20), st.integers(1, 32), st.data())
def test_clips_match_the_integer_model(dt, vl, bits, data):
    a = data.draw(elems(dt, vl))
    lim = 2 ** (bits - 1) - 1
    m = run_vec(I.vclip(vt=dt, rd=3, rs1=1, vbits=bits), vl, a, dt=dt)
    assert out(m, vl, dt) == [sat(max(-lim, min(lim, x)), dt) for x in a]
    m = run_vec(I.vclipu(vt=dt, rd=3, rs1=1, vbits=bits), vl, a, dt=dt)
    assert out(m, vl, dt) == [sat(max(0, min(2**bits - 1, x)), dt) for x in a]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(DT)), st.sampled_from(sorted(DT)), st.integers(1, 20), st.data())
def test_vcvt_matches_the_integer_model(src, dst, vl, data):
    a = data.draw(elems(src, vl))
    m = run_vec(I.vcvt(vd=dst, vt=src, rd=3, rs1=1), vl, a, dt=src)
    assert out(m, vl, dst) == [sat(x, dst) for x in a]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(DT)), st.integers(1, 12), st.integers(1, 5), st.data())
def test_vpmax_matches_the_integer_model(dt, vl, g, data):
    n_in = (vl - 1) + ((vl - 1) // g + 1) * g + 1
    a = data.draw(elems(dt, n_in))
    m = run_vec(I.vpmax(vt=dt, rd=3, rs1=1, rs2=4), vl, a, dt=dt, regs={4: g})
    want = [max(a[2 * (o // g) * g + o % g], a[(2 * (o // g) + 1) * g + o % g]) for o in range(vl)]
    assert out(m, vl, dt) == want


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(DT)), st.integers(1, 80), st.data())   # > 32: several i16 steps
def test_reductions_match_the_integer_model(dt, vl, data):
    a = data.draw(elems(dt, vl))
    m = run_vec(I.vsum(vt=dt, rd=5, rs1=1), vl, a, dt=dt)
    assert int(m.regs[5]) == sum(a)
    m = run_vec(I.vargmax(vt=dt, rd=5, rs1=1), vl, a, dt=dt)
    assert int(m.regs[5]) == a.index(max(a))


# ---------------------------------------------------------------- the i16 fast path (vkernel.c)

I16_OPS = {
    "vadd": (2, lambda x, y, p: x + y), "vsub": (2, lambda x, y, p: x - y),
    "vmax": (2, lambda x, y, p: max(x, y)), "vmin": (2, lambda x, y, p: min(x, y)),
    "vrelu": (1, lambda x, y, p: max(x, 0)), "vadds": (1, lambda x, y, p: x + p),
    "vsra": (1, lambda x, y, p: (x + (1 << (p - 1))) >> p if p else x),
    "vclip": (1, lambda x, y, p: max(-(2 ** (p - 1) - 1), min(2 ** (p - 1) - 1, x))),
    "vclipu": (1, lambda x, y, p: max(0, min(2**p - 1, x))),
}


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(sorted(I16_OPS)), st.integers(0, 200), st.integers(-70000, 70000), st.integers(0, 31),
       st.sampled_from(["apart", "d=a", "d=b", "d=a+1", "d=a-3", "d=b+2"]), st.data())
def test_i16_ops_equal_the_sequential_loop_in_every_placement(op, vl, s, p, placement, data):
    """Whole 64-element blocks, partial blocks, in place and overlapping: the fast path where it
    applies and the element loop where it does not give the sequential loop's memory."""
    n_src, f = I16_OPS[op]
    region = data.draw(st.lists(st.integers(-32768, 32767), min_size=1024, max_size=1024))
    a, b = 100, 400
    d = {"apart": 700, "d=a": a, "d=b": b, "d=a+1": a + 1, "d=a-3": a - 3, "d=b+2": b + 2}[placement]
    if op in ("vclip", "vclipu"):
        p = max(p, 1)
    want = list(region)
    for k in range(vl):   # the architectural semantics: element by element, in order
        want[d + k] = sat(f(want[a + k], want[b + k], s if op == "vadds" else p), "i16")
    word = {"vadds": lambda: I.vadds(vt="i16", rd=3, rs1=1, rs2=4),
            "vsra": lambda: I.vsra(vt="i16", rd=3, rs1=1, vimm=p),
            "vclip": lambda: I.vclip(vt="i16", rd=3, rs1=1, vbits=p),
            "vclipu": lambda: I.vclipu(vt="i16", rd=3, rs1=1, vbits=p)}.get(
        op, lambda: getattr(I, op)(vt="i16", rd=3, rs1=1, rs2=2) if n_src == 2 else getattr(I, op)(vt="i16", rd=3, rs1=1))()
    m = machine()
    m.load(program(I.setvl(rs1=15), word, I.halt()))
    m.write_mem(A, np.asarray(region, dtype=np.int16))
    m.set_reg(15, vl)
    for r, v in {1: A + 2 * a, 2: A + 2 * b, 3: A + 2 * d, 4: s & (2**64 - 1)}.items():
        m.set_reg(r, v)
    m.step(2)
    assert [int(v) for v in m.mem(A, 1024, "i16")] == want


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(DT)), st.integers(60, 200), st.data())
def test_vcvt_from_i16_in_whole_blocks(dst, vl, data):
    a = data.draw(elems("i16", vl))
    m = run_vec(I.vcvt(vd=dst, vt="i16", rd=3, rs1=1), vl, a, dt="i16")
    assert out(m, vl, dst) == [sat(x, dst) for x in a]


@pytest.mark.parametrize("simd", ["portable", "avx2"])
def test_i16_properties_hold_on_every_simd_level(simd):
    """The same two property tests with NR48_SIMD capped (read once per process, hence a child
    pytest): the block loops alone, and the AVX2 lanes with block tails, give the sequential
    results as the AVX-512 masked lanes of this process do (a host without a level runs the
    next lower one)."""
    import os
    import subprocess
    import sys

    tests = [f"{__file__}::test_i16_ops_equal_the_sequential_loop_in_every_placement",
             f"{__file__}::test_vcvt_from_i16_in_whole_blocks"]
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                       env=dict(os.environ, NR48_SIMD=simd), capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]
