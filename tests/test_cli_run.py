"""`neurram run` end to end: every program under programs/ gives the output its header promises,
the JSON report holds the summary's numbers, and user mistakes give one clear line and an exit
code, never a traceback."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emulator.cli import main
from tests import reference as ref

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"


def run_cli(capsys, *args):
    rc = main(["run", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def report(capsys, tmp_path, prog, *dumps):
    js = tmp_path / "r.json"
    args = [PROGRAMS / prog, "--json", js]
    for d in dumps:
        args += ["--dump", d]
    rc, out, err = run_cli(capsys, *args)
    assert rc == 0, err
    assert "Traceback" not in out + err
    return json.loads(js.read_text()), out


def dumped(rep, name):
    return rep["dumps"][name]["values"]


EXPECTED = {
    "forward.s": {"y": [-4, 25, 29, 29, 4, -20, -8, 9, -9, 41, -19, 23, -24, 39, -2, -5]},
    "backward.s": {"x_out": [-2, -17, -23, 33, 5, -2, 10, 4]},
    "recurrent.s": {"states": [-3, 6, 6, -4, -7, 6, -2, 5, 2, -3, 2, -2, -7, 2, 1, -1,
                               -6, 7, 7, 6, -7, 4, -7, 5, 3, -4, 7, 0, -3, 1, 3, 0,
                               -7, 3, 3, 5, -5, 1, -7, 7, 7, 5, 7, -3, -6, 4, -1, -2,
                               -7, 7, -4, -1, -7, 3, -7, 5, 7, 7, 7, 2, -6, 7, -2, -7]},
    "demo.s": {"y_fwd": [33, 2, -28, 27, -53, 58, 8, -37, 40, -30, 9, -34, -12, 3, 4, 9],
               "x_bwd": [-2, -17, -23, 33, 5, -2, 10, 4],
               "h_rec": [6, 7, 7, 1, -5, 6, 7, -7]},
}


@pytest.mark.parametrize("prog", sorted(EXPECTED))
def test_program_output_matches_its_header(prog, capsys, tmp_path):
    rep, out = report(capsys, tmp_path, prog, *EXPECTED[prog])
    for name, want in EXPECTED[prog].items():
        assert dumped(rep, name) == want, name
        assert " ".join(str(v) for v in want) in re.sub(r"\s+", " ", out.replace("[", " ").replace("]", " "))
    header = (PROGRAMS / prog).read_text()
    assert "Expected output" in header


def test_multicore_layer_against_the_reference(capsys, tmp_path):
    W = np.load(PROGRAMS / "multicore_layer_w.npy").astype(np.int64)
    x = np.load(PROGRAMS / "multicore_layer_x.npy").astype(np.int64)
    cfg = dict(inbits=4, insigned=0, outbits=8, outsigned=1, readout=0, stepmax=100, gain=1,
               gshift=2, offset=0, row0=0, nrows=64, col0=0, ncols=32)
    psum = 0
    for k in range(3):
        full = np.zeros((128, 256), np.int64)
        full[:64, :32] = W[64 * k:64 * k + 64]
        h = np.zeros(256, np.int64)
        h[:64] = x[64 * k:64 * k + 64]
        psum = psum + ref.mvm(full, h, None, cfg, "fwd")[1]
    act = np.clip((np.maximum(psum, 0) + 2) >> 2, 0, 15)
    rep, _ = report(capsys, tmp_path, "multicore_layer.s", "psum::i16", "act::u8")
    assert dumped(rep, "psum") == psum.tolist() and dumped(rep, "act") == act.tolist()
    assert {"0", "6", "12"} <= set(rep["cores"])


def test_batch_parallel_is_concurrent(capsys, tmp_path):
    rep, _ = report(capsys, tmp_path, "batch_parallel.s", "y_par", "y_ser", "cycles::i64")
    assert dumped(rep, "y_par") == dumped(rep, "y_ser")
    t_par, t_ser = dumped(rep, "cycles")
    assert (t_par, t_ser) == (3567, 14212)       # the header's numbers (chip profile)
    assert 3.9 < t_ser / t_par < 4.1
    from emulator import Machine

    m = Machine(config="board").load(str(ROOT / "programs" / "batch_parallel.s"))
    m.run()
    assert m.mem(m.sym("cycles"), 2, "i64").tolist() == [10520, 42024]   # … and the board's


def test_json_report_has_the_summary_numbers(capsys, tmp_path):
    rep, out = report(capsys, tmp_path, "demo.s", "y_fwd")
    assert rep["stop"] == "halt" and rep["fault"] is None
    assert rep["cycles"] == 303433 and rep["time_s"] == pytest.approx(303433 / 100e6)
    assert rep["profile"] == "chip" and rep["energy"]["profile"] == "chip"
    assert rep["instructions"] > 0 and 0 < rep["stall_cycles"] < rep["cycles"]
    assert set(rep["cores"]) == {"0", "7", "14"}
    c14 = rep["cores"]["14"]
    assert c14["mvms"] == 3 and c14["chain"] == 2 and 0 < c14["utilisation"] <= 1
    assert rep["model"] == "ideal" and rep["seed"] == 0
    assert "303,433 cycles" in out and "3.034 ms" in out and "100 MHz" in out
    assert f"{rep['cores']['7']['busy_cycles']:,}" in out


def test_summary_lines_are_not_broken_on_a_narrow_terminal(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    _, out = report(capsys, tmp_path, "demo.s", "y_fwd")
    first = out.splitlines()[0]
    assert first.endswith("demo.s: halt after 303,433 cycles = 3.034 ms at 100 MHz")


def test_json_to_stdout_is_pure_json(capsys):
    rc, out, err = run_cli(capsys, PROGRAMS / "forward.s", "--json", "-")
    assert rc == 0 and json.loads(out)["stop"] == "halt" and "cycles" in err


def test_every_program_runs(capsys):
    for p in sorted(PROGRAMS.glob("*.s")):
        rc, out, err = run_cli(capsys, p)
        assert rc == 0, f"{p.name}: {err}"


def test_dump_forms(capsys, tmp_path):
    rep, _ = report(capsys, tmp_path, "forward.s", "y", "first=y:2:i8", "w2=0:2:i16", "x:3")
    assert dumped(rep, "first") == [-4, 25] and dumped(rep, "x") == [1, -7, -2]
    assert len(dumped(rep, "y")) == 16 and rep["dumps"]["w2"]["dtype"] == "i16"


@pytest.mark.parametrize("dump,msg", [
    ("nosuch", "no symbol 'nosuch'"), ("y:4:f32", "unknown dtype"), ("a=y:1", "NAME=ADDR:COUNT:DTYPE"),
    ("y:lots", "not a number"), ("big=0:99999999:i32", "leaves the"),
])
def test_bad_dumps(capsys, dump, msg):
    rc, out, err = run_cli(capsys, PROGRAMS / "forward.s", "--dump", dump)
    assert rc == 1 and msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_fault_exit_code_and_one_line_message(capsys, tmp_path):
    src = tmp_path / "oops.s"
    src.write_text("        li x1, 1\n        cpon x1\n        li x2, 0x7fffff00\n"
                   "        hin.i8 c0, x2\n        halt\n")
    js = tmp_path / "r.json"
    rc, out, err = run_cli(capsys, src, "--json", js)
    assert rc == 3
    assert re.fullmatch(rf"{re.escape(str(src))}:4: fault mem_bounds at pc 0x[0-9a-f]+: .+\n", err)
    rep = json.loads(js.read_text())
    assert rep["stop"] == "fault" and rep["fault"] == "mem_bounds" and rep["location"] == f"{src}:4"


def test_cycle_limit(capsys, tmp_path):
    src = tmp_path / "spin.s"
    src.write_text("spin:   j spin\n")
    rc, _, err = run_cli(capsys, src, "--max-cycles", "500")
    assert rc == 3 and "fault cycle_limit" in err and ":1:" in err


def test_ebreak_exit_code(capsys, tmp_path):
    src = tmp_path / "eb.s"
    src.write_text("        ebreak\n        halt\n")
    rc, _, err = run_cli(capsys, src)
    assert rc == 4 and "ebreak" in err


def test_user_mistakes_are_one_line(capsys, tmp_path):
    rc, _, err = run_cli(capsys, tmp_path / "missing.s")
    assert rc == 1 and "no such file" in err
    bad = tmp_path / "bad.s"
    bad.write_text("        frobnicate x1\n")
    rc, _, err = run_cli(capsys, bad)
    assert rc == 1 and f"{bad}:1:" in err and "Traceback" not in err
    cfg = tmp_path / "c.toml"
    cfg.write_text("t_wakeup = 3\n")
    rc, _, err = run_cli(capsys, PROGRAMS / "forward.s", "--config", cfg)
    assert rc == 1 and "c.toml" in err and "t_wakeup" in err
    rc, _, err = run_cli(capsys, PROGRAMS / "forward.s", "--model", "quantum")
    assert rc == 1 and "must be one of" in err
    txt = tmp_path / "p.txt"
    txt.write_text("nop\n")
    rc, _, err = run_cli(capsys, txt)
    assert rc == 1 and ".s source" in err


def test_image_with_map(capsys, tmp_path):
    from asm import assemble_file

    img = tmp_path / "fwd.img"
    assemble_file(PROGRAMS / "forward.s").save(img)
    rc, out, err = run_cli(capsys, img, "--dump", "y")
    assert rc == 0 and "-4  25  29" in out


def test_seed_and_config_options(capsys, tmp_path):
    cfg = tmp_path / "fast.toml"
    cfg.write_text("neuron_div = 1\nt_wake = 1\n")
    js = tmp_path / "r.json"
    rc, _, _ = run_cli(capsys, PROGRAMS / "forward.s", "--config", cfg, "--seed", "5", "--json", js)
    rep = json.loads(js.read_text())
    assert rc == 0 and rep["seed"] == 5 and str(cfg) in rep["config"]


def test_console_script_subprocess(tmp_path):
    r = subprocess.run([sys.executable, "-m", "emulator.cli", "run", str(PROGRAMS / "backward.s"),
                        "--dump", "x_out"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "-2 -17 -23  33   5  -2  10   4" in r.stdout
