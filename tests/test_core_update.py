"""In-situ update (opu, oprefresh) against the numpy reference in the ideal model; the analog
pulse response (state dependence, soft bounds, cycle-to-cycle variation), endurance counts,
timing and energy events."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import reference as ref
from tests.helpers import I, machine, params, program

P = params()
G_LSB, G_PULSE = P["g_lsb_ns"], P["g_pulse_ns"]


@st.composite
def windows(draw):
    row0 = draw(st.integers(0, 127))
    col0 = draw(st.integers(0, 255))
    return {"row0": row0, "nrows": draw(st.integers(1, 128 - row0)), "col0": col0,
            "ncols": draw(st.integers(1, 256 - col0)), "opdev": draw(st.integers(0, 1))}


def _core(m, seed):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 130 * G_LSB, size=(256, 256)).astype(np.uint16)
    c = m.cores[0]
    c.powered = True
    c.set_conductances(g)
    c.h[:] = rng.integers(-2, 3, size=256)
    c.v[:] = rng.integers(-2, 3, size=256)
    return c, g


@settings(max_examples=40, deadline=None)
@given(windows(), st.integers(0, 2**32 - 1))
def test_opu_matches_the_reference(cfg, seed):
    m = machine()
    m.load(program(I.opu(rs1=1), I.opu(rs1=1), I.sync(rs1=0), I.halt()))
    c, g = _core(m, seed)
    c.set_config(**cfg)
    m.set_reg(1, 1)
    want, count, cycles = ref.opu(g, c.h, c.v, cfg, G_LSB, P)
    m.step(1)
    assert c.busy_until - (m.cycle - 1) == cycles
    assert (c.conductances == want).all()
    assert (c.update_pulses == count).all()
    assert (c.weights == ref.weights(want, G_LSB)).all()
    want2, count2, _ = ref.opu(want, c.h, c.v, cfg, G_LSB, P)
    m.run()
    assert (c.conductances == want2).all()
    assert (c.update_pulses == count + count2).all()
    ev = c.events
    assert ev["op_pulses"] == int((count + count2).sum()) and ev["op_ops"] == 2


def test_opu_is_a_manhattan_outer_product_on_the_weights():
    m = machine()
    m.load(program(I.opu(rs1=1), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=3, ncols=4)
    c.set_weights(np.full((3, 4), 10))
    c.h[:3] = [1, -1, 0]
    c.v[:4] = [3, -7, 0, 1]
    m.set_reg(1, 1)
    m.run()
    x, y = np.array([1, -1, 0]), np.array([1, -1, 0, 1])
    assert (c.weights[:3, :4] == 10 + np.outer(x, y)).all()
    assert c.busy_until == 4 * (P["t_opsel"] + P["t_pulse"])   # all four phases select a cell


def test_opu_with_nothing_selected_takes_no_time():
    m = machine()
    m.load(program(I.opu(rs1=1), I.halt()))
    m.cores[0].powered = True
    m.set_reg(1, 1)
    m.step(1)
    assert m.cores[0].busy_until <= m.cycle and m.cores[0].events["op_pulses"] == 0


@settings(max_examples=25, deadline=None)
@given(windows(), st.integers(0, 2**32 - 1))
def test_oprefresh_matches_the_reference_and_keeps_the_weights(cfg, seed):
    m = machine()
    m.load(program(I.oprefresh(core=0), I.sync(rs1=0), I.halt()))
    c, g = _core(m, seed)
    c.set_config(**cfg)
    want, pulses, cycles = ref.oprefresh(g, cfg, G_LSB, G_PULSE, P)
    w0 = c.weights.copy()
    m.step(1)
    assert c.busy_until - (m.cycle - 1) == cycles
    assert (c.conductances == g).all()            # applied when the write-verify ends
    m.run()
    assert (c.conductances == want).all()
    r0, nr, c0, nc = cfg["row0"], cfg["nrows"], cfg["col0"], cfg["ncols"]
    keep = np.abs(w0[r0:r0 + nr, c0:c0 + nc]) <= 128
    assert (c.weights[r0:r0 + nr, c0:c0 + nc][keep] == w0[r0:r0 + nr, c0:c0 + nc][keep]).all()


def _analog_pulses(n, set_first=True, seed=3, sigma=0.3):
    m = machine({"model": "analog", "seed": seed, "wv_pulse_sigma": sigma})
    m.load(program(*([I.opu(rs1=1), I.sync(rs1=0)] * n), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=64, ncols=64)
    g = np.zeros((256, 256), np.uint16)
    g[0:128:2, :64] = 20000
    c.set_conductances(g)
    c.h[:64] = 1 if set_first else -1
    c.v[:64] = 1
    m.set_reg(1, 1)
    trace = []
    for _ in range(n):
        m.step(2)
        trace.append(c.conductances[0:128:2, :64].astype(float).copy())
    return np.array(trace)


def test_analog_response_is_state_dependent_with_soft_bounds():
    cfg = machine().config
    gmin, gmax = cfg["g_min_ns"], cfg["op_g_max_ns"]
    k = cfg["wv_set_gain_ns"] * (cfg["op_v_pulse"] - cfg["wv_v_th"])
    up = _analog_pulses(200, True)
    first = up[0] - 20000
    want = k * (gmax - 20000) / (gmax - gmin)
    assert abs(first.mean() - want) < 0.05 * want           # the law's mean step
    assert 0.2 < first.std() / first.mean() < 0.4            # cycle-to-cycle σ ≈ 0.3
    steps = np.diff(up, axis=0).mean(axis=(1, 2))
    assert steps[-1] < 0.2 * steps[0]                        # steps shrink near g_max
    assert up[-1].max() <= gmax + 2 * k and up[-1].mean() > 0.95 * gmax
    down = _analog_pulses(200, False)
    assert down[-1].mean() < gmin + 0.05 * (gmax - gmin) and down[-1].min() >= 0
    assert not (_analog_pulses(3, seed=4)[-1] == _analog_pulses(3, seed=3)[-1]).all()
    assert (_analog_pulses(3, seed=3)[-1] == _analog_pulses(3, seed=3)[-1]).all()


def test_analog_refresh_recentres_pairs_near_gmax():
    m = machine({"model": "analog", "seed": 1})
    m.load(program(I.oprefresh(core=0), I.sync(rs1=0), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=8, ncols=8)
    g = np.zeros((256, 256), np.uint16)
    g[0:16:2, :8] = 9000          # Δ = +6 µS
    g[1:16:2, :8] = 3000
    c.set_conductances(g)
    m.run()
    gmax = m.config["op_g_max_ns"]
    after = c.conductances.astype(float)
    tol = 3 * m.config["g_tol_ns"]
    assert np.abs(after[0:16:2, :8] - gmax).max() < tol
    assert np.abs((after[0:16:2, :8] - after[1:16:2, :8]) - 6000).max() < 2 * tol
    assert c.events["wv_pulses"] > 0


def test_update_energy_and_config_errors():
    m = machine()
    m.load(program(I.opu(rs1=1), I.halt()))
    c = m.cores[0]
    c.powered = True
    c.set_config(nrows=2, ncols=2)
    c.h[:2] = [1, -1]
    c.v[:2] = [1, 1]
    m.set_reg(1, 1)
    m.run()
    rep = m.energy_report()
    cfg = m.config
    assert rep["cores"]["0"]["events"]["op_pulses"] == 4
    assert rep["cores"]["0"]["energy_pj"]["program"] == pytest.approx(
        4 * cfg["e_op_pulse_pj"] + 2 * cfg["e_op_phase_pj"])
    from emulator.config import ConfigError
    with pytest.raises(ConfigError, match="op_g_max_ns"):
        machine({"op_g_max_ns": 500})
