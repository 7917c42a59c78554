"""Per-instruction vectors of the chip group: power, configuration, scans, programming, cell
reads, MVM and sample, sync and status — initial state → final state and cycles."""
from __future__ import annotations

import numpy as np
import pytest

from tests import reference as ref
from tests.helpers import I, li, machine, params, program

P = params()
G_LSB = P["g_lsb_ns"]


SPIN = I.jal(rd=0, off20=0)   # `j .`: lets time pass without a halt stopping the machine


def chip(*words, regs=None, powered=(), mem=None, config=None, spin=False):
    """A machine loaded with `words; halt` (or `words; j .` with spin, to watch operations
    finish), cores in `powered` already on (no wake time)."""
    m = machine(config)
    m.load(program(*words, SPIN if spin else I.halt()))
    for c in powered:
        m.cores[c].powered = True
    for addr, arr in (mem or {}).items():
        m.write_mem(addr, np.asarray(arr))
    for r, v in (regs or {}).items():
        m.set_reg(r, v)
    return m


# ---------------------------------------------------------------- power and configuration

def test_cpon_powers_the_mask_and_wakes():
    m = chip(I.cpon(rs1=1), I.cstat(rd=2, core=2), I.cstat(rd=3, core=1), regs={1: 0b101})
    m.step(1)
    assert m.cycle == 1
    assert [m.cores[i].powered for i in range(3)] == [True, False, True]
    assert m.cores[0].busy_until == P["t_wake"] and m.cores[0].phase == "waking"
    assert m.cores[0].config == {k: v[3] for k, v in __import__("emulator._native", fromlist=["x"]).CFG_FIELDS.items()}
    m.step(2)
    left = P["t_wake"] - 1
    assert int(m.regs[2]) == 1 | 2 | (2 << 8) | (left << 16)
    assert int(m.regs[3]) == 0                          # off, idle, phase off


def test_cpon_of_a_powered_core_keeps_its_state():
    m = chip(I.cpon(rs1=1), regs={1: 1}, powered=[0])
    m.cores[0].set_config(gain=5)
    m.cores[0].h[3] = 9
    m.step(1)
    assert m.cores[0].config["gain"] == 5 and m.cores[0].h[3] == 9
    assert not m.cores[0].busy


def test_cpoff_waits_then_loses_registers_but_keeps_conductances():
    m = chip(I.cpon(rs1=1), I.cpoff(rs1=1), regs={1: 1})
    m.step(1)
    m.cores[0].set_config(nrows=5)
    m.cores[0].set_weights(np.full((1, 1), 3))
    m.cores[0].v[0] = 4
    m.step(1)
    assert m.cycle == P["t_wake"] + 1 and m.stall_cycles == P["t_wake"] - 1
    c = m.cores[0]
    assert not c.powered and c.config["nrows"] == 128 and c.v[0] == 0
    assert c.conductances[0, 0] == 3 * G_LSB and c.weights[0, 0] == 3
    assert c.phase == "off"


def test_ccfg_sets_a_field_on_every_core_of_the_mask():
    m = chip(I.ccfg(csel="inbits", rs1=1, imm16=6), regs={1: 0b110}, powered=[1, 2])
    m.step(1)
    assert m.cores[1].config["inbits"] == 6 and m.cores[2].config["inbits"] == 6
    assert m.cores[0].config["inbits"] == 4 and m.cycle == 1


def test_ccfg_negative_offset():
    m = chip(I.ccfg(csel="offset", rs1=1, imm16=-300), regs={1: 1}, powered=[0])
    m.step(1)
    assert m.cores[0].config["offset"] == -300


def test_ccfgr_reaches_the_top_of_the_gain_range_and_no_further():
    m = chip(I.ccfgr(csel="gain", rs1=1, rs2=2), regs={1: 1 << 47, 2: 32767}, powered=[47])
    m.step(1)
    assert m.cores[47].config["gain"] == 32767
    m = chip(I.ccfgr(csel="gain", rs1=1, rs2=2), regs={1: 1 << 47, 2: 32768}, powered=[47])
    r = m.step(1)
    assert r.fault == "bad_config" and m.cores[47].config["gain"] == 1


def test_ccfg_waits_for_a_busy_core():
    m = chip(I.cpon(rs1=1), I.ccfg(csel="pmul", rs1=1, imm16=3), regs={1: 1})
    m.step(2)
    assert m.cycle == P["t_wake"] + 1 and m.cores[0].config["pmul"] == 3


# ---------------------------------------------------------------- scans

def test_hin_scans_the_window_into_h_at_completion():
    data = np.arange(-3, 5, dtype=np.int8)
    m = chip(I.hin(vt="i8", core=7, rs1=1), regs={1: 0x100}, powered=[7], mem={0x100: data},
             spin=True)
    m.cores[7].set_config(row0=10, nrows=8)
    m.step(1)
    end = ref.scan_cycles(7, "h", P)
    assert m.cores[7].busy_until == end and m.cores[7].phase == "scan_in"
    m.write_mem(0x100, np.zeros(8, np.int8))          # memory was read at issue
    m.run_until(end - 1)
    assert not m.cores[7].h.any()
    m.run_until(end)
    assert list(m.cores[7].h[10:18]) == list(data) and not m.cores[7].h[:10].any()


def test_vin_i32_saturates_to_the_register():
    data = np.array([70000, -70000, 12], dtype=np.int32)
    m = chip(I.vin(vt="i32", core=5, rs1=1), I.sync(rs1=0), regs={1: 0x200}, powered=[5],
             mem={0x200: data})
    m.cores[5].set_config(col0=250, ncols=3)
    m.run()
    assert list(m.cores[5].v[250:253]) == [32767, -32768, 12]
    assert m.cycle == ref.scan_cycles(5, "v", P) + 2     # sync issues when the scan ends, then halt


@pytest.mark.parametrize("vt,want", [("i8", [127, -128, 5, 0]), ("u8", [255, 0, 5, 0]),
                                     ("i16", [300, -300, 5, 0]), ("i32", [300, -300, 5, 0])])
def test_hout_converts_and_writes_memory_when_the_scan_ends(vt, want):
    m = chip(I.hout(vt=vt, core=0, rs1=1), regs={1: 0x300}, powered=[0], spin=True)
    m.cores[0].set_config(row0=0, nrows=3)
    m.cores[0].h[:4] = [300, -300, 5, 7]
    m.step(1)
    end = ref.scan_cycles(0, "h", P)
    m.run_until(end - 1)
    assert not m.mem(0x300, 16).any()
    m.run_until(end)
    assert [int(v) for v in m.mem(0x300, 4, vt)] == want


def test_vout_reads_v_window():
    m = chip(I.vout(vt="i16", core=3, rs1=1), I.sync(rs1=0), regs={1: 0x400}, powered=[3])
    m.cores[3].set_config(col0=2, ncols=2)
    m.cores[3].v[:5] = [1, 2, 3, 4, 5]
    m.run()
    assert list(m.mem(0x400, 3, "i16")) == [3, 4, 0]


# ---------------------------------------------------------------- programming and cell reads

def test_cprog_writes_differential_pairs_at_completion():
    codes = np.array([[5, -3, 0], [-128, 127, 1]], dtype=np.int8)
    m = chip(I.cprog(core=4, rs1=1), regs={1: 0x500}, powered=[4], mem={0x500: codes}, spin=True)
    m.cores[4].set_config(row0=1, nrows=2, col0=10, ncols=3)
    m.step(1)
    g0 = np.zeros((256, 256), np.uint16)
    cycles, pulses = ref.prog_cycles(g0, codes, m.cores[4].config, P, G_LSB, P["g_pulse_ns"])
    assert m.cores[4].busy_until == cycles and m.cores[4].phase == "program"
    assert not m.cores[4].conductances.any()
    m.run_until(cycles)
    g = m.cores[4].conductances
    gp, gn = ref.program_conductances(codes, G_LSB)
    assert (g[2:6:2, 10:13] == gp).all() and (g[3:6:2, 10:13] == gn).all()
    assert g.sum() == gp.sum() + gn.sum()
    assert (m.cores[4].weights[1:3, 10:13] == codes).all()
    assert m.cores[4].counters["prog_pulses"] == pulses and m.cores[4].counters["prog_cells"] == 12


def test_cprog_queues_on_the_single_programmer():
    codes = np.full((1, 4), 50, np.int8)
    m = chip(I.cprog(core=0, rs1=1), I.cprog(core=30, rs1=1), regs={1: 0x600}, powered=[0, 30],
             mem={0x600: codes})
    for c in (0, 30):
        m.cores[c].set_config(nrows=1, ncols=4)
    m.step(2)
    one, _ = ref.prog_cycles(np.zeros((256, 256)), codes, m.cores[0].config, P, G_LSB, P["g_pulse_ns"])
    assert m.cores[0].busy_until == one
    assert m.cores[30].busy_until == 2 * one             # waited for core 0's programming
    assert m.cores[30].phase == "program_wait"
    assert m.cycle == 2                                  # the controller did not stall


def test_cread_reads_one_cell():
    m = chip(I.cread(rd=5, core=9, rs1=1, rs2=2), regs={1: 255, 2: 7}, powered=[9])
    g = np.zeros((256, 256), np.uint16)
    g[255, 7] = 12345
    m.cores[9].set_conductances(g)
    m.step(1)
    assert int(m.regs[5]) == 12345 and m.cycle == P["t_cellread"]


# ---------------------------------------------------------------- MVM, sample, sync, status

def loaded(direction, w, x, **cfg):
    """Core 0 with weights w in the window, input x in the driving register."""
    m = chip(I.mvm(dir=direction, rs1=1), I.sync(rs1=0), regs={1: 1}, powered=[0])
    c = m.cores[0]
    c.set_config(**cfg)
    k = c.config
    c.set_weights(w, k["row0"], k["col0"])
    if direction == "bwd":
        c.v[k["col0"]:k["col0"] + len(x)] = x
    else:
        c.h[k["row0"]:k["row0"] + len(x)] = x
    return m


def test_mvm_fwd_small():
    w = np.array([[1, 2, 3], [-1, 0, 4]])
    m = loaded("fwd", w, [2, 3], nrows=2, ncols=3)
    m.step(1)
    dur = ref.mvm_cycles(m.cores[0].config, P)
    assert m.cores[0].busy_until == dur and m.cores[0].phase == "integrate"
    assert not m.cores[0].v.any()                         # results appear at the end
    m.run()
    assert list(m.cores[0].v[:4]) == [-1, 4, 18, 0]
    assert m.cycle == dur + 2 and m.stall_cycles == dur - 1


def test_mvm_bwd_small():
    w = np.array([[1, 2, 3], [-1, 0, 4]])
    m = loaded("bwd", w, [1, -1, 2], nrows=2, ncols=3, row0=5, col0=9)
    m.run()
    assert list(m.cores[0].h[5:7]) == [5, 7]


def test_mvm_rec_writes_h():
    w = np.array([[1, 1], [2, -1]])
    m = loaded("rec", w, [3, 1], nrows=2, ncols=2)
    m.run()
    assert list(m.cores[0].h[:2]) == [5, 2]


def test_smp_without_noise_is_the_sign_of_the_preactivation():
    w = np.array([[1, -1, 0]])
    m = chip(I.smp(dir="fwd", rs1=1), I.sync(rs1=0), regs={1: 1}, powered=[0])
    m.cores[0].set_config(nrows=1, ncols=3, noise=0)
    m.cores[0].set_weights(w)
    m.cores[0].h[0] = 2
    m.run()
    assert list(m.cores[0].v[:3]) == [1, 0, 0]          # z > 0 → 1; z = 0 → 0
    assert m.cores[0].counters["samples"] == 1


def test_mvm_on_several_cores_runs_concurrently():
    mask = (1 << 0) | (1 << 13) | (1 << 47)
    m = chip(I.mvm(dir="fwd", rs1=1), I.sync(rs1=0), regs={1: mask}, powered=[0, 13, 47])
    for c in (0, 13, 47):
        m.cores[c].set_weights(np.full((1, 1), c + 1))
        m.cores[c].h[0] = 1
    m.run()
    dur = ref.mvm_cycles(m.cores[0].config, P)
    assert m.cycle == dur + 2
    assert [int(m.cores[c].v[0]) for c in (0, 13, 47)] == [1, 14, 48]
    assert [m.cores[c].counters["mvms"] for c in (0, 1, 13)] == [1, 0, 1]


def test_mvm_with_an_empty_mask_does_nothing():
    m = chip(I.mvm(dir="fwd", rs1=1), regs={1: 0})
    m.step(1)
    assert m.cycle == 1


def test_sync_mask_waits_only_for_its_cores():
    m = chip(I.cpon(rs1=1), I.sync(rs1=2), regs={1: 0b11, 2: 0b01})
    m.cores[1].powered = False
    m.step(2)
    assert m.cycle == P["t_wake"] + 1


def test_sync_register_zero_waits_for_nothing_but_x0_waits_for_all():
    m = chip(I.cpon(rs1=1), I.sync(rs1=2), I.sync(rs1=0), regs={1: 1 << 40, 2: 0})
    m.step(2)
    assert m.cycle == 2
    m.step(1)
    assert m.cycle == P["t_wake"] + 1


def test_cstat_does_not_wait():
    m = chip(I.cpon(rs1=1), I.cstat(rd=2, core=0), regs={1: 1})
    m.step(2)
    assert m.cycle == 2 and int(m.regs[2]) >> 16 == P["t_wake"] - 1
    assert (int(m.regs[2]) >> 8) & 0xFF == 2   # waking


# ---------------------------------------------------------------- chip age

def test_cage_advances_chip_time_but_not_cycles():
    m = chip(I.cage(rs1=1), regs={1: 86_400_000})   # one day, in ms
    m.step(1)
    assert m.cycle == 1
    assert m.chip_time == pytest.approx(86_400 + 1 / m.config.clock_hz)
