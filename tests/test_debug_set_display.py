"""Debugger: batch mode's exit code when a command fails, `set`, `display`, the checker's warnings
at stops, and help naming the keys a user presses."""
from __future__ import annotations

import io
import json

from emulator.cli import main as cli_main
from emulator.debug import Session
from emulator.debug.commands import CommandInterpreter
from emulator.debug.keys import KEYS, key_display

PROG = """        .data
buf:    .half 1, 2, 3, 4
out:    .zero 8
        .text
_start: li x1, 10
        li x2, 20
        add x3, x1, x2
        la x4, buf
        lh x5, 0(x4)
        li x6, 1
        cpon x6
        sync x6
        halt
"""


def _session(tmp_path, check="off"):
    p = tmp_path / "p.s"
    p.write_text(PROG)
    return Session(str(p), check=check), p


def _text(out) -> str:
    return "\n".join(getattr(r, "plain", str(r)) for r in out)


def test_set_register_memory_and_core_state(tmp_path):
    s, _ = _session(tmp_path)
    it = CommandInterpreter(s)
    it.execute("stepi 2")
    assert "x1 = 99" in _text(it.execute("set x1 = 99"))
    assert not it.failed
    it.execute("stepi")
    assert int(s.m.regs[3]) == 99 + 20                  # the add used the value set
    it.execute("set mem16(buf + 2) = -7")
    assert s.m.mem("buf", 4, "i16").tolist() == [1, -7, 3, 4]
    it.execute("stepi 6")                               # through cpon and sync
    it.execute("set core(0).h[5] = 300")
    it.execute("set core(0).config.nrows = 17")
    assert int(s.m.cores[0].h[5]) == 300 and s.m.cores[0].config["nrows"] == 17
    for bad, why in (("set x0 = 1", "not a writable register"),
                     ("set mem8(buf) = 300", "does not fit 8 bits"),
                     ("set core(0).config.nrows = 999", "outside"),
                     ("set core(60).h[0] = 1", "no core 60"),
                     ("set pc = 4", "cannot write"), ("set x1", "usage")):
        assert why in _text(it.execute(bad)) and it.failed, bad


def test_reverse_execution_stops_at_the_last_set_and_restart_reloads(tmp_path):
    s, _ = _session(tmp_path)
    it = CommandInterpreter(s)
    it.execute("stepi 2")
    it.execute("set x2 = 5")
    it.execute("stepi 2")
    assert int(s.m.regs[3]) == 15
    out = _text(it.execute("reverse-stepi 10"))
    assert s.m.instret == 2 and int(s.m.regs[2]) == 5 and "last `set`" in out
    it.execute("stepi")
    assert int(s.m.regs[3]) == 15                       # replays with the edited value
    it.execute("restart")
    assert s.m.instret == 0 and not s.edited
    it.execute("stepi 3")
    assert int(s.m.regs[3]) == 30                       # the program as loaded


def test_display_prints_at_every_stop(tmp_path):
    s, _ = _session(tmp_path)
    it = CommandInterpreter(s)
    assert _text(it.execute("display/x x1")).startswith("1: x1 = 0x0")
    it.execute("display x1 + x2")
    out = _text(it.execute("stepi 2"))
    assert "1: x1 = 0xa" in out and "2: x1 + x2 = 30" in out
    assert "1: x1" in _text(it.execute("display"))
    it.execute("undisplay 1")
    out = _text(it.execute("stepi"))
    assert "1: x1" not in out and "2: x1 + x2 = 30" in out
    assert "no display 7" in _text(it.execute("undisplay 7")) and it.failed
    assert "error" in _text(it.execute("display nosuchsymbol")) and 3 not in it.displays


def test_batch_exits_1_when_a_command_fails_and_reports_json(tmp_path, capsys):
    s, prog = _session(tmp_path)
    good, bad = tmp_path / "good.cmd", tmp_path / "bad.cmd"
    good.write_text("stepi 3\nprint x3\n")
    bad.write_text("stepi 3\nprint nosuchsymbol\nbogus\nprint x3\n")
    assert cli_main(["debug", str(prog), "--batch", str(good)]) == 0
    capsys.readouterr()
    assert cli_main(["debug", str(prog), "--batch", str(bad), "--json", "-"]) == 1
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert doc["command"] == "debug" and doc["exit_code"] == 1 and doc["ok"] is False
    assert doc["failed_commands"] == ["print nosuchsymbol", "bogus"] and doc["instructions"] == 3
    assert "x3 = 30" in cap.err and "2 command(s) failed" in cap.err   # the rest still ran


def test_checker_warnings_at_stops_and_strict(tmp_path, capsys):
    p = tmp_path / "w.s"
    p.write_text("        .data\nb: .byte 1\n        .text\n_start: li x1, 0x100\n"
                 "        lw x2, 0(x1)\n        halt\n")
    s = Session(str(p), check="warn")
    out = _text(CommandInterpreter(s).execute("continue"))
    assert f"{p}:5: warning: lw reads 4 bytes at 0x100" in out
    cmds = tmp_path / "c.cmd"
    cmds.write_text("continue\n")
    assert cli_main(["debug", str(p), "--batch", str(cmds), "--strict"]) == 3
    assert "fault check" in capsys.readouterr().out


def test_help_shows_the_keys_a_user_presses():
    from rich.console import Console

    con = Console(width=200, record=True, file=io.StringIO())
    for r in CommandInterpreter.__new__(CommandInterpreter).do_help("", ""):
        con.print(r)
    out = con.export_text()
    for key, _action, desc in KEYS:
        assert f"{key_display(key)}" in out and desc in out
    assert key_display("left_square_bracket") == "[" and key_display("question_mark") == "?"
    assert key_display("shift+up") == "Shift+↑" and key_display("ctrl+c") == "Ctrl+C"
    assert "question_mark" not in out and "left_square_bracket" not in out
