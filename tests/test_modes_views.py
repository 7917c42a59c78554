"""The debugger, text traces and VCD show the integrate-and-fire and in-situ update modes
(programs/if_neurons.s): spike counts per neuron, update pulses per cell."""
from __future__ import annotations

from pathlib import Path

from emulator.cli import main as cli_main
from emulator.debug import Session
from emulator.debug.commands import CommandInterpreter
from emulator.trace.textfmt import read_trace

from .test_debug_engine import text

PROG = str(Path(__file__).resolve().parent.parent / "programs" / "if_neurons.s")


def test_info_core_shows_spikes_and_update_pulses():
    s = Session(PROG)
    it = CommandInterpreter(s)
    it.execute("continue")
    out = text(it.execute("info core 0"))
    assert "spikes" in out and "in 5 ifrun/ifstep" in out       # 1 ifrun + 4 ifstep
    assert "spike counts[0:32]" in out and "charges[0:32]" in out
    # x and y have 3 non-zero entries each: 9 selected cells, one pulse each (the refresh's
    # pulses are write-verify ones, counted with cprog's)
    assert "update pulses" in out and "9 in 1 opu, 9 cells, max 1" in out
    c = s.m.cores[0]
    assert list(c.spike_counts[:4]) == [3, 1, 1, 0]             # since the ifclr: 4 steps
    assert int(c.update_pulses.sum()) == 9


def test_trace_and_vcd_carry_the_new_events(tmp_path):
    tr, vcd = tmp_path / "a.trace", tmp_path / "a.vcd"
    assert cli_main(["run", PROG, "--trace", str(tr), "--vcd", str(vcd)]) == 0
    lines = [l for l in read_trace(str(tr)).lines if l.kind == "E"]
    kinds = [l.fields["event"] for l in lines]
    assert kinds.count("ifire") == 5 and kinds.count("update") == 1 and kinds.count("refresh") == 1
    raw = tr.read_text()
    assert "rate spikes=11" in raw          # the ifrun's 9 + 4 + 4 + 0 = 17 spikes (hex)
    assert "pulses=9 phases=4" in raw       # all four (x, y) sign pairs occur
    v = vcd.read_text()
    assert "spikes" in v and "pulses" in v
