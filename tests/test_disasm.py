"""Disassembler: single words, invalid words, and whole images back to identical bytes."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from asm import assemble
from asm.disasm import decode, disassemble, disassemble_word
from asm.image import Image, Segment
from isa.tables import ENUMS, FIELDS, INSNS

from .test_asm_encoding import SPEC

PC = 0x200000    # far enough from 0 that every branch offset has a non-negative target


def reassemble_word(text: str, pc: int = PC) -> int:
    seg = assemble(f".org {pc:#x}\n{text}\n").image.segments_of("text")[0]
    assert seg.addr == pc and len(seg.data) == 4, text
    return int.from_bytes(seg.data, "little")


@st.composite
def valid_words(draw):
    mnemonic = draw(st.sampled_from(sorted(INSNS)))
    _op, match, _mask, _sfx, _ops, fields, *_ = INSNS[mnemonic]
    word = match
    for name in fields:
        hi, lo, kind, lo_val, hi_val = FIELDS[name]
        if kind in ENUMS:
            v = draw(st.sampled_from(sorted(ENUMS[kind].values())))
        else:
            v = draw(st.integers(lo_val, hi_val))
        word |= (v & ((1 << (hi - lo + 1)) - 1)) << lo
    return word


@pytest.mark.parametrize("source,word", SPEC, ids=[s for s, _ in SPEC])
def test_spec_words_disassemble_and_reassemble(source, word):
    assert reassemble_word(disassemble_word(word, 0), 0) == word


@pytest.mark.parametrize("word,text", [
    (0x14120005, "addi x1, x2, 5"),
    (0x1412FFFB, "addi x1, x2, -5"),
    (0x1E10ABCD, "shori x1, 0xabcd"),
    (0x24120008, "lw x1, 8(x2)"),
    (0x4C120800, "vcvt.i8.i32 x1, x2"),      # vd (9:8) = i8 = 0, vt (11:10) = i32 = 2
    (0x62010008, "ccfg.inbits x1, 8"),
    (0x6A010100, "mvm.bwd x1"),
    (0x64020005, "hin.i8 c5, x2"),
    (0x01000000, "nop"),
])
def test_known_words(word, text):
    assert disassemble_word(word) == text


def test_branch_targets_relative_absolute_and_named():
    w = 0x3110FFFF                                    # bne x1, x0, -1 word
    assert disassemble_word(w) == "bne x1, x0, .-4"
    assert disassemble_word(w, pc=0x100) == "bne x1, x0, 0xfc"
    assert disassemble_word(w, pc=0x100, labels={0xFC: "loop"}) == "bne x1, x0, loop"
    assert disassemble_word(0x380FFFFF, pc=0) == "jal x0, -0x4"
    # `.±n` re-assembles at any address
    for pc in (0, 0x40, PC):
        assert reassemble_word(disassemble_word(w), pc) == w


@pytest.mark.parametrize("word,reason", [
    (0x00000000, "no instruction has opcode 0x00"),
    (0xFF000000, "no instruction has opcode 0xff"),
    (0x01000001, "nop with reserved bits set (0x00000001)"),
    (0x04120801, "add with reserved bits set (0x00000801)"),
    (0x6A010300, "mvm with undefined dir value 3"),
    *[(0x62010000 | code << FIELDS["csel"][1], f"ccfg with undefined csel value {code}")   # free codes
      for code in sorted(set(range(1 << (FIELDS["csel"][0] - FIELDS["csel"][1] + 1)))
                         - set(ENUMS["cfg"].values()))[:1]],
    (0x64020030, "hin with core 48 outside 0..47"),
    (0x4A120000, "vclip with vbits 0 outside 1..32"),
    (0x48120040, "vsra with vimm 64 outside 0..63"),
])
def test_invalid_words_are_not_instructions(word, reason):
    assert decode(word) == (None, reason)
    text = disassemble_word(word)
    assert text == f".word {word:#010x}  # not an instruction: {reason}"
    assert reassemble_word(text) == word


def test_legal_words_the_assembler_refuses_come_out_as_data_with_the_meaning():
    word = 0x62010000                                 # ccfg.inbits x1, 0: inbits is 1..8
    assert decode(word)[0] is not None
    assert disassemble_word(word) == (".word 0x62010000  # ccfg.inbits x1, 0: 0 is outside the "
                                      "range of ccfg.inbits (1..8)")
    assert reassemble_word(disassemble_word(word)) == word


@settings(max_examples=300)
@given(valid_words())
def test_any_valid_word_round_trips(word):
    spec, _ = decode(word)
    assert spec is not None
    assert reassemble_word(disassemble_word(word, PC), PC) == word
    assert reassemble_word(disassemble_word(word), 0x40) == word


@settings(max_examples=300)
@given(st.integers(0, 0xFFFFFFFF))
def test_any_word_round_trips_as_instruction_or_data(word):
    assert reassemble_word(disassemble_word(word, PC), PC) == word


@st.composite
def images(draw):
    segs = []
    addr = draw(st.integers(0, 64)) * 4
    for _ in range(draw(st.integers(0, 3))):
        words = draw(st.lists(st.one_of(valid_words(), st.integers(0, 0xFFFFFFFF)), min_size=1,
                              max_size=24))
        segs.append(Segment("text", addr, b"".join(w.to_bytes(4, "little") for w in words)))
        addr += 4 * len(words) + draw(st.integers(1, 16)) * 4
    addr = draw(st.integers(0, 100))
    for _ in range(draw(st.integers(0, 3))):
        data = draw(st.one_of(st.binary(min_size=1, max_size=80),
                              st.builds(lambda n, b: bytes(n) + b, st.integers(16, 60),
                                        st.binary(max_size=8))))
        segs.append(Segment("data", addr, data))
        addr += len(data) + draw(st.integers(1, 50))
    texts = [s for s in segs if s.kind == "text"]
    entry = draw(st.sampled_from([s.addr for s in texts])) if texts else 0
    return Image(entry, tuple(segs))


@settings(max_examples=150, deadline=None)
@given(images())
def test_any_image_round_trips(image):
    again = assemble(disassemble(image)).image
    assert again.to_bytes() == image.to_bytes()


PROGRAM = """
        .data
        .zero 4
table:  .word 1, 2, 3
buf:    .zero 40
end_buf:
        .text
        nop
_start: la x2, table
        li x3, 10
loop:   addi x3, x3, -1
        call helper
        bnez x3, loop
        j done
helper: ret
done:   halt
N_ITEMS = 12
"""


def test_program_with_symbols_round_trips_with_its_names():
    prog = assemble(PROGRAM)
    text = disassemble(prog.image, prog.symbols)
    for line in ("_start:", "loop:", "helper:", "done:", "table:", "buf:", "end_buf:",
                 ".equ N_ITEMS, 0xc", ".entry _start", "    jal x1, helper", "    bne x3, x0, loop"):
        assert line in text.splitlines(), line
    assert assemble(text).image.to_bytes() == prog.image.to_bytes()


def test_symbols_named_like_mnemonics_survive():
    prog = assemble("la: nop\nj la\nli = 5\n.data\nj: .byte 1\n")
    text = disassemble(prog.image, prog.symbols)
    assert "la:" in text and "jal x0, la" in text and ".equ li, 0x5" in text and "j:" in text
    assert assemble(text).symbols == prog.symbols


def test_without_symbols_branch_targets_get_synthesized_labels():
    prog = assemble(PROGRAM)
    text = disassemble(prog.image)
    assert "L_0010:" in text and "bne x3, x0, L_0010" in text and "jal x1, L_0020" in text
    assert ".entry 0x4" in text
    assert assemble(text).image.to_bytes() == prog.image.to_bytes()


def test_long_zero_runs_become_zero_directives():
    img = Image(0, (Segment("data", 0x10, b"\x01" + bytes(100) + b"\x02"),))
    text = disassemble(img)
    assert "    .zero 100" in text and ".org 0x10" in text
    assert assemble(text).image == img
