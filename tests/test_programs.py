"""Every program under programs/ assembles through the CLI with a listing, and its disassembly
assembles back to the same image bytes (the issue's round-trip promise, on real programs)."""
from __future__ import annotations

from pathlib import Path

import pytest

from asm.image import load_image
from emulator.cli import main as cli_main

PROGRAMS = sorted((Path(__file__).resolve().parent.parent / "programs").glob("*.s"))


def test_there_are_programs():
    assert len(PROGRAMS) >= 6


@pytest.mark.parametrize("src", PROGRAMS, ids=lambda p: p.name)
def test_program_assembles_lists_and_round_trips(src, tmp_path, capsys):
    img = tmp_path / "p.img"
    assert cli_main(["asm", str(src), "-o", str(img), "--listing", str(tmp_path / "p.lst")]) == 0
    listing = (tmp_path / "p.lst").read_text(encoding="utf-8")
    assert src.name in listing or "halt" in listing
    out = tmp_path / "back.s"
    assert cli_main(["disasm", str(img), "-o", str(out)]) == 0
    img2 = tmp_path / "back.img"
    assert cli_main(["asm", str(out), "-o", str(img2)]) == 0, capsys.readouterr().err
    assert img2.read_bytes() == img.read_bytes()
    assert load_image(img2).entry == load_image(img).entry
