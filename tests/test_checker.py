"""The program checker and the halt contract (docs/machine.md, Program checker; issue 16's silent
wrong results): each case once as a warning, once as a strict fault, with file:line and symbols."""
from __future__ import annotations

import inspect
import json

import pytest

from asm import assemble
from emulator.cli import main as cli_main
from emulator.machine import DEFAULT_MAX_CYCLES, Machine

# a 2 × 4 layer whose output buffer `y` holds 4 bytes, followed by `canary`
_HEAD = """        .data
w:      .byte  1, -2,  3, 0
        .byte  2,  1, -1, 4
x:      .byte  3, 1
y:      .zero  4
canary: .byte  0x55, 0x55, 0x55, 0x55
        .text
_start: li      x1, 1
        cpon    x1
        ccfg.nrows x1, 2
        ccfg.ncols x1, 4
        la      x2, w
        cprog   c0, x2
        la      x3, x
        hin.i8  c0, x3
        mvm.fwd x1
        la      x4, y
"""
# the same, scanning out 6 columns into the 4-byte `y` (line 19)
_WIDE = _HEAD + "        ccfg.ncols x1, 6\n        vout.i8 c0, x4\n        sync x1\n        halt\n"


def _run(src: str, mode: str = "warn"):
    m = Machine(check=mode)
    m.load(assemble(src, "prog.s"))
    return m, m.run(max_cycles=10**7)


def test_halt_drains_pending_core_work():
    # no sync at all: the scan-out still lands, halt waits for it
    m, r = _run(_HEAD + "        vout.i8 c0, x4\n        halt\n", "off")
    assert r.stop == "halt" and m.mem("y", 4, "i8").tolist() == [5, -5, 8, 4]
    assert not any(c.busy for c in m.cores) and r.stall_cycles > 0


def test_sync_on_a_register_holding_zero_is_a_diagnostic():
    src = _HEAD + "        vout.i8 c0, x4\n        li x5, 0\n        sync x5\n        halt\n"
    m, r = _run(src)
    assert r.stop == "halt" and m.mem("y", 4, "i8").tolist() == [5, -5, 8, 4]
    (d,) = m.diagnostics
    assert d.kind == "sync_empty" and d.location == "prog.s:20" and "waits for no core" in d.message
    m, r = _run(src, "strict")
    assert r.fault == "check" and r.location == "prog.s:20"


def test_a_scan_out_wider_than_its_buffer_is_reported_and_strict_stops_it():
    src = _WIDE
    m, r = _run(src)
    assert r.stop == "halt"
    assert m.mem("canary", 4, "u8").tolist() == [0, 0, 0x55, 0x55]   # what used to happen silently
    (d,) = m.diagnostics
    assert (d.kind, d.symbol, d.addr, d.length, d.location) == ("cross_write", "y", m.sym("y"), 6, "prog.s:19")
    assert "2 past the end of 'y'" in d.message and "into 'canary'" in d.message
    m, r = _run(src, "strict")
    assert r.stop == "fault" and r.fault == "check" and r.fault_pc == d.pc
    assert r.message.startswith("prog.s:19: fault check at pc") and "'y'" in r.message
    assert m.mem("canary", 4, "u8").tolist() == [0x55] * 4       # stopped before it wrote


def test_a_register_scan_out_wider_than_its_buffer_too():
    src = _HEAD + "        sync x1\n        ccfg.nrows x1, 6\n        hout.i8 c0, x4\n        sync x1\n        halt\n"
    m, r = _run(src)
    (d,) = m.diagnostics
    assert (d.kind, d.symbol, d.length, d.location) == ("cross_write", "y", 6, "prog.s:20")
    assert "hout writes 6 bytes" in d.message and "into 'canary'" in d.message
    assert _run(src, "strict")[1].fault == "check"


@pytest.mark.parametrize("what, line, sym", [
    ("hin", "ccfg.nrows x1, 2\n        ccfg.nrows x1, 3", "x"),       # hin reads 3 of x's 2 bytes
    ("cprog", "la      x2, w", "w"),                                 # cprog reads 12 of w's 8
])
def test_scan_in_and_programming_reads_past_short_data(what, line, sym):
    src = _HEAD
    if what == "hin":
        src = src.replace("la      x3, x\n", "la      x3, x\n        ccfg.nrows x1, 3\n")
    else:
        src = src.replace("ccfg.ncols x1, 4\n", "ccfg.ncols x1, 4\n        ccfg.nrows x1, 3\n", 1)
        src = src.replace("la      x3, x\n", "la      x3, x\n        ccfg.nrows x1, 2\n")
    m, r = _run(src + "        halt\n")
    found = [d for d in m.diagnostics if d.kind == "cross_read"]
    assert found and found[0].symbol == sym and what in found[0].message
    assert found[0].location.startswith("prog.s:")
    _m, r = _run(src + "        halt\n", "strict")
    assert r.fault == "check"


def test_vector_ops_past_a_symbol_and_reads_of_never_written_memory():
    src = """        .data
a:      .half 1, 2, 3
b:      .half 0, 0, 0
        .text
_start: li x9, 4
        setvl x9
        la x1, a
        la x2, b
        vadd.i16 x2, x1, x1
        li x3, 0x10000
        vsum.i16 x4, x3
        sd x4, 0(x3)
        ld x5, 0(x3)
        halt
"""
    m, r = _run(src)
    kinds = {(d.kind, d.location) for d in m.diagnostics}
    assert ("cross_read", "prog.s:9") in kinds and ("cross_write", "prog.s:9") in kinds
    assert ("unwritten", "prog.s:11") in kinds
    assert not any(d.location == "prog.s:13" for d in m.diagnostics)   # written by the sd
    un = next(d for d in m.diagnostics if d.kind == "unwritten")
    assert un.at == 0x10000 and "never written" in un.message


def test_a_read_before_the_scan_out_lands_is_a_never_written_read():
    src = _HEAD + """        li x6, 0x20000
        vout.i8 c0, x6
        li x5, 0
        sync x5
        li x9, 4
        setvl x9
        vsum.i8 x7, x6
        sync x1
        vsum.i8 x8, x6
        halt
"""
    m, r = _run(src)
    un = [d.location for d in m.diagnostics if d.kind == "unwritten"]
    assert un == ["prog.s:24"]              # the second vsum reads what the scan-out wrote
    assert int(m.regs[8]) == 12


def test_the_checker_is_off_by_default_and_findings_do_not_change_results():
    src = _WIDE
    results = []
    for mode in ("off", "warn"):
        m, r = _run(src, mode)
        results.append((r.cycles, r.stall_cycles, bytes(m.memory[:64])))
    assert results[0] == results[1]
    m = Machine()
    m.load(assemble(src, "prog.s"))
    m.run(max_cycles=10**7)
    assert m.checker.mode == "off" and m.diagnostics == [] and m.checker.total == 0


def test_data_symbols_record_extent_and_type_through_the_map(tmp_path):
    src = """        .data
n:      .half 1, -2, 3
        .align 4
v:      .word 7, 8
s:      .ascii "hey"
z:      .zero 5
alias:
e:      .byte 9
        .equ mid, v + 4           # a constant into `v` does not cut its extent
        .text
_start: halt
"""
    p = assemble(src, "d.s")
    assert p.data == {"n": (6, "i16"), "v": (8, "i32"), "s": (3, "u8"), "z": (5, "i8"),
                      "alias": (1, "i8"), "e": (1, "i8")}
    assert p.symbols["mid"] == ("data", p.symbols["v"][1] + 4)
    img = tmp_path / "d.img"
    p.save(img)
    assert json.loads(img.with_suffix(".map").read_text())["data"]["n"] == [6, "i16"]
    m = Machine()
    m.load(img)
    assert m.program.data == p.data


def test_dump_uses_the_declared_type_and_extent(tmp_path, capsys):
    prog = tmp_path / "d.s"
    prog.write_text("        .data\nn:      .half 300, -2, 3\nafter:  .byte 1\n        .text\n_start: halt\n")
    assert cli_main(["run", str(prog), "--dump", "n", "--json", "-"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["dumps"]["n"] == {"addr": 0, "dtype": "i16", "values": [300, -2, 3]}


def test_run_warns_by_default_strict_faults_no_check_is_silent(tmp_path, capsys):
    prog = tmp_path / "p.s"
    prog.write_text(_WIDE)
    assert cli_main(["run", str(prog)]) == 0
    err = capsys.readouterr().err
    assert f"{prog}:19: warning: vout writes 6 bytes" in err
    assert cli_main(["run", str(prog), "--strict"]) == 3
    assert f"{prog}:19: fault check" in capsys.readouterr().err
    assert cli_main(["run", str(prog), "--no-check"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_run_has_a_default_cycle_limit_and_refuses_limits_past_2_62(tmp_path, capsys):
    assert inspect.signature(Machine.run).parameters["max_cycles"].default == DEFAULT_MAX_CYCLES
    # a runaway loop stops at the default limit (each jump costs 2^24 cycles: ~600 of them)
    m = Machine(config={"t_branch": 2**24 - 1})
    m.load("_start: j _start\n")
    r = m.run()
    assert r.fault == "cycle_limit" and r.fault_detail == DEFAULT_MAX_CYCLES
    assert DEFAULT_MAX_CYCLES <= r.cycles < DEFAULT_MAX_CYCLES + 2**24
    m = Machine()
    m.load("_start: j _start\n")
    for bad in (2**64, 2**63, 0, -1, 1.5):
        with pytest.raises(ValueError, match="max_cycles"):
            m.run(max_cycles=bad)
    assert m.run(max_cycles=1000).fault == "cycle_limit"
    prog = tmp_path / "loop.s"
    prog.write_text("_start: j _start\n")
    assert cli_main(["run", str(prog), "--max-cycles", str(2**64)]) == 2
    assert "at most 2^62" in capsys.readouterr().err
    assert cli_main(["run", str(prog), "--max-cycles", "5000"]) == 3


def test_checker_findings_are_in_the_json_report(tmp_path, capsys):
    prog = tmp_path / "p.s"
    prog.write_text(_HEAD + "        vout.i8 c0, x4\n        li x5, 0\n        sync x5\n        halt\n")
    assert cli_main(["run", str(prog), "--json", "-"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert [d["kind"] for d in rep["diagnostics"]] == ["sync_empty"]
    assert rep["diagnostics"][0]["location"] == f"{prog}:20" and rep["diagnostics_total"] == 1


def test_ctrl_c_on_run_says_where_it_stopped(tmp_path, capsys, monkeypatch):
    prog = tmp_path / "loop.s"
    prog.write_text("_start: addi x1, x1, 1\n        j _start\n")
    real = Machine.run

    def interrupted(self, max_cycles=None):
        real(self, max_cycles=12_345)       # the run gets somewhere, then Ctrl+C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(Machine, "run", interrupted)
    assert cli_main(["run", str(prog), "--json", "-"]) == 130
    cap = capsys.readouterr()
    assert f"interrupted at pc 0x4 ({prog}:2), cycle 12,345" in cap.err \
        or f"interrupted at pc 0x0 ({prog}:1), cycle 12,345" in cap.err
    doc = json.loads(cap.out)
    assert doc["exit_code"] == 130 and doc["error"]["kind"] == "interrupted"
    assert doc["cycles"] == 12_345 and doc["location"].startswith(str(prog))
