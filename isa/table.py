"""Loader and validator of the NR48 ISA table (`isa/nr48.isa`).

The table is line-oriented (see the header of nr48.isa).  `load()` returns an `Isa` whose
instructions carry their opcode, match/mask, operand list, the fields behind each operand and
the register operand they write (`writes=`, or None).
Any inconsistency raises `TableError` naming the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

TABLE_PATH = Path(__file__).with_name("nr48.isa")

FIELD_KINDS = {"opcode", "reg", "simm", "uimm", "pcrel", "core", "dtype", "dir", "cfg"}
ENUM_KINDS = {"dtype", "dir", "cfg"}
INSN_ATTRS = {"writes", "size", "mem"}   # KEY=VALUE attributes after an insn's opcode
WRITABLE_FIELDS = ("rd",)        # register fields an instruction may write (the decoder's x0 sink)
ACCESS_SIZES = (1, 2, 4, 8)      # size=N: bytes of a scalar load or store
# mem=: registers that can hold a vector memory operand's address, and the dtype fields that
# can give its element type (the decoder keeps exactly these in nr_insn: rd/rs1/rs2, vt→a, vd→b)
MEM_REGS = ("rd", "rs1", "rs2")
MEM_DTYPES = ("vt", "vd")
N_REGS = 16
N_CORES = 48


class TableError(Exception):
    """The ISA table is inconsistent; the message names the line."""


@dataclass(frozen=True)
class Field:
    name: str
    hi: int
    lo: int
    kind: str
    lo_val: int  # smallest accepted value (decoded meaning, e.g. -32768 for simm16)
    hi_val: int  # largest accepted value
    doc: str

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lo


@dataclass(frozen=True)
class CfgField:
    name: str
    value: int
    lo: int
    hi: int
    default: int
    doc: str


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    unit: str
    doc: str


@dataclass(frozen=True)
class Operand:
    """One operand of an instruction's assembly syntax.

    `field` is the operand field; `base` is set for the offset(base) form.
    """
    field: str
    base: str | None = None


@dataclass(frozen=True)
class MemOperand:
    """One vector memory operand (mem= in the table): the register holding its address, the
    dtype field giving its element type, and whether the semantics snippet checks its extent
    itself (`*`: it is not VL elements) instead of the generic VL-element check."""
    reg: str
    dtype: str = "vt"
    own_check: bool = False


@dataclass(frozen=True)
class Insn:
    mnemonic: str
    opcode: int
    group: str
    suffixes: tuple[str, ...]   # fields written as .{f} suffixes, in order
    operands: tuple[Operand, ...]
    cost: str
    doc: str
    syntax: str
    match: int
    mask: int
    fields: tuple[str, ...]     # every operand field, in encoding order (high bit first)
    line: int
    writes: str | None = None   # the register operand field the instruction writes (writes=)
    size: int | None = None     # bytes a scalar load/store accesses (size=)
    mem: tuple[MemOperand, ...] = ()   # vector memory operands, in check order (mem=)


@dataclass(frozen=True)
class Pseudo:
    mnemonic: str
    suffixes: tuple[str, ...]
    operands: tuple[Operand, ...]
    expansion: str              # "builtin" or a template over the operand names
    doc: str
    syntax: str
    line: int


@dataclass(frozen=True)
class CfgEscape:
    """csel code `code` of instruction `insn` selects extended field base + the value of `field`
    (base = 2^width of the cfg field): the way to add fields once the direct codes are used."""
    code: int
    field: str
    insn: str
    doc: str
    line: int


@dataclass
class Isa:
    version: tuple[int, int] = (0, 0)
    word_bits: int = 32
    code_words: int = 1 << 22
    enums: dict[str, dict[str, int]] = field(default_factory=dict)
    cfg: dict[str, CfgField] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)
    params: dict[str, Param] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    insns: dict[str, Insn] = field(default_factory=dict)
    pseudos: dict[str, Pseudo] = field(default_factory=dict)
    cfg_escape: CfgEscape | None = None

    def cfg_base(self) -> int:
        """The first extended cfg value: 2^width of the cfg selector field."""
        sel = next(f for f in self.fields.values() if f.kind == "cfg")
        return 1 << sel.width

    def cfg_direct(self) -> list[int]:
        """The cfg values encoded directly in the selector field, sorted."""
        return sorted(c.value for c in self.cfg.values() if c.value < self.cfg_base())

    def cfg_extended(self) -> list[int]:
        """The cfg values reached through the escape, sorted."""
        return sorted(c.value for c in self.cfg.values() if c.value >= self.cfg_base())

    @property
    def version_word(self) -> int:
        return (self.version[0] << 8) | self.version[1]

    def enum_values(self, kind: str) -> dict[str, int]:
        if kind == "cfg":
            return {c.name: c.value for c in self.cfg.values()}
        return self.enums[kind]


_SYNTAX_RE = re.compile(r"^([a-z][a-z0-9]*)((?:\.\{[a-z0-9]+\})*)\s*(.*)$")
_OPERAND_RE = re.compile(r"^([a-z][a-z0-9]*)(?:\(([a-z][a-z0-9]*)\))?$")


def _parse_syntax(text: str, where: str) -> tuple[str, tuple[str, ...], tuple[Operand, ...]]:
    m = _SYNTAX_RE.match(text.strip())
    if not m:
        raise TableError(f"{where}: cannot read syntax {text!r}")
    mnem, suffix_text, rest = m.groups()
    suffixes = tuple(re.findall(r"\.\{([a-z0-9]+)\}", suffix_text))
    operands = []
    if rest.strip():
        for part in rest.split(","):
            om = _OPERAND_RE.match(part.strip())
            if not om:
                raise TableError(f"{where}: cannot read operand {part.strip()!r}")
            operands.append(Operand(om.group(1), om.group(2)))
    return mnem, suffixes, tuple(operands)


def _int(text: str, where: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise TableError(f"{where}: expected an integer, got {text!r}") from None


def _range(text: str, where: str) -> tuple[int, int]:
    m = re.fullmatch(r"(-?\w+)\.\.(-?\w+)", text)
    if not m:
        raise TableError(f"{where}: expected a range LO..HI, got {text!r}")
    lo, hi = _int(m.group(1), where), _int(m.group(2), where)
    if lo > hi:
        raise TableError(f"{where}: empty range {text}")
    return lo, hi


def _field_range(kind: str, width: int, isa: Isa, explicit: tuple[int, int] | None) -> tuple[int, int]:
    if explicit:
        return explicit
    if kind in ("simm", "pcrel"):
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    if kind in ("uimm", "opcode"):
        return 0, (1 << width) - 1
    if kind == "reg":
        return 0, N_REGS - 1
    if kind == "core":
        return 0, N_CORES - 1
    return 0, (1 << width) - 1  # enums: checked against their names


_NCOLS = {"cfg": 2, "cfgescape": 2, "field": 2, "param": 2, "group": 2, "insn": 4, "pseudo": 4}


def parse(text: str, source: str = "nr48.isa") -> Isa:
    isa = Isa()
    group = None
    raw_insns: list[tuple[int, list[str]]] = []
    raw_pseudos: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{source}:{lineno}"
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        head, _, rest = body.partition(" ")
        # the last column is free text and may itself contain '|'
        cols = [c.strip() for c in rest.split("|", _NCOLS.get(head, 0) - 1)]
        if head == "version":
            m = re.fullmatch(r"(\d+)\.(\d+)", rest.strip())
            if not m:
                raise TableError(f"{where}: expected version MAJOR.MINOR")
            isa.version = (int(m.group(1)), int(m.group(2)))
        elif head == "word":
            isa.word_bits = _int(rest.strip(), where)
            if isa.word_bits != 32:
                raise TableError(f"{where}: only 32-bit words are supported")
        elif head == "codewords":
            isa.code_words = _int(rest.strip(), where)
            if not 1 <= isa.code_words <= 1 << 28:
                raise TableError(f"{where}: codewords must be 1..2^28")
        elif head == "enum":
            parts = rest.split()
            kind, values = parts[0], {}
            if kind not in ENUM_KINDS - {"cfg"}:
                raise TableError(f"{where}: unknown enum kind {kind!r}")
            for p in parts[1:]:
                name, _, val = p.partition("=")
                if name in values:
                    raise TableError(f"{where}: duplicate enum name {name}")
                values[name] = _int(val, where)
            if len(set(values.values())) != len(values):
                raise TableError(f"{where}: duplicate enum value in {kind}")
            isa.enums[kind] = values
        elif head == "cfg":
            parts = cols[0].split()
            if len(parts) != 4 or len(cols) != 2:
                raise TableError(f"{where}: expected 'cfg NAME VALUE LO..HI DEFAULT | doc'")
            name, value = parts[0], _int(parts[1], where)
            lo, hi = _range(parts[2], where)
            default = _int(parts[3], where)
            if not lo <= default <= hi:
                raise TableError(f"{where}: default {default} of cfg {name} outside {lo}..{hi}")
            if name in isa.cfg or value in {c.value for c in isa.cfg.values()}:
                raise TableError(f"{where}: duplicate cfg name or value ({name}, {value})")
            isa.cfg[name] = CfgField(name, value, lo, hi, default, cols[1])
        elif head == "cfgescape":
            parts = cols[0].split()
            if len(parts) != 3 or len(cols) != 2:
                raise TableError(f"{where}: expected 'cfgescape CODE FIELD INSN | doc'")
            if isa.cfg_escape is not None:
                raise TableError(f"{where}: a second cfgescape line")
            isa.cfg_escape = CfgEscape(_int(parts[0], where), parts[1], parts[2], cols[1], lineno)
        elif head == "field":
            parts = cols[0].split()
            if len(parts) not in (3, 4) or len(cols) != 2:
                raise TableError(f"{where}: expected 'field NAME HI:LO KIND [LO..HI] | doc'")
            name, bits, kind = parts[:3]
            m = re.fullmatch(r"(\d+):(\d+)", bits)
            if not m:
                raise TableError(f"{where}: expected a bit range HI:LO, got {bits!r}")
            hi, lo = int(m.group(1)), int(m.group(2))
            if not (0 <= lo <= hi < isa.word_bits):
                raise TableError(f"{where}: bit range {bits} does not fit a {isa.word_bits}-bit word")
            if kind not in FIELD_KINDS:
                raise TableError(f"{where}: unknown field kind {kind!r}")
            explicit = _range(parts[3], where) if len(parts) == 4 else None
            lo_val, hi_val = _field_range(kind, hi - lo + 1, isa, explicit)
            width = hi - lo + 1
            enc_lo, enc_hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if kind in ("simm", "pcrel") \
                else (0, (1 << width) - 1)
            if lo_val < enc_lo or hi_val > enc_hi:
                raise TableError(f"{where}: values {lo_val}..{hi_val} do not fit {width} bits")
            if name in isa.fields:
                raise TableError(f"{where}: duplicate field {name}")
            isa.fields[name] = Field(name, hi, lo, kind, lo_val, hi_val, cols[1])
        elif head == "param":
            parts = cols[0].split(None, 2)
            if len(parts) != 3 or len(cols) != 2:
                raise TableError(f"{where}: expected 'param NAME DEFAULT UNIT | doc'")
            isa.params[parts[0]] = Param(parts[0], _int(parts[1], where), parts[2], cols[1])
        elif head == "group":
            group = cols[0]
            if group in isa.groups:
                raise TableError(f"{where}: duplicate group {group}")
            isa.groups[group] = cols[1] if len(cols) > 1 else group
        elif head == "insn":
            if group is None:
                raise TableError(f"{where}: insn before any group")
            raw_insns.append((lineno, cols + [group]))
        elif head == "pseudo":
            raw_pseudos.append((lineno, cols))
        else:
            raise TableError(f"{where}: unknown line kind {head!r}")

    for lineno, cols in raw_insns:
        _add_insn(isa, cols, f"{source}:{lineno}", lineno)
    for lineno, cols in raw_pseudos:
        _add_pseudo(isa, cols, f"{source}:{lineno}", lineno)
    _check_cfg_escape(isa, source)
    _check_encodings(isa, source)
    return isa


def _check_cfg_escape(isa: Isa, source: str) -> None:
    """Extended cfg values need the escape; the escape's code, field and instruction must fit.
    The escape instruction's selector field leaves the word's mask: its decoder checks it (zero
    unless csel is the escape code)."""
    ext = isa.cfg_extended()
    esc = isa.cfg_escape
    if esc is None:
        if ext:
            raise TableError(f"{source}: cfg value {ext[0]} does not fit the selector and there is "
                             "no cfgescape line")
        return
    where = f"{source}:{esc.line}"
    base = isa.cfg_base()
    if not 0 <= esc.code < base or esc.code in {c.value for c in isa.cfg.values()}:
        raise TableError(f"{where}: escape code {esc.code} must be a free selector code below {base}")
    f = isa.fields.get(esc.field)
    if f is None or f.kind != "uimm":
        raise TableError(f"{where}: escape field {esc.field!r} must be a uimm field")
    ins = isa.insns.get(esc.insn)
    if ins is None or not any(isa.fields[s].kind == "cfg" for s in ins.suffixes):
        raise TableError(f"{where}: escape instruction {esc.insn!r} must take a cfg suffix")
    covered = 0
    for n in ins.fields:
        covered |= isa.fields[n].mask
    if covered & f.mask or not ins.mask & f.mask == f.mask:
        raise TableError(f"{where}: escape field {esc.field} overlaps a field of {esc.insn}")
    if ext and ext[-1] - base > f.hi_val:
        raise TableError(f"{where}: cfg value {ext[-1]} is beyond the escape's reach "
                         f"({base}..{base + f.hi_val})")
    isa.insns[esc.insn] = replace(ins, mask=ins.mask & ~f.mask)


def _kind_enum_size_ok(isa: Isa, f: Field, where: str) -> None:
    if f.kind in ENUM_KINDS:
        values = isa.enum_values(f.kind)
        if not values:
            raise TableError(f"{where}: field {f.name} uses enum {f.kind}, which has no values")
        if f.kind == "cfg":
            # extended values are checked against the escape (_check_cfg_escape)
            values = {n: v for n, v in values.items() if v < (1 << f.width)} or values
        if max(values.values()) >= (1 << f.width):
            raise TableError(f"{where}: enum {f.kind} does not fit field {f.name} ({f.width} bits)")


def _add_insn(isa: Isa, cols: list[str], where: str, lineno: int) -> None:
    if len(cols) != 5:
        raise TableError(f"{where}: expected 'insn MNEMONIC OPCODE [writes=FIELD] | syntax | cost | "
                         "description'")
    head, syntax, cost, doc, group = cols
    parts = head.split()
    if len(parts) < 2:
        raise TableError(f"{where}: expected 'insn MNEMONIC OPCODE [writes=FIELD]'")
    mnem, opcode = parts[0], _int(parts[1], where)
    attrs = _insn_attrs(parts[2:], where)
    sm, suffixes, operands = _parse_syntax(syntax, where)
    if sm != mnem:
        raise TableError(f"{where}: syntax starts with {sm!r}, expected {mnem!r}")
    if mnem in isa.insns:
        raise TableError(f"{where}: duplicate mnemonic {mnem}")
    opf = isa.fields.get("op")
    if opf is None:
        raise TableError(f"{where}: no 'op' field defined")
    if not 0 <= opcode <= opf.hi_val:
        raise TableError(f"{where}: opcode {opcode:#x} does not fit the op field")
    used = list(suffixes) + [n for o in operands for n in (o.field, o.base) if n]
    covered = opf.mask
    for name in used:
        f = isa.fields.get(name)
        if f is None:
            raise TableError(f"{where}: unknown field {name!r} in syntax")
        if f.kind == "opcode":
            raise TableError(f"{where}: the opcode field cannot be an operand")
        if used.count(name) > 1:
            raise TableError(f"{where}: field {name} used twice")
        if covered & f.mask:
            raise TableError(f"{where}: field {name} overlaps another field of {mnem}")
        _kind_enum_size_ok(isa, f, where)
        covered |= f.mask
    for s in suffixes:
        if isa.fields[s].kind not in ENUM_KINDS:
            raise TableError(f"{where}: suffix field {s} must be an enumeration")
    for o in operands:
        if isa.fields[o.field].kind in ENUM_KINDS:
            raise TableError(f"{where}: enumeration field {o.field} must be a suffix")
        if o.base and isa.fields[o.base].kind != "reg":
            raise TableError(f"{where}: base of {o.field}({o.base}) must be a register")
    word_mask = (1 << isa.word_bits) - 1
    # Every bit is either the opcode, an operand field, or a bit that must be zero (part of mask).
    mask = word_mask & ~(covered & ~opf.mask)
    match = opcode << opf.lo
    fields = tuple(sorted(used, key=lambda n: -isa.fields[n].hi))
    writes = attrs.get("writes")
    if writes is not None:
        _check_writes(isa, mnem, writes, operands, where)
    size = _check_size(attrs["size"], operands, where) if "size" in attrs else None
    mem = _parse_mem(attrs["mem"], writes, suffixes, operands, where) if "mem" in attrs else ()
    isa.insns[mnem] = Insn(mnem, opcode, group, suffixes, operands, cost, doc, syntax.strip(),
                           match, mask, fields, lineno, writes, size, mem)


def _insn_attrs(words: list[str], where: str) -> dict[str, str]:
    """The KEY=VALUE attributes written after an instruction's opcode."""
    attrs: dict[str, str] = {}
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key or not value:
            raise TableError(f"{where}: expected an attribute KEY=VALUE after the opcode, got {w!r}")
        if key not in INSN_ATTRS:
            raise TableError(f"{where}: unknown attribute {key!r} (known: {', '.join(sorted(INSN_ATTRS))})")
        if key in attrs:
            raise TableError(f"{where}: attribute {key} given twice")
        attrs[key] = value
    return attrs


def _check_writes(isa: Isa, mnem: str, name: str, operands: tuple[Operand, ...], where: str) -> None:
    """writes=FIELD must name a register operand of the instruction that the decoder can redirect."""
    f = isa.fields.get(name)
    if f is None:
        raise TableError(f"{where}: writes={name}: unknown field {name!r}")
    if f.kind != "reg":
        raise TableError(f"{where}: writes={name}: field {name} is not a register (kind {f.kind})")
    if name not in {o.field for o in operands}:
        raise TableError(f"{where}: writes={name}: {name} is not a register operand of {mnem}")
    if name not in WRITABLE_FIELDS:
        raise TableError(f"{where}: writes={name}: only {', '.join(WRITABLE_FIELDS)} can be written "
                         "(the decoder redirects writes to x0 through that slot)")


def _check_size(text: str, operands: tuple[Operand, ...], where: str) -> int:
    """size=N: the access width of a scalar load or store, which has an offset(base) operand."""
    n = _int(text, where)
    if n not in ACCESS_SIZES:
        raise TableError(f"{where}: size={text}: expected one of {', '.join(map(str, ACCESS_SIZES))}")
    if not any(o.base for o in operands):
        raise TableError(f"{where}: size= needs an offset(base) memory operand")
    return n


def _parse_mem(text: str, writes: str | None, suffixes: tuple[str, ...], operands: tuple[Operand, ...],
               where: str) -> tuple[MemOperand, ...]:
    """mem=REG[:DTYPE][*],...: the vector memory operands, in the order the core checks them."""
    regs = {o.field for o in operands}
    out: list[MemOperand] = []
    for part in text.split(","):
        m = re.fullmatch(r"([a-z][a-z0-9]*)(?::([a-z][a-z0-9]*))?(\*?)", part)
        if not m:
            raise TableError(f"{where}: mem={text}: cannot read {part!r} (expected REG[:DTYPE][*])")
        reg, dtype, star = m.group(1), m.group(2) or "vt", bool(m.group(3))
        if reg not in MEM_REGS or reg not in regs:
            raise TableError(f"{where}: mem={text}: {reg} is not one of the instruction's address "
                             f"registers ({', '.join(r for r in MEM_REGS if r in regs) or 'none'})")
        if reg == writes:
            raise TableError(f"{where}: mem={text}: {reg} is written (writes={writes}), so it cannot "
                             "hold a memory operand's address")
        if dtype not in MEM_DTYPES or dtype not in suffixes:
            raise TableError(f"{where}: mem={text}: element type {dtype} must be a dtype suffix of the "
                             f"instruction ({', '.join(d for d in MEM_DTYPES if d in suffixes) or 'none'})")
        if reg in {o.reg for o in out}:
            raise TableError(f"{where}: mem={text}: {reg} listed twice")
        out.append(MemOperand(reg, dtype, star))
    return tuple(out)


def _add_pseudo(isa: Isa, cols: list[str], where: str, lineno: int) -> None:
    if len(cols) != 4:
        raise TableError(f"{where}: expected 'pseudo MNEMONIC | syntax | expansion | description'")
    head, syntax, expansion, doc = cols
    mnem = head.strip()
    sm, suffixes, operands = _parse_syntax(syntax, where)
    if sm != mnem:
        raise TableError(f"{where}: syntax starts with {sm!r}, expected {mnem!r}")
    if mnem in isa.insns or mnem in isa.pseudos:
        raise TableError(f"{where}: pseudo {mnem} clashes with an existing mnemonic")
    names = {o.field for o in operands} | set(suffixes)
    for n in names:
        if n not in isa.fields and n != "imm":
            raise TableError(f"{where}: unknown operand {n!r}")
    if expansion != "builtin":
        em, _, eops = _parse_expansion(expansion, where)
        target = isa.insns.get(em)
        if target is None:
            raise TableError(f"{where}: expansion uses unknown instruction {em!r}")
        if len(eops) != len(target.operands):
            raise TableError(f"{where}: expansion of {mnem} gives {em} {len(eops)} operands, "
                             f"expected {len(target.operands)}")
    isa.pseudos[mnem] = Pseudo(mnem, suffixes, operands, expansion, doc, syntax.strip(), lineno)


def _parse_expansion(text: str, where: str):
    # expansions may repeat a suffix field (vcvt.{vt}.{vt}); read the mnemonic and operands only
    m = re.match(r"^([a-z][a-z0-9]*)((?:\.\{[a-z0-9]+\})*)\s*(.*)$", text.strip())
    if not m:
        raise TableError(f"{where}: cannot read expansion {text!r}")
    ops = [p.strip() for p in m.group(3).split(",")] if m.group(3).strip() else []
    return m.group(1), re.findall(r"\.\{([a-z0-9]+)\}", m.group(2)), ops


def _check_encodings(isa: Isa, source: str) -> None:
    """No two instructions may accept the same word."""
    seen: dict[int, Insn] = {}
    insns = list(isa.insns.values())
    for ins in insns:
        other = seen.get(ins.opcode)
        if other:
            raise TableError(f"{source}:{ins.line}: opcode {ins.opcode:#04x} of {ins.mnemonic} "
                             f"is already used by {other.mnemonic}")
        seen[ins.opcode] = ins
    for i, a in enumerate(insns):
        for b in insns[i + 1:]:
            if not (a.match ^ b.match) & a.mask & b.mask:
                raise TableError(f"{source}:{b.line}: encodings of {a.mnemonic} and {b.mnemonic} overlap")


def load(path: Path | str = TABLE_PATH) -> Isa:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path.name)
