"""Instruction-word encoder for the core tests, built on isa.tables (no assembler needed), and
the checks that it agrees with the C decoder for every instruction of the table.

    I.addi(rd=1, rs1=0, imm16=5)              → word
    I.vadd(vt="i16", rd=3, rs1=1, rs2=2)
    program(I.movi(rd=1, imm16=3), I.halt())  → LoadedProgram for Machine.load
"""
from __future__ import annotations

import numpy as np
import pytest

from isa.tables import ENUMS, FIELDS, INSNS


def enc(mnemonic: str, **fields) -> int:
    """Encode one instruction; enum fields (vt, vd, dir, csel) take names or numbers."""
    info = INSNS[mnemonic]
    word = info[1]
    for name, value in fields.items():
        hi, lo, kind, _lo_val, _hi_val = FIELDS[name]
        if name not in info[5]:
            raise KeyError(f"{mnemonic} has no field {name}")
        if isinstance(value, str):
            value = ENUMS[kind][value]
        width = hi - lo + 1
        word |= (value & ((1 << width) - 1)) << lo
    return word


class _Encoder:
    def __getattr__(self, name: str):
        mn = name.rstrip("_")   # and_, or_, xor_ … dodge Python keywords
        if mn not in INSNS:
            raise AttributeError(name)
        return lambda **f: enc(mn, **f)


I = _Encoder()


def program(*words: int, data: dict[int, bytes] | None = None, entry: int = 0):
    from emulator.program import LoadedProgram

    return LoadedProgram(np.array(words, dtype=np.uint32),
                         tuple(sorted((data or {}).items())), entry, "<test>")


def li(rd: int, value: int) -> list[int]:
    """movi + shori words loading any 64-bit value (like the `li` pseudo)."""
    value &= (1 << 64) - 1
    signed = value - (1 << 64) if value >> 63 else value
    if -32768 <= signed < 32768:
        return [I.movi(rd=rd, imm16=signed)]
    chunks = [(value >> s) & 0xFFFF for s in (48, 32, 16, 0)]
    while len(chunks) > 1 and chunks[0] == (0xFFFF if signed < 0 else 0) \
            and ((chunks[1] >> 15) & 1) == (1 if signed < 0 else 0):
        chunks.pop(0)
    first = chunks[0] - 0x10000 if chunks[0] >= 0x8000 else chunks[0]
    return [I.movi(rd=rd, imm16=first)] + [I.shori(rd=rd, uimm16=c) for c in chunks[1:]]


# ---------------------------------------------------------------- the encoder agrees with C

def test_every_instruction_round_trips_through_the_c_decoder():
    from emulator._native import OP_NAMES, lib

    for mn, info in INSNS.items():
        # the smallest legal value of every field (vbits starts at 1)
        word = enc(mn, **{f: max(FIELDS[f][3], 0) for f in info[5]})
        assert OP_NAMES[lib.nr_decode_word(word)] == mn, mn


def test_stray_bits_are_illegal():
    from emulator._native import lib

    assert lib.nr_decode_word(I.nop() | 1) == 0           # nop uses no operand bits
    assert lib.nr_decode_word(I.add(rd=1, rs1=2, rs2=3) | 0x800) == 0
    assert lib.nr_decode_word(0) == 0 and lib.nr_decode_word(0xFFFFFFFF) == 0


@pytest.mark.parametrize("value", [0, 1, -1, 32767, -32768, 65535, 0x12345678, -(1 << 40),
                                   (1 << 63) - 1, 1 << 63, 0xFFFF_0000_0000_0000])
def test_li_builds_every_constant(value):
    from emulator import Machine

    m = Machine()
    m.load(program(*li(1, value), I.halt()))
    assert m.run().stop == "halt"
    assert int(m.regs[1]) & ((1 << 64) - 1) == value & ((1 << 64) - 1)


# ---------------------------------------------------------------- machines for the core tests

SMALL = {"mem_size": 1 << 16}   # the core tests rarely need the full 4 MiB


def machine(config: dict | None = None):
    from emulator import Machine

    return Machine(config={**SMALL, **(config or {})})


def run_one(word: int, regs: dict | None = None, mem: dict | None = None,
            config: dict | None = None, vl: int | None = None):
    """Load `word; halt`, set registers (and VL through x15), issue the one instruction."""
    m = machine(config)
    m.load(program(word, I.halt()))
    for addr, arr in (mem or {}).items():
        m.write_mem(addr, np.asarray(arr))
    for r, v in (regs or {}).items():
        m.set_reg(r, v)
    if vl is not None:
        m._native.m.vl = vl
    return m, m.step(1)


def params() -> dict:
    """Timing parameters of the default configuration."""
    from emulator import ChipConfig

    return dict(ChipConfig.defaults())


def test_every_instruction_of_the_table_has_a_vector():
    """Each mnemonic appears as an encoded instruction in at least one core test module."""
    import re
    from pathlib import Path

    text = "".join(p.read_text() for p in Path(__file__).parent.glob("test_core_*.py"))
    used = set(re.findall(r"\bI\.(\w+?)_?\(", text))
    missing = sorted(set(INSNS) - used)
    assert not missing, f"no test vector for {missing}"
