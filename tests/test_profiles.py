"""Named profiles: `board` keeps the ISA 1.1 timing of every program exactly, `chip` is the
default, a user file names its base, and the profile is recorded where a run is described."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from emulator import ChipConfig, Machine
from emulator.config import ConfigError, profile_names
from emulator.trace.capture import TraceRecorder

ROOT = Path(__file__).resolve().parent.parent
BOARD = json.loads((ROOT / "tests" / "board_cycles.json").read_text())
PROGS = sorted(k for k in BOARD if not k.startswith("_"))


# programs added with ISA 1.2 (they use its instructions, so they have no 1.1 timing to keep)
NEW_IN_1_2 = {"programs/cnn_digits_batched.s", "programs/digits_mlp_noise_batched.s", "programs/if_neurons.s"}


def test_the_baseline_covers_every_program_that_existed():
    top = {f"programs/{p.name}" for p in (ROOT / "programs").glob("*.s")}
    assert top - NEW_IN_1_2 <= set(PROGS) and not NEW_IN_1_2 & set(PROGS)


@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("prog", PROGS)
def test_board_gives_the_isa_1_1_cycle_counts(prog, model):
    m = Machine(model=model, config="board").load(str(ROOT / prog))
    r = m.run()
    want = BOARD[prog][model]
    assert (r.cycles, r.instructions, r.stall_cycles) == (want["cycles"], want["instret"], want["stall"])


def test_chip_is_the_default_and_faster_than_board():
    assert set(profile_names()) >= {"chip", "board"}
    assert Machine().config.profile == "chip"
    fast = Machine().load(str(ROOT / "programs/forward.s")).run().cycles
    slow = Machine(config="board").load(str(ROOT / "programs/forward.s")).run().cycles
    assert fast < slow


def test_a_user_file_names_its_base(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('base = "board"\nt_wake = 7\n')
    cfg = ChipConfig.load(f)
    assert cfg.profile == "board" and cfg["t_wake"] == 7 and cfg["t_integ"] == 63
    g = tmp_path / "more.toml"                  # a base given as a path, relative to the file
    g.write_text('base = "mine.toml"\nt_div = 9\n')
    cfg = ChipConfig.load(g)
    assert cfg.profile == "board" and cfg["t_wake"] == 7 and cfg["t_div"] == 9
    h = tmp_path / "plain.toml"                 # no base: on the default profile
    h.write_text("t_wake = 8\n")
    cfg = ChipConfig.load(h)
    assert cfg.profile == "chip" and cfg["t_integ"] == ChipConfig.load("chip")["t_integ"]
    assert Machine(config={"base": "board", "t_wake": 3}).config["neuron_div"] == 8


@pytest.mark.parametrize("text,words", [
    ('base = "nosuch"\n', ["mine.toml", "nosuch", "chip"]),
    ("base = 3\n", ["mine.toml", "'base'"]),
    ('base = "mine.toml"\n', ["loop"]),
    ("phase_bits = 9\n", ["mine.toml", "'phase_bits'", "out of range"]),
    ("bit_phases = 0\n", ["mine.toml", "'bit_phases'"]),
])
def test_bad_profiles_are_named_errors(tmp_path, text, words):
    f = tmp_path / "mine.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        ChipConfig.load(f)
    for w in words:
        assert w in str(e.value)


def test_unknown_profile_name():
    with pytest.raises(ConfigError, match="no profile named 'chp'.*board, chip"):
        Machine(config="chp")


def test_profile_is_in_the_trace_header_and_the_report(tmp_path):
    for name in ("chip", "board"):
        m = Machine(config=name).load(str(ROOT / "programs/count_loop.s"))
        out = io.StringIO()
        rec = TraceRecorder(m, out, "timed").start()
        rec.finish(m.run())
        assert f"# profile {name}\n" in out.getvalue()
        assert m.energy_report()["profile"] == name
