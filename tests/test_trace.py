"""Regression traces: golden traces of every program, determinism however a run is driven,
trace diff pinpointing a changed weight, bad trace files, the VCD read back against the trace."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from emulator import Machine
from emulator.cli import main as cli_main
from emulator.trace.capture import TraceRecorder
from emulator.trace.diff import diff_traces
from emulator.trace.records import KIND, fnv1a32
from emulator.trace.textfmt import Filters, TraceFormatError, read_trace

from .golden_support import PROGRAMS, ROOT, body_hash, golden_paths, records, trace_text

IDS = [p.name for p in PROGRAMS]


# ---------------------------------------------------------------- golden traces

@pytest.mark.parametrize("prog", PROGRAMS, ids=IDS)
def test_golden_trace(prog, tmp_path):
    ftrace, thash = golden_paths(prog)
    assert ftrace.exists() and thash.exists(), f"no golden trace for {prog.name}: run make golden-update"
    new = tmp_path / "new.ftrace"
    new.write_text(trace_text(prog, "functional"), encoding="utf-8")
    res = diff_traces(read_trace(str(ftrace)), read_trace(str(new)))
    assert res.same, "functional trace changed (make golden-update if intended):\n" + \
        "\n".join(str(f) for f in res.divergence.fields)
    assert body_hash(trace_text(prog, "timed")) == thash.read_text().strip(), \
        f"{prog.name}: timing changed (make golden-update if intended)"


def test_golden_files_are_small():
    total = sum(p.stat().st_size for p in (ROOT / "tests" / "golden").iterdir())
    assert total < 512 * 1024


# ---------------------------------------------------------------- determinism

@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("prog", PROGRAMS, ids=IDS)
def test_run_step_and_cycle_steps_give_identical_traces(prog, model):
    ref = trace_text(prog, "timed", "run", model, seed=3)
    assert trace_text(prog, "timed", "step", model, seed=3) == ref
    assert trace_text(prog, "timed", "cycles", model, seed=3) == ref


@pytest.mark.parametrize("model", ["ideal", "analog"])
@pytest.mark.parametrize("prog", PROGRAMS, ids=IDS)
def test_snapshot_restore_in_the_middle_gives_identical_records(prog, model):
    straight = records(prog, model, seed=5)
    split = records(prog, model, seed=5, split_at=0.5)
    assert straight.tobytes() == split.tobytes()


def test_same_seed_same_file_other_seed_other_noise(tmp_path):
    prog = ROOT / "programs" / "calibrate.s"
    a = trace_text(prog, "timed", model="analog", seed=1)
    assert trace_text(prog, "timed", model="analog", seed=1) == a
    assert trace_text(prog, "timed", model="analog", seed=2) != a


def test_trace_buffer_drains_without_losing_records():
    # a buffer just above its margin fills many times over a looping program: the records must equal a big buffer's
    prog = ROOT / "programs" / "calibrate.s"
    small, big = [], []
    for parts, cap in ((small, 1100), (big, 1 << 16)):
        m = Machine().load(str(prog))
        m._native.trace_enable(parts.append, cap)
        m.run()
        m._native.trace_disable()
    assert len(small) > 1
    assert np.concatenate(small).tobytes() == np.concatenate(big).tobytes()


# ---------------------------------------------------------------- record contents

def test_records_describe_the_first_program(tmp_path):
    src = ROOT / "programs" / "forward.s"
    m = Machine().load(str(src))
    parts = []
    m._native.trace_enable(parts.append, 4096)
    r = m.run()
    m._native.trace_disable()
    recs = np.concatenate(parts)
    insn = recs[recs["kind"] == KIND["insn"]]
    assert len(insn) == r.instructions
    assert (np.diff(insn["cycle"].astype(np.int64)) > 0).all()
    # the stalls of the instruction records add up to the run's stall cycles
    assert int(insn["stall"].sum()) == r.stall_cycles
    # every started core operation ends, at the cycle its start record announced
    starts = recs[np.isin(recs["kind"], [KIND[k] for k in ("scan_in", "scan_out", "mvm", "prog")])]
    ends = recs[recs["kind"] == KIND["end"]]
    assert sorted(starts["a"].tolist()) == sorted(ends["cycle"].tolist())
    # scan-out records carry the digest of exactly the bytes that land in memory
    out = ends[ends["mlen"] > 0]
    assert len(out)
    for e in out:
        data = m.mem(int(e["b"]), int(e["mlen"]), "u8").tobytes()
        assert fnv1a32(data) == int(e["digest"])


def test_filters_window_core_and_kind():
    prog = ROOT / "programs" / "demo.s"
    m = Machine().load(str(prog))
    out = io.StringIO()
    rec = TraceRecorder(m, out, "timed", Filters(cores=frozenset({7}), kinds=frozenset({"mvm", "end"})))
    rec.start()
    rec.finish(m.run())
    lines = [l for l in out.getvalue().splitlines() if not l.startswith("#")]
    assert lines and all(re.match(r"E \w{12} c07 (mvm|end)", l) for l in lines)
    m = Machine().load(str(prog))
    out = io.StringIO()
    rec = TraceRecorder(m, out, "timed", Filters(start=50, stop=5000))
    rec.start()
    rec.finish(m.run())
    cycles = [int(l.split()[1], 16) for l in out.getvalue().splitlines() if not l.startswith("#")]
    assert len(cycles) > 5 and all(50 <= c < 5000 for c in cycles)


# ---------------------------------------------------------------- trace diff

def _copy_program(name: str, dest: Path) -> Path:
    for f in (ROOT / "programs").glob(f"{Path(name).stem}*"):
        shutil.copy(f, dest / f.name)
    return dest / name


def test_diff_identical_runs_and_a_changed_weight(tmp_path, capsys):
    src = _copy_program("forward.s", tmp_path)
    a, b, c = tmp_path / "a.trace", tmp_path / "b.trace", tmp_path / "c.trace"
    assert cli_main(["run", str(src), "--trace", str(a)]) == 0
    assert cli_main(["run", str(src), "--trace", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    capsys.readouterr()
    assert cli_main(["trace", "diff", str(a), str(b)]) == 0
    assert "identical" in capsys.readouterr().out
    # change one weight code in the program's data
    text = src.read_text()
    m = re.search(r"^(\s*\.byte\s+)(-?\d+)", text, re.M)
    assert m, "forward.s keeps its weights in .byte lines"
    changed = text[:m.start(2)] + str(int(m.group(2)) + 1) + text[m.end(2):]
    src.write_text(changed)
    assert cli_main(["run", str(src), "--trace", str(c)]) == 0
    capsys.readouterr()
    assert cli_main(["trace", "diff", str(a), str(c)]) == 5
    out = capsys.readouterr().out
    assert "traces differ at record" in out
    first = next(l for l in out.splitlines() if l.startswith("  A "))
    # the first divergence: the weight codes programmed, or the MVM outputs computed from them
    assert re.search(r" (prog|mvm) ", first), out
    assert "≠" in out and "summary:" in out


def test_functional_trace_ignores_a_timing_change(tmp_path):
    prog = ROOT / "programs" / "demo.s"
    fast = tmp_path / "fast.ftrace"
    slow = tmp_path / "slow.ftrace"
    for path, cfg in ((fast, {}), (slow, {"t_integ": 60})):
        m = Machine(config=cfg).load(str(prog))
        with open(path, "w") as f:
            rec = TraceRecorder(m, f, "functional").start()
            rec.finish(m.run())
    assert diff_traces(read_trace(str(fast)), read_trace(str(slow))).same
    timed = [tmp_path / "fast.trace", tmp_path / "slow.trace"]
    for path, cfg in zip(timed, ({}, {"t_integ": 60})):
        m = Machine(config=cfg).load(str(prog))
        with open(path, "w") as f:
            rec = TraceRecorder(m, f, "timed").start()
            rec.finish(m.run())
    res = diff_traces(read_trace(str(timed[0])), read_trace(str(timed[1])))
    assert not res.same and {f for f, _, _ in res.divergence.fields} <= {"cycle", "end", "stall", "queued"}
    assert res.notes == ["config: " + read_trace(str(timed[0])).header["config"] + " vs "
                         + read_trace(str(timed[1])).header["config"]]


@pytest.mark.parametrize("content, message", [
    ("", "not an nr48-trace file"),
    ("hello\nworld\n", "not an nr48-trace file"),
    ("# nr48-trace 9\n# form timed\n# end stop=halt\n", "newer than this emulator reads"),
    ("# nr48-trace 1\n# form timed\nI 000000000000 00000000 01000000 nop\n", "truncated"),
    ("# nr48-trace 1\n# form timed\nX garbage\n# end stop=halt\n", "malformed record"),
    ('{"kind": "header"}\n', "a JSONL trace"),
])
def test_diff_refuses_unusable_files(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.trace"
    bad.write_text(content)
    good = tmp_path / "good.trace"
    assert cli_main(["run", str(ROOT / "programs" / "forward.s"), "--trace", str(good)]) == 0
    capsys.readouterr()
    assert cli_main(["trace", "diff", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with pytest.raises(TraceFormatError, match=message):
        read_trace(str(bad))


def test_diff_refuses_mixed_forms_and_missing_files(tmp_path, capsys):
    prog = str(ROOT / "programs" / "forward.s")
    a, b = tmp_path / "a.trace", tmp_path / "b.ftrace"
    assert cli_main(["run", prog, "--trace", str(a)]) == 0
    assert cli_main(["run", prog, "--trace", str(b), "--trace-format", "functional"]) == 0
    capsys.readouterr()
    assert cli_main(["trace", "diff", str(a), str(b)]) == 1
    assert "cannot compare a timed trace" in capsys.readouterr().err
    assert cli_main(["trace", "diff", str(a), str(tmp_path / "none.trace")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_trace_show_slices(tmp_path, capsys):
    a = tmp_path / "a.trace"
    assert cli_main(["run", str(ROOT / "programs" / "demo.s"), "--trace", str(a)]) == 0
    capsys.readouterr()
    assert cli_main(["trace", "show", str(a), "--core", "14", "--kind", "mvm"]) == 0
    out = capsys.readouterr().out
    rows = [l for l in out.splitlines() if l.startswith("E ")]
    assert len(rows) == 3 and all(" c14 mvm " in r for r in rows)


def test_jsonl_form(tmp_path):
    import json
    j = tmp_path / "a.jsonl"
    assert cli_main(["run", str(ROOT / "programs" / "forward.s"), "--trace", str(j),
                     "--trace-format", "jsonl"]) == 0
    rows = [json.loads(l) for l in j.read_text().splitlines()]
    assert rows[0]["kind"] == "header" and rows[-1]["kind"] == "footer"
    insns = [r for r in rows if r["kind"] == "insn"]
    assert rows[-1]["instructions"] == len(insns) and insns[-1]["asm"] == "halt"


# ---------------------------------------------------------------- VCD

def test_vcd_signals_match_the_trace(tmp_path):
    from vcd.reader import TokenKind, tokenize

    prog = ROOT / "programs" / "demo.s"
    tr, vcd = tmp_path / "a.trace", tmp_path / "a.vcd"
    assert cli_main(["run", str(prog), "--trace", str(tr), "--vcd", str(vcd)]) == 0
    ids, changes, scale = {}, [], None
    scope: list[str] = []
    t = 0
    with open(vcd, "rb") as f:
        for tok in tokenize(f):
            if tok.kind is TokenKind.SCOPE:
                scope.append(tok.scope.ident)
            elif tok.kind is TokenKind.UPSCOPE:
                scope.pop()
            elif tok.kind is TokenKind.VAR:
                ids[tok.var.id_code] = ".".join(scope[1:] + [tok.var.reference])
            elif tok.kind is TokenKind.TIMESCALE:
                scale = tok.timescale
            elif tok.kind is TokenKind.CHANGE_TIME:
                t = tok.time_change
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                changes.append((t, ids[tok.data.id_code], tok.data.value))
    assert scale is not None
    period = 10   # ns per cycle at 100 MHz, timescale 1 ns
    pc_changes = [(t // period, int(v)) for t, name, v in changes if name == "pc"]
    trace = read_trace(str(tr))
    issued = [(int(l.fields["cycle"], 16), int(l.fields["pc"], 16)) for l in trace.lines if l.kind == "I"]
    # pc takes each instruction's address at its issue cycle (repeats are not changes)
    expected = [issued[0]] + [b for a, b in zip(issued, issued[1:]) if a[1] != b[1]]
    assert pc_changes[-len(expected):] == expected
    # core 7 is busy exactly from its first start event to its last end event
    busy7 = [(t // period, int(v)) for t, name, v in changes if name == "core07.busy"]
    starts = [int(l.fields["cycle"], 16) for l in trace.lines if l.fields.get("core") == "07"
              and l.fields["event"] != "end"]
    ends = [int(l.fields["cycle"], 16) for l in trace.lines if l.fields.get("core") == "07"
            and l.fields["event"] == "end"]
    assert busy7[0] == (0, 0) and (starts[0], 1) in busy7 and busy7[-1] == (ends[-1], 0)


def test_vcd_window_and_determinism(tmp_path):
    prog = str(ROOT / "programs" / "batch_parallel.s")
    a, b = tmp_path / "a.vcd", tmp_path / "b.vcd"
    assert cli_main(["run", prog, "--vcd", str(a), "--from", "5000", "--to", "9000"]) == 0
    assert cli_main(["run", prog, "--vcd", str(b), "--from", "5000", "--to", "9000"]) == 0
    assert a.read_bytes() == b.read_bytes()
    stamps = [int(l[1:]) for l in a.read_text().splitlines() if l.startswith("#")]
    assert stamps[0] == 5000 * 10 and max(stamps) < 9000 * 10
    full = tmp_path / "full.vcd"
    assert cli_main(["run", prog, "--vcd", str(full)]) == 0
    full_stamps = [int(l[1:]) for l in full.read_text().splitlines() if l.startswith("#")]
    assert full_stamps[0] == 0 and max(full_stamps) > 9000 * 10
    assert "clk" in a.read_text() and "clk" not in full.read_text()   # a 1.4 M-cycle clock is left out
