"""`neurram debug system.toml`: a scripted batch session over the three-chip ring — chip
selector, every chip's state, a breakpoint on one chip, a watchpoint on another, reverse
execution across chips — and the SystemSession engine's reverse steps against forward ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RING = ROOT / "programs" / "systems" / "ring.toml"

SCRIPT = """\
chips
break chip 1 relay
continue
chips
chip 1
step 2
watch chip 0 token 4
continue
x/4:i32 token
rstep 1
runtil 10
chips
delete 2
delete 1
continue
chips
"""


def test_scripted_batch_session_over_three_chips(tmp_path, capsys):
    from emulator.cli import main

    f = tmp_path / "cmds.txt"
    f.write_text(SCRIPT)
    assert main(["debug", str(RING), "--batch", str(f)]) == 0
    out = capsys.readouterr().out
    # the breakpoint names chip 1 only; every chip stops at the same cycle (chip 2 waits)
    assert "breakpoint: chip 1 cycle 18 pc 0x48 (" in out and "ring.s:24)" in out
    assert "2           17     0x48        13  waits in recv (from chip 1)" in out
    assert "step: chip 1 cycle 24 pc 0x50" in out
    # the watchpoint on chip 0's token fires when the ring closes (the last receive)
    assert "watch 2: chip 0 token changed to 6a000000" in out
    assert "chip 0 token (4 × i32 at 0x0): [106 206 306 406]" in out
    assert "back on chip 0: chip 0 cycle 21 pc 0x40" in out
    assert "back at cycle 10: chip 0 cycle 10 pc 0x24" in out
    # after deleting the points, continue runs every chip to its halt
    tail = out[out.rindex("(chip 0) continue"):].splitlines()
    assert tail[1].startswith("halt: ")
    assert sum(ln.lstrip("* ")[:1].isdigit() and "halted" in ln for ln in tail) == 3   # chips table


def test_reverse_step_rebuilds_the_forward_state():
    from emulator.debug.system_session import SystemSession
    from emulator.system import System, load_system_file

    d = load_system_file(RING)
    s = System(3, config={"mem_size": 1 << 16}).load(d["programs"])
    ss = SystemSession(s)
    ss.select(2)
    ss.step(8)           # past the chip-id arithmetic, up to the ring's transfers
    seen = []
    for _ in range(8):   # through chip 2's receive (a wait on chip 1) and its send
        ss.step(1)
        s.normalize()
        seen.append((s.chips[2].instret, s.snapshot()))
    for instret, snap in reversed(seen[:-1]):
        ss.reverse_step(1)
        assert s.chips[2].instret == instret
        s.normalize()
        assert s.snapshot() == snap


def test_bad_commands_are_errors_not_tracebacks(tmp_path, capsys):
    from emulator.cli import main

    f = tmp_path / "cmds.txt"
    f.write_text("chip 7\nbreak chip 1 nowhere\nrstep 5\nfrobnicate\n")
    assert main(["debug", str(RING), "--batch", str(f)]) == 0
    out = capsys.readouterr().out
    assert "error: no chip 7 (chips 0..2)" in out
    assert "error: chip 1: no address, label or file:line 'nowhere'" in out
    assert "error: chip 0 has retired only 0 instructions" in out
    assert "error: unknown command 'frobnicate'" in out
    assert "Traceback" not in out


def test_debugging_a_compiled_two_chip_resnet(tmp_path, capsys):
    """The mapper's two-chip system (a small ResNet cut with at most 4 cores per chip) under
    the debugger: a breakpoint on chip 1's batch loop, steps through its first receive, reverse
    steps, and the run to the end with the link counters."""
    from emulator.cli import main
    from emulator.mapper import quantise
    from emulator.mapper.multichip import compile_system
    from emulator.workloads.resnet import resnet20

    rng = np.random.default_rng(1)
    q = quantise(resnet20(0, in_hw=8, widths=(4, 8, 8), blocks=1), rng.random((12, 192)))
    sc = compile_system(q, q.encode(rng.random((2, 192))), name="r", max_cores=4)
    toml = sc.write(tmp_path / "r.toml")
    cmds = tmp_path / "cmds.txt"
    cmds.write_text("break chip 1 loop\ncontinue\nchip 1\nstep 4\nrstep 2\ndelete 1\ncontinue\nchips\nlinks\n")
    assert main(["debug", str(toml), "--batch", str(cmds)]) == 0
    out = capsys.readouterr().out
    assert "breakpoint: chip 1 cycle 3968618 pc 0xd0" in out   # after programming (the sync before the loop)
    assert "back on chip 1: chip 1 cycle 3968620 pc 0xd8" in out
    assert "halt: chip 1" in out and out.count(" halted ") >= 2
    assert "links: 2 transfers, 256 bytes" in out
