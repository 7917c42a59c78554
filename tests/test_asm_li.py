"""`li` and `la`: the value the words build (run through the movi/shori semantics of docs/isa.md)
and the length (movi, then one shori per further 16 bits, never more than needed)."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from asm import AsmError, assemble

MOVI, SHORI = 0x1D, 0x1E
M64 = (1 << 64) - 1


def run(words: list[int], rd: int) -> int:
    """Execute a movi/shori sequence; the 64-bit register value (unsigned)."""
    reg = 0
    for w in words:
        assert (w >> 20) & 0xF == rd
        op, imm = w >> 24, w & 0xFFFF
        if op == MOVI:
            reg = (imm - 0x10000 if imm & 0x8000 else imm) & M64
        else:
            assert op == SHORI
            reg = ((reg << 16) | imm) & M64
    return reg


def minimal_length(v: int) -> int:
    v = v - (1 << 64) if v >= 1 << 63 else v
    return next(n for n in (1, 2, 3, 4) if n == 4 or -(1 << (16 * n - 1)) <= v < 1 << (16 * n - 1))


CONSTANTS = [0, 1, -1, 5, 32767, -32768, 32768, -32769, 65535, 65536, 0x7FFFFFFF, -0x80000000,
             0x80000000, 0xFFFFFFFF, 0x123456789, -0x123456789, 0x7FFFFFFFFFFF, -0x800000000000,
             0x800000000000, 0x7FFFFFFFFFFFFFFF, -0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
             0x8000000000000000, 0xDEADBEEFCAFEF00D]


@pytest.mark.parametrize("value", CONSTANTS, ids=hex)
def test_li_constants(value):
    words = assemble(f"li x7, {value}").image.text_words()
    assert run(words, 7) == value & M64
    assert len(words) == minimal_length(value)
    assert words[0] >> 24 == MOVI and all(w >> 24 == SHORI for w in words[1:])


@pytest.mark.parametrize("value,length", [(5, 1), (-1, 1), (40000, 2), (-40000, 2),
                                          (1 << 31, 3), (1 << 47, 4), (-(1 << 47), 3)])
def test_li_lengths(value, length):
    assert len(assemble(f"li x1, {value}").image.text_words()) == length


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1), st.integers(0, 15))
def test_li_any_64_bit_value(value, rd):
    words = assemble(f"li x{rd}, {value}").image.text_words()
    assert run(words, rd) == value & M64
    assert len(words) == minimal_length(value)


def test_li_expressions_and_backward_symbols_are_sized_minimally():
    src = "K = 1 << 40\nli x1, K + 3\nli x2, -(K)\nhere: li x3, here\n"
    w = assemble(src).image.text_words()
    assert run(w[0:3], 1) == (1 << 40) + 3
    assert run(w[3:6], 2) == (-(1 << 40)) & M64
    assert run(w[6:], 3) == 24


def test_li_forward_reference_takes_two_words():
    prog = assemble("li x1, later\nli x2, big\nhalt\nlater: halt\nbig = 0x12345678\n")
    w = prog.image.text_words()
    assert run(w[0:2], 1) == 20 and run(w[2:4], 2) == 0x12345678
    assert prog.symbols["later"] == ("text", 20)


def test_li_forward_reference_wider_than_32_bits_is_an_error():
    with pytest.raises(AsmError) as e:
        assemble("li x1, big\nbig = 0x123456789\n")
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (1, 8)
    assert "forward reference" in d.message and "'big'" in d.message and "signed 32-bit" in d.message


def test_li_value_beyond_64_bits():
    with pytest.raises(AsmError, match="does not fit 64 bits"):
        assemble("li x1, 0x10000000000000000")


def test_la_is_always_two_words():
    prog = assemble(".data\n.zero 0x12344\nbuf: .byte 1\n.text\nla x3, buf\nla x4, 0\n")
    w = prog.image.text_words()
    assert len(w) == 4
    assert run(w[0:2], 3) == 0x12344 and run(w[2:4], 4) == 0


@pytest.mark.parametrize("value", ["-4", "0x80000000"])
def test_la_range(value):
    with pytest.raises(AsmError, match=r"la address .* outside 0..0x7fffffff"):
        assemble(f"la x1, {value}")


def test_li_rejects_a_register_as_value():
    with pytest.raises(AsmError, match="expected a constant .*, got x2"):
        assemble("li x1, x2")
