"""Shared helpers of the core tests: an instruction-word encoder built on isa.tables (no
assembler needed), programs and machines.

    I.addi(rd=1, rs1=0, imm16=5)              → word
    I.vadd(vt="i16", rd=3, rs1=1, rs2=2)
    program(I.movi(rd=1, imm16=3), I.halt())  → LoadedProgram for Machine.load
    li(1, 0x1234_5678_9abc)                    → the words of the li pseudo
    machine(), run_one(word, regs=…, mem=…, vl=…), params()
"""
from __future__ import annotations

import numpy as np

from isa.tables import CFG_ESCAPE, CFG_EXT_BASE, ENUMS, FIELDS, INSNS


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
        if kind == "cfg" and value >= CFG_EXT_BASE:
            # an extended field: the escape code here, the selector in the escape's field
            if mnemonic != CFG_ESCAPE[2]:
                raise KeyError(f"{mnemonic} cannot select extended field {value}")
            xhi, xlo = FIELDS[CFG_ESCAPE[1]][:2]
            word |= (value - CFG_EXT_BASE) << xlo
            value = CFG_ESCAPE[0]
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


# ---------------------------------------------------------------- machines

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
