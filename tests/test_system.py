"""Multi-chip systems end to end: the example systems exact in cycles and data, per-chip seeds,
determinism under run / step / cycle slices / snapshot-restore and host threads, system traces
(chip-tagged lines, VCD scopes, trace diff naming the chip) and `neurram run system.toml`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import SMALL, I, li, program

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ROOT / "programs" / "systems"


def _system(name, link=None, **kw):
    from emulator.system import System, load_system_file

    d = load_system_file(SYSTEMS / name)
    return System(len(d["programs"]), link=link or d["link"], **kw).load(d["programs"])


# ---------------------------------------------------------------- the example systems

def test_ping_pong_exact_in_cycles_and_data():
    s = _system("pingpong.toml")
    r = s.run()
    assert r.ok and r.cycles == 15
    # send posts at 4 on both sides (li, la = 2 words, li), 8 B c2c: 1 wire + 1 flight cycle →
    # ends at 6; ping's recv posts at 9, pong's send at 11 (setvli, vadds = 2 + 1 cycles), ends
    # at 13; halt issues at 14
    assert [c.cycles for c in r.chips] == [15, 15]
    assert [c.instructions for c in r.chips] == [9, 9]
    assert [c.stall_cycles for c in r.chips] == [2 + 4, 2 + 2]
    back = s.chips[0].mem(s.chips[0].sym("back"), 8, "i8")
    assert back.tolist() == [9, 10, 11, 12, 13, 14, 15, 16]
    links = s.link_report()["links"]
    assert set(links) == {"chip0->chip1", "chip1->chip0"}
    assert all(v["transfers"] == 1 and v["bytes"] == 8 for v in links.values())


@pytest.mark.parametrize("link, cycles", [("c2c", [34, 28, 34]), ("host", [60058, 40044, 60058])])
def test_three_chip_ring_exact_in_cycles_and_data(link, cycles):
    s = _system("ring.toml", link=link)
    r = s.run()
    assert r.ok and [c.cycles for c in r.chips] == cycles
    assert s.chips[0].mem(s.chips[0].sym("token"), 4, "i32").tolist() == [106, 206, 306, 406]
    # each hop: 16 B; c2c 1 + 1 cycles, host 2 × (100 µs + one 16-B block) = 20 010 cycles
    t, _ = s.transfer_cycles(16)
    assert t == (2 if link == "c2c" else 20010)
    tot = s.link_report()["total"]
    assert tot["transfers"] == 3 and tot["bytes"] == 48 and tot["latency_cycles"] == 3 * t


def test_a_one_chip_system_is_the_single_machine():
    from emulator import Machine
    from emulator.system import System

    m = Machine(seed=5, model="analog").load(ROOT / "programs" / "forward.s")
    rm = m.run()
    s = System(1, seed=5, model="analog").load([ROOT / "programs" / "forward.s"])
    rs = s.run()
    assert rs.ok and rs.cycles == rm.cycles
    assert s.chips[0].config["seed"] == 5
    assert np.array_equal(s.chips[0].memory, m.memory)


def test_chip_seeds_depend_on_the_chip_only():
    from emulator.system import System

    a, b = System(2, seed=7), System(4, seed=7)
    assert [m.config["seed"] for m in a.chips] == [m.config["seed"] for m in b.chips[:2]]
    assert a.chips[0].config["seed"] == 7
    assert len({m.config["seed"] for m in b.chips}) == 4


def test_chips_noise_differs_but_each_chip_reproduces():
    """The same analog program on every chip: each chip draws its own write-verify noise, and
    chip 1's draws do not change when more chips sit beside it."""
    from emulator.system import System

    progs = _busy_pair()
    two = System(2, seed=3, model="analog", config=SMALL).load(progs)
    three = System(3, seed=3, model="analog", config=SMALL).load(progs + [program(I.barrier(), I.halt())])
    assert two.run().ok and three.run().ok
    g = lambda s, k: s.chips[k].cores[0].programmed_conductances.copy()   # noqa: E731
    assert g(two, 0).any()
    assert np.array_equal(g(two, 1), g(three, 1)) and np.array_equal(g(two, 0), g(three, 0))
    assert not np.array_equal(g(two, 0), g(two, 1))


# ---------------------------------------------------------------- determinism

def _busy_pair():
    """Two chips that compute, exchange and compute again: MVMs, stalls and both links."""
    body = [*li(10, 1), I.cpon(rs1=10), I.ccfg(csel="nrows", rs1=10, imm16=4),
            I.ccfg(csel="ncols", rs1=10, imm16=8), *li(2, 0x100), I.cprog(core=0, rs1=2),
            *li(3, 0x200), I.hin(vt="i8", core=0, rs1=3), I.mvm(dir="fwd", rs1=10),
            *li(4, 0x300), I.vout(vt="i8", core=0, rs1=4), I.sync(rs1=10)]
    w = np.arange(32, dtype=np.int8).reshape(4, 8) - 16
    data = {0x100: w.tobytes(), 0x200: bytes([1, 2, 3, 1])}
    a = program(*body, *li(1, 1), *li(5, 8), I.send(rt=1, rs1=4, rs2=5),
                *li(6, 0x400), I.recv(rt=1, rs1=6, rs2=5), I.barrier(), I.halt(), data=data)
    b = program(*body, *li(1, 0), *li(6, 0x400), *li(5, 8), I.recv(rt=1, rs1=6, rs2=5),
                I.send(rt=1, rs1=4, rs2=5), I.barrier(), I.halt(), data=data)
    return [a, b]


def _fresh(config=None, link="c2c"):
    from emulator.system import System

    return System(2, seed=1, model="analog", config={**SMALL, **(config or {})},
                  link=link).load(_busy_pair())


def _state(s):
    s.normalize()
    return s.snapshot()


@pytest.mark.parametrize("link", ["c2c", "host"])
def test_run_step_and_cycle_slices_reach_the_same_state(link):
    ref = _fresh(link=link)
    r = ref.run()
    assert r.ok and ref.barriers == 1
    final = _state(ref)

    stepped = _fresh(link=link)
    while not stepped.halted:
        stepped.step(7, chip=1)
    assert _state(stepped) == final

    sliced = _fresh(link=link)
    while not sliced.halted:
        sliced.step_cycles(997)
    assert _state(sliced) == final


def test_snapshot_restore_replays_identically():
    s = _fresh()
    s.run_until(150)
    snap = s.snapshot()
    s.run()
    end = _state(s)
    s.restore(snap)
    assert s.cycle == max(m.cycle for m in s.chips)
    s.run()
    assert _state(s) == end


def test_thread_count_never_changes_a_system():
    a = _fresh({"threads": 1})
    b = _fresh({"threads": 4})
    a.run(), b.run()
    for ma, mb in zip(a.chips, b.chips):
        assert np.array_equal(ma.memory, mb.memory)
        assert np.array_equal(ma.cores[0].conductances, mb.cores[0].conductances)
        assert ma.cycle == mb.cycle


def test_step_stops_every_chip_at_the_stepped_chips_cycle():
    s = _fresh()
    s.step(3, chip=0)
    assert s.chips[0].instret == 3
    assert s.chips[1].cycle == s.chips[0].cycle


def test_breakpoint_stops_every_chip_at_the_same_cycle():
    s = _fresh()
    pc = 4 * 12   # an instruction of chip 1's program after the MVM was issued
    s.chips[1].set_breakpoint(pc)
    r = s.run()
    assert r.stop == "breakpoint" and r.chip == 1 and s.chips[1].pc == pc
    assert s.chips[0].cycle == s.chips[1].cycle
    s.chips[1].clear_breakpoint(pc)
    assert s.run().ok


# ---------------------------------------------------------------- traces

def test_system_trace_lines_carry_the_chip_and_are_slicing_independent(tmp_path):
    from emulator.trace.system_capture import SystemTraceRecorder
    from emulator.trace.textfmt import read_trace

    files = []
    for i, slicer in enumerate((lambda s: s.run(), lambda s: [s.step(3, chip=i % 2) for _ in
                                                               range(200) if not s.halted])):
        s = _fresh()
        path = tmp_path / f"t{i}.trace"
        rec = SystemTraceRecorder(s, path, vcd_file=tmp_path / f"t{i}.vcd").start()
        slicer(s)
        rec.finish(s._result(3))
        files.append(path)
    assert files[0].read_text() == files[1].read_text()
    t = read_trace(str(files[0]))
    assert t.header["chips"] == "2" and {ln.chip for ln in t.lines} == {0, 1}
    assert any("send" in ln.fields.get("asm", "") for ln in t.lines)
    vcd = (tmp_path / "t0.vcd").read_text()
    assert "$scope module chip0 $end" in vcd and "$scope module chip1 $end" in vcd


def test_one_chip_system_trace_equals_the_machine_trace(tmp_path):
    from emulator import Machine
    from emulator.system import System
    from emulator.trace.capture import TraceRecorder
    from emulator.trace.system_capture import SystemTraceRecorder

    prog = ROOT / "programs" / "demo.s"
    m = Machine().load(prog)
    rec = TraceRecorder(m, tmp_path / "m.trace").start()
    rec.finish(m.run())
    s = System(1).load([prog])
    rec = SystemTraceRecorder(s, tmp_path / "s.trace").start()
    rec.finish(s.run())
    body = lambda p: [ln for ln in p.read_text().splitlines() if not ln.startswith("# ")]  # noqa: E731
    assert body(tmp_path / "m.trace") == body(tmp_path / "s.trace")


def test_trace_diff_names_chip_cycle_and_pc(tmp_path):
    from emulator.trace.diff import diff_traces, render
    from emulator.trace.system_capture import SystemTraceRecorder
    from emulator.trace.textfmt import read_trace

    paths = []
    for i in (0, 1):
        s = _fresh()
        if i:   # chip 1 scans in a different input vector
            s.chips[1].write_mem(0x200, np.array([3, 2, 1, 0], np.int8))
        path = tmp_path / f"d{i}.trace"
        rec = SystemTraceRecorder(s, path).start()
        rec.finish(s.run())
        paths.append(path)
    res = diff_traces(read_trace(str(paths[0])), read_trace(str(paths[1])))
    assert not res.same
    text = "\n".join(render(res))
    assert "at chip 1, cycle " in text and ", pc 0x" in text


# ---------------------------------------------------------------- the command line

def test_neurram_run_a_system_file(tmp_path):
    from emulator.cli import main

    out = tmp_path / "r.json"
    rc = main(["run", str(SYSTEMS / "pingpong.toml"), "--dump", "0/back:8:i8", "--json", str(out),
               "--trace", str(tmp_path / "p.trace")])
    assert rc == 0
    rep = json.loads(out.read_text())
    assert rep["stop"] == "halt" and rep["dumps"]["0/back"] == [9, 10, 11, 12, 13, 14, 15, 16]
    assert rep["link"]["total"]["transfers"] == 2
    assert (tmp_path / "p.trace").read_text().count("@1 I ") == 9


def test_neurram_run_reports_a_deadlock(tmp_path, capsys):
    from emulator.cli import main

    (tmp_path / "a.s").write_text("_start: li x1, 1\n la x2, 0x100\n li x3, 4\n recv x1, x2, x3\n halt\n")
    (tmp_path / "b.s").write_text("_start: li x1, 0\n la x2, 0x100\n li x3, 4\n recv x1, x2, x3\n halt\n")
    (tmp_path / "s.toml").write_text('link = "host"\n[[chip]]\nprogram = "a.s"\n[[chip]]\nprogram = "b.s"\n')
    rc = main(["run", str(tmp_path / "s.toml")])
    err = capsys.readouterr().err
    assert rc == 3
    assert "deadlock: chip 0 at pc 0x10" in err and "a.s:4" in err and "recv from chip 1" in err


@pytest.mark.parametrize("text, msg", [
    ('link = "c2c"\n', "give one [[chip]] table"),
    ('link = "usb"\n[[chip]]\nprogram = "x.s"\n', "unknown link preset 'usb'"),
    ('[[chip]]\nprog = "x.s"\n', "unknown key 'prog'"),
    ('[[chip]]\nprogram = "missing.s"\n', "does not exist"),
    ('chips = 2\n', "unknown key 'chips'"),
])
def test_bad_system_files_are_named_errors(tmp_path, capsys, text, msg):
    from emulator.cli import main

    (tmp_path / "x.s").write_text("halt\n")
    f = tmp_path / "bad.toml"
    f.write_text(text)
    assert main(["run", str(f)]) == 1
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_stepping_a_halted_chip_returns_while_another_spins():
    from emulator.system import System

    s = System(2, config=SMALL).load([program(I.halt()), program(I.jal(rd=0, off20=0))])
    assert s.step(1, chip=0).stop == "step"
    r = s.step(5, chip=0)          # chip 0 has halted: no hang although chip 1 never halts
    assert r.stop == "halt" and s.chips[0].halted and not s.chips[1].halted


def test_ctrl_c_on_a_system_run_says_where_each_chip_stopped(capsys, monkeypatch):
    import json

    from emulator.cli import main
    from emulator.system import System

    real = System.run

    def interrupted(self, max_cycles=None):
        real(self, max_cycles=20)           # the chips get somewhere, then Ctrl+C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(System, "run", interrupted)
    assert main(["run", str(SYSTEMS / "ring.toml"), "--json", "-"]) == 130
    cap = capsys.readouterr()
    assert "interrupted at cycle " in cap.err and ": chip 0 pc 0x" in cap.err and "chip 2 pc 0x" in cap.err
    assert "ring.s:" in cap.err                                    # each chip's source line
    doc = json.loads(cap.out)
    assert doc["exit_code"] == 130 and doc["error"]["kind"] == "interrupted" and len(doc["chips"]) == 3
