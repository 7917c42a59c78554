"""A few seconds of the fuzzers of `make fuzz` (tests/fuzz), and a property over arbitrary text:
whatever the input, the assembler answers with a result or an AsmError."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asm import AsmError, assemble
from tests.fuzz.targets import fuzz_assembler, fuzz_images, fuzz_snapshots

ALPHABET = st.sampled_from(list("0123456789abcxXbB_-+*/%<>&|^~()'\"\\.,:;# \t\n=") +
                           [".data", ".text", ".word ", ".equ ", ".macro m\n", ".endm\n",
                            "li x1, ", "halt", "0x1_", "9" * 50])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_any_text_assembles_or_gives_an_asm_error(text):
    try:
        assemble(text)
    except AsmError as e:
        assert e.diagnostics and all(d.render() for d in e.diagnostics)


def test_fuzz_smoke_assembler(tmp_path):
    r = fuzz_assembler(150, 11, tmp_path)
    assert r.findings == [] and r.rejected > 0


def test_fuzz_smoke_images():
    r = fuzz_images(100, 11)
    assert r.findings == [] and r.rejected > 0


def test_fuzz_smoke_snapshots():
    r = fuzz_snapshots(100, 11)
    assert r.findings == [] and r.rejected > 0


def test_fuzz_smoke_random_words_with_the_checker(capsys):
    from tests.fuzz.words import main

    assert main(["3000"]) == 0
    assert "no crash" in capsys.readouterr().out
