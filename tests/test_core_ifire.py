"""Integrate-and-fire mode (ifrun / ifstep / ifclr) against the numpy reference
(tests/reference.py), bit for bit in the ideal model; the extended configuration fields that
set it (ccfgr with the csel escape); timing, energy events, faults and the analog path."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference as ref
from tests.helpers import I, li, machine, params, program
from tests.test_core_mvm import core_configs, random_core

P = params()
G_LSB = P["g_lsb_ns"]


@st.composite
def if_configs(draw, direction):
    cfg = draw(core_configs(direction))
    cfg["gain"] = draw(st.integers(1, 64))
    cfg["gshift"] = draw(st.integers(0, 12))
    cfg["offset"] = draw(st.integers(-40, 40))
    cfg["ifthr"] = draw(st.one_of(st.integers(1, 64), st.integers(1, 32767)))
    cfg["ifleak"] = draw(st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 32767)))
    cfg["ifsteps"] = draw(st.integers(1, 40))
    return cfg


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["fwd", "bwd", "rec"]), st.data(), st.integers(0, 2**32 - 1), st.integers(0, 47))
def test_ifrun_matches_the_reference(direction, data, seed, core):
    cfg = data.draw(if_configs(direction))
    m = machine()
    m.load(program(I.ifrun(dir=direction, rs1=1), I.sync(rs1=0), I.halt()))
    g = random_core(m, core, seed, False)
    c = m.cores[core]
    c.set_config(**cfg)
    m.set_reg(1, 1 << core)
    W = ref.weights(g, G_LSB)
    lo, want, u, spikes = ref.ifrun(W, c.h.copy(), c.v.copy(), cfg, direction)
    m.step(1)
    assert c.busy_until - (m.cycle - 1) == ref.if_cycles(cfg, P, cfg["ifsteps"])
    assert c.phase == "fire"
    m.run()
    got = getattr(c, ref.output_register(direction))
    n = len(want)
    assert (got[lo:lo + n] == want).all()
    assert (c.spike_counts[lo:lo + n] == want).all()
    assert (c.charges[lo:lo + n] == u).all()
    ev = c.events
    assert ev["spikes"] == spikes and ev["if_steps"] == cfg["ifsteps"] * n and ev["if_ops"] == 1


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["fwd", "bwd"]), st.data(), st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_ifstep_sequence_keeps_the_charge_and_emits_spike_vectors(direction, data, seed, nsteps):
    cfg = data.draw(if_configs(direction))
    m = machine()
    step = I.ifstep(dir=direction, rs1=1)
    m.load(program(I.ifclr(rs1=1), *([step, I.sync(rs1=0)] * nsteps), I.halt()))
    g = random_core(m, 0, seed, False)
    c = m.cores[0]
    c.set_config(**cfg)
    m.set_reg(1, 1)
    W = ref.weights(g, G_LSB)
    h0, v0 = c.h.copy(), c.v.copy()
    lo, acc = ref.accumulate(W, h0, v0, cfg, direction)
    y = ref.preactivation(acc, cfg)
    u = cnt = np.zeros(len(y), dtype=np.int64)
    m.step(1)                                       # ifclr
    reg = ref.output_register(direction)
    for _ in range(nsteps):
        m.step(1)
        assert c.busy_until - (m.cycle - 1) == ref.if_cycles(cfg, P, 1)
        m.step(1)                                   # sync: the spike vector lands
        u, cnt, fired, _ = ref.if_steps(y, u, cnt, cfg, 1)
        if direction == "bwd":                      # outputs into H never feed a bwd input (V)
            assert (getattr(c, reg)[lo:lo + len(y)] == fired).all()
        else:
            assert (c.v[lo:lo + len(y)] == fired).all()
        assert (c.charges[lo:lo + len(y)] == u).all()
        assert (c.spike_counts[lo:lo + len(y)] == cnt).all()


def test_leak_and_partial_reset_by_hand():
    # y = 4, 4, 1 per step; θ = 10, leak 1: the third neuron's charge never grows
    m = machine()
    m.load(program(I.ifrun(dir="fwd", rs1=1), I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=4, ncols=3, inbits=4, ifthr=10, ifsteps=20, ifleak=1)
    c.set_weights(np.array([[1, 2, -1], [0, 1, 1], [1, 0, 0], [2, 1, 0]]))
    c.h[:4] = [1, 2, 3, 0]
    m.set_reg(1, 1)
    m.run()
    # u: 4, 7, 10→0 (fire), … every third step fires: 6 spikes in 20 steps, 2 left → 3+4 = 7
    assert list(c.v[:3]) == [6, 6, 0]
    assert list(c.charges[:3]) == [7.0, 7.0, 1.0]


def test_extended_fields_are_set_by_ccfgr_with_the_escape_and_checked():
    m = machine()
    words = [*li(1, 1), *li(2, 40), I.ccfgr(csel="ifthr", rs1=1, rs2=2),
             *li(2, 7), I.ccfgr(csel="ifleak", rs1=1, rs2=2),
             *li(2, 300), I.ccfgr(csel="ifsteps", rs1=1, rs2=2),
             *li(2, 1024), I.ccfgr(csel="ifsteps", rs1=1, rs2=2), I.halt()]
    m.load(program(*words))
    m.cores[0].powered = True
    r = m.run()
    k = m.cores[0].config
    assert (k["ifthr"], k["ifleak"], k["ifsteps"]) == (40, 7, 300)
    assert r.fault == "bad_config"
    assert "ccfgr.ifsteps value 1024 is outside 1..1023" in r.message


def test_words_the_escape_does_not_name_are_illegal():
    from asm.disasm import disassemble_word
    base = I.ccfgr(csel=0, rs1=1, rs2=2)
    assert disassemble_word(base | 5).startswith(".word")           # direct code, xsel ≠ 0
    assert disassemble_word(base | 15 << 20 | 9).startswith(".word")  # extended field 25: none
    assert disassemble_word(base | 15 << 20 | 2) == "ccfgr.ifsteps x1, x2"
    assert disassemble_word(base | 15 << 20 | 3) == "ccfgr.opdev x1, x2"
    for word in (base | 5, base | 15 << 20 | 9):
        m = machine()
        m.load(program(word, I.halt()))
        assert m.run().fault == "illegal"


@pytest.mark.parametrize("line, message", [
    ("ccfg.ifthr x1, 5", "ifthr is an extended configuration field (code 16), which ccfg cannot select; "
                         "set it from a register with ccfgr.ifthr"),
])
def test_assembler_refuses_extended_fields_outside_ccfgr(line, message):
    from asm import assemble
    from asm.errors import AsmError
    with pytest.raises(AsmError, match=message.replace("(", r"\(").replace(")", r"\)")):
        assemble(line + "\nhalt\n")


def test_ifclr_and_power_cycle_clear_the_neurons():
    m = machine()
    m.load(program(I.ifstep(dir="fwd", rs1=1), I.sync(rs1=0), I.ifclr(rs1=1), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=1, ncols=2, ifthr=5)
    c.set_weights(np.array([[3, 7]]))
    c.h[0] = 1
    m.set_reg(1, 1)
    m.step(2)
    assert list(c.v[:2]) == [0, 1] and list(c.charges[:2]) == [3.0, 2.0]
    m.step(1)
    assert not c.charges.any() and not c.spike_counts.any()


def test_faults_name_the_core():
    m = machine()
    m.load(program(I.ifrun(dir="fwd", rs1=1), I.halt()))
    m.set_reg(1, 1 << 3)
    assert m.run().fault == "core_off"
    m = machine()
    m.load(program(I.ifstep(dir="rec", rs1=1), I.halt()))
    m.cores[0].powered = True
    m.cores[0].set_config(ncols=200)
    m.set_reg(1, 1)
    r = m.run()
    assert r.fault == "bad_window" and "ifstep.rec on core 0" in r.message


def _rates(config):
    """Spike counts of 8 neurons whose weight columns have equal line totals (16 weights ±2,
    8 … 15 of them positive), so the analog sensing gain is the same for all: y = 0, 12, … 84."""
    m = machine(config)
    m.load(program(I.ifrun(dir="fwd", rs1=1), I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=16, ncols=8, inbits=4, ifthr=100, ifsteps=64)
    w = np.where(np.arange(16)[:, None] < np.arange(8, 16)[None, :], 2, -2)
    c.set_weights(w)
    c.h[:16] = 3
    m.set_reg(1, 1)
    m.run()
    return c.v[:8].astype(int)


def test_analog_ifrun_follows_the_ideal_rate_and_integrates_noise():
    want = _rates({})
    assert list(want) == [64 * y // 100 for y in range(0, 85, 12)]
    quiet = _rates({"model": "analog", "read_noise": 0.0, "seed": 1})
    noisy = _rates({"model": "analog", "read_noise": 0.05, "seed": 1})
    again = _rates({"model": "analog", "read_noise": 0.05, "seed": 1})
    assert np.abs(quiet - want).max() <= 1
    assert np.abs(noisy - want).max() <= 6
    assert (noisy == again).all()                   # deterministic per seed
    assert not (noisy == quiet).all()               # and the per-step noise reaches the counts


def test_energy_report_counts_spikes_apart():
    m = machine()
    m.load(program(I.ifrun(dir="fwd", rs1=1), I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=2, ncols=2, ifthr=3, ifsteps=10)
    c.set_weights(np.array([[1, 0], [1, 0]]))
    c.h[:2] = [1, 2]
    m.set_reg(1, 1)
    m.run()
    rep = m.energy_report()
    assert rep["spikes"] == 10 and rep["if_ops"] == 1
    ev = rep["cores"]["0"]["events"]
    assert ev["line_pulses"] == 0 and ev["if_line_pulses"] > 0
    cfg = m.config
    neuron = (ev["if_integrations"] * cfg["e_integ_pj"] + ev["if_steps"] * cfg["e_compare_pj"]
              + ev["spikes"] * cfg["e_spike_pj"] + ev["samples"] * cfg["e_sample_pj"])
    assert rep["cores"]["0"]["energy_pj"]["neuron"] == pytest.approx(neuron)
    # each of the 10 steps is an input stage: inbits 4 (3 magnitude bits, one phase) on 2 rows
    # of pairs = 4 WL rows, 4 driven lines and 2 sensing neurons
    mbits = 3 * cfg["bit_phases"]
    assert ev["wl_switches"] == 10 * 4 * mbits and ev["wl_phases"] == 10 * 4
    assert ev["input_pulses"] == 10 * 4 * mbits and ev["samples"] == 10 * 2 * mbits
    assert rep["cores"]["0"]["energy_pj"]["wl"] == pytest.approx(
        ev["wl_switches"] * cfg["e_wl_switch_pj"] + ev["wl_phases"] * cfg["e_wl_phase_pj"])


def test_snapshot_restores_the_neuron_state():
    m = machine()
    step = I.ifstep(dir="fwd", rs1=1)
    m.load(program(step, I.sync(rs1=0), step, I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=1, ncols=3, ifthr=4)
    c.set_weights(np.array([[1, 2, 3]]))
    c.h[0] = 1
    m.set_reg(1, 1)
    m.step(2)
    snap = m.snapshot()
    m.run()
    after = (c.charges.copy(), c.spike_counts.copy(), c.v.copy())
    m.restore(snap)
    m.run()
    assert all((a == b).all() for a, b in zip(after, (c.charges, c.spike_counts, c.v)))
