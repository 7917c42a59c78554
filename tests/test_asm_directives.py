"""Directives: sections and placement, data, symbols, entry point, .include, .npy and macros."""
from __future__ import annotations

import numpy as np
import pytest

from asm import AsmError, assemble, assemble_file
from asm.image import Segment

NOP = 0x01000000


def data_of(source: str) -> bytes:
    segs = assemble(source).image.segments_of("data")
    return segs[0].data if segs else b""


def errors(source: str, **kw) -> list[tuple[int, int, str]]:
    with pytest.raises(AsmError) as e:
        assemble(source, **kw)
    return [(d.line, d.col, d.message) for d in e.value.diagnostics]


# ---------------------------------------------------------------- data

@pytest.mark.parametrize("source,expected", [
    (".byte 1, -1, 255, -128", bytes([1, 255, 255, 128])),
    (".half 0x1234, -1, 65535", bytes.fromhex("3412ffffffff")),
    (".word 0x12345678, -1", bytes.fromhex("78563412ffffffff")),
    (".dword 0x0102030405060708", bytes.fromhex("0807060504030201")),
    (".dword -1, 0xffffffffffffffff", b"\xff" * 16),
    (".short 1\n.align 8\n.quad 2", bytes.fromhex("0100") + bytes(6) + bytes([2]) + bytes(7)),
    (".ascii \"ab\", \"c\"", b"abc"),
    (".asciz \"ab\", \"c\"", b"ab\0c\0"),
    (".string \"a\\tb\\n\\x41\\\\\\\"\"", b"a\tb\nA\\\"\0"),
    (".ascii \"\u00e9\"", "\u00e9".encode()),
    (".ascii \"\\xff\\x00\"", b"\xff\x00"),                 # \\xHH is a byte, not a character
    (".byte '\\xff', '\u00e9' & 0xff", b"\xff\xe9"),
    (".zero 3\n.byte 7", b"\0\0\0\x07"),
    (".byte 1\n.align 4\n.byte 2", b"\x01\0\0\0\x02"),
    (".byte 1\n.align 1\n.byte 2", b"\x01\x02"),
])
def test_data_directives(source, expected):
    assert data_of(".data\n" + source) == expected


def test_value_ranges_accept_signed_and_unsigned_of_the_width():
    msgs = errors(".data\n.byte 256\n.byte -129\n.half 65536\n.word -0x80000001\n"
                  ".align 8\n.dword 0x10000000000000000\n")
    assert [m for _, _, m in msgs] == [
        "value 256 out of range for .byte: -128..255",
        "value -129 out of range for .byte: -128..255",
        "value 65536 out of range for .half: -32768..65535",
        "value -2147483649 out of range for .word: -2147483648..4294967295",
        "value 18446744073709551616 out of range for .dword: "
        "-9223372036854775808..18446744073709551615",
    ]


def test_misaligned_data_is_an_error_with_advice():
    ((line, col, msg),) = errors(".data\n.byte 1\n.word 2\n")
    assert (line, col) == (3, 1)
    assert msg == "misaligned .word at data address 0x1: it needs 4-byte alignment; " \
                  "add `.align 4` before it"


def test_data_values_may_use_later_labels():
    prog = assemble(".data\nptr: .word target, target + 2\n.text\nnop\ntarget: halt\n")
    assert prog.image.segments_of("data")[0].data == bytes.fromhex("0400000006000000")


# ---------------------------------------------------------------- sections, .org, .align in code

def test_sections_and_org_make_segments():
    prog = assemble("""
        .text
        nop
        .data
        .byte 1
        .text
        halt
        .org 0x100
        ebreak
        .data
        .org 0x40
        .byte 2
""")
    assert prog.image.segments == (
        Segment("text", 0, (NOP).to_bytes(4, "little") + (0x02000000).to_bytes(4, "little")),
        Segment("text", 0x100, (0x03000000).to_bytes(4, "little")),
        Segment("data", 0, b"\x01"),
        Segment("data", 0x40, b"\x02"),
    )
    assert prog.image.text_words()[:3] == [NOP, 0x02000000, 0]
    assert len(prog.image.text_words()) == 0x104 // 4


def test_align_in_code_pads_with_nop_and_word_is_allowed():
    w = assemble("halt\n.align 16\n.word 0xdeadbeef\n").image.text_words()
    assert w == [0x02000000, NOP, NOP, NOP, 0xDEADBEEF]


@pytest.mark.parametrize("source,message", [
    (".byte 1", ".byte is not allowed in .text: code memory holds 32-bit words"),
    (".org 6", ".org 0x6 in .text is not a multiple of 4"),
    (".zero 3", ".zero 3 in .text is not a multiple of 4"),
    (".ascii \"x\"", ".ascii is not allowed in .text"),
    (".data\nnop", "instructions belong in .text (this is .data; add .text before it)"),
    (".align 3", ".align takes a power of two number of bytes"),
    (".org later\nlater:", "the address of .org must be known at this point"),
    (".text 1", ".text takes 0 arguments"),
    (".org", ".org takes 1 argument (.org address), got 0"),
    (".org x1", "expected the address of .org, got a register"),
    (".data\n.word \"s\"", "expected a value for .word, got a string"),
])
def test_placement_errors(source, message):
    assert any(message in m for _, _, m in errors(source)), errors(source)


def test_overlapping_org_is_reported_with_the_earlier_place():
    assert errors("nop\nnop\n.org 4\nhalt\n") == [
        (3, 0, "text at 0x4..0x7 overlaps text at 0x0..0x7 placed earlier")]
    assert errors(".data\n.org 8\n.word 1\n.org 0\n.zero 12\n") == [
        (4, 0, "data at 0x0..0xb overlaps data at 0x8..0xb placed earlier from <string>:2")]


# ---------------------------------------------------------------- symbols and entry

@pytest.mark.parametrize("source,entry", [
    ("nop\n_start: halt", 4),
    ("nop\nnop\nmain: halt", 8),
    (".org 0x20\nnop\nhalt", 0x20),
    ("nop\ngo: halt\n.entry go", 4),
    ("nop\nhalt\n.entry 4", 4),
    ("nop\nmain: nop\n_start: halt", 8),
    (".data\n.byte 1", 0),
])
def test_entry_point(source, entry):
    assert assemble(source).image.entry == entry


@pytest.mark.parametrize("source,message", [
    (".entry a\n.entry b\na: b: nop", "the entry point is already set at <string>:1"),
    (".data\nd: .byte 1\n.text\n.entry d", "the entry point must be a code address"),
    ("nop\n.entry 2", "entry point 0x2 is not a word-aligned code address"),
    ("nop\n.entry nowhere", "undefined symbol 'nowhere'"),
])
def test_entry_errors(source, message):
    assert any(message in m for _, _, m in errors(source))


def test_symbols_report_sections():
    prog = assemble(".data\nbuf: .zero 8\nend_buf:\n.text\nstart: nop\nN = 5\nSIZE = end_buf - buf\n"
                    "AFTER = buf + 4\n.global start, N\n")
    assert prog.symbols == {"buf": ("data", 0), "end_buf": ("data", 8), "start": ("text", 0),
                            "N": ("abs", 5), "SIZE": ("abs", 8), "AFTER": ("data", 4)}
    assert prog.global_names == ("start", "N")


def test_global_of_an_undefined_name():
    assert errors(".global nothere\nnop") == [
        (1, 9, ".global 'nothere' is never defined")]


def test_duplicate_label_says_where_the_first_one_was():
    assert errors("a: nop\n\n  a: halt\n") == [(3, 3, "'a' is already defined at <string>:1")]


def test_label_named_like_a_mnemonic_is_fine_but_not_like_a_register():
    prog = assemble("la: nop\nj la\nli: halt\n")
    assert prog.symbols["la"] == ("text", 0) and prog.symbols["li"] == ("text", 8)
    assert errors("x3: nop") == [(1, 1, "'x3' is a register name and cannot be a label")]
    assert errors("c7: nop") == [(1, 1, "'c7' is a core name and cannot be a label")]


# ---------------------------------------------------------------- .include

def test_include_relative_to_the_including_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "consts.s").write_text("K = 7\n.include \"more.s\"\n")
    (tmp_path / "lib" / "more.s").write_text("helper: addi x1, x1, K\nret\n")
    (tmp_path / "main.s").write_text(".include \"lib/consts.s\"\n_start: call helper\nhalt\n")
    prog = assemble_file(tmp_path / "main.s")
    assert prog.symbols["helper"] == ("text", 0) and prog.image.entry == 8
    assert prog.source_map[0] == (str(tmp_path / "lib" / "more.s"), 1, 9)
    assert prog.source_map[8] == (str(tmp_path / "main.s"), 2, 9)


def test_include_dirs_are_searched_after_the_file_directory(tmp_path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "x.s").write_text("nop\n")
    assert assemble('.include "x.s"\n', include_dirs=[tmp_path / "inc"]).image.text_words() == [NOP]


def test_include_cycle_is_detected(tmp_path):
    (tmp_path / "a.s").write_text('.include "b.s"\n')
    (tmp_path / "b.s").write_text('nop\n.include "a.s"\n')
    with pytest.raises(AsmError) as e:
        assemble_file(tmp_path / "a.s")
    (d,) = e.value.diagnostics
    assert d.file == str(tmp_path / "b.s") and (d.line, d.col) == (2, 10)
    assert d.message == "include cycle: a.s -> b.s -> a.s"


def test_missing_include_names_the_places_searched(tmp_path):
    (tmp_path / "m.s").write_text('  .include "gone.s"\n')
    with pytest.raises(AsmError) as e:
        assemble_file(tmp_path / "m.s")
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (1, 12)
    assert d.message == f"cannot find include file 'gone.s' (looked for {tmp_path / 'gone.s'})"


def test_errors_in_an_included_file_point_into_it(tmp_path):
    (tmp_path / "bad.s").write_text("nop\naddi x1, x1, 99999\n")
    (tmp_path / "m.s").write_text('.include "bad.s"\n')
    with pytest.raises(AsmError) as e:
        assemble_file(tmp_path / "m.s")
    (d,) = e.value.diagnostics
    assert (d.file, d.line, d.col) == (str(tmp_path / "bad.s"), 2, 14)
    assert d.source == "addi x1, x1, 99999"


# ---------------------------------------------------------------- .npy

@pytest.mark.parametrize("dtype,name", [(np.int8, "i8"), (np.uint8, "u8"), (np.int16, "i16"),
                                        (np.uint16, "u16"), (np.int32, "i32"), (np.uint32, "u32"),
                                        (np.int64, "i64")])
def test_npy_embeds_little_endian_c_order_bytes(tmp_path, dtype, name):
    arr = (np.arange(12).reshape(3, 4) * 37 - 100).astype(dtype)
    np.save(tmp_path / "w.npy", arr)
    (tmp_path / "p.s").write_text(f'.data\n.align 8\nw: .npy "w.npy", {name}\nend:\n')
    prog = assemble_file(tmp_path / "p.s")
    assert prog.image.segments_of("data")[0].data == arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    assert prog.symbols["end"] == ("data", arr.nbytes)


def test_npy_big_endian_and_fortran_order_become_little_endian_c_order(tmp_path):
    arr = np.arange(6, dtype=">i4").reshape(2, 3)
    np.save(tmp_path / "be.npy", arr)
    np.save(tmp_path / "f.npy", np.asfortranarray(arr.astype(np.int8)))
    (tmp_path / "p.s").write_text('.data\n.npy "be.npy", i32\n.npy "f.npy"\n')
    data = assemble_file(tmp_path / "p.s").image.segments_of("data")[0].data
    assert data == np.arange(6, dtype="<i4").tobytes() + bytes(range(6))


@pytest.mark.parametrize("setup,line,message", [
    (lambda d: np.save(d / "a.npy", np.zeros(3, np.int16)), '.npy "a.npy", i8',
     "holds i16 (int16) values, expected i8"),
    (lambda d: np.save(d / "a.npy", np.zeros(3, np.float32)), '.npy "a.npy"',
     "holds float32 values; .npy embeds integer arrays of dtype i8, u8, i16, u16, i32, u32, i64"),
    (lambda d: None, '.npy "none.npy"', "cannot find npy file 'none.npy'"),
    (lambda d: (d / "a.npy").write_bytes(b"not numpy"), '.npy "a.npy"', "as a .npy array"),
    (lambda d: np.save(d / "a.npy", np.array([{}], dtype=object)), '.npy "a.npy"',
     "as a .npy array"),
    (lambda d: np.savez(d / "a.npz", x=np.zeros(2, np.int8)), '.npy "a.npz"', "is an .npz archive"),
    (lambda d: np.save(d / "a.npy", np.zeros(3, np.int8)), '.npy "a.npy", f32',
     "unknown dtype 'f32': expected one of i8, u8, i16, u16, i32, u32, i64"),
    (lambda d: np.save(d / "a.npy", np.zeros(3, np.int32)), '.byte 1\n.npy "a.npy"',
     "misaligned .npy at data address 0x1: it needs 4-byte alignment"),
])
def test_npy_errors(tmp_path, setup, line, message):
    setup(tmp_path)
    (tmp_path / "p.s").write_text(".data\n" + line + "\n")
    with pytest.raises(AsmError) as e:
        assemble_file(tmp_path / "p.s")
    (d,) = e.value.diagnostics
    assert message in d.message and d.file == str(tmp_path / "p.s") and d.line >= 2


# ---------------------------------------------------------------- macros

def test_macro_arguments_and_unique_labels():
    prog = assemble("""
.macro countdown reg, n
        li \\reg, \\n
again\\@:
        addi \\reg, \\reg, -1
        bnez \\reg, again\\@
.endm
        countdown x1, 3
        countdown x2, (1 + 1) * 2
        halt
""")
    w = prog.image.text_words()
    assert len(w) == 7 and w[0] == 0x1D100003 and w[3] == 0x1D200004
    assert w[2] & 0xFFFF == 0xFFFF and w[5] & 0xFFFF == 0xFFFF       # each loops on its own label
    assert prog.symbols["again1"] == ("text", 4) and prog.symbols["again2"] == ("text", 16)


def test_macro_errors_point_at_the_body_line_with_the_invocation_in_a_note():
    with pytest.raises(AsmError) as e:
        assemble(".macro setk r, k\n  addi \\r, x0, \\k\n.endm\n  setk x1, 5\n  setk x2, 99999\n")
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (2, 16) and d.source == "  addi x2, x0, 99999"
    assert d.notes == ("in macro 'setk' invoked at <string>:5",)
    assert "note: in macro 'setk' invoked at <string>:5" in str(e.value)


@pytest.mark.parametrize("source,message", [
    (".macro m a\nnop\n.endm\nm", "macro 'm' takes 1 argument(s) (a), got 0"),
    (".macro m\nnop\n.endm\nm 1, 2", "macro 'm' takes 0 argument(s) (no arguments), got 2"),
    (".macro m\nm\n.endm\nm", "macros nested more than 64 deep"),
    (".macro m\nnop\n", ".macro without a matching .endm"),
    (".endm", ".endm without a matching .macro"),
    (".macro m\n.endm\n.macro m\n.endm", "macro 'm' is already defined at <string>:1"),
    (".macro add\n.endm", "macro name 'add' is an instruction name"),
    (".macro m a, a\n.endm", "a macro parameter is named twice"),
])
def test_macro_errors(source, message):
    assert any(message in m for _, _, m in errors(source)), errors(source)
