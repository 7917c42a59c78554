"""Per-instruction vectors of the control, memory and branch groups: initial registers and
memory → final registers, memory, pc and cycles (default timing: t_load 1, t_branch 2,
t_mul 3, t_div 20)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import I, machine, program, run_one

M = (1 << 64) - 1
NEG = lambda v: v & M  # noqa: E731  two's complement of a negative Python int


# mnemonic word, initial regs, expected regs, cycles
ALU = [
    ("add", I.add(rd=3, rs1=1, rs2=2), {1: 5, 2: 7}, {3: 12}, 1),
    ("add wraps", I.add(rd=3, rs1=1, rs2=2), {1: M, 2: 2}, {3: 1}, 1),
    ("sub", I.sub(rd=3, rs1=1, rs2=2), {1: 5, 2: 7}, {3: NEG(-2)}, 1),
    ("and", I.and_(rd=3, rs1=1, rs2=2), {1: 0b1100, 2: 0b1010}, {3: 0b1000}, 1),
    ("or", I.or_(rd=3, rs1=1, rs2=2), {1: 0b1100, 2: 0b1010}, {3: 0b1110}, 1),
    ("xor", I.xor(rd=3, rs1=1, rs2=2), {1: 0b1100, 2: 0b1010}, {3: 0b0110}, 1),
    ("sll", I.sll(rd=3, rs1=1, rs2=2), {1: 3, 2: 65}, {3: 6}, 1),          # amount & 63
    ("srl", I.srl(rd=3, rs1=1, rs2=2), {1: NEG(-16), 2: 60}, {3: 0xF}, 1),
    ("sra", I.sra(rd=3, rs1=1, rs2=2), {1: NEG(-16), 2: 2}, {3: NEG(-4)}, 1),
    ("slt", I.slt(rd=3, rs1=1, rs2=2), {1: NEG(-1), 2: 1}, {3: 1}, 1),
    ("sltu", I.sltu(rd=3, rs1=1, rs2=2), {1: NEG(-1), 2: 1}, {3: 0}, 1),
    ("mul", I.mul(rd=3, rs1=1, rs2=2), {1: NEG(-3), 2: 7}, {3: NEG(-21)}, 3),
    ("mul low bits", I.mul(rd=3, rs1=1, rs2=2), {1: (1 << 40) + 3, 2: 1 << 30}, {3: 3 << 30}, 3),
    ("div", I.div(rd=3, rs1=1, rs2=2), {1: NEG(-7), 2: 2}, {3: NEG(-3)}, 20),
    ("div by 0", I.div(rd=3, rs1=1, rs2=2), {1: 7, 2: 0}, {3: M}, 20),
    ("div overflow", I.div(rd=3, rs1=1, rs2=2), {1: 1 << 63, 2: M}, {3: 1 << 63}, 20),
    ("divu", I.divu(rd=3, rs1=1, rs2=2), {1: NEG(-7), 2: 2}, {3: NEG(-7) // 2}, 20),
    ("divu by 0", I.divu(rd=3, rs1=1, rs2=2), {1: 7, 2: 0}, {3: M}, 20),
    ("rem", I.rem(rd=3, rs1=1, rs2=2), {1: NEG(-7), 2: 2}, {3: NEG(-1)}, 20),
    ("rem by 0", I.rem(rd=3, rs1=1, rs2=2), {1: NEG(-7), 2: 0}, {3: NEG(-7)}, 20),
    ("rem overflow", I.rem(rd=3, rs1=1, rs2=2), {1: 1 << 63, 2: M}, {3: 0}, 20),
    ("remu", I.remu(rd=3, rs1=1, rs2=2), {1: 7, 2: 4}, {3: 3}, 20),
    ("remu by 0", I.remu(rd=3, rs1=1, rs2=2), {1: 7, 2: 0}, {3: 7}, 20),
    ("addi", I.addi(rd=3, rs1=1, imm16=-5), {1: 3}, {3: NEG(-2)}, 1),
    ("andi sign-extends", I.andi(rd=3, rs1=1, imm16=-2), {1: M}, {3: NEG(-2)}, 1),
    ("ori", I.ori(rd=3, rs1=1, imm16=0x10), {1: 1}, {3: 0x11}, 1),
    ("xori", I.xori(rd=3, rs1=1, imm16=-1), {1: 5}, {3: NEG(-6)}, 1),
    ("slti", I.slti(rd=3, rs1=1, imm16=-1), {1: NEG(-2)}, {3: 1}, 1),
    ("sltiu", I.sltiu(rd=3, rs1=1, imm16=-1), {1: 5}, {3: 1}, 1),      # -1 → 2^64-1 unsigned
    ("slli", I.slli(rd=3, rs1=1, shamt=63), {1: 1}, {3: 1 << 63}, 1),
    ("srli", I.srli(rd=3, rs1=1, shamt=4), {1: NEG(-1)}, {3: M >> 4}, 1),
    ("srai", I.srai(rd=3, rs1=1, shamt=4), {1: NEG(-256)}, {3: NEG(-16)}, 1),
    ("movi", I.movi(rd=3, imm16=-32768), {}, {3: NEG(-32768)}, 1),
    ("shori", I.shori(rd=3, uimm16=0xBEEF), {3: 0xDEAD}, {3: 0xDEADBEEF}, 1),
    ("x0 stays 0", I.addi(rd=0, rs1=1, imm16=1), {1: 41}, {0: 0}, 1),
    ("nop", I.nop(), {1: 9}, {1: 9}, 1),
    ("rdcycle", I.rdcycle(rd=3), {}, {3: 0}, 1),
    ("rdinstret", I.rdinstret(rd=3), {}, {3: 0}, 1),
]


@pytest.mark.parametrize("name,word,regs,want,cycles", ALU, ids=[c[0] for c in ALU])
def test_alu(name, word, regs, want, cycles):
    m, r = run_one(word, regs)
    assert r.stop == "step"
    for reg, value in want.items():
        assert int(m.regs[reg]) & M == value, f"x{reg}"
    assert m.cycle == cycles and m.pc == 4 and m.instret == 1


BASE = 0x100
MEMORY = np.arange(16, dtype=np.uint8) + 0xF0      # f0 f1 … ff at BASE
LOADS = [
    ("lb", I.lb(rd=3, rs1=1, imm16=1), NEG(-15)),            # 0xf1
    ("lbu", I.lbu(rd=3, rs1=1, imm16=1), 0xF1),
    ("lh", I.lh(rd=3, rs1=1, imm16=2), NEG(0xF3F2 - 0x10000)),
    ("lhu", I.lhu(rd=3, rs1=1, imm16=2), 0xF3F2),
    ("lw", I.lw(rd=3, rs1=1, imm16=4), NEG(0xF7F6F5F4 - (1 << 32))),
    ("lwu", I.lwu(rd=3, rs1=1, imm16=4), 0xF7F6F5F4),
    ("ld", I.ld(rd=3, rs1=1, imm16=8), 0xFFFEFDFCFBFAF9F8),
]


@pytest.mark.parametrize("name,word,want", LOADS, ids=[c[0] for c in LOADS])
def test_loads(name, word, want):
    m, _ = run_one(word, {1: BASE}, {BASE: MEMORY})
    assert int(m.regs[3]) & M == want
    assert m.cycle == 2   # 1 + t_load


def test_load_negative_offset():
    m, _ = run_one(I.lbu(rd=3, rs1=1, imm16=-1), {1: BASE + 1}, {BASE: MEMORY})
    assert int(m.regs[3]) == 0xF0


STORES = [
    ("sb", I.sb(rt=2, rs1=1, imm16=3), 1, [0, 0, 0, 0x88, 0, 0, 0, 0]),
    ("sh", I.sh(rt=2, rs1=1, imm16=2), 2, [0, 0, 0x88, 0x77, 0, 0, 0, 0]),
    ("sw", I.sw(rt=2, rs1=1, imm16=4), 4, [0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55]),
    ("sd", I.sd(rt=2, rs1=1, imm16=0), 8, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]),
]


@pytest.mark.parametrize("name,word,size,want", STORES, ids=[c[0] for c in STORES])
def test_stores(name, word, size, want):
    m, _ = run_one(word, {1: BASE, 2: 0x1122334455667788})
    assert list(m.mem(BASE, 8)) == want
    assert m.cycle == 1


# branch word (offset +3 words), regs, taken
BRANCHES = [
    ("beq taken", I.beq(rt=1, rs1=2, off16=3), {1: 5, 2: 5}, True),
    ("beq not", I.beq(rt=1, rs1=2, off16=3), {1: 5, 2: 6}, False),
    ("bne taken", I.bne(rt=1, rs1=2, off16=3), {1: 5, 2: 6}, True),
    ("bne not", I.bne(rt=1, rs1=2, off16=3), {1: 5, 2: 5}, False),
    ("blt signed", I.blt(rt=1, rs1=2, off16=3), {1: NEG(-1), 2: 0}, True),
    ("blt not", I.blt(rt=1, rs1=2, off16=3), {1: 0, 2: 0}, False),
    ("bge equal", I.bge(rt=1, rs1=2, off16=3), {1: 0, 2: 0}, True),
    ("bge not", I.bge(rt=1, rs1=2, off16=3), {1: NEG(-1), 2: 0}, False),
    ("bltu", I.bltu(rt=1, rs1=2, off16=3), {1: 0, 2: NEG(-1)}, True),
    ("bltu not", I.bltu(rt=1, rs1=2, off16=3), {1: NEG(-1), 2: 0}, False),
    ("bgeu", I.bgeu(rt=1, rs1=2, off16=3), {1: NEG(-1), 2: 0}, True),
    ("bgeu not", I.bgeu(rt=1, rs1=2, off16=3), {1: 0, 2: 1}, False),
]


@pytest.mark.parametrize("name,word,regs,taken", BRANCHES, ids=[c[0] for c in BRANCHES])
def test_branches(name, word, regs, taken):
    m = machine()
    m.load(program(word, I.halt(), I.halt(), I.halt()))
    for r, v in regs.items():
        m.set_reg(r, v)
    m.step(1)
    assert m.pc == (12 if taken else 4)
    assert m.cycle == (3 if taken else 1)


def test_backward_branch():
    m = machine()
    m.load(program(I.halt(), I.beq(rt=0, rs1=0, off16=-1), entry=4))
    m.step(1)
    assert m.pc == 0 and m.cycle == 3


def test_jal_and_jalr():
    m = machine()
    m.load(program(I.jal(rd=1, off20=2), I.halt(), I.jalr(rd=2, rs1=1, imm16=2), I.halt()))
    m.step(1)
    assert m.pc == 8 and int(m.regs[1]) == 4 and m.cycle == 3
    m.step(1)   # jalr to (4 + 2) & ~3 = 4
    assert m.pc == 4 and int(m.regs[2]) == 12 and m.cycle == 6


def test_jalr_rd_equals_rs1_uses_the_old_value():
    m = machine()
    m.load(program(I.jalr(rd=1, rs1=1, imm16=0), I.halt(), I.halt()))
    m.set_reg(1, 8)
    m.step(1)
    assert m.pc == 8 and int(m.regs[1]) == 4


def test_rdcycle_and_rdinstret_count():
    m = machine()
    m.load(program(I.mul(rd=1, rs1=0, rs2=0), I.rdcycle(rd=2), I.rdinstret(rd=3), I.halt()))
    m.run()
    assert int(m.regs[2]) == 3 and int(m.regs[3]) == 2


def test_setvl_and_setvli():
    m = machine()
    m.load(program(I.setvli(uimm16=0xFFFF), I.setvl(rs1=1), I.halt()))
    m.step(1)
    assert m.vl == 0xFFFF
    m.set_reg(1, 1 << 40)
    m.step(1)
    assert m.vl == 1 << 40 and m.cycle == 2


def test_halt_stays_halted():
    m = machine()
    m.load(program(I.nop(), I.halt()))
    r = m.run()
    assert r.stop == "halt" and m.pc == 4 and m.cycle == 2 and m.instret == 2
    r = m.run()
    assert r.stop == "halt" and m.cycle == 2 and m.instret == 2


def test_ebreak_stops_and_resumes():
    m = machine()
    m.load(program(I.ebreak(), I.movi(rd=1, imm16=7), I.halt()))
    r = m.run()
    assert r.stop == "ebreak" and m.pc == 4 and m.cycle == 1
    assert m.run().stop == "halt" and int(m.regs[1]) == 7
