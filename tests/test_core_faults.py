"""Every fault kind: the run stops on the faulting instruction, which changed nothing, with the
fault's name, pc and detail — and the process survives anything a program can do (fuzzed)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator._native import ffi
from isa.tables import FIELDS, INSNS
from tests.helpers import I, enc, machine, program

MEM = 1 << 16
RESULT = 32 + ffi.offsetof("nr_machine", "result")   # snapshot header is 32 bytes
RESULT_END = RESULT + ffi.sizeof("nr_result")


def state(m) -> bytes:
    """The snapshot without the run-result fields (which a fault is allowed to set)."""
    b = bytearray(m.snapshot().data)
    b[RESULT:RESULT_END] = bytes(RESULT_END - RESULT)
    return bytes(b)


def fault_of(words, setup=None, steps_before=0, powered=(0,), **cfg_fields):
    m = machine()
    m.load(program(*words, I.halt()))
    for c in powered:
        m.cores[c].powered = True
        if cfg_fields:
            m.cores[c].set_config(**cfg_fields)
    if setup:
        setup(m)
    if steps_before:
        m.step(steps_before)
    before = state(m)
    pc, cycle = m.pc, m.cycle
    r = m.run()
    assert r.stop == "fault"
    assert m.pc == pc == r.fault_pc and m.cycle == cycle, "the faulting instruction must not advance"
    assert state(m) == before, "the faulting instruction changed the machine"
    assert r.message.startswith("<test>: fault " + r.fault)
    return r


def regs(**values):
    return lambda m: [m.set_reg(int(k[1:]), v & (2**64 - 1)) for k, v in values.items()]


def test_illegal():
    r = fault_of([0x00000000])
    assert r.fault == "illegal" and r.fault_detail == 0


def test_illegal_stray_bit():
    word = I.add(rd=1, rs1=1, rs2=1) | 1
    r = fault_of([I.nop(), word], steps_before=1)
    assert r.fault == "illegal" and r.fault_detail == word and r.fault_pc == 4


def test_pc_bounds_after_a_jump_names_the_jump():
    m = machine()
    m.load(program(I.nop(), I.jal(rd=0, off20=100)))
    r = m.run()
    assert r.fault == "pc_bounds" and r.fault_pc == 404 and r.fault_detail == 4


def test_pc_bounds_falling_off_the_end():
    m = machine()
    m.load(program(I.nop()))
    r = m.run()
    assert r.fault == "pc_bounds" and r.fault_pc == 4 and m.instret == 1


def test_pc_bounds_jalr_to_a_wild_address():
    m = machine()
    m.load(program(I.jalr(rd=0, rs1=1, imm16=0)))
    m.set_reg(1, 2**64 - 4)
    assert m.run().fault == "pc_bounds"


@pytest.mark.parametrize("word,addr", [
    (I.lw(rd=2, rs1=1, imm16=0), MEM - 2),
    (I.ld(rd=2, rs1=1, imm16=-8), 0),
    (I.sd(rt=2, rs1=1, imm16=0), 2**64 - 8),
    (I.lb(rd=2, rs1=1, imm16=0), MEM),
])
def test_mem_bounds_scalar(word, addr):
    r = fault_of([word], setup=regs(x1=addr))
    assert r.fault == "mem_bounds"


@pytest.mark.parametrize("word,addr", [
    (I.lh(rd=2, rs1=1, imm16=1), 0x101),
    (I.sw(rt=2, rs1=1, imm16=2), 0x102),
    (I.ld(rd=2, rs1=1, imm16=4), 0x104),
])
def test_mem_align_scalar(word, addr):
    r = fault_of([word], setup=regs(x1=0x100))
    assert r.fault == "mem_align" and r.fault_detail == addr


def test_mem_bounds_vector_checks_before_writing():
    # the destination is valid, the second source runs off the end: nothing may be written
    r = fault_of([I.setvl(rs1=4), I.vadd(vt="i32", rd=3, rs1=1, rs2=2)], steps_before=1,
                 setup=regs(x1=0, x2=MEM - 8, x3=0x100, x4=4))
    assert r.fault == "mem_bounds" and r.fault_detail == MEM - 8


def test_mem_bounds_vector_huge_vl():
    r = fault_of([I.setvl(rs1=4), I.vfill(vt="i8", rd=3, rs1=0)], steps_before=1,
                 setup=regs(x3=0, x4=2**63))
    assert r.fault == "mem_bounds"


def test_mem_align_vector():
    r = fault_of([I.setvli(uimm16=2), I.vrelu(vt="i16", rd=3, rs1=1)], steps_before=1,
                 setup=regs(x1=0x101, x3=0x200))
    assert r.fault == "mem_align" and r.fault_detail == 0x101


def test_mem_bounds_scan_and_cprog():
    r = fault_of([I.hin(vt="i16", core=0, rs1=1)], setup=regs(x1=MEM - 10), nrows=6)
    assert r.fault == "mem_bounds" and r.fault_detail == MEM - 10
    r = fault_of([I.vout(vt="i8", core=0, rs1=1)], setup=regs(x1=MEM - 255))
    assert r.fault == "mem_bounds"
    r = fault_of([I.cprog(core=0, rs1=1)], setup=regs(x1=MEM - 100), nrows=2, ncols=60)
    assert r.fault == "mem_bounds"


@pytest.mark.parametrize("word", [
    I.hin(vt="i8", core=5, rs1=0), I.vout(vt="i8", core=5, rs1=0), I.cprog(core=5, rs1=0),
    I.cread(rd=1, core=5, rs1=0, rs2=0), I.mvm(dir="fwd", rs1=1), I.smp(dir="bwd", rs1=1),
    I.ccfg(csel="gain", rs1=1, imm16=2), I.ccfgr(csel="gain", rs1=1, rs2=0),
])
def test_core_off(word):
    r = fault_of([word], setup=regs(x1=(1 << 5) | 1))
    assert r.fault == "core_off" and r.fault_detail == 5


@pytest.mark.parametrize("word", [
    I.cpon(rs1=1), I.cpoff(rs1=1), I.ccfg(csel="gain", rs1=1, imm16=1), I.mvm(dir="fwd", rs1=1),
    I.smp(dir="fwd", rs1=1), I.sync(rs1=1),
])
def test_bad_mask(word):
    r = fault_of([word], setup=regs(x1=1 << 48 | 1))
    assert r.fault == "bad_mask" and r.fault_detail == 1 << 48 | 1


@pytest.mark.parametrize("word,cfg", [
    (I.mvm(dir="fwd", rs1=1), {"row0": 100, "nrows": 29}),
    (I.mvm(dir="bwd", rs1=1), {"col0": 200, "ncols": 57}),
    (I.mvm(dir="rec", rs1=1), {"col0": 100, "ncols": 29}),      # rec outputs land in H[0..127]
    (I.smp(dir="rec", rs1=1), {"col0": 0, "ncols": 129}),
    (I.hin(vt="i8", core=0, rs1=0), {"row0": 127, "nrows": 2}),
    (I.vin(vt="i8", core=0, rs1=0), {"row0": 127, "nrows": 2}),  # any broken window faults
    (I.cprog(core=0, rs1=0), {"col0": 255, "ncols": 2}),
])
def test_bad_window(word, cfg):
    r = fault_of([word], setup=regs(x1=1), **cfg)
    assert r.fault == "bad_window" and r.fault_detail == 0


@pytest.mark.parametrize("word,value", [
    (I.ccfgr(csel="inbits", rs1=1, rs2=2), 9),
    (I.ccfgr(csel="gain", rs1=1, rs2=2), 0),
    (I.ccfgr(csel="offset", rs1=1, rs2=2), -32769),
    (I.ccfgr(csel="nrows", rs1=1, rs2=2), 2**40),
    (I.ccfg(csel="readout", rs1=1, imm16=3), 3),
    (I.ccfg(csel="stepmax", rs1=1, imm16=0), 0),
])
def test_bad_config(word, value):
    r = fault_of([word], setup=regs(x1=1, x2=value))
    assert r.fault == "bad_config" and r.fault_detail == value & (2**64 - 1)
    assert "outside" in r.message


def test_bad_config_vpmax_group_zero():
    r = fault_of([I.setvli(uimm16=4), I.vpmax(vt="i8", rd=3, rs1=1, rs2=2)], steps_before=1,
                 setup=regs(x1=0x100, x2=0, x3=0x200))
    assert r.fault == "bad_config" and "group" in r.message


@pytest.mark.parametrize("row,col,bad", [(256, 0, 256), (0, 1000, 1000), (-1, 0, 2**64 - 1)])
def test_bad_cell(row, col, bad):
    r = fault_of([I.cread(rd=3, core=0, rs1=1, rs2=2)], setup=regs(x1=row, x2=col))
    assert r.fault == "bad_cell" and r.fault_detail == bad


def test_cycle_limit():
    m = machine()
    m.load(program(I.jal(rd=0, off20=0)))
    r = m.run(max_cycles=1000)
    assert r.stop == "fault" and r.fault == "cycle_limit" and m.cycle == 1000
    assert "1000 cycles" in r.message


def test_a_fault_repeats_on_rerun():
    m = machine()
    m.load(program(I.lw(rd=1, rs1=1, imm16=1)))
    assert m.run().fault == "mem_align"
    assert m.run().fault == "mem_align" and m.instret == 0


# ---------------------------------------------------------------- fuzz: nothing crashes

@st.composite
def words(draw):
    mn = draw(st.sampled_from(sorted(INSNS)))
    fields = {}
    for f in INSNS[mn][5]:
        hi, lo, kind, lo_val, hi_val = FIELDS[f]
        fields[f] = draw(st.integers(lo_val, hi_val))
    return enc(mn, **fields)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(words(), st.integers(0, 2**32 - 1)), min_size=1, max_size=24),
       st.lists(st.integers(0, 2**64 - 1), min_size=16, max_size=16),
       st.integers(0, 2**48 - 1))
def test_random_programs_never_crash(ws, xs, powered):
    m = machine()
    m.load(program(*ws))
    for i in range(48):
        if powered >> i & 1:
            m.cores[i].powered = True
    for r, v in enumerate(xs):
        m.set_reg(r, v if r % 3 else v % MEM)   # some registers hold plausible addresses
    r = m.run(max_cycles=200_000)
    assert r.stop in ("halt", "ebreak", "fault")
    assert r.message is None or r.message.count(": fault ") == 1
