"""Every hostile input class of issue 16 gets one AsmError naming the place, within the budgets
of asm.limits (docs/assembly.md, Limits)."""
from __future__ import annotations

import os
import struct
import tracemalloc

import numpy as np
import pytest

from asm import AsmError, assemble, assemble_file
from asm.limits import (CODE_BYTES, MAX_DATA_BYTES, MAX_EXPANDED_LINES, MAX_INCLUDES,
                        MAX_LINE_CHARS, MAX_SYMBOL_DEPTH, MAX_VALUE_BITS)
from emulator.cli import main as cli_main


def _error(src: str, **kw) -> str:
    with pytest.raises(AsmError) as e:
        assemble(src, "t.s", **kw)
    (d, *_rest) = e.value.diagnostics
    text = d.render()
    assert text.startswith("t.s:") and "Traceback" not in text
    return text


@pytest.mark.parametrize("literal", ["0x1_", "0b_", "1_", "1__0", "0x"])
def test_a_digit_separator_at_the_end_is_a_malformed_number(literal):
    assert _error(f"  .data\n  .word {literal}\n").startswith("t.s:2:9: error: malformed number")


def test_literals_past_pythons_digit_limit_are_too_large():
    for lit in ("9" * 5000, "0x" + "f" * 5000, "-" + "1" * 4400):
        assert "number too large" in _error(f"  .data\n  .word {lit}\n")
    assert "no register" in _error("  .text\n  add x" + "1" * 5000 + ", x1, x1\n")


def test_a_huge_product_is_refused_before_it_is_printed():
    text = _error("  .data\n  .dword " + "*".join(["(1<<63)"] * 2000) + "\n")
    assert f"does not fit {MAX_VALUE_BITS} bits" in text
    assert _error("a = 1\n  .data\n  .byte " + "*".join(["(a<<63)"] * 3) + "\n").count("\n") == 2


def test_a_thousand_term_expression_and_a_deep_negation_evaluate():
    p = assemble("  .data\nv: .word " + "+".join(["a"] * 1000) + ", " + "-" * 1001 + "a\na = 1\n")
    assert p.image.segments[0].data == struct.pack("<iI", 1000, (-1) & 0xFFFFFFFF)


def test_chained_forward_equs_have_a_depth_limit():
    def chain(n):
        return "  .data\n  .word e0\n" + "".join(f"e{i} = e{i + 1}\n" for i in range(n)) + f"e{n} = 3\n"
    assert assemble(chain(MAX_SYMBOL_DEPTH - 10)).image.segments[0].data == b"\3\0\0\0"
    assert f"more than {MAX_SYMBOL_DEPTH}" in _error(chain(330))


@pytest.mark.parametrize("directive", ['.include "{}"', '  .data\n  .npy "{}"'])
def test_file_names_longer_than_the_os_allows_are_refused(directive):
    assert "as a file name" in _error(directive.format("a" * 300) + "\n")
    assert "file" in _error(directive.format("a\\0b") + "\n")          # a NUL byte in the name


def test_an_npy_header_declaring_a_terabyte_is_refused_unread(tmp_path):
    head = b"{'descr': '<i1', 'fortran_order': False, 'shape': (1099511627776,), }"
    head += b" " * (63 - len(head) % 64) + b"\n"
    (tmp_path / "huge.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head)
    np.save(tmp_path / "short.npy", np.zeros(100, np.int8))
    (tmp_path / "short.npy").write_bytes((tmp_path / "short.npy").read_bytes()[:-50])
    text = _error('  .data\n  .npy "huge.npy"\n', include_dirs=[tmp_path])
    assert "declares 1099511627776 bytes" in text
    assert "shorter than" in _error('  .data\n  .npy "short.npy"\n', include_dirs=[tmp_path])


def test_a_source_name_that_is_not_utf8_is_refused_and_writes_nothing(tmp_path, capsys):
    name = os.fsdecode(b"a\xffb.s")
    (tmp_path / name).write_text("  .text\n_start: halt\n")
    assert cli_main(["asm", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert "a\\xffb.s: error: the file name is not valid UTF-8" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    with pytest.raises(AsmError, match="lone surrogate"):
        assemble('  .data\n  .ascii "a\udcffb"\n')


def test_a_macro_fan_out_stops_at_the_expansion_budget():
    src = ".macro m0\n nop\n.endm\n" + "".join(f".macro m{i}\n m{i - 1}\n m{i - 1}\n.endm\n"
                                              for i in range(1, 27)) + "  .text\n m26\n"
    assert f"exceed {MAX_EXPANDED_LINES} lines" in _error(src)


def test_a_million_includes_stop_at_the_include_budget(tmp_path):
    (tmp_path / "c.s").write_text("\n")
    (tmp_path / "b.s").write_text('.include "c.s"\n' * 1024)
    (tmp_path / "a.s").write_text('.include "b.s"\n' * 1024)
    with pytest.raises(AsmError, match=f"more than {MAX_INCLUDES} .include"):
        assemble_file(tmp_path / "a.s")


def test_code_and_data_stay_inside_memory_and_budget_without_being_materialised():
    tracemalloc.start()
    try:
        assert "beyond the code memory" in _error("  .text\n" + "  .zero 16777216\n" * 2)
        assert "outside 0..67108864" in _error("  .data\n  .zero 4294967296\n")
        assert f"more than {MAX_DATA_BYTES >> 20} MiB" in _error("  .data\n" + "  .zero 33554432\n" * 40)
        assert "beyond the largest data memory" in _error("  .data\n  .org 0xfffffff0\n  .zero 32\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_DATA_BYTES        # not the 10 GB that 40 × 64 MiB once took
    assert CODE_BYTES == 16 << 20


def test_long_lines_and_long_strings_are_bounded():
    assert f"limit of {MAX_LINE_CHARS}" in _error("  .data\n  .ascii \"" + "a" * MAX_LINE_CHARS + "\"\n")
    n = MAX_LINE_CHARS - 100
    tracemalloc.start()
    try:
        assemble("  .data\n  .ascii \"" + "a" * n + "\"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / n < 40                  # bytes per character (once ~290)


def test_the_limits_table_of_the_docs_matches_asm_limits():
    import re
    from pathlib import Path

    import asm.limits as limits
    text = (Path(__file__).resolve().parent.parent / "docs" / "assembly.md").read_text()
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", text, re.M)
    assert len(rows) == 12
    for name, value in rows:
        assert getattr(limits, name) == int(value), name
