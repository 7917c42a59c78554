"""Per-instruction vectors of bkey (the noise-key stride KS and advance KA of a core's batches), on
encoded words: the registers it sets, its faults, the keys a bsmp draws with against the numpy
replay of the chip's sampling noise, the key counters apart from the MVM/sample statistics, and
the fault of a key counter that would pass 2^64 − 1."""
from __future__ import annotations

import numpy as np
import pytest

from emulator import Machine
from emulator.mapper.rbm_blocks import _noise
from tests.helpers import I, li, program

KEY_MAX = 2**32 - 1


def test_bkey_sets_the_key_registers_of_its_core_only():
    m = Machine()
    m.load(program(*li(1, 7), *li(2, KEY_MAX), I.bkey(core=5, rs1=1, rs2=2), I.halt()))
    assert m.cores[5].keys == {"mvm": 0, "sample": 0, "stride": 0, "advance": 0}
    r = m.run()
    assert r.stop == "halt"
    assert m.cores[5].keys == {"mvm": 0, "sample": 0, "stride": 7, "advance": KEY_MAX}
    assert all(m.cores[c].keys["stride"] == 0 for c in range(48) if c != 5)
    assert not m.cores[5].powered            # controller-side registers: no cpon needed
    m.load(program(I.halt()))                 # a load resets them with the rest of the core
    assert m.cores[5].keys == {"mvm": 0, "sample": 0, "stride": 0, "advance": 0}


def test_bkey_costs_one_cycle():
    base = Machine().load(program(*li(1, 3), I.halt()))
    one = Machine().load(program(*li(1, 3), I.bkey(core=0, rs1=1, rs2=1), I.halt()))
    assert one.run().cycles == base.run().cycles + 1


@pytest.mark.parametrize("ks,ka,bad", [(KEY_MAX + 1, 1, KEY_MAX + 1), (1, KEY_MAX + 1, KEY_MAX + 1),
                                       (2**64 - 1, 0, 2**64 - 1)])
def test_bkey_refuses_a_stride_or_advance_past_2_32(ks, ka, bad):
    m = Machine()
    m.load(program(*li(1, ks), *li(2, ka), I.bkey(core=3, rs1=1, rs2=2), I.halt()))
    r = m.run()
    assert r.fault == "bad_config" and r.fault_detail == bad
    assert "bkey" in r.message and str(KEY_MAX) in r.message
    assert m.cores[3].keys["stride"] == 0 and m.cores[3].keys["advance"] == 0   # nothing changed
    assert r.fault_pc == 4 * (len(li(1, ks)) + len(li(2, ka)))     # pc stays on the bkey


def _bsmp_words(nb, ks, ka, core=2, nrows=6, ncols=10, noise=40, op="bsmp"):
    """Core `core` powered, window nrows × ncols, gshift 1, noise A; bkey KS, KA; one batch of nb
    i8 rows at 0x4000 (16 bytes apart) → i16 rows at 0x8000 (512 bytes apart)."""
    f = dict(bdir="fwd", vt="i8", vd="i16", core=core, rd=6, rs1=5)
    return [*li(1, 1 << core), I.cpon(rs1=1), I.sync(rs1=0),
            I.ccfg(rs1=1, csel="nrows", imm16=nrows), I.ccfg(rs1=1, csel="ncols", imm16=ncols),
            I.ccfg(rs1=1, csel="gshift", imm16=1), I.ccfg(rs1=1, csel="noise", imm16=noise),
            I.ccfg(rs1=1, csel="insigned", imm16=1),
            *li(2, nb), I.bcount(rs1=2), *li(3, 512), *li(4, 16), I.bstride(rt=3, rs1=4, rs2=0),
            *li(7, ks), *li(8, ka), I.bkey(core=core, rs1=7, rs2=8),
            *li(5, 0x4000), *li(6, 0x8000), I.bsmp(**f) if op == "bsmp" else I.bmvm(**f),
            I.sync(rs1=1), I.halt()]


@pytest.mark.parametrize("ks,ka,k0", [(0, 0, 0), (3, 2, 5), (1, 1, 0), (7, 1 + 3 * 7, 11)])
def test_bsmp_vector_b_draws_with_key_k0_plus_b_times_ks(ks, ka, k0):
    nb, nrows, ncols, core, A = 4, 6, 10, 2, 40
    rng = np.random.default_rng(ks + 10 * ka)
    w = rng.integers(-20, 21, size=(nrows, ncols))
    x = rng.integers(-7, 8, size=(nb, 16)).astype(np.int8)
    m = Machine(seed=9)
    m.load(program(*_bsmp_words(nb, ks, ka, core, nrows, ncols, A)))
    m.step(3)
    m.cores[core].set_weights(w)
    m._native.m.core[core].k_smp = k0          # as if k0 samples had been keyed before
    m.write_mem(0x4000, x)
    assert m.run().stop == "halt"
    y = m.mem(0x8000, nb * 256, "i16").reshape(nb, 256)[:, :ncols]
    acc = x[:, :nrows].astype(np.int64) @ w            # gain 1, offset 0, gshift 1: z = acc
    stride = ks or 1
    for b in range(nb):
        u = _noise(9, core, k0 + b * stride, np.arange(ncols), A << 1)
        np.testing.assert_array_equal(y[b], (acc[b] + u > 0).astype(np.int16), err_msg=f"vector {b}")
    keys = m.cores[core].keys
    assert keys["sample"] == k0 + (ka or nb) and keys["mvm"] == 0
    # the statistic stays the number of samples issued, whatever the keys
    assert m.cores[core].counters["samples"] == nb and m.cores[core].counters["mvms"] == 0


def test_separate_counters_key_mvms_and_samples():
    """A bmvm advances only the MVM key counter, a bsmp only the sample one."""
    m = Machine()
    m.load(program(*_bsmp_words(3, 2, 5, op="bmvm")))
    assert m.run().stop == "halt"
    assert m.cores[2].keys["mvm"] == 5 and m.cores[2].keys["sample"] == 0
    assert m.cores[2].counters["mvms"] == 3


@pytest.mark.parametrize("op", ["bmvm", "bsmp"])
def test_a_key_counter_that_would_pass_2_64_faults_before_anything_changes(op):
    m = Machine()
    m.load(program(*_bsmp_words(4, 1, 0, op=op)))
    m.step(3)
    field = "k_smp" if op == "bsmp" else "k_mvm"
    k0 = 2**64 - 3                              # vector 3 would draw with 2^64: the counter wraps
    setattr(m._native.m.core[2], field, k0)
    r = m.run()
    assert r.fault == "bad_config" and r.fault_detail == k0
    assert f"{op} on core 2" in r.message and "2^64" in r.message
    assert m.cores[2].counters["mvms"] == m.cores[2].counters["samples"] == 0
    assert m.mem(0x8000, 8, "u8").tolist() == [0] * 8


def test_the_last_keys_below_2_64_are_usable():
    """k0 + (BN − 1)·KS and k0 + KA may reach 2^64 − 1 exactly."""
    m = Machine()
    m.load(program(*_bsmp_words(3, 1, 2)))
    m.step(3)
    m._native.m.core[2].k_smp = 2**64 - 3
    assert m.run().stop == "halt"
    assert m.cores[2].keys["sample"] == 2**64 - 1


@pytest.mark.parametrize("op", ["mvm", "smp"])
def test_a_plain_mvm_or_smp_at_the_last_key_faults_instead_of_wrapping(op):
    """Only a snapshot can put a key counter at 2^64 − 1; the next mvm/smp faults (as a batch
    that would pass it does) instead of wrapping to keys already used."""
    m = Machine().load(f"li x1, 1\ncpon x1\n{op}.fwd x1\nsync x0\nhalt\n")
    m.step(2)
    setattr(m._native.m.core[0], "k_smp" if op == "smp" else "k_mvm", 2**64 - 1)
    r = m.run()
    assert r.fault == "bad_config" and "2^64 − 1" in r.message and "reuse keys" in r.message
    assert m.cores[0].counters["mvms"] == m.cores[0].counters["samples"] == 0
