"""The ISA table as the assembler and disassembler use it: fields, instructions, pseudo-instructions.

Everything here is derived from the generated `isa/tables.py`; nothing about a particular
instruction is written by hand.  `resolve_mnemonic` turns `vcvt.i8.i32` into the instruction and
the bits its suffixes contribute.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from isa.tables import CFG, CFG_ESCAPE, CFG_EXT_BASE, ENUMS, FIELDS, INSNS, NUM_CORES, NUM_REGS, PSEUDOS

ENUM_KINDS = ("dtype", "dir", "cfg")
SIGNED_KINDS = ("simm", "pcrel")


@dataclass(frozen=True)
class FieldInfo:
    name: str
    hi: int
    lo: int
    kind: str
    lo_val: int
    hi_val: int

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lo

    def extract(self, word: int) -> int:
        """The field's value in `word`, sign-extended for signed kinds."""
        v = (word >> self.lo) & ((1 << self.width) - 1)
        if self.kind in SIGNED_KINDS and v >> (self.width - 1):
            v -= 1 << self.width
        return v

    def describe(self) -> str:
        """What an operand for this field looks like, for "expected …" messages."""
        if self.kind == "reg":
            return f"a register x0–x{NUM_REGS - 1}"
        if self.kind == "core":
            return f"a core c0–c{NUM_CORES - 1}"
        if self.kind == "pcrel":
            return "a branch target (a code label or address)"
        if self.kind in ENUM_KINDS:
            return f"one of {', '.join(enum_names(self.kind))}"
        return f"an immediate {self.lo_val}..{self.hi_val}"


FIELD_INFO = {name: FieldInfo(name, *row) for name, row in FIELDS.items()}


def enum_names(kind: str) -> list[str]:
    return list(ENUMS[kind])


@dataclass(frozen=True)
class InsnSpec:
    mnemonic: str
    opcode: int
    match: int
    mask: int
    suffixes: tuple[FieldInfo, ...]
    operands: tuple[tuple[FieldInfo, FieldInfo | None], ...]   # (field, base field of f(base))
    fields: tuple[FieldInfo, ...]
    group: str
    doc: str

    @property
    def syntax(self) -> str:
        return _syntax(self.mnemonic, self.suffixes, self.operands)


def _syntax(mnemonic, suffixes, operands) -> str:
    head = mnemonic + "".join(f".{{{s.name}}}" for s in suffixes)
    ops = ", ".join(f"{f.name}({b.name})" if b else f.name for f, b in operands)
    return f"{head} {ops}" if ops else head


def _operand_fields(ops) -> tuple:
    return tuple((FIELD_INFO[f], FIELD_INFO[b] if b else None) for f, b in ops)


SPECS: dict[str, InsnSpec] = {
    m: InsnSpec(m, op, match, mask, tuple(FIELD_INFO[s] for s in sfx), _operand_fields(ops),
                tuple(FIELD_INFO[f] for f in fields), group, doc)
    for m, (op, match, mask, sfx, ops, fields, group, _cost, doc) in INSNS.items()
}
BY_OPCODE: dict[int, InsnSpec] = {s.opcode: s for s in SPECS.values()}


@dataclass(frozen=True)
class PseudoSpec:
    """A pseudo-instruction.  `operands` name fields of the table, or `imm` (any 64-bit value);
    `expansion` is the template text with `{suffix}` placeholders, or "builtin" for li/la."""
    mnemonic: str
    suffixes: tuple[FieldInfo, ...]
    operands: tuple[tuple[str, str | None], ...]
    expansion: str
    doc: str

    @property
    def syntax(self) -> str:
        head = self.mnemonic + "".join(f".{{{s.name}}}" for s in self.suffixes)
        ops = ", ".join(f"{f}({b})" if b else f for f, b in self.operands)
        return f"{head} {ops}" if ops else head

    @property
    def builtin(self) -> bool:
        return self.expansion == "builtin"


PSEUDO_SPECS: dict[str, PseudoSpec] = {
    m: PseudoSpec(m, tuple(FIELD_INFO[s] for s in sfx), tuple(ops), exp, doc)
    for m, (sfx, ops, exp, doc) in PSEUDOS.items()
}

ALL_MNEMONICS = sorted(set(SPECS) | set(PSEUDO_SPECS))


def register_form(spec: InsnSpec) -> InsnSpec | None:
    """The instruction that takes a register where `spec` takes an immediate, with the same
    suffixes (ccfg → ccfgr): where to point a user whose value does not fit the immediate."""
    kinds = [f.kind for f, _b in spec.operands]
    for other in SPECS.values():
        if other is spec or other.suffixes != spec.suffixes or len(other.operands) != len(kinds):
            continue
        okinds = [f.kind for f, _b in other.operands]
        diff = [(a, b) for a, b in zip(kinds, okinds) if a != b]
        if diff and all(a in ("simm", "uimm") and b == "reg" for a, b in diff):
            return other
    return None


class MnemonicError(Exception):
    """A mnemonic or one of its suffixes is wrong; `offset`/`length` locate the bad part."""

    def __init__(self, message: str, offset: int = 0, length: int = 0):
        super().__init__(message)
        self.offset = offset
        self.length = length


@dataclass(frozen=True)
class Resolved:
    """A mnemonic with its suffixes checked: the spec, the suffix bits, and (for an instruction
    with a cfg suffix, like ccfg.inbits) the range the configuration field accepts."""
    spec: InsnSpec | PseudoSpec
    suffix_bits: int
    suffix_names: tuple[str, ...]
    cfg_range: tuple[int, int, str, str] | None   # (lo, hi, name, hint if the imm is too small)


def suggest(name: str, candidates, prefix: str = "") -> str:
    """' (did you mean …?)' with up to three close candidates, or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(prefix + c for c in close) + "?)"


def resolve_mnemonic(text: str) -> Resolved:
    parts = text.lower().split(".")
    base, sfx = parts[0], parts[1:]
    spec = SPECS.get(base) or PSEUDO_SPECS.get(base)
    if spec is None:
        raise MnemonicError(f"unknown instruction '{text}'{suggest(base, ALL_MNEMONICS)}",
                            0, len(base))
    want = spec.suffixes
    if len(sfx) < len(want):
        f = want[len(sfx)]
        raise MnemonicError(f"{base} needs a .{{{f.name}}} suffix ({spec.syntax}): "
                            f"{f.name} is one of {', '.join('.' + n for n in enum_names(f.kind))}",
                            0, len(text))
    if len(sfx) > len(want):
        extra = ".".join(sfx[len(want):])
        start = len(text) - len(extra) - 1
        if not want:
            raise MnemonicError(f"{base} takes no suffix, got .{extra}", start, len(extra) + 1)
        raise MnemonicError(f"too many suffixes: {base} is written {spec.syntax}",
                            start, len(extra) + 1)
    bits, cfg_range = 0, None
    offset = len(base)
    for s, f in zip(sfx, want):
        values = ENUMS[f.kind]
        if s not in values:
            valid = ", ".join("." + n for n in values)
            raise MnemonicError(f"unknown suffix .{s} for {base}: {f.name} is one of {valid}"
                                f"{suggest(s, values, '.')}", offset, len(s) + 1)
        if f.kind == "cfg" and values[s] >= CFG_EXT_BASE:
            bits |= _escape_bits(base, s, values[s], offset)
        else:
            bits |= values[s] << f.lo
        if f.kind == "cfg":
            _, lo, hi, _default, _doc = CFG[s]
            alt = register_form(spec) if isinstance(spec, InsnSpec) else None
            hint = (f"load it into a register and use {alt.mnemonic}.{s}" if alt
                    else "load it into a register")
            cfg_range = (lo, hi, f"{base}.{s}", hint)
        offset += len(s) + 1
    return Resolved(spec, bits, tuple(sfx), cfg_range)


def _escape_bits(base: str, name: str, value: int, offset: int) -> int:
    """The bits of extended cfg field `name`: the escape code in the selector and the extended
    selector in its own field; only the escape instruction (ccfgr) has that field."""
    if CFG_ESCAPE is None or base != CFG_ESCAPE[2]:
        how = f"; set it from a register with {CFG_ESCAPE[2]}.{name}" if CFG_ESCAPE else ""
        raise MnemonicError(f"{name} is an extended configuration field (code {value}), which "
                            f"{base} cannot select{how}", offset, len(name) + 1)
    code, field, _insn = CFG_ESCAPE
    sel = next(f for f in SPECS[base].suffixes if f.kind == "cfg")
    return code << sel.lo | (value - CFG_EXT_BASE) << FIELD_INFO[field].lo


_PLACEHOLDER = re.compile(r"\{([a-z0-9]+)\}")


def template_text(p: PseudoSpec) -> str:
    """The expansion template with its suffix placeholders written as plain names, so that the
    assembler's own parser can read it (`vcvt.{vt}.{vt} rd, rs1` → `vcvt.vt.vt rd, rs1`)."""
    return _PLACEHOLDER.sub(r"\1", p.expansion)
