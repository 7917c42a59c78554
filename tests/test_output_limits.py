"""Trace and VCD output are bounded (issue 16: --vcd on a runaway program grew until MemoryError,
--trace ~16 MB per 10^6 cycles): a record limit stops the run cleanly."""
from __future__ import annotations

from emulator.cli import main as cli_main
from emulator.machine import Machine
from emulator.trace.capture import MAX_RECORDS, TraceLimit, TraceRecorder


def test_a_runaway_program_stops_at_the_trace_limit_with_complete_files(tmp_path, capsys):
    prog = tmp_path / "loop.s"
    prog.write_text("_start: addi x1, x1, 1\n        j _start\n")
    tr, vcd = tmp_path / "l.trace", tmp_path / "l.vcd"
    rc = cli_main(["run", str(prog), "--trace", str(tr), "--vcd", str(vcd), "--trace-limit", "1000"])
    assert rc == 3
    err = capsys.readouterr().err
    assert "trace limit of 1,000 records reached at cycle" in err and "Traceback" not in err
    lines = tr.read_text().splitlines()
    assert lines[-1].startswith("# end stop=trace_limit")
    assert sum(1 for ln in lines if ln.startswith("I ")) == 1000
    assert vcd.read_text().startswith("$") and vcd.stat().st_size < 100_000


def test_the_recorder_keeps_at_most_its_limit_in_memory():
    m = Machine()
    m.load("_start: addi x1, x1, 1\n        j _start\n")
    rec = TraceRecorder(m, None, vcd_file=None, max_records=5000).start()
    try:
        m.run(max_cycles=10**6)
    except TraceLimit as e:
        assert e.limit == 5000 and e.cycle < 10**6
    else:
        raise AssertionError("no TraceLimit")
    rec.finish(m.result())
    assert rec.kept >= 5000
    assert MAX_RECORDS == 4_000_000   # the documented default (docs/trace-format.md)


def test_records_outside_the_window_do_not_count(tmp_path, capsys):
    prog = tmp_path / "p.s"
    prog.write_text("_start: li x2, 3000\nl:      addi x1, x1, 1\n        blt x1, x2, l\n        halt\n")
    tr = tmp_path / "w.trace"
    assert cli_main(["run", str(prog), "--trace", str(tr), "--from", "5000", "--to", "6000",
                     "--trace-limit", "1000"]) == 0
    assert tr.read_text().splitlines()[-1].startswith("# end stop=halt")
