"""The public API other parts of the project rely on, the grammar itself, the example programs and
the listing."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_public_names():
    from asm.image import VERSION_WORD
    from asm import AsmError, Program, assemble, assemble_file  # noqa: F401
    from asm.disasm import disassemble, disassemble_word  # noqa: F401
    from asm.image import Image, ImageError, Segment, load_image, load_source_map  # noqa: F401

    prog = assemble("_start: li x1, 5\nhalt\n.data\nv: .byte 1\n", filename="t.s")
    assert isinstance(prog, Program)
    assert isinstance(prog.image, Image) and prog.image.isa_version == VERSION_WORD
    assert prog.image.text_words() == [0x1D100005, 0x02000000]
    assert prog.source_map == {0: ("t.s", 1, 9), 4: ("t.s", 2, 1)}
    assert prog.symbols == {"_start": ("text", 0), "v": ("data", 0)}
    assert issubclass(AsmError, Exception)


def test_grammar_is_lalr1_without_conflicts(caplog):
    from lark import Lark

    from asm.parser import GRAMMAR

    with caplog.at_level(logging.DEBUG, logger="lark"):
        Lark.open(str(GRAMMAR), parser="lalr", lexer="contextual", maybe_placeholders=False,
                  debug=True)
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]


def test_parser_is_built_once_per_process():
    import asm.parser
    from asm import assemble

    parser = asm.parser.PARSER
    assemble("nop")
    assemble("halt")
    assert asm.parser.PARSER is parser


def test_a_fresh_process_loads_the_parser_from_the_lark_cache():
    code = ("import time; t = time.perf_counter(); import asm; "
            "print(time.perf_counter() - t)")
    run = lambda: subprocess.run([sys.executable, "-c", code], cwd=ROOT,  # noqa: E731
                                 capture_output=True, text=True, check=True)
    run()                       # makes sure the cache exists
    assert float(run().stdout) < 2.0


@pytest.mark.parametrize("name", ["count_loop.s", "vector_ops.s"])
def test_example_programs_assemble_and_disassemble_back(name):
    from asm import assemble, assemble_file
    from asm.disasm import disassemble

    prog = assemble_file(ROOT / "programs" / name)
    assert prog.image.entry == prog.symbols["_start"][1]
    again = assemble(disassemble(prog.image, prog.symbols)).image
    assert again.to_bytes() == prog.image.to_bytes()


def test_listing_shows_addresses_words_and_source():
    from asm import assemble

    listing = assemble("""\
N = 3
        .data
tbl:    .byte 1, 2, 3, 4, 5, 6, 7, 8, 9
        .text
start:  li x1, 0x12345
        halt
""", filename="p.s").listing()
    assert listing.splitlines() == [
        "sect address   contents                  line  source",
        "               = 0x3                        1  N = 3",
        "D    00000000                               2          .data",
        "D    00000000  01 02 03 04 05 06 07 08      3  tbl:    .byte 1, 2, 3, 4, 5, 6, 7, 8, 9",
        "     00000008  09",
        "T    00000000                               4          .text",
        "T    00000000  1d100001                     5  start:  li x1, 0x12345",
        "     00000004  1e102345",
        "T    00000008  02000000                     6          halt",
    ]


def test_listing_names_included_files_and_cuts_long_data(tmp_path):
    from asm import assemble_file

    (tmp_path / "inc.s").write_text("nop\n")
    (tmp_path / "m.s").write_text('.include "inc.s"\n.data\n.zero 100\n')
    rows = assemble_file(tmp_path / "m.s").listing().splitlines()
    assert rows[1].startswith("T    00000000  01000000") and rows[1].endswith("inc.s:1  nop")
    assert rows[-1] == "     00000020  ... 68 more bytes"


def test_crlf_sources_and_empty_sources():
    from asm import assemble

    prog = assemble("_start: li x1, 5\r\n.macro m a\r\n  addi \\a, \\a, 1\r\n.endm\r\n  m x2\r\n"
                    "\thalt\r\n")
    assert prog.image.text_words() == [0x1D100005, 0x14220001, 0x02000000]
    assert prog.source_map[4] == ("<string>", 3, 3)
    assert assemble("").image.segments == () and assemble("# nothing\n\n").image.entry == 0
