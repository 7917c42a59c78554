"""The ISA table loader/validator (isa/table.py) and the generator's drift check (isa/gen.py)."""
from __future__ import annotations

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


def test_every_word_bit_is_opcode_field_or_must_be_zero():
    for ins in load().insns.values():
        covered = 0xFF000000
        for f in ins.fields:
            covered |= load().fields[f].mask
        assert ins.mask == (0xFFFFFFFF & ~covered) | 0xFF000000, ins.mnemonic


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
