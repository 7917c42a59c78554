"""Encode one instruction from the ISA table, checking every operand against its field.

The checks come from the field table (kind and value range) and, for `ccfg.NAME`, from the
configuration field's range; the messages say what was expected.
"""
from __future__ import annotations

from .nodes import Core, Mem, Num, Reg, Str
from .specs import FieldInfo, InsnSpec, NUM_CORES, NUM_REGS, Resolved


class OperandError(Exception):
    """An operand does not fit its slot.

    With `expected`, the assembler words the message as "expected {expected}, got {source text}";
    otherwise `message` is complete.
    """

    def __init__(self, node, message: str = "", expected: str = ""):
        super().__init__(message or expected)
        self.node = node
        self.message = message
        self.expected = expected


class CountError(Exception):
    """An instruction is given the wrong number of operands; the message shows its syntax."""


def check_count(spec, operands: tuple) -> None:
    """`spec` (an instruction or pseudo-instruction) must be given as many operands as it has."""
    want = len(spec.operands)
    if len(operands) != want:
        noun = "operand" if want == 1 else "operands"
        raise CountError(f"{spec.mnemonic} takes {want} {noun} ({spec.syntax}), got {len(operands)}")


def reg_number(op, f: FieldInfo) -> int:
    if type(op) is not Reg or op.num >= NUM_REGS:
        raise OperandError(op, expected=f.describe())
    return op.num


def _immediate(op, f: FieldInfo, ctx, pc: int, cfg_range) -> int:
    t = type(op)
    if t is Num:
        v = op.value
    elif t is Reg or t is Core or t is Mem or t is Str:
        raise OperandError(op, expected=f.describe())
    else:
        v = ctx.value(op, pc)
    lo, hi = f.lo_val, f.hi_val
    if cfg_range is not None:
        clo, chi, what, hint = cfg_range
        if not clo <= v <= chi:
            raise OperandError(op, f"value {v} out of range for {what}: {clo}..{chi}")
        if not lo <= v <= hi:
            raise OperandError(op, f"{what} accepts {v}, but the immediate {f.name} holds only "
                                   f"{lo}..{hi}; {hint}")
    if not lo <= v <= hi:
        raise OperandError(op, f"immediate {v} out of range for {f.name}: {lo}..{hi}")
    return (v & ((1 << f.width) - 1)) << f.lo


def _pcrel(op, f: FieldInfo, ctx, pc: int) -> int:
    t = type(op)
    if t is Reg or t is Core or t is Mem or t is Str:
        raise OperandError(op, expected=f.describe())
    target = op.value if t is Num else ctx.value(op, pc)
    if ctx.section_of(op) == "data":
        raise OperandError(op, f"branch target is a data address ({target:#x}); "
                               "branches and jumps need a code label")
    delta = target - pc
    if delta % 4:
        raise OperandError(op, f"branch target {target:#x} is not word-aligned "
                               f"(offset {delta} bytes from {pc:#x})")
    off = delta >> 2
    if not f.lo_val <= off <= f.hi_val:
        raise OperandError(op, f"branch target {target:#x} out of reach: offset {off} words from "
                               f"{pc:#x}, {f.name} holds {f.lo_val}..{f.hi_val}")
    return (off & ((1 << f.width) - 1)) << f.lo


def encode(r: Resolved, operands: tuple, pc: int, ctx) -> int:
    """The 32-bit word of instruction `r.spec` with `operands` at address `pc`.

    `ctx.value(expr, pc)` evaluates an expression and `ctx.section_of(expr)` tells whether it is a
    "text" or "data" address (or None).
    """
    spec: InsnSpec = r.spec
    ops = spec.operands
    if len(operands) != len(ops):
        check_count(spec, operands)
    word = spec.match | r.suffix_bits
    for (f, base), op in zip(ops, operands):
        if base is not None:
            if type(op) is not Mem:
                raise OperandError(op, expected=f"a memory operand {f.name}({base.name}), "
                                                 f"e.g. 8(x2)")
            word |= reg_number(op.base, base) << base.lo
            op = op.offset
        k = f.kind
        if k == "reg":
            word |= reg_number(op, f) << f.lo
        elif k == "simm" or k == "uimm":
            word |= _immediate(op, f, ctx, pc, r.cfg_range)
        elif k == "pcrel":
            word |= _pcrel(op, f, ctx, pc)
        elif k == "core":
            if type(op) is not Core or op.num >= NUM_CORES:
                raise OperandError(op, expected=f.describe())
            word |= op.num << f.lo
        else:  # enumerations are suffixes; the table loader guarantees it
            raise AssertionError(f"field {f.name} of kind {k} cannot be an operand")
    return word
