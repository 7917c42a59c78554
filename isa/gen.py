"""Generate every ISA-derived file from `isa/nr48.isa`.

    python -m isa.gen            write the generated files
    python -m isa.gen --check    regenerate into a temporary folder; exit 1 if a committed file differs
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from pathlib import Path

from .table import ENUM_KINDS, MEM_DTYPES, MEM_REGS, N_CORES, N_REGS, WRITABLE_FIELDS, Isa, TableError, load

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = {
    "c_header": Path("csrc/nr_isa.h"),
    "py_tables": Path("isa/tables.py"),
    "lark": Path("asm/mnemonics.lark"),
    "json": Path("isa/isa.json"),
    "doc": Path("docs/isa.md"),
}
BANNER = "generated from isa/nr48.isa by isa/gen.py — do not edit"


def _valid_values(isa: Isa, name: str) -> list[int] | None:
    """Accepted raw encodings of a field, or None when every encoding is accepted."""
    f = isa.fields[name]
    if f.kind in ENUM_KINDS:
        vals = sorted(isa.enum_values(f.kind).values())
        return None if vals == list(range(1 << f.width)) else vals
    if f.kind in ("simm", "pcrel"):
        full = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1)
    else:
        full = (0, (1 << f.width) - 1)
    if (f.lo_val, f.hi_val) == full:
        return None
    return list(range(f.lo_val, f.hi_val + 1))


# ---------------------------------------------------------------- C header

def gen_c_header(isa: Isa) -> str:
    out = [f"/* {BANNER}.", " *",
           " * Decoder tables of the NR48 ISA: opcode enum, match/mask per instruction, field",
           " * extraction macros, enumerations, configuration field ranges, timing parameter",
           " * defaults and the register each instruction writes.  nr_decode(word) returns the",
           " * instruction or NR_OP_ILLEGAL. */",
           "#ifndef NR_ISA_H", "#define NR_ISA_H", "", "#include <stdint.h>", "",
           f"#define NR_ISA_VERSION 0x{isa.version_word:04x}u",
           f"#define NR_NUM_REGS {N_REGS}", f"#define NR_NUM_CORES {N_CORES}",
           f"#define NR_MAX_CODE_WORDS {isa.code_words}u  /* code memory, instructions */", "",
           "typedef enum {", "    NR_OP_ILLEGAL = 0,"]
    for ins in isa.insns.values():
        out.append(f"    NR_OP_{ins.mnemonic.upper()},")
    out += ["    NR_OP_COUNT", "} nr_op;", ""]
    out.append("/* field extraction: unsigned fields give uint32_t, signed ones int64_t */")
    for f in isa.fields.values():
        sh, m = f.lo, (1 << f.width) - 1
        if f.kind in ("simm", "pcrel"):
            out.append(f"#define NR_F_{f.name.upper()}(w) ((int64_t)(((int32_t)((uint32_t)(w) << "
                       f"{31 - f.hi})) >> {31 - f.hi + f.lo}))")
        else:
            out.append(f"#define NR_F_{f.name.upper()}(w) (((uint32_t)(w) >> {sh}) & 0x{m:x}u)")
    out.append("")
    for kind in ("dtype", "dir"):
        for name, v in isa.enums[kind].items():
            out.append(f"#define NR_{kind.upper()}_{name.upper()} {v}")
        out.append("")
    out.append(f"#define NR_CFG_COUNT {max(c.value for c in isa.cfg.values()) + 1}")
    for c in isa.cfg.values():
        out.append(f"#define NR_CFG_{c.name.upper()} {c.value}")
    esc = isa.cfg_escape
    if esc is not None:
        out += [f"#define NR_CFG_ESCAPE {esc.code}u     /* csel code of {esc.insn} that selects an extended field */",
                f"#define NR_CFG_EXT_BASE {isa.cfg_base()}   /* extended field = NR_CFG_EXT_BASE + {esc.field} */",
                f"#define NR_F_CFG_EXT(w) NR_F_{esc.field.upper()}(w)"]
    ncfg = max(c.value for c in isa.cfg.values()) + 1
    by_val = {c.value: c for c in isa.cfg.values()}

    def cfg_arr(attr):
        return ", ".join(str(getattr(by_val[i], attr)) if i in by_val else "0" for i in range(ncfg))
    out += [f"static const int32_t nr_cfg_lo[NR_CFG_COUNT] = {{{cfg_arr('lo')}}};",
            f"static const int32_t nr_cfg_hi[NR_CFG_COUNT] = {{{cfg_arr('hi')}}};",
            f"static const int32_t nr_cfg_default[NR_CFG_COUNT] = {{{cfg_arr('default')}}};",
            "static const char *const nr_cfg_name[NR_CFG_COUNT] = {"
            + ", ".join(f'"{by_val[i].name}"' if i in by_val else '""' for i in range(ncfg)) + "};",
            ""]
    out.append("/* timing parameters: X(name, default) */")
    out.append("#define NR_PARAMS(X) \\")
    for p in isa.params.values():
        out.append(f"    X({p.name}, {p.default}) \\")
    out += ["", ""]
    ops = ["NR_OP_ILLEGAL"] * 256
    for ins in isa.insns.values():
        ops[ins.opcode] = f"NR_OP_{ins.mnemonic.upper()}"
    out.append("static const uint8_t nr_opcode_to_op[256] = {")
    for i in range(0, 256, 4):
        out.append("    " + ", ".join(ops[i:i + 4]) + ",")
    out.append("};")
    out.append("static const uint32_t nr_op_match[NR_OP_COUNT] = {0xffffffffu, "
               + ", ".join(f"0x{i.match:08x}u" for i in isa.insns.values()) + "};")
    out.append("static const uint32_t nr_op_mask[NR_OP_COUNT] = {0xffffffffu, "
               + ", ".join(f"0x{i.mask:08x}u" for i in isa.insns.values()) + "};")
    out.append('static const char *const nr_op_name[NR_OP_COUNT] = {"illegal", '
               + ", ".join(f'"{i.mnemonic}"' for i in isa.insns.values()) + "};")
    groups = list(isa.groups)
    out.append("typedef enum { " + ", ".join(f"NR_GROUP_{g.upper()}" for g in groups) + " } nr_group;")
    out.append("static const uint8_t nr_op_group[NR_OP_COUNT] = {0, "
               + ", ".join(f"NR_GROUP_{i.group.upper()}" for i in isa.insns.values()) + "};")
    # writes=rd in the table; the validator allows no other written field (WRITABLE_FIELDS)
    other = [i.mnemonic for i in isa.insns.values() if i.writes not in (None, "rd")]
    if other:
        raise TableError(f"the C decoder can only redirect writes through rd, not for {', '.join(other)}")
    out += ["/* 1 when the instruction writes register rd (writes=rd in the table), 0 when it writes no",
            " * register: a vector instruction that reads rd as its destination address gives 0. */",
            "static const uint8_t nr_op_writes_rd[NR_OP_COUNT] = {0, "
            + ", ".join("1" if i.writes == "rd" else "0" for i in isa.insns.values()) + "};",
            "#define NR_WRITES_RD(op) (nr_op_writes_rd[(op)] != 0)"]
    out += _c_memory_tables(isa)
    out += ["", "static inline int nr_field_in(uint32_t v, const uint64_t set) { return v < 64 && ((set >> v) & 1u); }",
            "", "/* Decode one word: the instruction, or NR_OP_ILLEGAL when no row of the table accepts it. */",
            "static inline nr_op nr_decode(uint32_t w)", "{",
            "    nr_op op = (nr_op)nr_opcode_to_op[w >> 24];",
            "    if ((w & nr_op_mask[op]) != nr_op_match[op]) return NR_OP_ILLEGAL;",
            "    switch (op) {"]
    for ins in isa.insns.values():
        conds = []
        for name in ins.fields:
            vals = _valid_values(isa, name)
            if vals is None:
                continue
            f = isa.fields[name]
            if vals == list(range(vals[0], vals[-1] + 1)) and f.kind not in ENUM_KINDS:
                conds.append(f"NR_F_{name.upper()}(w) >= {vals[0]}u && NR_F_{name.upper()}(w) <= {vals[-1]}u"
                             if vals[0] > 0 else f"NR_F_{name.upper()}(w) <= {vals[-1]}u")
            else:
                bits = sum(1 << v for v in vals)
                conds.append(f"nr_field_in(NR_F_{name.upper()}(w), 0x{bits:x}ull)")
        esc = isa.cfg_escape
        if esc is not None and ins.mnemonic == esc.insn:
            # the escape code selects an extended field through esc.field; any other code is
            # direct and leaves that field zero
            sel = next(n for n in ins.fields if isa.fields[n].kind == "cfg").upper()
            xf = esc.field.upper()
            direct = sum(1 << v for v in isa.cfg_direct())
            ext = sum(1 << (v - isa.cfg_base()) for v in isa.cfg_extended())
            conds = [c for c in conds if f"NR_F_{sel}(w)" not in c]
            conds.append(f"NR_F_{sel}(w) == {esc.code}u ? nr_field_in(NR_F_{xf}(w), 0x{ext:x}ull) : "
                         f"(nr_field_in(NR_F_{sel}(w), 0x{direct:x}ull) && NR_F_{xf}(w) == 0u)")
        if conds:
            out.append(f"    case NR_OP_{ins.mnemonic.upper()}: return ("
                       + " && ".join(f"({c})" for c in conds) + f") ? op : NR_OP_ILLEGAL;")
    out += ["    default: return op;", "    }", "}", "", "#endif /* NR_ISA_H */", ""]
    return "\n".join(out)


def _c_memory_tables(isa: Isa) -> list[str]:
    """Memory-operand facts (size= and mem= in the table), so no C code derives them from opcode
    order: the access width of scalar loads/stores, whether an op runs on the vector unit, and
    its vector memory operands in check order."""
    insns = list(isa.insns.values())
    regs = ", ".join(f"NR_MEM_{r.upper()} = {i}" for i, r in enumerate(MEM_REGS))
    dts = ", ".join(f"NR_MEM_DT_{d.upper()} = {i}" for i, d in enumerate(MEM_DTYPES))
    width = max([len(i.mem) for i in insns] + [1])

    def operands(ins):
        cells = [f"{{NR_MEM_{o.reg.upper()}, NR_MEM_DT_{o.dtype.upper()}, {int(o.own_check)}}}" for o in ins.mem]
        return "{" + str(len(ins.mem)) + ", {" + ", ".join(cells or ["{0, 0, 0}"]) + "}}"

    def dest(ins):
        d = [o for o in ins.mem if o.reg == "rd"]
        return f"NR_MEM_DT_{d[0].dtype.upper()}" if d else "NR_MEM_NONE"
    return [
        "", "/* bytes a scalar load or store accesses (size= in the table), 0 for other instructions */",
        "static const uint8_t nr_op_size[NR_OP_COUNT] = {0, "
        + ", ".join(str(i.size or 0) for i in insns) + "};",
        "/* 1 for the instructions of the vector unit (group vector): run.c dispatches them to",
        " * vector.c and the decoder keeps their vt/vd/vimm fields */",
        "static const uint8_t nr_op_vector[NR_OP_COUNT] = {0, "
        + ", ".join("1" if i.group == "vector" else "0" for i in insns) + "};",
        "/* vector memory operands (mem= in the table), in the order they are checked: the register",
        " * holding the address, the dtype field of its elements, and whether the semantics snippet",
        " * checks its extent itself (own = 1) instead of the generic check of VL elements */",
        f"typedef enum {{ {regs} }} nr_mem_reg;",
        f"typedef enum {{ {dts}, NR_MEM_NONE = 255 }} nr_mem_dtype;",
        f"typedef struct {{ uint8_t reg, dtype, own; }} nr_mem_operand;",
        f"typedef struct {{ uint8_t n; nr_mem_operand o[{width}]; }} nr_mem_operands;",
        "static const nr_mem_operands nr_op_mem[NR_OP_COUNT] = {{0, {{0, 0, 0}}}, "
        + ", ".join(operands(i) for i in insns) + "};",
        "/* the dtype field of the memory operand addressed by rd (the destination), or NR_MEM_NONE */",
        "static const uint8_t nr_op_mem_dest[NR_OP_COUNT] = {NR_MEM_NONE, "
        + ", ".join(dest(i) for i in insns) + "};",
    ]


# ---------------------------------------------------------------- Python tables

def gen_py_tables(isa: Isa) -> str:
    def r(x):
        return repr(x)
    lines = [f'"""{BANNER}.', "", "Plain tables for the assembler, disassembler and emulator.", '"""', "",
             f"VERSION = {isa.version!r}", f"VERSION_WORD = 0x{isa.version_word:04x}",
             f"WORD_BITS = {isa.word_bits}", f"NUM_REGS = {N_REGS}", f"NUM_CORES = {N_CORES}",
             f"CODE_WORDS = {isa.code_words}   # code memory, instructions", "",
             "# name: (hi, lo, kind, lo_val, hi_val)", "FIELDS = {"]
    for f in isa.fields.values():
        lines.append(f"    {f.name!r}: ({f.hi}, {f.lo}, {f.kind!r}, {f.lo_val}, {f.hi_val}),")
    lines += ["}", "", "ENUMS = {"]
    for kind in ("dtype", "dir"):
        lines.append(f"    {kind!r}: {isa.enums[kind]!r},")
    lines.append(f"    'cfg': {isa.enum_values('cfg')!r},")
    lines += ["}", "", "# name: (value, lo, hi, default, doc)", "CFG = {"]
    for c in isa.cfg.values():
        lines.append(f"    {c.name!r}: ({c.value}, {c.lo}, {c.hi}, {c.default}, {c.doc!r}),")
    esc = isa.cfg_escape
    lines += ["}", "", "# (csel code, selector field, instruction): that code of that instruction selects",
              "# extended cfg field CFG_EXT_BASE + the selector field; None when the table has no escape",
              f"CFG_ESCAPE = {(esc.code, esc.field, esc.insn) if esc else None!r}",
              f"CFG_EXT_BASE = {isa.cfg_base()}"]
    lines += ["", "# name: (default, unit, doc)", "PARAMS = {"]
    for p in isa.params.values():
        lines.append(f"    {p.name!r}: ({p.default}, {p.unit!r}, {p.doc!r}),")
    lines += ["}", "", f"GROUPS = {dict(isa.groups)!r}", "",
              "# mnemonic: (opcode, match, mask, suffix fields, operands ((field, base|None), ...),",
              "#            fields, group, cost, doc)", "INSNS = {"]
    for i in isa.insns.values():
        ops = tuple((o.field, o.base) for o in i.operands)
        lines.append(f"    {i.mnemonic!r}: (0x{i.opcode:02x}, 0x{i.match:08x}, 0x{i.mask:08x}, "
                     f"{r(i.suffixes)}, {r(ops)}, {r(i.fields)}, {i.group!r}, {i.cost!r}, {i.doc!r}),")
    lines += ["}", "", "OPCODES = {v[0]: k for k, v in INSNS.items()}", "",
              "# mnemonic: the register operand field it writes (writes= in the table); instructions",
              "# that write no register are absent (a vector instruction's rd that holds the destination",
              "# address is only read)", "WRITES = {"]
    for i in isa.insns.values():
        if i.writes:
            lines.append(f"    {i.mnemonic!r}: {i.writes!r},")
    lines += ["}", "", "# mnemonic: bytes a scalar load or store accesses (size= in the table)", "SIZES = {"]
    for i in isa.insns.values():
        if i.size:
            lines.append(f"    {i.mnemonic!r}: {i.size},")
    lines += ["}", "",
              "# mnemonic: vector memory operands in check order ((register, dtype field, own check), ...)",
              "# (mem= in the table; own check: the semantics snippet checks the extent, not VL)", "MEM = {"]
    for i in isa.insns.values():
        if i.mem:
            lines.append(f"    {i.mnemonic!r}: {tuple((o.reg, o.dtype, o.own_check) for o in i.mem)!r},")
    lines += ["}", "",
              "# mnemonic: (suffix fields, operands, expansion, doc)", "PSEUDOS = {"]
    for p in isa.pseudos.values():
        ops = tuple((o.field, o.base) for o in p.operands)
        lines.append(f"    {p.mnemonic!r}: ({r(p.suffixes)}, {r(ops)}, {p.expansion!r}, {p.doc!r}),")
    lines += ["}", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- Lark terminal

def gen_lark(isa: Isa) -> str:
    names = sorted(set(isa.insns) | set(isa.pseudos), key=lambda n: (-len(n), n))
    alt = "|".join(names)
    return (f"// {BANNER}.\n"
            "// The mnemonic terminal of the assembler grammar (asm/nr48.lark imports it).  Suffixes\n"
            "// such as .i16 or .fwd are part of the token and are checked against the ISA table.\n"
            f"MNEMONIC.3: /(?:{alt})(?:\\.[a-z0-9]+)*(?![\\w.$])/i\n")


# ---------------------------------------------------------------- JSON

def gen_json(isa: Isa) -> str:
    data = {
        "generated": BANNER,
        "version": f"{isa.version[0]}.{isa.version[1]}",
        "word_bits": isa.word_bits,
        "code_words": isa.code_words,
        "fields": {f.name: {"bits": [f.hi, f.lo], "kind": f.kind, "range": [f.lo_val, f.hi_val],
                            "doc": f.doc} for f in isa.fields.values()},
        "enums": {k: isa.enum_values(k) for k in ("dtype", "dir", "cfg")},
        "cfg": {c.name: {"value": c.value, "range": [c.lo, c.hi], "default": c.default, "doc": c.doc}
                for c in isa.cfg.values()},
        "cfg_escape": ({"code": isa.cfg_escape.code, "field": isa.cfg_escape.field,
                        "insn": isa.cfg_escape.insn, "ext_base": isa.cfg_base(), "doc": isa.cfg_escape.doc}
                       if isa.cfg_escape else None),
        "params": {p.name: {"default": p.default, "unit": p.unit, "doc": p.doc} for p in isa.params.values()},
        "groups": isa.groups,
        "instructions": [{"mnemonic": i.mnemonic, "opcode": i.opcode, "match": f"0x{i.match:08x}",
                          "mask": f"0x{i.mask:08x}", "syntax": i.syntax, "group": i.group,
                          "fields": list(i.fields), "writes": i.writes, "size": i.size,
                          "mem": [{"reg": o.reg, "dtype": o.dtype, "own_check": o.own_check} for o in i.mem],
                          "cost": i.cost, "doc": i.doc}
                         for i in isa.insns.values()],
        "pseudos": [{"mnemonic": p.mnemonic, "syntax": p.syntax, "expansion": p.expansion, "doc": p.doc}
                    for p in isa.pseudos.values()],
    }
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- Markdown reference

def _diagram(isa: Isa, ins) -> str:
    segs = [(31, 24, f"op=0x{ins.opcode:02x}")]
    for name in ins.fields:
        f = isa.fields[name]
        segs.append((f.hi, f.lo, name))
    segs.sort(key=lambda s: -s[0])
    full, nxt = [], 31
    for hi, lo, label in segs:
        if hi < nxt:
            full.append((nxt, hi + 1, "0"))
        full.append((hi, lo, label))
        nxt = lo - 1
    if nxt >= 0:
        full.append((nxt, 0, "0"))
    cells = []
    for hi, lo, label in full:
        width = max(len(label), len(f"{hi}:{lo}")) + 2
        cells.append((f"{hi}:{lo}".center(width), label.center(width)))
    top = "|" + "|".join(c[0] for c in cells) + "|"
    mid = "|" + "|".join(c[1] for c in cells) + "|"
    return f"```\n{top}\n{mid}\n```"


def _writes_line(ins) -> str:
    if ins.writes:
        return f"Writes register `{ins.writes}`."
    read = [o.field for o in ins.operands if o.field in WRITABLE_FIELDS]
    if read:
        return f"Writes no register (`{read[0]}` is only read)."
    return "Writes no register."


def _memory_line(ins) -> str:
    if ins.size:
        return f" Accesses {ins.size} byte{'s' if ins.size > 1 else ''} of data memory."
    if not ins.mem:
        return ""
    parts = [f"`{o.reg}` ({o.dtype} elements{', extent checked by the instruction' if o.own_check else ''})"
             for o in ins.mem]
    return " Memory operands, checked in this order: " + ", ".join(parts) + "."


def gen_doc(isa: Isa) -> str:
    o = [f"<!-- {BANNER} -->", "", f"# NR48 instruction set reference (ISA {isa.version[0]}.{isa.version[1]})", "",
         "Every instruction is one 32-bit little-endian word.  Bits 31:24 hold the primary opcode; the",
         "operand fields below sit in the remaining bits, and every bit that an instruction does not use",
         "must be zero (a word with a stray bit is an illegal instruction).  Registers x0–x15 are 64 bits",
         f"wide and x0 always reads zero.  Code memory holds {isa.code_words} instructions.  Costs are",
         "controller cycles at the configured clock (100 MHz by",
         "default); the named parameters are listed under *Timing parameters* and can be changed in the",
         "chip configuration.  Their defaults below are the `board` profile's (the FPGA test system);",
         "the default `chip` profile sets the MVM parameters from the silicon (configuration.md).", "",
         "## Operand fields", "",
         "| field | bits | kind | values | meaning |", "|---|---|---|---|---|"]
    for f in isa.fields.values():
        if f.kind in ENUM_KINDS:
            vals = ", ".join(isa.enum_values(f.kind))
        elif f.kind == "reg":
            vals = f"x0–x{N_REGS - 1}"
        elif f.kind == "core":
            vals = f"c0–c{N_CORES - 1}"
        else:
            vals = f"{f.lo_val}…{f.hi_val}"
        o.append(f"| `{f.name}` | {f.hi}:{f.lo} | {f.kind} | {vals} | {f.doc} |")
    o += ["", "## Element types and directions", "", "| suffix | code | meaning |", "|---|---|---|"]
    dmean = {"i8": "signed 8-bit", "i16": "signed 16-bit", "i32": "signed 32-bit", "u8": "unsigned 8-bit",
             "fwd": "forward: inputs H drive row pairs, outputs in V", "bwd": "backward (transposed): inputs V, outputs H",
             "rec": "recurrent: inputs H, outputs written back into H"}
    for kind in ("dtype", "dir"):
        for n, v in isa.enums[kind].items():
            o.append(f"| `.{n}` | {v} | {dmean.get(n, '')} |")
    o += ["", "## Core configuration fields (`ccfg.NAME`, `ccfgr.NAME`)", "",
          "| name | code | range | reset value | meaning |", "|---|---|---|---|---|"]
    for c in isa.cfg.values():
        o.append(f"| `{c.name}` | {c.value} | {c.lo}…{c.hi} | {c.default} | {c.doc} |")
    sel = next((f for f in isa.fields.values() if f.kind == "cfg"), None)
    if sel is not None:
        esc = isa.cfg_escape
        used = {c.value for c in isa.cfg.values()} | ({esc.code} if esc else set())
        free = sorted(set(range(1 << sel.width)) - used)
        o += ["", f"The `{sel.name}` field is {sel.width} bits wide: {len(isa.cfg_direct())} of its "
              f"{1 << sel.width} codes select a field directly, {len(free)} are free "
              f"({', '.join(map(str, free)) or 'none'})."]
        if esc:
            xf = isa.fields[esc.field]
            o += ["", f"Code {esc.code} is the escape: `{esc.insn}` with `{sel.name}` = {esc.code} sets "
                  f"extended field {isa.cfg_base()} + `{esc.field}` (bits {xf.hi}:{xf.lo}), so fields "
                  f"{isa.cfg_base()}…{isa.cfg_base() + xf.hi_val} need no new encoding; "
                  f"{len(isa.cfg_extended())} are defined.  Only `{esc.insn}` reaches them (its "
                  f"`{esc.field}` is zero for a direct code); the assembler writes the escape for "
                  f"`{esc.insn}.NAME` and refuses the other forms.  See the comments of `isa/nr48.isa`."]
    o += ["", "## Timing parameters", "", "| name | default | unit | meaning |", "|---|---|---|---|"]
    for p in isa.params.values():
        o.append(f"| `{p.name}` | {p.default} | {p.unit} | {p.doc} |")
    for g, title in isa.groups.items():
        o += ["", f"## {title.split(':')[0].split('.')[0]}", ""]
        if ":" in title or "." in title:
            o += [title, ""]
        for ins in (i for i in isa.insns.values() if i.group == g):
            o += [f"### `{ins.mnemonic}`", "", f"`{ins.syntax}` — {ins.doc}", "",
                  f"Cost: {ins.cost}", "", _writes_line(ins) + _memory_line(ins), "", _diagram(isa, ins), ""]
    o += ["## Pseudo-instructions", "", "| syntax | expands to | meaning |", "|---|---|---|"]
    for p in isa.pseudos.values():
        exp = "see meaning" if p.expansion == "builtin" else f"`{p.expansion}`"
        o.append(f"| `{p.syntax}` | {exp} | {p.doc} |")
    o.append("")
    return "\n".join(o)


GENERATORS = {"c_header": gen_c_header, "py_tables": gen_py_tables, "lark": gen_lark,
              "json": gen_json, "doc": gen_doc}


def render(isa: Isa) -> dict[Path, str]:
    return {OUTPUTS[k]: fn(isa) for k, fn in GENERATORS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m isa.gen", description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if a committed generated file differs")
    ap.add_argument("--table", default=None, help="ISA table to read (default isa/nr48.isa)")
    ap.add_argument("--root", default=str(ROOT), help="project root the outputs are relative to")
    args = ap.parse_args(argv)
    try:
        isa = load(args.table) if args.table else load()
    except TableError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    files = render(isa)
    root = Path(args.root)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            drift = []
            for rel, text in files.items():
                fresh = Path(tmp) / rel
                fresh.parent.mkdir(parents=True, exist_ok=True)
                fresh.write_text(text, encoding="utf-8")
                text = fresh.read_text(encoding="utf-8")   # compare what a regeneration writes
                committed = root / rel
                have = committed.read_text(encoding="utf-8") if committed.exists() else ""
                if have != text:
                    drift.append(rel)
                    diff = difflib.unified_diff(have.splitlines(), text.splitlines(),
                                                f"{rel} (committed)", f"{rel} (from table)", lineterm="", n=1)
                    print("\n".join(list(diff)[:20]), file=sys.stderr)
            if drift:
                print("gen-check: generated files differ from isa/nr48.isa: "
                      + ", ".join(map(str, drift)) + "\nrun 'make gen' and commit the result", file=sys.stderr)
                return 1
        print(f"gen-check: {len(files)} generated files match isa/nr48.isa")
        return 0
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
