"""`neurram asm` and `neurram disasm` end to end: files written, exit codes, messages."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from asm.image import load_image, load_source_map
from emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent
PROG = """\
# count down from 3
        .data
val:    .word 7
        .text
_start: li x1, 3
loop:   addi x1, x1, -1
        bnez x1, loop
        halt
"""


@pytest.fixture
def prog(tmp_path) -> Path:
    p = tmp_path / "prog.s"
    p.write_text(PROG)
    return p


def test_asm_writes_image_and_map(prog, capsys):
    assert main(["asm", str(prog)]) == 0
    img, smap = load_image(prog.with_suffix(".img")), load_source_map(prog.with_suffix(".map"))
    assert img.text_words()[:2] == [0x1D100003, 0x1411FFFF]
    assert smap.lines[4] == (str(prog), 6, 9) and smap.symbols["val"] == ("data", 0)
    assert capsys.readouterr().out == ""


def test_asm_output_map_and_listing_options(prog, tmp_path, capsys):
    out, mp, lst = tmp_path / "o" / "x.bin", tmp_path / "x.json", tmp_path / "x.lst"
    out.parent.mkdir()
    assert main(["asm", str(prog), "-o", str(out), "--map", str(mp), "--listing", str(lst)]) == 0
    assert out.exists() and mp.exists() and not (out.parent / "x.map").exists()
    listing = lst.read_text()
    assert "T    00000004  1411ffff                     6  loop:   addi x1, x1, -1" in listing
    assert "D    00000000  07 00 00 00                  3  val:    .word 7" in listing
    assert main(["asm", str(prog), "--listing"]) == 0
    assert "1d100003" in capsys.readouterr().out


def test_asm_errors_exit_1_with_diagnostics_on_stderr(tmp_path, capsys):
    bad = tmp_path / "bad.s"
    bad.write_text("  addi x1, x99, 1\n  foo\n")
    assert main(["asm", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:1:12: error: expected a register x0–x15, got x99" in err
    assert "      addi x1, x99, 1\n" in err and "               ^~~\n" in err
    assert f"{bad}:2:3: error: unknown instruction or macro 'foo'" in err and "2 errors" in err
    assert not bad.with_suffix(".img").exists()


def test_asm_missing_source(tmp_path, capsys):
    assert main(["asm", str(tmp_path / "none.s")]) == 1
    assert "none.s: error: cannot read source file: No such file or directory" in capsys.readouterr().err


def test_asm_unwritable_output(prog, tmp_path, capsys):
    assert main(["asm", str(prog), "-o", str(tmp_path / "no" / "such" / "dir" / "x.img")]) == 1
    assert "error: cannot write" in capsys.readouterr().err


def test_disasm_round_trip_with_map_symbols(prog, tmp_path, capsys):
    assert main(["asm", str(prog)]) == 0
    out = tmp_path / "back.s"
    assert main(["disasm", str(prog.with_suffix(".img")), "-o", str(out)]) == 0
    text = out.read_text()
    assert "loop:" in text and "bne x1, x0, loop" in text and "val:" in text
    assert main(["asm", str(out)]) == 0
    assert out.with_suffix(".img").read_bytes() == prog.with_suffix(".img").read_bytes()
    assert main(["disasm", str(prog.with_suffix(".img")), "--no-map"]) == 0
    assert "L_0004:" in capsys.readouterr().out


def test_disasm_bad_image_exits_1(tmp_path, capsys):
    (tmp_path / "x.img").write_bytes(b"NR48IMG\0" + bytes(30))
    assert main(["disasm", str(tmp_path / "x.img")]) == 1
    assert "error: " in capsys.readouterr().err
    assert main(["disasm", str(tmp_path / "missing.img")]) == 1
    assert "missing.img: cannot read" in capsys.readouterr().err


def test_disasm_bad_or_stale_map(prog, tmp_path, capsys):
    assert main(["asm", str(prog)]) == 0
    img, mp = prog.with_suffix(".img"), prog.with_suffix(".map")
    mp.write_text("{ not json")
    assert main(["disasm", str(img)]) == 0
    assert "warning:" in capsys.readouterr().err
    assert main(["disasm", str(img), "--map", str(mp)]) == 1
    (tmp_path / "other.s").write_text("nop\n")
    assert main(["asm", str(tmp_path / "other.s"), "-o", str(tmp_path / "o.img"),
                 "--map", str(mp)]) == 0
    assert main(["disasm", str(img)]) == 0
    assert "belongs to another build" in capsys.readouterr().err


def test_cli_subprocess_never_shows_a_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    (tmp_path / "bad.s").write_text('.data\n.npy "nothing.npy"\n')
    (tmp_path / "x.img").write_bytes(b"garbage")
    for args, code in [(["asm", str(tmp_path / "bad.s")], 1),
                       (["asm", str(tmp_path / "nope.s")], 1),
                       (["disasm", str(tmp_path / "x.img")], 1)]:
        r = subprocess.run([sys.executable, "-m", "emulator.cli", *args], env=env,
                           capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == code, r.stderr
        assert "Traceback" not in r.stderr and "error:" in r.stderr
