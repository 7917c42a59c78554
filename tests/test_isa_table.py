"""The ISA table loader/validator (isa/table.py) and the generator's drift check (isa/gen.py)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from isa import tables
from isa.gen import OUTPUTS
from isa.table import TABLE_PATH, TableError, load, parse

ROOT = Path(__file__).resolve().parent.parent
TEXT = TABLE_PATH.read_text(encoding="utf-8")


def test_real_table_loads_and_matches_the_generated_tables():
    isa = load()
    assert isa.version == tables.VERSION and isa.version_word == tables.VERSION_WORD
    assert list(isa.insns) == list(tables.INSNS) and list(isa.pseudos) == list(tables.PSEUDOS)
    for name, ins in isa.insns.items():
        assert (ins.opcode, ins.match, ins.mask) == tables.INSNS[name][:3]
    assert {c.name: c.value for c in isa.cfg.values()} == tables.ENUMS["cfg"]
    assert tables.WRITES == {name: ins.writes for name, ins in isa.insns.items() if ins.writes}


def test_writes_attribute_agrees_with_the_descriptions():
    # "rd ← …" (or "rd (register) ← …" for the vector reductions) describes a register write;
    # "mem[rd] ← …" is a vector instruction that only reads rd as the destination address
    isa = load()
    described = {name for name, ins in isa.insns.items() if re.match(r"rd (\(register\) )?←", ins.doc)}
    assert described == {name for name, ins in isa.insns.items() if ins.writes == "rd"}
    assert {"vargmax", "vsum"} <= described and not {"vadd", "vfill", "vcvt", "sb", "beq"} & described


def test_writes_reaches_the_c_header_json_and_docs():
    isa = load()
    header = (ROOT / OUTPUTS["c_header"]).read_text(encoding="utf-8")
    row = re.search(r"nr_op_writes_rd\[NR_OP_COUNT\] = \{([^}]*)\}", header).group(1)
    flags = [int(v) for v in row.split(",")]
    assert flags == [0] + [int(ins.writes == "rd") for ins in isa.insns.values()]   # 0: NR_OP_ILLEGAL
    data = json.loads((ROOT / OUTPUTS["json"]).read_text(encoding="utf-8"))
    assert {i["mnemonic"]: i["writes"] for i in data["instructions"]} == \
        {name: ins.writes for name, ins in isa.insns.items()}
    doc = (ROOT / OUTPUTS["doc"]).read_text(encoding="utf-8")
    for name, ins in isa.insns.items():
        section = doc.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0]
        if ins.writes:
            assert f"Writes register `{ins.writes}`." in section, name
        else:
            assert "Writes no register" in section, name
    assert "Writes no register (`rd` is only read)." in doc.split("### `vadd`", 1)[1].split("### ", 1)[0]


def test_every_word_bit_is_opcode_field_or_must_be_zero():
    isa = load()
    for ins in isa.insns.values():
        covered = 0xFF000000
        for f in ins.fields:
            covered |= isa.fields[f].mask
        if isa.cfg_escape and ins.mnemonic == isa.cfg_escape.insn:
            # the escape's selector field: checked by the decoder (zero unless csel escapes)
            covered |= isa.fields[isa.cfg_escape.field].mask
        assert ins.mask == (0xFFFFFFFF & ~covered) | 0xFF000000, ins.mnemonic


def test_the_cfg_escape_reaches_the_extended_fields():
    isa = load()
    esc = isa.cfg_escape
    assert esc is not None and esc.code == 15 and esc.insn == "ccfgr"
    assert isa.cfg_direct() == list(range(15))
    assert {c.name for c in isa.cfg.values() if c.value >= 16} == {"ifthr", "ifleak", "ifsteps", "opdev"}
    # the direct codes keep their encoding; the escape code is no field
    assert esc.code not in {c.value for c in isa.cfg.values()}


@pytest.mark.parametrize("text, message", [
    ("cfg a 16 0..1 0 | x\n", "no cfgescape line"),
    ("cfg a 16 0..1 0 | x\ncfgescape 0 xsel ccfgr | e\n", "free selector code"),
    ("cfg a 4200 0..1 0 | x\ncfgescape 15 xsel ccfgr | e\n", "beyond the escape's reach"),
    ("cfg a 16 0..1 0 | x\ncfgescape 15 rs2 ccfgr | e\n", "must be a uimm field"),
])
def test_cfg_escape_errors(text, message):
    from isa.table import TABLE_PATH
    base = TABLE_PATH.read_text(encoding="utf-8")
    base = "\n".join(line for line in base.splitlines()
                     if not line.startswith(("cfg if", "cfgescape")))
    with pytest.raises(TableError, match=message):
        parse(text + base)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


def _broken(replace: tuple[str, str] | None = None, append: str = "") -> str:
    text = TEXT
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    return text + append


@pytest.mark.parametrize("text,needle,message", [
    (_broken(append="insn twice 0x70 | twice rd, rt | 1 | rd and rt share bits 23:20\n"),
     "insn twice", "field rt overlaps another field of twice"),
    (_broken(append="insn again 0x01 | again | 1 | reuses nop's opcode\n"),
     "insn again", "opcode 0x01 of again is already used by nop"),
    (_broken(("field core   5:0   core", "field core   32:0  core")),
     "field core", "bit range 32:0 does not fit a 32-bit word"),
    (_broken(("field shamt  5:0   uimm", "field shamt  5:0   weird")),
     "field shamt", "unknown field kind 'weird'"),
    (_broken(("cfg inbits    0  1..8          4 ", "cfg inbits    0  1..8          9 ")),
     "cfg inbits", "default 9 of cfg inbits outside 1..8"),
    (_broken(("field vimm   7:0   uimm 0..63", "field vimm   7:0   uimm 0..300")),
     "field vimm", "values 0..300 do not fit 8 bits"),
    (_broken(append="insn bogus 0x71 | bogus rx | 1 | no such field\n"),
     "insn bogus", "unknown field 'rx' in syntax"),
    (_broken(append="insn big 0x100 | big | 1 | opcode too wide\n"),
     "insn big", "opcode 0x100 does not fit the op field"),
    (_broken(append="pseudo mv2 | mv2 rd, rs1 | nosuch rd, rs1 | bad expansion\n"),
     "pseudo mv2", "expansion uses unknown instruction 'nosuch'"),
    (_broken(append="frobnicate everything\n"), "frobnicate", "unknown line kind 'frobnicate'"),
    # writes=FIELD: the register operand an instruction writes
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 writes    ")),
     "insn add ", "expected an attribute KEY=VALUE after the opcode, got 'writes'"),
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 writes=   ")),
     "insn add ", "expected an attribute KEY=VALUE after the opcode, got 'writes='"),
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 reads=rs1 ")),
     "insn add ", "unknown attribute 'reads'"),
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 writes=rd writes=rd ")),
     "insn add ", "attribute writes given twice"),
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 writes=rx ")),
     "insn add ", "writes=rx: unknown field 'rx'"),
    (_broken(("insn addi     0x14 writes=rd ", "insn addi     0x14 writes=imm16 ")),
     "insn addi ", "writes=imm16: field imm16 is not a register (kind simm)"),
    (_broken(("insn setvl    0x3E           ", "insn setvl    0x3E writes=rd ")),
     "insn setvl ", "writes=rd: rd is not a register operand of setvl"),
    (_broken(("insn jalr     0x39 writes=rd ", "insn jalr     0x39 writes=rs1 ")),
     "insn jalr ", "writes=rs1: rs1 is not a register operand of jalr"),   # rs1 is only the base
    (_broken(("insn add      0x04 writes=rd ", "insn add      0x04 writes=rs1 ")),
     "insn add ", "writes=rs1: only rd can be written"),
    (_broken(("insn sb       0x28 size=1 ", "insn sb       0x28 size=1 writes=rt ")),
     "insn sb ", "writes=rt: only rd can be written"),
])
def test_broken_tables_name_the_line(text, needle, message):
    with pytest.raises(TableError) as e:
        parse(text, "t.isa")
    line = _line_of(text, needle)
    assert str(e.value).startswith(f"t.isa:{line}: "), str(e.value)
    assert message in str(e.value)


def _copy_outputs(dst: Path) -> None:
    for rel in OUTPUTS.values():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, dst / rel)


def _gen_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "isa.gen", "--check", "--root", str(root)],
                          cwd=ROOT, capture_output=True, text=True)


def test_gen_check_passes_on_the_committed_files_and_fails_after_an_edit(tmp_path):
    _copy_outputs(tmp_path)
    r = _gen_check(tmp_path)
    assert r.returncode == 0, r.stderr
    lark = tmp_path / OUTPUTS["lark"]
    lark.write_text(lark.read_text() + "// hand edit\n")
    r = _gen_check(tmp_path)
    assert r.returncode == 1
    assert "asm/mnemonics.lark" in r.stderr and "run 'make gen'" in r.stderr


def test_gen_check_fails_when_a_generated_file_is_missing(tmp_path):
    _copy_outputs(tmp_path)
    (tmp_path / OUTPUTS["json"]).unlink()
    assert _gen_check(tmp_path).returncode == 1
