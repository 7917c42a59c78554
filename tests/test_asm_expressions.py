"""Expressions: numbers in every notation, operators and precedence, labels and `.`."""
from __future__ import annotations

import pytest

from asm import AsmError, assemble


def value(expr: str) -> int:
    """The value of `expr` as assembled into a .dword."""
    data = assemble(f".data\n.dword {expr}\n").image.segments_of("data")[0].data
    return int.from_bytes(data, "little", signed=True)


@pytest.mark.parametrize("expr,expected", [
    ("42", 42), ("-7", -7), ("0x2A", 42), ("0X2a", 42), ("0b101", 5), ("0B1_0", 2),
    ("1_000", 1000), ("007", 7), ("'a'", 97), ("'\\n'", 10), ("'\\x41'", 65), ("'\\''", 39),
    ("'\\\\'", 92), ("' '", 32),
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("2 * 3 % 4", 2),
    ("7 / 2", 3), ("-7 / 2", -3), ("7 / -2", -3), ("-7 % 2", -1), ("7 % -2", 1),
    ("1 << 4 + 1", 32), ("0xF0 >> 4", 15), ("-16 >> 2", -4),
    ("6 & 3", 2), ("6 | 3", 7), ("6 ^ 3", 5), ("1 | 2 ^ 3 & 4", 1 | (2 ^ (3 & 4))),
    ("~0", -1), ("-~5", 6), ("- 5", -5), ("+5", 5), ("-(2 + 3)", -5), ("--5", 5),
    ("1<<63", -(1 << 63)),          # stored as the unsigned 2^63, read back signed
])
def test_expression_values(expr, expected):
    assert value(expr) == expected


def test_labels_and_label_arithmetic():
    prog = assemble("""
        .data
start:  .word end - start, start, end + 4, (end - start) / 4
        .half 1, 2
end:
        .text
a:      nop
b:      addi x1, x0, b - a
        addi x1, x0, end - start
""")
    data = prog.image.segments_of("data")[0].data
    assert [int.from_bytes(data[i:i + 4], "little") for i in range(0, 16, 4)] == [20, 0, 24, 5]
    w = prog.image.text_words()
    assert w[1] & 0xFFFF == 4 and w[2] & 0xFFFF == 20


def test_dot_is_the_address_of_the_statement():
    prog = assemble("nop\nnop\naddi x1, x0, .\n.data\n.byte 1\n.byte .\n")
    assert prog.image.text_words()[2] & 0xFFFF == 8
    assert prog.image.segments_of("data")[0].data == b"\x01\x01"


def test_equ_forms_and_forward_use():
    prog = assemble("""
        .equ A, 3
        B = A * 2
        .set C, later - 4
        addi x1, x0, B
        addi x2, x0, C
later:  addi x3, x0, D
        D = A + B
""")
    w = prog.image.text_words()
    assert [x & 0xFFFF for x in w] == [6, 4, 9]
    assert prog.symbols["A"] == ("abs", 3) and prog.symbols["B"] == ("abs", 6)
    assert prog.symbols["C"] == ("text", 4)       # a label minus a constant is still an address


@pytest.mark.parametrize("source,message", [
    (".data\n.word 1 / 0", "division by zero"),
    (".data\n.word 1 % (2 - 2)", "division by zero"),
    (".data\n.word 1 << 64", "shift count 64 outside 0..63"),
    (".data\n.word 1 >> -1", "shift count -1 outside 0..63"),
    ("A = B\nB = A\n.data\n.word A", "defined in terms of itself"),
])
def test_expression_errors(source, message):
    with pytest.raises(AsmError, match=message):
        assemble(source)


def test_undefined_symbol_suggests_a_near_name():
    with pytest.raises(AsmError) as e:
        assemble("loop: nop\nj lop\n")
    (d,) = e.value.diagnostics
    assert d.message == "undefined symbol 'lop' (did you mean loop?)"
    assert (d.line, d.col, d.end_col) == (2, 3, 6)


def test_undefined_symbol_inside_an_equ_names_the_definition():
    with pytest.raises(AsmError) as e:
        assemble("X = nowhere + 1\naddi x1, x0, X\n")
    msgs = [(d.line, d.message) for d in e.value.diagnostics]
    assert (1, "undefined symbol 'nowhere'") in msgs
    assert any(line == 2 and "in the definition of 'X' at <string>:1" in m for line, m in msgs)
