"""Every class of assembler error: where it is reported and what it says.

Each row is (source, line, column, message).  Messages are checked in full where the wording is
part of the contract (what was expected, what was found, the valid range or names).
"""
from __future__ import annotations

import pytest

from asm import AsmError, assemble
from isa.tables import CFG

ERRORS = [
    # operands that do not fit their slot
    ("addi x99, x1, 2", 1, 6, "expected a register x0–x15, got x99"),
    ("add x1, x2, 5", 1, 13, "expected a register x0–x15, got 5"),
    ("add x1, x2, c3", 1, 13, "expected a register x0–x15, got c3"),
    ("hin.i8 c48, x1", 1, 8, "expected a core c0–c47, got c48"),
    ("cstat x1, x2", 1, 11, "expected a core c0–c47, got x2"),
    ("lw x1, x2", 1, 8, "expected a memory operand imm16(rs1), e.g. 8(x2), got x2"),
    ("lw x1, 8(x16)", 1, 10, "expected a register x0–x15, got x16"),
    ("addi x1, x2, x3", 1, 14, "expected an immediate -32768..32767, got x3"),
    ("addi x1, x2, \"s\"", 1, 14, "expected an immediate -32768..32767, got \"s\""),
    ("beq x1, x2, x3", 1, 13, "expected a branch target (a code label or address), got x3"),
    # ranges
    ("addi x1, x2, 32768", 1, 14, "immediate 32768 out of range for imm16: -32768..32767"),
    ("addi x1, x2, -32769", 1, 14, "immediate -32769 out of range for imm16: -32768..32767"),
    ("shori x1, -1", 1, 11, "immediate -1 out of range for uimm16: 0..65535"),
    ("slli x1, x1, 64", 1, 14, "immediate 64 out of range for shamt: 0..63"),
    ("vsra.i8 x1, x2, 64", 1, 17, "immediate 64 out of range for vimm: 0..63"),
    ("vclip.i8 x1, x2, 33", 1, 18, "immediate 33 out of range for vbits: 1..32"),
    ("setvli 65536", 1, 8, "immediate 65536 out of range for uimm16: 0..65535"),
    ("ccfg.inbits x1, 9", 1, 17, "value 9 out of range for ccfg.inbits: 1..8"),
    ("ccfg.nrows x1, 0", 1, 16, "value 0 out of range for ccfg.nrows: 1..128"),
    ("ccfg.gain x1, 40000", 1, 15, "value 40000 out of range for ccfg.gain: 1..32767"),
    # branch targets
    ("beq x1, x2, 131072", 1, 13, "branch target 0x20000 out of reach: offset 32768 words from "
                                  "0x0, off16 holds -32768..32767"),
    ("j 0x200000", 1, 3, "branch target 0x200000 out of reach: offset 524288 words from 0x0, "
                         "off20 holds -524288..524287"),
    ("nop\nj 6", 2, 3, "branch target 0x6 is not word-aligned (offset 2 bytes from 0x4)"),
    (".data\nbuf: .byte 0\n.text\nbnez x1, buf", 4, 10,
     "branch target is a data address (0x0); branches and jumps need a code label"),
    # mnemonics, suffixes, operand counts
    ("ad x1, x2, x3", 1, 1, "unknown instruction or macro 'ad' (did you mean and or add or vadd?)"),
    ("vaddd.i8 x1, x2, x3", 1, 1, "unknown instruction or macro 'vaddd.i8' (did you mean vadd "
                                   "or vadds or vadd2?)"),
    ("vadd.i64 x1, x2, x3", 1, 5, "unknown suffix .i64 for vadd: vt is one of .i8, .i16, .i32, "
                                   ".u8 (did you mean .i16?)"),
    ("vadd x1, x2, x3", 1, 1, "vadd needs a .{vt} suffix (vadd.{vt} rd, rs1, rs2): vt is one of "
                              ".i8, .i16, .i32, .u8"),
    ("mvm.up x1", 1, 4, "unknown suffix .up for mvm: dir is one of .fwd, .bwd, .rec"),
    ("add.i8 x1, x2, x3", 1, 4, "add takes no suffix, got .i8"),
    ("vcvt.i8.i8.i8 x1, x2", 1, 11, "too many suffixes: vcvt is written vcvt.{vd}.{vt} rd, rs1"),
    ("ccfg.bogus x1, 1", 1, 5, "unknown suffix .bogus for ccfg: csel is one of "
                               + ", ".join(f".{name}" for name in CFG)),   # in table order
    ("addi x1, x2", 1, 1, "addi takes 3 operands (addi rd, rs1, imm16), got 2"),
    ("halt x1", 1, 1, "halt takes 0 operands (halt), got 1"),
    ("cread x1, c0, x2", 1, 1, "cread takes 4 operands (cread rd, core, rs1, rs2), got 3"),
    ("bgt x1, 8", 1, 1, "bgt takes 3 operands (bgt rt, rs1, off16), got 2"),
    ("li x1", 1, 1, "li takes 2 operands (li rd, imm), got 1"),
    ("loop", 1, 1, "unknown instruction or macro 'loop' (a label is written 'loop:')"),
    # symbols
    ("j nowhere", 1, 3, "undefined symbol 'nowhere'"),
    ("a: nop\na: nop", 2, 1, "'a' is already defined at <string>:1"),
    ("A = 1\n.equ A, 2", 2, 6, "'A' is already defined at <string>:1"),
    (".equ x1, 2", 1, 6, ".equ needs a symbol name: 'x1' is a register name"),
    # directives
    (".bogus", 1, 1, "unknown directive .bogus"),
    (".wrod 1", 1, 1, "unknown directive .wrod (did you mean .word?)"),
    # syntax
    ("addi x1 x2, 3", 1, 9, "expected ',' or end of line after an operand, got 'x2'"),
    ("add x1, , x2", 1, 9, "expected a register, a core, an expression or a string, got ','"),
    (".data\n.word 1 +", 2, 10, "expected an expression, got end of line"),
    ("lw x1, 8(x2", 1, 12, "expected ')', got end of line"),
    ("add @", 1, 5, "unexpected character '@', expected a register, a core, an expression, a "
                    "string or end of line"),
    (".data\n.word 1.5", 2, 7, "malformed number '1.5' (integers only: 42, -7, 0x2a, 0b101, 'c')"),
    ("addi x1, x2, 'ab'", 1, 14, "unterminated or malformed character literal (one character: "
                                 "'a', '\\n', '\\x41')"),
    (".data\n.ascii \"abc", 2, 8, "unterminated string (strings end on the same line)"),
    (".data\n.ascii \"a\\qb\"", 2, 8, "unknown escape '\\q' (known: \\n \\t \\r \\0 \\\\ \\' "
                                      "\\\" \\a \\b \\f \\v \\e \\xHH)"),
    ("loop : nop", 1, 6, "unexpected ':' (a label is written `name:` with no space before the "
                         "colon)"),
    ("nop halt", 1, 1, "nop takes 0 operands (nop), got 1"),
]


@pytest.mark.parametrize("source,line,col,message", ERRORS, ids=[e[3][:50] for e in ERRORS])
def test_error(source, line, col, message):
    with pytest.raises(AsmError) as e:
        assemble(source)
    got = [(d.line, d.col, d.message) for d in e.value.diagnostics]
    assert (line, col, message) in got, got


def test_rendering_shows_file_line_col_source_and_caret():
    with pytest.raises(AsmError) as e:
        assemble("start:\n    addi x99, x1, 2\n", filename="prog.s")
    assert str(e.value) == ("prog.s:2:10: error: expected a register x0–x15, got x99\n"
                            "        addi x99, x1, 2\n"
                            "             ^~~")


def test_several_errors_are_collected_in_source_order():
    src = "nop\naddi x1, x1, 99999\nfoo x1\n  add x1 x2\nj nowhere\nvadd.q x1, x2, x3\n"
    with pytest.raises(AsmError) as e:
        assemble(src)
    assert [d.line for d in e.value.diagnostics] == [2, 3, 4, 5, 6]
    assert str(e.value).endswith("\n5 errors")


def test_syntax_errors_do_not_hide_later_semantic_errors():
    with pytest.raises(AsmError) as e:
        assemble("add x1 x2\nadd x1 x2 x3\naddi x1, x2, 70000\n")
    assert [(d.line, d.message[:8]) for d in e.value.diagnostics] == [
        (1, "expected"), (2, "expected"), (3, "immediat")]


def test_diagnostics_carry_file_line_col_and_message():
    with pytest.raises(AsmError) as e:
        assemble("\n\n  j far\n", filename="x.s")
    (d,) = e.value.diagnostics
    assert (d.file, d.line, d.col, d.end_col) == ("x.s", 3, 5, 8)
    assert d.message == "undefined symbol 'far'" and d.source == "  j far"


def test_missing_source_file():
    from asm import assemble_file

    with pytest.raises(AsmError) as e:
        assemble_file("/nonexistent/prog.s")
    (d,) = e.value.diagnostics
    assert d.line == 0 and "cannot read source file" in d.message
    assert str(e.value).startswith("/nonexistent/prog.s: error: cannot read source file")


def test_tabs_keep_the_caret_aligned():
    with pytest.raises(AsmError) as e:
        assemble("\taddi\tx1, x1, 99999")
    lines = str(e.value).splitlines()
    assert lines[2].index("^") == lines[1].index("9")


def test_statements_around_a_syntax_error_are_kept():
    with pytest.raises(AsmError) as e:
        assemble("j end\nadd x1 x2\nnop\nend: halt\n")
    assert [(d.line, d.col) for d in e.value.diagnostics] == [(2, 8)]


def test_a_flood_of_syntax_errors_stops_early_without_follow_up_errors():
    from asm.parser import MAX_SYNTAX_ERRORS

    src = "j end\n" + "add x1 x2\n" * 50 + "end: halt\n"
    with pytest.raises(AsmError) as e:
        assemble(src)
    assert len(e.value.diagnostics) == MAX_SYNTAX_ERRORS
    assert all(d.message.startswith("expected ','") for d in e.value.diagnostics)
