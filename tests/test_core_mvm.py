"""MVM and sample numerics against the numpy reference (tests/reference.py), bit for bit:
every direction × input bits 1–8 × signed/unsigned × output bits 1–8 × readout × random
windows × gains/offsets, random conductances (including rounding ties), and the data-dependent
MVM duration."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference as ref
from tests.helpers import I, machine, params, program

P = params()
G_LSB = P["g_lsb_ns"]


@st.composite
def core_configs(draw, direction):
    row0 = draw(st.integers(0, 127))
    nrows = draw(st.integers(1, 128 - row0))
    cmax = 128 if direction == "rec" else 256
    col0 = draw(st.integers(0, cmax - 1))
    ncols = draw(st.integers(1, cmax - col0))
    gshift = draw(st.integers(0, 31))
    return {
        "inbits": draw(st.integers(1, 8)), "insigned": draw(st.integers(0, 1)),
        "outbits": draw(st.integers(1, 8)), "outsigned": draw(st.integers(0, 1)),
        "readout": draw(st.integers(0, 2)), "stepmax": draw(st.integers(1, 255)),
        "pmul": draw(st.integers(1, 64)),
        # gains that keep outputs inside the range often enough to be interesting
        "gain": draw(st.one_of(st.integers(1, 4), st.integers(1, 32767))), "gshift": gshift,
        "offset": draw(st.one_of(st.integers(-20, 20), st.integers(-32768, 32767))),
        "row0": row0, "nrows": nrows, "col0": col0, "ncols": ncols,
        "noise": draw(st.one_of(st.integers(0, 8), st.integers(0, 32767))),
    }


def random_core(m, core, seed, ties):
    """Random conductances (optionally on a 156-nS grid, which makes rounding ties), H and V."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 65536, size=(256, 256), dtype=np.uint16)
    if ties:
        g = (rng.integers(0, 256, size=(256, 256)) * (G_LSB // 2)).astype(np.uint16)
    c = m.cores[core]
    c.powered = True
    c.set_conductances(g)
    c.h[:] = rng.integers(-300, 300, size=256)
    c.v[:] = rng.integers(-300, 300, size=256)
    return g


def run_on(m, core, word):
    m.load(program(word, I.sync(rs1=0), I.halt()))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["fwd", "bwd", "rec"]), st.data(), st.integers(0, 2**32 - 1), st.booleans(),
       st.integers(0, 47))
def test_mvm_matches_the_reference(direction, data, seed, ties, core):
    cfg = data.draw(core_configs(direction))
    m = machine()
    run_on(m, core, I.mvm(dir=direction, rs1=1))
    g = random_core(m, core, seed, ties)
    c = m.cores[core]
    c.set_config(**cfg)
    m.set_reg(1, 1 << core)
    h0, v0 = c.h.copy(), c.v.copy()
    W = ref.weights(g, G_LSB)
    assert (c.weights == W).all()
    lo, want, nsteps = ref.mvm(W, h0, v0, cfg, direction)
    m.step(1)
    assert c.busy_until == ref.mvm_cycles(cfg, P, nsteps)
    m.run()
    reg = ref.output_register(direction)
    got = getattr(c, reg)
    assert (got[lo:lo + len(want)] == want).all()
    before = h0 if reg == "h" else v0
    untouched = np.ones(256, bool)
    untouched[lo:lo + len(want)] = False
    assert (got[untouched] == before[untouched]).all()
    other = c.v if reg == "h" else c.h
    assert (other == (v0 if reg == "h" else h0)).all()


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["fwd", "bwd", "rec"]), st.data(), st.integers(0, 2**32 - 1),
       st.integers(0, 47), st.integers(0, 2**64 - 1))
def test_sample_matches_the_reference(direction, data, seed, core, rng_seed):
    cfg = data.draw(core_configs(direction))
    m = machine({"seed": rng_seed})
    word = I.smp(dir=direction, rs1=1)
    m.load(program(word, I.sync(rs1=0), word, I.sync(rs1=0), I.halt()))
    g = random_core(m, core, seed, False)
    c = m.cores[core]
    c.set_config(**cfg)
    m.set_reg(1, 1 << core)
    W = ref.weights(g, G_LSB)
    for n in range(2):    # the second sample draws fresh noise: the counter keys the RNG
        h0, v0 = c.h.copy(), c.v.copy()
        lo, want = ref.sample(W, h0, v0, cfg, direction, rng_seed, core, n)
        m.step(1)
        assert c.busy_until - (m.cycle - 1) == ref.mvm_cycles(cfg, P, is_sample=True)
        m.step(1)
        got = getattr(c, ref.output_register(direction))
        assert (got[lo:lo + len(want)] == want).all()
    assert c.counters["samples"] == 2 and c.counters["mvms"] == 0


def test_sample_noise_is_roughly_uniform():
    # a zero pre-activation with noise A fires when u > 0: probability A / (2A + 1)
    m = machine({"seed": 7})
    m.load(program(I.smp(dir="fwd", rs1=1), I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(noise=10)
    m.set_reg(1, 1)
    m.run()
    assert abs(c.v.mean() - 10 / 21) < 0.1


def test_two_pass_timing_and_pulse_multiplier():
    cfg = {"inbits": 8, "insigned": 0, "outbits": 6, "readout": 0, "pmul": 3}
    m = machine({"base": "board"})
    m.load(program(I.mvm(dir="fwd", rs1=1), I.halt()))
    m.cores[0].powered = True
    m.cores[0].set_config(**cfg)
    m.set_reg(1, 1)
    m.step(1)
    k = dict(m.config)   # board: two rounds per bit, 4 LSBs then the rest, full SAR per pass
    one_pass = k["t_cds"] + sum(2 * 3 * 2**b * (k["t_sample"] + k["t_integ"]) for b in range(4)) \
        + 6 * k["t_comp"]
    assert m.cores[0].busy_until == k["neuron_div"] * 2 * one_pass
    # the phase schedule: integrate, readout, integrate, readout
    c = m.cores[0]
    first_readout = k["neuron_div"] * (one_pass - 6 * k["t_comp"])
    assert c.phase_at(first_readout - 1) == "integrate"
    assert c.phase_at(first_readout) == "readout"
    assert c.phase_at(k["neuron_div"] * one_pass) == "integrate"
    assert c.phase_at(c.busy_until - 1) == "readout"
    assert c.phase_at(c.busy_until) == "idle"


def test_step_counting_duration_depends_on_the_data():
    m = machine()
    m.load(program(I.mvm(dir="fwd", rs1=1), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(readout=1, stepmax=100, nrows=1, ncols=2, inbits=4)
    c.set_weights(np.array([[3, -5]]))
    c.h[0] = 7                      # y = 21, −35 → 35 steps
    m.set_reg(1, 1)
    m.step(1)
    assert c.busy_until == ref.mvm_cycles(c.config, P, 35)
    assert list(c.v[:2]) == [0, 0]


def test_chip_two_phase_timing_splits_in_halves_and_skips_resolved_bits():
    """chip profile: 8 magnitude bits run as 4 + 4, one round per bit; the second phase's SAR
    converts only outbits − 4 bits (at least one)."""
    m = machine()
    m.load(program(I.mvm(dir="fwd", rs1=1), I.halt()))
    m.cores[0].powered = True
    m.cores[0].set_config(inbits=8, insigned=0, outbits=6, readout=0, pmul=3)
    m.set_reg(1, 1)
    m.step(1)
    k = dict(m.config)
    assert k["bit_phases"] == 1 and k["phase_split"] == 1 and k["adc_skip"] == 1
    integ = k["t_cds"] + 3 * 15 * (k["t_sample"] + k["t_integ"])
    first = integ + 6 * k["t_comp"]
    assert m.cores[0].busy_until == k["neuron_div"] * (first + integ + 2 * k["t_comp"])
    assert m.cores[0].phase_at(k["neuron_div"] * first) == "integrate"
