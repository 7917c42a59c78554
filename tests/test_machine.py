"""The Python driver: the built extension, chip configuration files, program loading in every
accepted form, zero-copy views and their lifetime, results and fault locations."""
from __future__ import annotations

import gc
import re
from pathlib import Path

import numpy as np
import pytest

from emulator import ChipConfig, ConfigError, CoreError, Machine
from tests.helpers import I, program

ROOT = Path(__file__).resolve().parent.parent
SRC = """
        .data
vec:    .byte 1, 2, 3, 4
out:    .zero 4
        .text
_start: la   x1, vec
        lw   x2, 0(x1)
        sw   x2, out - vec(x1)
        halt
"""


def test_the_c_extension_is_built():
    # fails loudly when `pip install` did not compile csrc/ (the import would raise)
    from emulator import _nr48

    assert _nr48.lib.nr_run and _nr48.ffi.sizeof("nr_machine") > 48 * 256 * 256 * 2


def test_chip_state_fits_in_64_mib():
    m = Machine()
    assert m.state_bytes <= 64 << 20


# ---------------------------------------------------------------- configuration

def test_profiles_document_every_key_with_a_source():
    cfg = ChipConfig.load("board")
    text = (ROOT / "emulator" / "profiles" / "board.toml").read_text()
    for key in cfg:
        line = next(ln for ln in text.splitlines() if re.match(rf"{key}\s*=", ln))
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, key
    for p in ("t_cds", "t_sample", "t_integ", "scan_div", "neuron_div", "t_pulse", "clock_hz"):
        assert "HDL" in next(ln for ln in text.splitlines() if ln.startswith(p)), p
    assert cfg["t_integ"] == 63 and cfg["t_cds"] == 3 and cfg["t_sample"] == 2
    assert cfg["clock_hz"] == 100e6 and cfg["scan_div"] == 4 and cfg["neuron_div"] == 8
    chip = (ROOT / "emulator" / "profiles" / "chip.toml").read_text()
    for line in chip.splitlines():
        if re.match(r"\w+\s*=", line) and not line.startswith("base"):
            assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, line


def test_board_profile_matches_the_isa_table_defaults():
    from isa.tables import PARAMS

    cfg = ChipConfig.load("board")
    assert {k: cfg[k] for k in PARAMS} == {k: v[0] for k, v in PARAMS.items()}


def test_overrides_from_dict_file_and_arguments(tmp_path):
    f = tmp_path / "my.toml"
    f.write_text("t_wake = 5\nseed = 9\n")
    m = Machine(config=f)
    assert m.config["t_wake"] == 5 and m.config["seed"] == 9 and m.config["t_div"] == 20
    m = Machine(seed=3, config={"t_wake": 6})
    assert m.config["seed"] == 3 and m.config["t_wake"] == 6


@pytest.mark.parametrize("text,words", [
    ("t_foo = 1\n", ["my.toml", "unknown key 't_foo'"]),
    ("t_wake = 'x'\n", ["my.toml", "'t_wake'", "int"]),
    ("t_wake = true\n", ["my.toml", "'t_wake'"]),
    ("g_lsb_ns = 2\n", ["my.toml", "'g_lsb_ns'", "out of range"]),
    ("vec_lanes = 0\n", ["my.toml", "'vec_lanes'"]),
    ("t_wake = 99999999999\n", ["my.toml", "'t_wake'"]),
    ("mem_size = 0\n", ["my.toml", "'mem_size'"]),
    ("model = 'fancy'\n", ["my.toml", "'model'"]),
    ("[timing]\nt_wake = 1\n", ["my.toml", "'timing'", "flat"]),
    ("t_wake = \n", ["my.toml", "invalid TOML"]),
])
def test_bad_configuration_names_the_file_and_key(tmp_path, text, words):
    f = tmp_path / "my.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        Machine(config=f)
    for w in words:
        assert w in str(e.value)


def test_dict_errors_say_dict():
    with pytest.raises(ConfigError, match=r"<dict>: unknown key 'bogus'"):
        Machine(config={"bogus": 1})


def test_unknown_model_is_rejected_and_analog_is_accepted():
    with pytest.raises(ConfigError, match="must be one of ideal, analog"):
        Machine(model="quantum")
    assert Machine(model="analog").config["model"] == "analog"


# ---------------------------------------------------------------- loading

def check_loaded(m):
    r = m.run()
    assert r.ok and list(m.mem(4, 4)) == [1, 2, 3, 4]   # `out`, also when there are no symbols


def test_load_source_text():
    m = Machine().load(SRC)
    check_loaded(m)
    assert m.sym("vec") == 0 and m.sym("out") == 4


def test_load_s_path_and_program_and_image(tmp_path):
    from asm import assemble_file

    src = tmp_path / "p.s"
    src.write_text(SRC)
    check_loaded(Machine().load(src))
    check_loaded(Machine().load(str(src)))
    prog = assemble_file(src)
    check_loaded(Machine().load(prog))
    check_loaded(Machine().load(prog.image))
    img = tmp_path / "p.img"
    prog.save(img)
    m = Machine().load(img)            # with the sibling .map: symbols and lines
    check_loaded(m)
    assert m.sym("out") == 4 and m.source_location(0) == f"{src}:6"
    img.with_suffix(".map").unlink()
    m = Machine().load(img)
    check_loaded(m)
    with pytest.raises(KeyError):
        m.sym("out")


def test_load_errors():
    from asm import AsmError

    with pytest.raises(FileNotFoundError):
        Machine().load("no/such/file.s")
    with pytest.raises(AsmError):
        Machine().load("        bogus x1\n")
    with pytest.raises(TypeError):
        Machine().load(42)
    with pytest.raises(CoreError, match="does not fit"):
        Machine(config={"mem_size": 16}).load(program(I.halt(), data={8: bytes(16)}))


def test_fault_location_comes_from_the_source_map(tmp_path):
    src = tmp_path / "f.s"
    src.write_text("        nop\n        li x1, 1\n        lw x2, 0(x1)\n        halt\n")
    r = Machine().load(src).run()
    assert r.fault == "mem_align" and r.location == f"{src}:3"
    assert re.fullmatch(rf"{re.escape(str(src))}:3: fault mem_align at pc 0x8: .*0x1.*", r.message)


# ---------------------------------------------------------------- views

def test_memory_views_are_zero_copy():
    m = Machine().load(SRC)
    v = m.mem("vec", 4)
    v[:] = [9, 8, 7, 6]                # a write through the view is what the program reads
    m.run()
    assert list(m.mem("out", 4)) == [9, 8, 7, 6]
    m.write_mem(m.sym("vec"), np.array([1], dtype=np.int32))
    assert list(v) == [1, 0, 0, 0]
    assert m.mem(0, 2, "i16").dtype == np.int16
    with pytest.raises(IndexError):
        m.mem(m.memory.size - 1, 2)


def test_core_views():
    m = Machine()
    m.load(program(I.halt()))
    c = m.cores[3]
    c.h[5] = -7
    assert m._native.m.core[3].h[5] == -7
    with pytest.raises(ValueError):
        c.conductances[0, 0] = 1       # read-only: writes must refresh the weight cache
    g = np.zeros((256, 256), np.uint16)
    g[0, 1], g[1, 1] = 3 * 312, 312 // 2 + 1
    c.set_conductances(g)
    assert c.conductances[0, 1] == 936 and c.weights[0, 1] == 2
    with pytest.raises(ValueError):
        c.set_conductances(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        c.set_conductances(np.full((256, 256), 70000))
    assert c.config["nrows"] == 128
    c.set_config(nrows=7, offset=-5)
    assert c.config["nrows"] == 7 and c.config["offset"] == -5
    with pytest.raises(ValueError):
        c.set_config(nrows=0)
    with pytest.raises(KeyError):
        c.set_config(bogus=1)
    assert c.chain == 0 and m.cores[47].chain == 7 and m.cores[-1].index == 47
    assert len(m.cores) == 48 and len(list(m.cores)) == 48


def test_views_outlive_the_machine():
    h = Machine().cores[0].h
    mem = Machine().memory[10:20]
    gc.collect()
    h[0] = 5
    mem[0] = 6
    assert h[0] == 5 and mem[0] == 6 and type(h + 1) is np.ndarray


def test_regs_view_and_set_reg():
    m = Machine()
    m.load(program(I.add(rd=3, rs1=1, rs2=2), I.halt()))
    m.set_reg(1, 40)
    m.set_reg(2, -2)
    m.set_reg(0, 99)                   # x0 stays 0
    m.run()
    assert list(m.regs[:4]) == [0, 40, -2, 38]
    with pytest.raises(ValueError):
        m.regs[1] = 0
    with pytest.raises(IndexError):
        m.set_reg(16, 0)


# ---------------------------------------------------------------- results

def test_run_result_reports_utilisation():
    m = Machine()
    m.load(program(I.cpon(rs1=1), I.sync(rs1=0), I.halt()))
    m.set_reg(1, 0b11)
    r = m.run()
    assert r.ok and r.cycles == 102 and r.instructions == 3 and r.stall_cycles == 99
    assert r.cores_used == (0, 1) and r.core_busy[0] == 100
    assert r.core_utilisation[0] == pytest.approx(100 / 102)
    assert r.time_s == pytest.approx(102 / 100e6)
    d = r.to_dict()
    assert d["cycles"] == 102 and set(d["cores"]) == {"0", "1"} and d["fault"] is None


def test_step_and_cycle_controls():
    m = Machine()
    m.load(program(I.nop(), I.mul(rd=1, rs1=0, rs2=0), I.nop(), I.halt()))
    assert m.step(0).stop == "none" and m.cycle == 0
    assert m.step(2).stop == "step" and m.cycle == 4
    assert m.step_cycles(1).stop == "cycle" and m.cycle == 5
    assert m.run_until(3).stop == "cycle" and m.cycle == 5       # time never runs backwards
    assert m.run().stop == "halt"


def test_set_breakpoint_by_symbol():
    m = Machine().load(SRC)
    m.set_breakpoint("_start")
    assert m.run().stop == "breakpoint" and m.pc == 0
    m.clear_breakpoint("_start")
    with pytest.raises(CoreError):
        m.set_breakpoint(2)
    assert m.run().ok


def test_cores_cannot_be_power_switched_while_busy():
    m = Machine()
    m.load(program(I.cpon(rs1=1), I.jal(rd=0, off20=0)))
    m.set_reg(1, 1)
    m.step(1)
    with pytest.raises(CoreError):
        m.cores[0].powered = False


def test_running_without_a_program_is_an_error():
    with pytest.raises(CoreError, match="no program loaded"):
        Machine().run()


def test_advance_is_one_bounded_run_and_result_reports_it():
    m = Machine()
    m.load(program(I.nop(), I.mul(rd=1, rs1=0, rs2=0), I.nop(), I.halt()))
    assert m.advance(max_insns=2) == "step" and (m.cycle, m.instret) == (4, 2)
    r = m.result()
    assert r.stop == "step" and r.cycles == 4 and r.pc == 8
    assert m.advance(until=5) == "cycle" and m.cycle == 5
    assert m.advance() == "halt" and m.result().ok
    with pytest.raises(ValueError, match="max_insns"):
        m.advance(max_insns=0)
    with pytest.raises(ValueError, match="until"):
        m.advance(until=-1)
    with pytest.raises(CoreError, match="no program loaded"):
        Machine().advance(max_insns=1)


def test_next_issue_landing_and_prev_pc():
    m = Machine()
    m.load(program(I.nop(), I.mul(rd=1, rs1=0, rs2=0), I.nop(), I.halt()))
    assert m.at_landing and m.next_issue == 0 and m.prev_pc is None
    m.step(1)
    assert m.at_landing and m.prev_pc == 0 and m.pc == 4
    m.run_until(m.cycle + 1)              # inside the mul's cost: not an instruction boundary
    assert m.next_issue == 4 and m.cycle == 2 and not m.at_landing and m.prev_pc == 4
    m.run_until(m.next_issue)
    assert m.at_landing and m.cycle == 4


def test_clear_breakpoints_skip_breakpoint_and_normalize():
    m = Machine()
    m.load(program(I.nop(), I.nop(), I.nop(), I.halt()))
    m.set_breakpoint(4)
    m.set_breakpoint(8)
    assert m.advance() == "breakpoint" and m.pc == 4
    assert m.advance() == "breakpoint" and m.pc == 8   # the run stepped off the first itself
    stopped = m.snapshot()
    m.normalize()
    assert m.result().stop == "none"
    assert m.advance() == "breakpoint" and m.pc == 8 and m.instret == 2   # re-armed
    m.skip_breakpoint()
    assert m.advance(max_insns=1) == "step" and m.pc == 12
    # the same state reached by stepping has the same bytes once both are normalized
    other = Machine()
    other.load(program(I.nop(), I.nop(), I.nop(), I.halt()))
    other.step(2)
    other.normalize()
    m.restore(stopped)
    assert m.snapshot() != other.snapshot()
    m.normalize()
    assert m.snapshot() == other.snapshot()
    m.clear_breakpoints()
    assert m.run().ok


def test_driver_reexports_the_core_constants():
    from emulator.machine import NUM_CORES, PHASE_NAMES, STOP_NAMES
    m = Machine()
    assert NUM_CORES == len(m.cores) == 48
    assert m.cores[0].phase in PHASE_NAMES
    assert {"halt", "ebreak", "breakpoint", "cycle", "step", "fault"} <= set(STOP_NAMES)
