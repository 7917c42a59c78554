"""Hard edges: configurations that could hang the core, state after a fault, snapshots of other
machines, stale debug info, and user mistakes on the command line — each gets a clear answer."""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from asm import AsmError, assemble
from asm.image import Image, ImageError, Segment
from emulator import Machine
from emulator._native import CoreError
from emulator.cli import main as cli_main
from emulator.config import ConfigError
from isa.tables import CODE_WORDS, FIELDS, INSNS, WRITES

ROOT = Path(__file__).resolve().parent.parent
README_PROGRAM = re.findall(r"```asm\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]


def test_a_write_verify_ramp_that_cannot_move_is_refused():
    # with no voltage step a cell that does not move would be pulsed forever
    with pytest.raises(ConfigError):
        Machine(model="analog", config={"wv_v_step": 0.0, "wv_v_th": 2.0})


def test_write_verify_gives_up_on_a_cell_that_never_moves():
    m = Machine(model="analog", seed=1, config={"wv_v_th": 4.5})   # no pulse reaches threshold
    m.load(README_PROGRAM)
    r = m.run(max_cycles=10**10)
    assert r.stop == "halt"
    assert m.cores[0].counters["prog_failed"] > 0


ANALOG_FAULT = """
        .data
w:      .byte 90, -60, 30, 120, -100, 45, 70, -20
        .text
_start: li x1, 1
        cpon x1
        ccfg.nrows x1, 2
        ccfg.ncols x1, 4
        la x2, w
        cprog c0, x2
        sync x1
        li x3, 200000           # wait ~2 ms so that the conductances relax
spin:   addi x3, x3, -1
        bnez x3, spin
        li x4, 0x7fffffff
        lw x5, 0(x4)            # out of data memory: faults here
        halt
"""


def test_analog_state_after_a_fault_is_the_state_at_that_cycle():
    a = Machine(model="analog", seed=2).load(ANALOG_FAULT)
    r = a.run()
    assert r.stop == "fault" and r.fault == "mem_bounds"
    b = Machine(model="analog", seed=2).load(ANALOG_FAULT)
    b.run_until(r.cycles)
    np.testing.assert_array_equal(a.cores[0].conductances, b.cores[0].conductances)


def test_a_snapshot_of_another_configuration_is_refused():
    a = Machine(model="analog", seed=1).load(README_PROGRAM)
    b = Machine(model="ideal", seed=2).load(README_PROGRAM)
    with pytest.raises(CoreError, match="configuration"):
        b.restore(a.snapshot())
    assert b.config["model"] == "ideal" and int(b._native.m.cfg.model) == 0


def _write_image(tmp_path: Path, src: str, name: str) -> Path:
    (tmp_path / f"{name}.s").write_text(src)
    img = tmp_path / f"{name}.img"
    assert cli_main(["asm", str(tmp_path / f"{name}.s"), "-o", str(img)]) == 0
    return img


def test_a_stale_source_map_is_ignored_with_a_warning(tmp_path, capsys):
    first = _write_image(tmp_path, README_PROGRAM, "first")
    other = _write_image(tmp_path, "        .text\n_start: ebreak\n        halt\n", "other")
    (tmp_path / "other.map").write_bytes((tmp_path / "first.map").read_bytes())
    capsys.readouterr()
    assert cli_main(["run", str(other)]) == 4          # stopped at ebreak
    err = capsys.readouterr().err
    assert "source map ignored" in err and "first.s" not in err
    (tmp_path / "other.map").write_text("{not json")
    assert cli_main(["run", str(other)]) == 4
    assert "source map ignored" in capsys.readouterr().err
    assert first.exists()


@pytest.mark.parametrize("spec, message", [
    ("foo=0x0::i8", "give a COUNT"),
    ("foo=0x0:4:f32", "unknown dtype"),
    ("nosuch:4:i8", "no symbol 'nosuch'"),
])
def test_bad_dumps_are_one_line_errors(tmp_path, capsys, spec, message):
    src = tmp_path / "first.s"
    src.write_text(README_PROGRAM)
    assert cli_main(["run", str(src), "--dump", spec]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_dump_of_a_symbol_address_runs_to_the_next_symbol(tmp_path, capsys):
    src = tmp_path / "first.s"
    src.write_text(README_PROGRAM)
    assert cli_main(["run", str(src), "--dump", "out=x::i8"]) == 0
    assert "out (2 × i8" in capsys.readouterr().out


def test_calibration_symbols_in_another_layout_do_not_crash_run(tmp_path, capsys):
    src = tmp_path / "cal.s"
    src.write_text("        .data\ncalib_y: .zero 8\ncalib_w: .zero 8\ncalib_x: .zero 8\n"
                   "        .text\n_start: halt\n")
    assert cli_main(["run", str(src), "--json", str(tmp_path / "r.json")]) == 0
    assert "no calibration report" in capsys.readouterr().err
    assert "calibration" not in json.loads((tmp_path / "r.json").read_text())


def test_a_trace_line_with_a_bad_cycle_is_unusable_input(tmp_path, capsys):
    good = tmp_path / "a.trace"
    src = tmp_path / "first.s"
    src.write_text(README_PROGRAM)
    assert cli_main(["run", str(src), "--trace", str(good)]) == 0
    text = good.read_text().splitlines()
    i = next(k for k, line in enumerate(text) if line.startswith("I "))
    text[i] = "I zzzzzzzzzzzz" + text[i][14:]
    bad = tmp_path / "b.trace"
    bad.write_text("\n".join(text) + "\n")
    capsys.readouterr()
    assert cli_main(["trace", "diff", str(good), str(bad)]) == 1
    assert cli_main(["trace", "show", str(bad), "--from", "0"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_code_beyond_code_memory_is_refused_early():
    with pytest.raises(AsmError, match="beyond the code memory"):
        assemble(f"        .text\n        .org {CODE_WORDS * 4:#x}\n        halt\n")
    huge = Image(0, (Segment("text", CODE_WORDS * 4, struct.pack("<I", 0x02000000)),))
    with pytest.raises(ImageError, match="code memory"):
        huge.text_words()


def test_bad_window_message_names_the_limit_of_the_direction():
    src = README_PROGRAM.replace("ccfg.ncols x1, 4", "ccfg.ncols x1, 4\n        ccfg.col0 x1, 253")
    r = Machine().load(src).run()
    assert r.fault == "bad_window" and "max 256" in r.message and "rec" not in r.message
    rec = src.replace("mvm.fwd x1", "mvm.rec x1").replace("ccfg.col0 x1, 253", "ccfg.col0 x1, 126")
    r = Machine().load(rec).run()
    assert r.fault == "bad_window" and "mvm.rec" in r.message and "max 128" in r.message


def test_writes_to_x0_never_stick_for_any_register_writing_instruction():
    # WRITES is generated from writes= in isa/nr48.isa, the same data the C decoder uses to send
    # writes to x0 to its sink register (vector instructions that only read rd as an address are
    # not in it; the reductions vargmax and vsum are)
    assert WRITES and set(WRITES) <= set(INSNS)
    assert "vargmax" in WRITES and "vsum" in WRITES and "vadd" not in WRITES
    for mnemonic, (opcode, match, mask, suffixes, operands, *_rest) in INSNS.items():
        if mnemonic not in WRITES:
            continue
        ops = []
        for field, base in operands:
            kind = FIELDS[field][2]
            if field == WRITES[mnemonic]:
                ops.append("x0")
            elif base:
                ops.append("0(x1)")
            elif kind == "reg":
                ops.append("x1")
            elif kind == "core":
                ops.append("c0")
            elif kind == "pcrel":
                ops.append("next")
            else:
                ops.append("1")
        suffix = "".join(".i16" if FIELDS[s][2] == "dtype" else "" for s in suffixes)
        src = ("        .data\nbuf: .zero 64\n        .text\n_start: li x1, 1\n        cpon x1\n"
               "        setvli 4\n        la x1, buf\n"
               f"        {mnemonic}{suffix} {', '.join(ops)}\nnext:   halt\n")
        if mnemonic in ("cread", "cstat"):
            src = src.replace("        la x1, buf\n", "        sync x0\n        li x1, 0\n")
        if mnemonic == "jalr":   # jump to `next`, not to whatever x1 holds
            src = src.replace("        la x1, buf\n", "        la x1, next\n")
        m = Machine().load(src)
        r = m.run(max_cycles=1_000_000)
        assert r.stop == "halt", (mnemonic, r.message)
        assert int(m.regs[0]) == 0, mnemonic


def test_a_vector_destination_address_in_x0_is_read_not_redirected():
    # vfill reads rd as its destination address (no writes= in the table), so rd = x0 means
    # address 0 even after a write to x0 has left a value in the sink register
    assert "vfill" not in WRITES
    src = ("        .data\nbuf: .zero 16\n        .text\n_start: addi x0, x0, 8\n"
           "        setvli 4\n        li x1, 7\n        vfill.i8 x0, x1\n        halt\n")
    m = Machine().load(src)
    assert m.sym("buf") == 0
    r = m.run(max_cycles=10_000)
    assert r.stop == "halt", r.message
    assert int(m.regs[0]) == 0
    assert list(m.mem(0, 12)) == [7, 7, 7, 7] + [0] * 8
