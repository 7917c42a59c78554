"""One command-line convention (docs/cli.md): every subcommand takes `--json -` and writes a
document the shipped schema accepts (also for bad input and usage errors), one exit-code table,
`--version`, and plain unwrapped output when stdout is not a terminal."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import asm.cli
from emulator.cli import build_parser, main as cli_main
from emulator.cli import common
from tests.schema_check import errors

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = common.load_schema()
FIRST = """        .data
w:      .byte  1, -2,  3, 0
        .byte  2,  1, -1, 4
x:      .byte  3, 1
y:      .zero  4
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
        vout.i8 c0, x4
        sync    x1
        halt
"""


def _doc(capsys, argv, code):
    rc = cli_main([*argv, "--json", "-"])
    out = capsys.readouterr().out
    assert rc == code, out
    doc = json.loads(out)            # stdout carries only the JSON
    assert errors(doc, SCHEMA) == [], errors(doc, SCHEMA)
    assert doc["exit_code"] == code and doc["ok"] == (code == 0)
    return doc


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    (d / "first.s").write_text(FIRST)
    (d / "bad.s").write_text("  .text\n_start: bogus x1\n")
    (d / "cmds").write_text("stepi 3\nprint x1\n")
    rng = np.random.default_rng(0)
    np.savez(d / "m.npz", W0=rng.normal(size=(8, 4)), b0=np.zeros(4), W1=rng.normal(size=(4, 3)))
    np.save(d / "in.npy", rng.random((2, 8)))
    (d / "spec.toml").write_text(
        '[sweep]\nname = "conv"\n[workload]\nkind = "program"\n'
        f'program = "{d / "first.s"}"\noutputs = ["y:4:i8"]\n[grid]\nread_noise = [0.0]\n')
    return d


def test_every_subcommand_writes_a_valid_json_document(files, capsys, tmp_path):
    d = files
    img = tmp_path / "first.img"
    tr_a, tr_b = tmp_path / "a.trace", tmp_path / "b.trace"
    runs = {
        "asm": (["asm", str(d / "first.s"), "-o", str(img)], 0),
        "disasm": (["disasm", str(img)], 0),
        "run": (["run", str(d / "first.s"), "--dump", "y", "--trace", str(tr_a)], 0),
        "debug": (["debug", str(d / "first.s"), "--batch", str(d / "cmds")], 0),
        "trace diff": (["trace", "diff", str(tr_a), str(tr_a)], 0),
        "trace show": (["trace", "show", str(tr_a), "--limit", "3"], 0),
        "compile": (["compile", str(d / "m.npz"), "-o", str(tmp_path / "m.s"),
                     "--inputs", str(d / "in.npy")], 0),
        "digits": (["digits", "--seeds", "1", "--n-test", "6"], 0),
        "cnn": (["cnn", "--seeds", "1", "--n-test", "3"], 0),
        "rnn": (["rnn", "--seeds", "1", "--n-test", "3"], 0),
        "lstm": (["lstm", "--seeds", "1", "--n-test", "3"], 0),
        "rbm": (["rbm", "--seeds", "1", "--n", "2"], 0),
        "sweep": (["sweep", str(d / "spec.toml"), "--workers", "0", "--quiet",
                   "--out", str(tmp_path / "s.db")], 0),
        "sweep show": (["sweep", "show", str(tmp_path / "s.db")], 0),
        "reproduce energy": (["reproduce", "energy"], 0),
        "snn": (["snn", "--n-test", "4", "--steps", "4"], 0),
        "learn": (["learn", "--epochs", "1", "--n-train", "20", "--n-test", "8"], 0),
        "finetune": (["finetune", "--seeds", "1", "--nets", "mlp", "--n-train", "40", "--n-test", "8"], 0),
        "resnet": (["resnet", "--inputs", "1", "--link", "c2c"], 0),
        "rbm794": (["rbm794", "--n", "1", "--steps", "2", "--keep", "1"], 0),
    }
    seen = set()
    for name, (argv, code) in runs.items():
        doc = _doc(capsys, argv, code)
        assert doc["command"] == name.split()[0] if name.startswith("sweep") else doc["command"] == name
        seen.add(doc["command"])
    # every registered subcommand was exercised
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = set()
    for n, p in sub.choices.items():
        inner = [a for a in p._actions if a.dest in ("trace_command", "reproduce_what")]
        names |= {f"{n} {m}" for m in inner[0].choices} if inner else {n}
    assert names <= seen, names - seen
    # a divergence is exit 5 with the field-by-field report
    (tmp_path / "fast.toml").write_text("t_integ = 31\n")
    cli_main(["run", str(d / "first.s"), "--trace", str(tr_b), "--config", str(tmp_path / "fast.toml")])
    capsys.readouterr()
    doc = _doc(capsys, ["trace", "diff", str(tr_a), str(tr_b)], 5)
    assert doc["same"] is False and doc["divergence"]["fields"]


def test_bad_input_and_usage_give_a_json_error_object(files, capsys, tmp_path):
    d = files
    doc = _doc(capsys, ["run", str(d / "bad.s")], 1)
    assert doc["error"]["kind"] == "input"
    (diag,) = doc["error"]["diagnostics"]
    assert diag["line"] == 2 and diag["file"].endswith("bad.s") and "bogus" in diag["message"]
    doc = _doc(capsys, ["asm", str(d / "bad.s")], 1)
    assert doc["error"]["diagnostics"][0]["line"] == 2
    assert _doc(capsys, ["disasm", str(tmp_path / "none.img")], 1)["error"]["kind"] == "input"
    assert _doc(capsys, ["trace", "show", str(tmp_path / "none.trace")], 1)["error"]["message"]
    doc = _doc(capsys, ["run", str(d / "first.s"), "--max-cycles", "0"], 2)
    assert doc["error"]["kind"] == "usage" and "--max-cycles" in doc["error"]["message"]
    assert _doc(capsys, ["compile", str(tmp_path / "none.npz"), "-o", str(tmp_path / "x.s")], 1)["error"]
    assert _doc(capsys, ["sweep", "show", str(tmp_path / "none.db")], 1)["error"]
    cfg = tmp_path / "c.toml"
    cfg.write_text("scan_div = 0\n")
    doc = _doc(capsys, ["run", str(d / "first.s"), "--config", str(cfg)], 1)
    assert "scan_div" in doc["error"]["message"] and "c.toml" in doc["error"]["message"]


def test_json_to_a_file_and_faults_and_ebreak(files, capsys, tmp_path):
    out = tmp_path / "r.json"
    assert cli_main(["run", str(files / "first.s"), "--json", str(out)]) == 0
    assert errors(json.loads(out.read_text()), SCHEMA) == []
    assert "halt after" in capsys.readouterr().out          # the summary still prints
    loop = tmp_path / "loop.s"
    loop.write_text("_start: j _start\n")
    doc = _doc(capsys, ["run", str(loop), "--max-cycles", "100"], 3)
    assert doc["fault"] == "cycle_limit" and "error" not in doc
    eb = tmp_path / "eb.s"
    eb.write_text("_start: ebreak\n        halt\n")
    assert _doc(capsys, ["run", str(eb)], 4)["stop"] == "ebreak"


def test_one_exit_code_table_everywhere():
    assert (common.EXIT_OK, common.EXIT_INPUT, common.EXIT_USAGE, common.EXIT_FAULT,
            common.EXIT_EBREAK, common.EXIT_CHECK, common.EXIT_INTERRUPTED) == (0, 1, 2, 3, 4, 5, 130)
    assert (asm.cli.EXIT_OK, asm.cli.EXIT_INPUT) == (common.EXIT_OK, common.EXIT_INPUT)
    text = (ROOT / "docs" / "cli.md").read_text()
    for code, name in common.EXIT_CODES.items():
        assert f"| {code} | {name} |" in text
    assert set(SCHEMA["properties"]["exit_code"]["enum"]) == set(common.EXIT_CODES)


def test_version_and_usage_exit_codes(capsys):
    from isa.tables import VERSION

    assert cli_main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("neurram ") and f"NR48 ISA {VERSION[0]}.{VERSION[1]}" in out
    assert f"schema {common.SCHEMA_VERSION}" in out
    assert cli_main([]) == 2 and cli_main(["nosuchcommand"]) == 2 and cli_main(["run"]) == 2


@pytest.mark.parametrize("argv,said", [
    (["rnn", "--n-test", "-5"], "must be a positive integer (got -5)"),
    (["digits", "--n-test", "451"], "there are 450 test digits (got 451)"),
    (["rbm", "--n", "0"], "must be a positive integer (got 0)"),
    (["rbm794", "--n", "100000"], "there are 450 test digits (got 100000)"),
    (["snn", "--n-test", "0"], "must be a positive integer (got 0)")])
def test_test_digit_counts_outside_the_split_are_usage_errors(argv, said, capsys):
    """A count of test digits is 1 … 450: a negative one used to slice from the end silently,
    one past the split ran on fewer digits (rbm794: a traceback reading past its outputs)."""
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_output_off_a_terminal_is_not_wrapped(files, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="")
    env.pop("COLUMNS")
    r = subprocess.run([sys.executable, "-m", "emulator.cli", "run", str(files / "first.s"),
                        "--report"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(ln) for ln in lines) > 80          # nothing cut or folded at 80 columns
    assert not any(ln.rstrip().endswith("…") for ln in lines)
    assert any(ln.startswith("throughput ") and "TOPS/W (MVMs: WL + input + neuron)" in ln for ln in lines)
    assert "\x1b[" not in r.stdout                      # no colour codes in a pipe
