"""The assembler's on-disk LALR cache is keyed on every grammar file, not just nr48.lark."""
from __future__ import annotations

import shutil
import tempfile

from asm import parser
from asm.nodes import Call, Instr


def _checkout(root, extra_mnemonic=None):
    """A copy of the assembler grammar, as a second checkout would have it."""
    root.mkdir()
    for path in parser.grammar_files():
        shutil.copy(path, root / path.name)
    if extra_mnemonic:
        lark_file = root / "mnemonics.lark"
        text = lark_file.read_text(encoding="utf-8")
        lark_file.write_text(text.replace("/(?:", f"/(?:{extra_mnemonic}|", 1), encoding="utf-8")
    return root / parser.GRAMMAR.name


def test_every_imported_grammar_file_is_part_of_the_key():
    names = [p.name for p in parser.grammar_files()]
    assert names[0] == "nr48.lark" and "mnemonics.lark" in names


def test_a_second_checkout_with_another_instruction_list_does_not_reuse_the_first_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))     # keep the caches of this test here
    first = _checkout(tmp_path / "first")
    second = _checkout(tmp_path / "second", extra_mnemonic="zzznew")
    assert (first.parent / "nr48.lark").read_text() == (second.parent / "nr48.lark").read_text()
    assert parser.cache_path(first) != parser.cache_path(second)

    line = "zzznew x1, x2, x3\n"
    p1 = parser._build_parser(first)              # writes the first checkout's cache
    assert parser.cache_path(first).exists()
    assert isinstance(p1.parse(line)[0], Call)    # not an instruction there: a macro call
    p2 = parser._build_parser(second)             # must not load the first one's tables
    assert isinstance(p2.parse(line)[0], Instr) and p2.parse(line)[0].mnemonic == "zzznew"
    # a rebuild from the second checkout's own cache keeps its instruction list
    assert parser.cache_path(second).exists()
    assert isinstance(parser._build_parser(second).parse(line)[0], Instr)
