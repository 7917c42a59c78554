"""NR48 disassembler: words and images back to assembly that re-assembles to the same bytes.

Decoding uses the ISA table only: the opcode selects a row, the row's match/mask must hold (every
unused bit zero) and every field must hold a value its kind allows (a known enumeration name, a
core below 48, an immediate inside its range).  Anything else is not an instruction and comes
out as `.word 0x…` with the reason in a comment.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from isa.tables import CFG_ESCAPE, CFG_EXT_BASE, ENUMS, VERSION

from .image import Image, SourceMap
from .specs import BY_OPCODE, FIELD_INFO, InsnSpec, resolve_mnemonic

_ENUM_NAMES = {kind: {v: n for n, v in values.items()} for kind, values in ENUMS.items()}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
_RESERVED = re.compile(r"[xc][0-9]+$")


def decode(word: int) -> tuple[InsnSpec | None, dict[str, int] | str]:
    """(spec, field values) for a valid word, else (None, the reason it is not one)."""
    word &= 0xFFFFFFFF
    spec = BY_OPCODE.get(word >> 24)
    if spec is None:
        return None, f"no instruction has opcode {word >> 24:#04x}"
    stray = (word & spec.mask) ^ spec.match
    if stray:
        return None, f"{spec.mnemonic} with reserved bits set ({stray:#010x})"
    values = {}
    for f in spec.fields:
        v = f.extract(word)
        if f.kind == "cfg" and CFG_ESCAPE and spec.mnemonic == CFG_ESCAPE[2]:
            # the escape's selector field is outside the mask: zero, or the extended selector
            x = FIELD_INFO[CFG_ESCAPE[1]].extract(word)
            if v == CFG_ESCAPE[0]:
                v = CFG_EXT_BASE + x
            elif x:
                return None, f"{spec.mnemonic} with {CFG_ESCAPE[1]} {x} but {f.name} {v} (not the escape)"
        if f.kind in _ENUM_NAMES:
            if v not in _ENUM_NAMES[f.kind]:
                return None, f"{spec.mnemonic} with undefined {f.name} value {v}"
        elif not f.lo_val <= v <= f.hi_val:
            return None, f"{spec.mnemonic} with {f.name} {v} outside {f.lo_val}..{f.hi_val}"
        values[f.name] = v
    return spec, values


def _target(pc: int | None, off: int, labels: Mapping[int, str] | None) -> str:
    if pc is None:
        d = 4 * off
        return f".{d:+d}"              # relative to this instruction: re-assembles anywhere
    target = pc + 4 * off
    if labels and target in labels:
        return labels[target]
    return f"{target:#x}" if target >= 0 else f"-{-target:#x}"


def _imm(name: str, v: int) -> str:
    # unsigned 16-bit pieces (shori, setvli) read best in hex; everything else in decimal
    return f"{v:#x}" if name == "uimm16" and v > 9 else str(v)


def format_insn(spec: InsnSpec, values: dict[str, int], pc: int | None = None,
                labels: Mapping[int, str] | None = None) -> str:
    head = spec.mnemonic + "".join("." + _ENUM_NAMES[f.kind][values[f.name]] for f in spec.suffixes)
    ops = []
    for f, base in spec.operands:
        v = values[f.name]
        if f.kind == "reg":
            text = f"x{v}"
        elif f.kind == "core":
            text = f"c{v}"
        elif f.kind == "pcrel":
            text = _target(pc, v, labels)
        else:
            text = _imm(f.name, v)
        if base is not None:
            text = f"{text}(x{values[base.name]})"
        ops.append(text)
    return f"{head} {', '.join(ops)}" if ops else head


def _refused(spec: InsnSpec, values: dict[str, int]) -> str | None:
    """Why the assembler would refuse this decoded word, if it would: a value outside the range of
    the configuration field its suffix selects (ccfg.inbits x1, 0 is a legal word that faults)."""
    res = resolve_mnemonic(format_insn(spec, values).split()[0])
    if res.cfg_range is None:
        return None
    lo, hi, what, _hint = res.cfg_range
    for f, _base in spec.operands:
        if f.kind in ("simm", "uimm") and not lo <= values[f.name] <= hi:
            return f"{values[f.name]} is outside the range of {what} ({lo}..{hi})"
    return None


def disassemble_word(word: int, pc: int | None = None, labels: Mapping[int, str] | None = None) -> str:
    """One word as assembly.  Branch targets are addresses when `pc` is given (names from
    `labels`, address → name), else `.±offset`; invalid words give `.word 0x…  # reason`.
    Whatever this returns re-assembles to the same word."""
    word &= 0xFFFFFFFF
    spec, values = decode(word)
    if spec is None:
        return f".word {word:#010x}  # not an instruction: {values}"
    text = format_insn(spec, values, pc, labels)
    refused = _refused(spec, values)
    if refused:
        return f".word {word:#010x}  # {text}: {refused}"
    return text


def branch_target(word: int, pc: int) -> int | None:
    """The target address of a valid branch or jump word at `pc`, else None."""
    spec, values = decode(word)
    if spec is None:
        return None
    for f, _base in spec.operands:
        if f.kind == "pcrel":
            return pc + 4 * values[f.name]
    return None


def _symbol_table(symbols) -> dict[str, tuple[str, int]]:
    if symbols is None:
        return {}
    if isinstance(symbols, SourceMap):
        symbols = symbols.symbols
    return {n: (s, v) for n, (s, v) in symbols.items()
            if _IDENT.match(n) and not _RESERVED.match(n)}


def _bytes_lines(data: bytes, indent: str = "    ") -> list[str]:
    """`.byte` rows of 16, with runs of 16 or more zero bytes as `.zero n`."""
    out, pos = [], 0
    for m in list(re.finditer(rb"\x00{16,}", data)) + [None]:
        stop = m.start() if m else len(data)
        for i in range(pos, stop, 16):
            out.append(f"{indent}.byte " + ", ".join(f"{b:#04x}" for b in data[i:min(i + 16, stop)]))
        if m:
            out.append(f"{indent}.zero {m.end() - m.start()}")
            pos = m.end()
    return out


def disassemble(image: Image, symbols=None) -> str:
    """The whole image as assembly: `.org` per segment, `.entry`, labels at branch targets
    (`L_0040`, or the real names when `symbols` — Program.symbols or a SourceMap — is given)."""
    syms = _symbol_table(symbols)
    texts = sorted(image.segments_of("text"), key=lambda s: s.addr)
    datas = sorted(image.segments_of("data"), key=lambda s: s.addr)

    def inside(segs, addr, allow_end=True):
        return any(s.addr <= addr < s.end or (allow_end and addr == s.end) for s in segs)

    text_labels: dict[int, list[str]] = {}
    data_labels: dict[int, list[str]] = {}
    equates: list[tuple[str, int]] = []
    for name, (section, value) in sorted(syms.items(), key=lambda kv: (kv[1][1], kv[0])):
        if section == "text" and inside(texts, value):
            text_labels.setdefault(value, []).append(name)
        elif section == "data" and inside(datas, value):
            data_labels.setdefault(value, []).append(name)
        else:
            equates.append((name, value))
    taken = set(syms)
    for seg in texts:
        for i in range(0, len(seg.data), 4):
            pc = seg.addr + i
            t = branch_target(int.from_bytes(seg.data[i:i + 4], "little"), pc)
            if t is not None and t not in text_labels and inside(texts, t, allow_end=False):
                name = f"L_{t:04x}"
                while name in taken:
                    name += "_"
                taken.add(name)
                text_labels[t] = [name]
    first_name = {a: names[0] for a, names in text_labels.items()}

    out = [f"# disassembled NR48 image (ISA {image.isa_version >> 8}.{image.isa_version & 0xFF}; "
           f"this disassembler implements {VERSION[0]}.{VERSION[1]})"]
    for name, value in equates:     # .equ rather than `name =`, which a name like `la` cannot start
        out.append(f".equ {name}, {value:#x}" if value >= 0 else f".equ {name}, {value}")
    out.append(f".entry {first_name.get(image.entry, f'{image.entry:#x}')}")
    for seg in texts:
        out += ["", ".text", f".org {seg.addr:#x}"]
        for i in range(0, len(seg.data), 4):
            pc = seg.addr + i
            out += [f"{n}:" for n in text_labels.get(pc, ())]
            out.append("    " + disassemble_word(int.from_bytes(seg.data[i:i + 4], "little"), pc,
                                                 first_name))
        out += [f"{n}:" for n in text_labels.get(seg.end, ())
                if not any(s.addr == seg.end for s in texts)]
    for seg in datas:
        out += ["", ".data", f".org {seg.addr:#x}"]
        cuts = sorted({a for a in data_labels if seg.addr <= a <= seg.end} | {seg.addr, seg.end})
        for a, b in zip(cuts, cuts[1:] + [None]):
            out += [f"{n}:" for n in data_labels.get(a, ())
                    if b is not None or not any(s.addr == a for s in datas if s is not seg)]
            if b is not None:
                out += _bytes_lines(seg.data[a - seg.addr:b - seg.addr])
    return "\n".join(out) + "\n"
