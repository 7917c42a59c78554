"""Encoding of every NR48 instruction, as a spec table: source line → expected word.

The expected words are composed here from the bit layout of docs/isa.md (field positions written
out below, not read from the ISA table), so a wrong table or a wrong encoder both show up.
"""
from __future__ import annotations

import pytest

from asm import assemble
from isa.tables import INSNS, PSEUDOS

# field: (lowest bit, width) — docs/isa.md, "Operand fields"
POS = {"rd": (20, 4), "rt": (20, 4), "csel": (20, 4), "rs1": (16, 4), "rs2": (12, 4),
       "imm16": (0, 16), "uimm16": (0, 16), "off16": (0, 16), "off20": (0, 20), "shamt": (0, 6),
       "vt": (10, 2), "vd": (8, 2), "dir": (8, 2), "vimm": (0, 8), "vbits": (0, 8), "core": (0, 6),
       "bdir": (6, 2)}
I8, I16, I32, U8 = 0, 1, 2, 3
FWD, BWD, REC = 0, 1, 2


def W(op: int, **fields: int) -> int:
    word = op << 24
    for name, value in fields.items():
        lo, width = POS[name]
        word |= (value & ((1 << width) - 1)) << lo
    return word


SPEC = [
    # control and scalar ALU
    ("nop", W(0x01)),
    ("halt", W(0x02)),
    ("ebreak", W(0x03)),
    ("add x1, x2, x3", W(0x04, rd=1, rs1=2, rs2=3)),
    ("sub x15, x14, x13", W(0x05, rd=15, rs1=14, rs2=13)),
    ("and x0, x0, x0", W(0x06)),
    ("or x4, x5, x6", W(0x07, rd=4, rs1=5, rs2=6)),
    ("xor x7, x8, x9", W(0x08, rd=7, rs1=8, rs2=9)),
    ("sll x1, x1, x2", W(0x09, rd=1, rs1=1, rs2=2)),
    ("srl x3, x1, x2", W(0x0A, rd=3, rs1=1, rs2=2)),
    ("sra x3, x1, x2", W(0x0B, rd=3, rs1=1, rs2=2)),
    ("slt x2, x3, x4", W(0x0C, rd=2, rs1=3, rs2=4)),
    ("sltu x2, x3, x4", W(0x0D, rd=2, rs1=3, rs2=4)),
    ("mul x10, x11, x12", W(0x0E, rd=10, rs1=11, rs2=12)),
    ("div x10, x11, x12", W(0x0F, rd=10, rs1=11, rs2=12)),
    ("divu x10, x11, x12", W(0x10, rd=10, rs1=11, rs2=12)),
    ("rem x10, x11, x12", W(0x11, rd=10, rs1=11, rs2=12)),
    ("remu x10, x11, x12", W(0x12, rd=10, rs1=11, rs2=12)),
    ("addi x1, x2, -5", W(0x14, rd=1, rs1=2, imm16=-5)),
    ("addi x1, x0, 32767", W(0x14, rd=1, imm16=32767)),
    ("addi x1, x0, -32768", W(0x14, rd=1, imm16=-32768)),
    ("andi x3, x4, 0xff", W(0x15, rd=3, rs1=4, imm16=0xFF)),
    ("ori x3, x4, 0b1010", W(0x16, rd=3, rs1=4, imm16=10)),
    ("xori x3, x4, -1", W(0x17, rd=3, rs1=4, imm16=-1)),
    ("slti x5, x6, 'A'", W(0x18, rd=5, rs1=6, imm16=65)),
    ("sltiu x5, x6, 100", W(0x19, rd=5, rs1=6, imm16=100)),
    ("slli x1, x2, 63", W(0x1A, rd=1, rs1=2, shamt=63)),
    ("srli x1, x2, 0", W(0x1B, rd=1, rs1=2)),
    ("srai x1, x2, 17", W(0x1C, rd=1, rs1=2, shamt=17)),
    ("movi x9, -2", W(0x1D, rd=9, imm16=-2)),
    ("shori x9, 0xffff", W(0x1E, rd=9, uimm16=0xFFFF)),
    # memory
    ("lb x1, 0(x2)", W(0x20, rd=1, rs1=2)),
    ("lbu x1, -1(x2)", W(0x21, rd=1, rs1=2, imm16=-1)),
    ("lh x1, 2(x2)", W(0x22, rd=1, rs1=2, imm16=2)),
    ("lhu x1, 4(x3)", W(0x23, rd=1, rs1=3, imm16=4)),
    ("lw x1, 8(x2)", W(0x24, rd=1, rs1=2, imm16=8)),
    ("lwu x1, (x2)", W(0x25, rd=1, rs1=2)),
    ("ld x14, -32768(x15)", W(0x26, rd=14, rs1=15, imm16=-32768)),
    ("sb x1, 3(x2)", W(0x28, rt=1, rs1=2, imm16=3)),
    ("sh x1, 6(x2)", W(0x29, rt=1, rs1=2, imm16=6)),
    ("sw x7, 12(x8)", W(0x2A, rt=7, rs1=8, imm16=12)),
    ("sd x7, 2*8(x8)", W(0x2B, rt=7, rs1=8, imm16=16)),
    # branches (at address 0: a target is the byte address, the field holds target/4)
    ("beq x1, x2, 16", W(0x30, rt=1, rs1=2, off16=4)),
    ("bne x1, x2, -8", W(0x31, rt=1, rs1=2, off16=-2)),
    ("blt x3, x4, 0", W(0x32, rt=3, rs1=4, off16=0)),
    ("bge x3, x4, 131068", W(0x33, rt=3, rs1=4, off16=32767)),
    ("bltu x3, x4, -131072", W(0x34, rt=3, rs1=4, off16=-32768)),
    ("bgeu x3, x4, . + 4", W(0x35, rt=3, rs1=4, off16=1)),
    ("jal x1, 0x400", W(0x38, rd=1, off20=0x100)),
    ("jal x0, -2097152", W(0x38, off20=-524288)),
    ("jalr x0, 0(x1)", W(0x39, rd=0, rs1=1)),
    ("jalr x5, -4(x6)", W(0x39, rd=5, rs1=6, imm16=-4)),
    ("rdcycle x3", W(0x3C, rd=3)),
    ("rdinstret x4", W(0x3D, rd=4)),
    ("setvl x5", W(0x3E, rs1=5)),
    ("setvli 256", W(0x3F, uimm16=256)),
    # vector
    ("vadd.i8 x1, x2, x3", W(0x40, rd=1, rs1=2, rs2=3, vt=I8)),
    ("vsub.i16 x1, x2, x3", W(0x41, rd=1, rs1=2, rs2=3, vt=I16)),
    ("vmul.i32 x1, x2, x3", W(0x42, rd=1, rs1=2, rs2=3, vt=I32)),
    ("vmax.u8 x1, x2, x3", W(0x43, rd=1, rs1=2, rs2=3, vt=U8)),
    ("vmin.i8 x4, x5, x6", W(0x44, rd=4, rs1=5, rs2=6, vt=I8)),
    ("vmuls.i16 x4, x5, x6", W(0x45, rd=4, rs1=5, rs2=6, vt=I16)),
    ("vadds.i32 x4, x5, x6", W(0x46, rd=4, rs1=5, rs2=6, vt=I32)),
    ("vrelu.i16 x7, x8", W(0x47, rd=7, rs1=8, vt=I16)),
    ("vsra.i32 x1, x2, 7", W(0x48, rd=1, rs1=2, vt=I32, vimm=7)),
    ("vsll.i8 x1, x2, 63", W(0x49, rd=1, rs1=2, vt=I8, vimm=63)),
    ("vclip.i16 x1, x2, 1", W(0x4A, rd=1, rs1=2, vt=I16, vbits=1)),
    ("vclipu.i16 x1, x2, 32", W(0x4B, rd=1, rs1=2, vt=I16, vbits=32)),
    ("vcvt.i8.i32 x1, x2", W(0x4C, rd=1, rs1=2, vd=I8, vt=I32)),
    ("vcvt.u8.i16 x3, x4", W(0x4C, rd=3, rs1=4, vd=U8, vt=I16)),
    ("vpmax.i8 x1, x2, x3", W(0x4D, rd=1, rs1=2, rs2=3, vt=I8)),
    ("vfill.i32 x1, x2", W(0x4E, rd=1, rs1=2, vt=I32)),
    ("vargmax.i16 x1, x2", W(0x4F, rd=1, rs1=2, vt=I16)),
    ("vsum.u8 x1, x2", W(0x50, rd=1, rs1=2, vt=U8)),
    ("vsigm.i16 x1, x2, 11", W(0x51, rd=1, rs1=2, vt=I16, vimm=11)),
    ("vtanh.i32 x3, x4, 63", W(0x52, rd=3, rs1=4, vt=I32, vimm=63)),
    ("vadd2.i16 x1, x2, x3", W(0x53, rd=1, rs1=2, rs2=3, vt=I16)),
    ("vmax2.u8 x4, x5, x6", W(0x54, rd=4, rs1=5, rs2=6, vt=U8)),
    ("vcvt2.u8.i16 x7, x8", W(0x55, rd=7, rs1=8, vd=U8, vt=I16)),
    ("vargmax2.i32.i8 x9, x10", W(0x56, rd=9, rs1=10, vd=I32, vt=I8)),
    # chip
    ("cpon x1", W(0x60, rs1=1)),
    ("cpoff x2", W(0x61, rs1=2)),
    ("ccfg.inbits x1, 8", W(0x62, csel=0, rs1=1, imm16=8)),
    ("ccfg.offset x1, -32768", W(0x62, csel=9, rs1=1, imm16=-32768)),
    ("ccfg.noise x3, 32767", W(0x62, csel=14, rs1=3, imm16=32767)),
    ("ccfgr.gain x1, x2", W(0x63, csel=7, rs1=1, rs2=2)),
    ("ccfgr.ncols x1, x2", W(0x63, csel=13, rs1=1, rs2=2)),
    ("hin.i8 c0, x2", W(0x64, rs1=2, vt=I8, core=0)),
    ("vin.i16 c47, x3", W(0x65, rs1=3, vt=I16, core=47)),
    ("hout.i32 c5, x4", W(0x66, rs1=4, vt=I32, core=5)),
    ("vout.u8 c6, x5", W(0x67, rs1=5, vt=U8, core=6)),
    ("cprog c12, x6", W(0x68, rs1=6, core=12)),
    ("cread x1, c3, x2, x4", W(0x69, rd=1, rs1=2, rs2=4, core=3)),
    ("mvm.fwd x1", W(0x6A, rs1=1, dir=FWD)),
    ("mvm.bwd x1", W(0x6A, rs1=1, dir=BWD)),
    ("smp.rec x2", W(0x6B, rs1=2, dir=REC)),
    ("sync x0", W(0x6C)),
    ("cstat x3, c40", W(0x6D, rd=3, core=40)),
    ("cage x5", W(0x6E, rs1=5)),
    ("bcount x3", W(0x70, rs1=3)),
    ("bstride x7, x8, x9", W(0x71, rt=7, rs1=8, rs2=9)),
    ("bmvm.fwd.u8.i16 c5, x4, x3", W(0x72, rd=4, rs1=3, vt=U8, vd=I16, bdir=FWD, core=5)),
    ("bmvm.rec.i8.i8 c47, x1, x2", W(0x72, rd=1, rs1=2, vt=I8, vd=I8, bdir=REC, core=47)),
    ("bsmp.bwd.i16.i32 c0, x15, x14", W(0x73, rd=15, rs1=14, vt=I16, vd=I32, bdir=BWD)),
    ("bkey c47, x3, x15", W(0x74, core=47, rs1=3, rs2=15)),
    # extended configuration fields: ccfgr with the escape code 15 and the selector in bits 11:0
    ("ccfgr.ifthr x1, x2", W(0x63, csel=15, rs1=1, rs2=2) | 0),
    ("ccfgr.ifleak x1, x2", W(0x63, csel=15, rs1=1, rs2=2) | 1),
    ("ccfgr.ifsteps x3, x4", W(0x63, csel=15, rs1=3, rs2=4) | 2),
    ("ifrun.fwd x1", W(0x76, rs1=1, dir=FWD)),
    ("ifrun.bwd x2", W(0x76, rs1=2, dir=BWD)),
    ("ifstep.rec x3", W(0x77, rs1=3, dir=REC)),
    ("ifclr x4", W(0x78, rs1=4)),
    ("opu x5", W(0x79, rs1=5)),
    ("oprefresh c47", W(0x7A, core=47)),
    ("ccfgr.opdev x1, x2", W(0x63, csel=15, rs1=1, rs2=2) | 3),
    # links (multi-chip systems)
    ("send x3, x4, x5", W(0x7B, rt=3, rs1=4, rs2=5)),
    ("recv x15, x1, x2", W(0x7C, rt=15, rs1=1, rs2=2)),
    ("barrier", W(0x7D)),
    ("chipid x7", W(0x7E, rd=7)),
    ("nchips x12", W(0x7F, rd=12)),
    # case does not matter for mnemonics and suffixes
    ("VADD.I16 x1, x2, x3", W(0x40, rd=1, rs1=2, rs2=3, vt=I16)),
]

PSEUDO_SPEC = [
    ("mv x1, x2", [W(0x14, rd=1, rs1=2)]),
    ("not x1, x2", [W(0x17, rd=1, rs1=2, imm16=-1)]),
    ("neg x1, x2", [W(0x05, rd=1, rs1=0, rs2=2)]),
    ("j 8", [W(0x38, off20=2)]),
    ("call 0x100", [W(0x38, rd=1, off20=0x40)]),
    ("ret", [W(0x39, rs1=1)]),
    ("beqz x3, 12", [W(0x30, rt=3, off16=3)]),
    ("bnez x3, -4", [W(0x31, rt=3, off16=-1)]),
    ("bgt x1, x2, 8", [W(0x32, rt=2, rs1=1, off16=2)]),
    ("ble x1, x2, 8", [W(0x33, rt=2, rs1=1, off16=2)]),
    ("vmov.i16 x1, x2", [W(0x4C, rd=1, rs1=2, vt=I16, vd=I16)]),
    ("li x1, 5", [W(0x1D, rd=1, imm16=5)]),
    ("la x2, 0x12345", [W(0x1D, rd=2, imm16=1), W(0x1E, rd=2, uimm16=0x2345)]),
]


def words(source: str) -> list[int]:
    return assemble(source).image.text_words()


@pytest.mark.parametrize("source,expected", SPEC, ids=[s for s, _ in SPEC])
def test_instruction_encoding(source, expected):
    assert words(source) == [expected], f"{source}: {words(source)[0]:#010x} != {expected:#010x}"


@pytest.mark.parametrize("source,expected", PSEUDO_SPEC, ids=[s for s, _ in PSEUDO_SPEC])
def test_pseudo_encoding(source, expected):
    assert words(source) == expected


def test_spec_table_covers_every_instruction_and_pseudo():
    seen = {s.split()[0].split(".")[0].lower() for s, _ in SPEC}
    assert seen == set(INSNS), f"missing: {set(INSNS) - seen}"
    pseen = {s.split()[0].split(".")[0] for s, _ in PSEUDO_SPEC}
    assert pseen == set(PSEUDOS), f"missing: {set(PSEUDOS) - pseen}"


@pytest.mark.parametrize("mnemonic", sorted(INSNS))
def test_every_instruction_round_trips_its_extreme_operands(mnemonic):
    """Generated from the table: each operand at the top of its range, checked by decoding the
    fields with the independent layout above."""
    from asm.specs import SPECS, enum_names

    spec = SPECS[mnemonic]
    from isa.tables import CFG_EXT_BASE, ENUMS
    # the last name of each suffix's enumeration; for cfg the last direct one (extended fields
    # need the escape, which only ccfgr has: see test_extended_cfg_fields_*)
    sfx = [[n for n in enum_names(f.kind) if f.kind != "cfg" or ENUMS["cfg"][n] < CFG_EXT_BASE][-1]
           for f in spec.suffixes]
    ops, expect = [], {}
    for f, base in spec.operands:
        v = {"reg": 15, "core": 47}.get(f.kind, f.hi_val if f.kind != "pcrel" else 3)
        text = {"reg": f"x{v}", "core": f"c{v}"}.get(f.kind, str(v * 4 if f.kind == "pcrel" else v))
        if base is not None:
            text += "(x14)"
            expect[base.name] = 14
        ops.append(text)
        expect[f.name] = v
    line = ".".join([mnemonic] + sfx) + (" " + ", ".join(ops) if ops else "")
    (word,) = words(line)
    assert word >> 24 == INSNS[mnemonic][0]
    for name, v in expect.items():
        lo, width = POS[name]
        assert (word >> lo) & ((1 << width) - 1) == v & ((1 << width) - 1), (line, name)
