"""Timing contract: scan shift counts per chain position, chain contention vs parallel chains,
stalls, the programmer queue — and the state contract: running to T in one call, in T
one-cycle calls, or by instruction steps gives byte-identical snapshots; snapshot/restore
round-trips exactly; breakpoints stop before the instruction and resume past it."""
from __future__ import annotations

import numpy as np
import pytest

from tests import reference as ref
from tests.helpers import I, li, machine, params, program

P = params()


@pytest.mark.parametrize("core", range(12))
@pytest.mark.parametrize("side", ["h", "v"])
def test_scan_shifts_per_chain_position(core, side):
    m = machine()
    word = I.hin(vt="i8", core=core, rs1=0) if side == "h" else I.vin(vt="i8", core=core, rs1=0)
    m.load(program(word, I.halt()))
    m.cores[core].powered = True
    m.cores[core].set_config(nrows=1, ncols=1)   # the whole segment shifts whatever the window
    m.step(1)
    expect = {("h", 0): 1, ("v", 0): 2, ("h", 1): 3, ("v", 1): 4, ("h", 2): 5, ("v", 2): 6,
              ("h", 3): 6, ("v", 3): 5, ("h", 4): 4, ("v", 4): 3, ("h", 5): 2, ("v", 5): 1}
    assert ref.scan_shifts(core, side) == expect[side, core % 6]
    assert m.cores[core].busy_until == 256 * expect[side, core % 6] * P["scan_div"]


def test_scans_on_one_chain_queue_and_other_chains_run_in_parallel():
    m = machine()
    m.load(program(I.hin(vt="i8", core=0, rs1=0), I.vin(vt="i8", core=4, rs1=0),
                   I.hin(vt="i8", core=6, rs1=0), I.hout(vt="i8", core=1, rs1=0),
                   I.jal(rd=0, off20=0)))
    for c in (0, 1, 4, 6):
        m.cores[c].powered = True
    m.step(4)
    assert m.cycle == 4 and m.stall_cycles == 0           # queueing never stalls the controller
    d0, d4 = ref.scan_cycles(0, "h", P), ref.scan_cycles(4, "v", P)
    d6, d1 = ref.scan_cycles(6, "h", P), ref.scan_cycles(1, "h", P)
    assert m.cores[0].busy_until == d0
    assert m.cores[4].busy_until == d0 + d4               # same chain: waits for core 0
    assert m.cores[6].busy_until == 2 + d6                # chain 1: starts at once
    assert m.cores[1].busy_until == d0 + d4 + d1
    assert m.cores[4].phase == "scan_wait" and m.cores[6].phase == "scan_in"
    assert m.cores[4].phase_at(d0) == "scan_in" and m.cores[1].phase_at(d0 + d4) == "scan_out"
    m.run_until(d0 + d4 + d1)
    assert all(not m.cores[c].busy for c in (0, 1, 4, 6))
    assert m.cores[4].counters["busy_cycles"] == d0 + d4 - 1   # waiting counts as busy


def test_a_busy_core_stalls_the_controller():
    m = machine()
    m.load(program(I.mvm(dir="fwd", rs1=1), I.hout(vt="i8", core=0, rs1=0), I.rdcycle(rd=2),
                   I.halt()))
    m.cores[0].powered = True
    m.set_reg(1, 1)
    r = m.run()
    dur = ref.mvm_cycles(m.cores[0].config, P)
    scan = ref.scan_cycles(0, "h", P)
    # hout waits for the MVM; halt (at dur + 2) drains: it waits for the scan-out to end
    assert r.stall_cycles == (dur - 1) + (scan - 2)
    assert r.cycles == dur + scan + 1 and not m.cores[0].busy
    assert int(m.regs[2]) == dur + 1                      # hout issued at dur, rdcycle after
    # a run sliced in the middle of the stall counts the stall up to the slice only
    m2 = machine()
    m2.load(program(I.mvm(dir="fwd", rs1=1), I.hout(vt="i8", core=0, rs1=0), I.halt()))
    m2.cores[0].powered = True
    m2.set_reg(1, 1)
    m2.run_until(100)
    assert m2.stall_cycles == 99 and m2.pc == 4 and m2.instret == 1


def test_step_waits_out_a_stall():
    m = machine()
    m.load(program(I.cpon(rs1=1), I.sync(rs1=0), I.halt()))
    m.set_reg(1, 1)
    m.step(2)
    assert m.cycle == P["t_wake"] + 1 and m.instret == 2


# ---------------------------------------------------------------- the state contract

FAST = {"scan_div": 1, "neuron_div": 1, "t_integ": 3, "t_sample": 1, "t_verify": 2,
        "t_pulse": 1, "t_wake": 7, "t_cellread": 5, "t_div": 4}


def busy_program():
    """Every kind of core operation overlapping with controller work and stalls."""
    codes = np.array([[3, -2, 1, 0], [-1, 4, 0, 2]], dtype=np.int8)
    data = {0x100: codes.tobytes(), 0x200: np.arange(1, 9, dtype=np.int8).tobytes()}
    mask = (1 << 0) | (1 << 1) | (1 << 9)
    words = [
        *li(1, mask), I.cpon(rs1=1),
        I.ccfg(csel="nrows", rs1=1, imm16=2), I.ccfg(csel="ncols", rs1=1, imm16=4),
        *li(2, 0x100), I.cprog(core=0, rs1=2), I.cprog(core=9, rs1=2),     # programmer queue
        *li(3, 0x200), I.hin(vt="i8", core=1, rs1=3), I.vin(vt="i8", core=1, rs1=3),
        I.movi(rd=4, imm16=5),                                              # a little loop
        I.addi(rd=4, rs1=4, imm16=-1), I.div(rd=5, rs1=3, rs2=4), I.bne(rt=4, rs1=0, off16=-2),
        I.hin(vt="i8", core=0, rs1=3), I.hin(vt="i8", core=9, rs1=3),      # waits for cprog
        I.mvm(dir="fwd", rs1=1), I.smp(dir="bwd", rs1=1),                   # smp waits for mvm
        *li(6, 0x300), I.vout(vt="i16", core=0, rs1=6), I.hout(vt="i8", core=1, rs1=6),
        I.setvli(uimm16=8), I.vadd(vt="i8", rd=6, rs1=3, rs2=3), I.cstat(rd=7, core=1),
        I.cread(rd=8, core=9, rs1=0, rs2=0), I.sync(rs1=0), I.halt(),
    ]
    return program(*words, data=data)


def new_busy():
    m = machine(FAST)
    m.load(busy_program())
    return m


def test_busy_program_runs_to_halt():
    m = new_busy()
    r = m.run()
    assert r.stop == "halt" and r.stall_cycles > 0
    assert m.cores[0].counters["prog_cells"] == 16 and m.cores[1].counters["samples"] == 1


def test_one_call_equals_one_cycle_calls_equals_instruction_steps():
    total = new_busy().run().cycles
    a = new_busy()
    a.run_until(total)
    b = new_busy()
    step_points = []
    c = new_busy()
    while not c.halted:
        c.step(1)
        step_points.append((c.cycle, c.snapshot()))
    k = 0
    for t in range(1, total + 1):
        b.run_until(t)
        while k < len(step_points) and step_points[k][0] == t:
            assert b.snapshot() == step_points[k][1], f"instruction step {k} differs at cycle {t}"
            k += 1
    assert k == len(step_points)
    assert a.snapshot() == b.snapshot()
    assert b.cycle == total and b.halted


def test_run_to_any_cycle_matches_between_slicings():
    rng = np.random.default_rng(3)
    total = new_busy().run().cycles
    for t in sorted(rng.integers(1, total, size=6)):
        one = new_busy()
        one.run_until(int(t))
        sliced = new_busy()
        cuts = sorted(rng.integers(0, t, size=5))
        for cut in [*cuts, t]:
            sliced.run_until(int(cut))
        assert one.snapshot() == sliced.snapshot(), f"cycle {t}"


def test_snapshot_restore_round_trip():
    m = new_busy()
    m.run_until(300)
    mid = m.snapshot()
    m.run()
    end = m.snapshot()
    m.restore(mid)
    assert m.snapshot() == mid and m.cycle == 300
    m.run()
    assert m.snapshot() == end
    # into another machine of the same configuration
    other = machine(FAST)
    other.restore(mid)
    assert other.snapshot() == mid
    other.run()
    assert other.snapshot() == end


def test_restore_rejects_a_foreign_snapshot():
    from emulator import CoreError

    m = machine()
    m.load(program(I.halt()))
    big = machine({"mem_size": 1 << 17})
    big.load(program(I.halt()))
    with pytest.raises(CoreError):
        m.restore(big.snapshot())


def test_breakpoint_stops_before_and_resumes_past():
    m = new_busy()
    m.set_breakpoint(8)
    r = m.run()
    assert r.stop == "breakpoint" and m.pc == 8 and m.instret == 2 and m.cycle == 2
    r = m.run()
    assert r.stop == "halt"
    ref_m = new_busy()
    ref_m.run()
    assert m.snapshot() == ref_m.snapshot()


def test_breakpoint_on_a_stalled_instruction_fires_once():
    m = machine()
    m.load(program(I.cpon(rs1=1), I.sync(rs1=0), I.halt()))
    m.set_reg(1, 1)
    m.set_breakpoint(4)
    assert m.run().stop == "breakpoint" and m.cycle == 1
    m.step_cycles(10)                       # resume into the stall, sliced
    assert m.pc == 4 and m.stall_cycles == 10
    assert m.run().stop == "halt" and m.cycle == P["t_wake"] + 2


def test_completions_in_one_cycle_apply_in_core_order():
    # core 1's vout and core 6's hout end in the same cycle and write the same bytes:
    # completions run in (end cycle, core id) order, so core 6's values are what remains
    m = machine({"scan_div": 1, "t_wake": 767})
    m.load(program(I.vout(vt="i8", core=1, rs1=0), I.cpon(rs1=1), I.hout(vt="i8", core=6, rs1=0),
                   I.jal(rd=0, off20=0)))
    m.cores[1].powered = True
    m.cores[1].v[:] = 1
    m.set_reg(1, 1 << 6)
    m.step(2)
    m.cores[6].h[:] = 6
    m.step(1)
    assert m.cores[1].busy_until == m.cores[6].busy_until == 1024
    m.run_until(1024)
    assert set(m.mem(0, 128)) == {6} and set(m.mem(128, 128)) == {1}
