"""The run profile (emulator/perf.py, `neurram run --profile`): counts attributed to the
instruction that caused them, grouped by enclosing label, programming kept apart."""
from __future__ import annotations

import json

import pytest

from emulator import Machine
from emulator.cli import main

SRC = """
        .data
w:      .zero 64
        .text
_start: li      x1, 3
        cpon    x1
        ccfg.nrows x1, 4
        ccfg.ncols x1, 16
setup:  la      x2, w
        cprog   c0, x2
        cprog   c1, x2
        sync    x0
        li      x3, 5
work:   mvm.fwd x1
        sync    x0
work.inner:
        addi    x3, x3, -1
        bnez    x3, work
        halt
"""


def _run(config=None):
    m = Machine(config=config).load(SRC)
    m.enable_profile()
    r = m.run()
    assert r.ok
    return m, m.profile_report(inferences=5)


@pytest.mark.parametrize("config", ["chip", "board"])
def test_profile_adds_up_to_the_run(config):
    m, rep = _run(config)
    assert [g["label"] for g in rep["groups"]] == ["_start", "setup", "work"]
    g = {x["label"]: x for x in rep["groups"]}
    assert sum(x["cycles"] for x in rep["groups"]) == m.cycle
    assert sum(x["insns"] for x in rep["groups"]) == m.instret
    assert sum(x["stall_cycles"] for x in rep["groups"]) == m.stall_cycles
    e = m.energy_report()
    assert rep["one_time"]["total_pj"] + rep["run"]["total_pj"] == pytest.approx(
        e["total_pj"] - e["by_category_pj"]["leakage"])
    assert rep["leakage_pj"] == pytest.approx(e["by_category_pj"]["leakage"])
    # programming (cprog, counted at completion) belongs to setup, which is one-time work
    assert g["setup"]["one_time"] and not g["work"]["one_time"]
    assert g["setup"]["energy_pj"]["program"] == pytest.approx(e["by_category_pj"]["program"])
    assert g["setup"]["energy_pj"]["program"] > 0 and g["work"]["energy_pj"]["program"] == 0
    # the dotted label folds into its parent; entries count arrivals at the label itself
    assert g["work"]["mvms"] == 5 * 2 and g["work"]["macs"] == 5 * 2 * 4 * 16 and g["work"]["entries"] == 5
    assert g["work"]["insns"] == 5 * 4 + 1          # … and the halt
    pi = rep["per_inference"]
    assert pi["macs"] == 2 * 4 * 16
    # per inference: everything but the one-time groups (here _start's power-on and work)
    run = [x for x in rep["groups"] if not x["one_time"]]
    assert pi["latency_s"] == pytest.approx(sum(x["cycles"] for x in run) / 5 / m.config.clock_hz)
    assert pi["energy_j"] == pytest.approx(sum(x["total_pj"] for x in run) / 5 * 1e-12)


def test_profile_needs_enabling_and_a_load_resets_it():
    m = Machine().load(SRC)
    m.run()
    with pytest.raises(RuntimeError, match="enable_profile"):
        m.profile_report()
    m.enable_profile()
    m.load(SRC)                       # counters belong to one program
    with pytest.raises(RuntimeError):
        m.profile_report()


def test_snapshot_restore_keeps_the_profile_running():
    m = Machine().load(SRC)
    m.enable_profile()
    m.run_until(50)
    snap = m.snapshot()
    m.restore(snap)
    m.run()
    rep = m.profile_report()
    assert sum(x["cycles"] for x in rep["groups"]) == m.cycle


def test_cli_run_profile_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")      # the table's width, not wrapped
    prog = tmp_path / "p.s"
    prog.write_text(SRC)
    out = tmp_path / "r.json"
    assert main(["run", str(prog), "--profile", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "profile by label" in text and "setup *" in text and "work" in text
    rep = json.loads(out.read_text())
    assert rep["profile"] == "chip"
    assert [g["label"] for g in rep["code_profile"]["groups"]] == ["_start", "setup", "work"]


def test_mapper_programs_profile_per_layer_and_per_inference(tmp_path):
    from emulator.workloads import digits as D
    from emulator.mapper import run_compiled

    for batched in (False, True):         # the per-sample loop and the batched program
        c, _ = D.compile_digits(D.shipped_model(True), n_test=6, batched=batched)
        _, _, r = run_compiled(c, tmp_path / "d.s")
        pi = r.per_inference
        assert pi["inferences"] == 6 and pi["energy_j"] > 0 and pi["latency_s"] > 0 and pi["tops_w"] > 0
        m = Machine().load(tmp_path / "d.s")
        m.enable_profile()
        m.run()
        g = {x["label"]: x for x in m.profile_report(inferences=6)["groups"]}
        assert g["program"]["one_time"] and g["program"]["energy_pj"]["program"] > 0
        assert g["fc1"]["mvms"] == g["fc2"]["mvms"] == 6 and not g["fc1"]["one_time"]
        assert g["fc1"]["energy_pj"]["scan"] > 0 and g["fc2"]["energy_pj"]["scan"] > 0
        # the per-sample loop enters its loop once per sample, the batched one once per chunk
        assert g["loop"]["entries"] == (1 if batched else 6)


@pytest.mark.parametrize("profile,energy_nj,leak_nj,latency_us,tops_w", [
    ("chip", "164.7", "12.4", "61.9", "0.363"), ("board", "172.2", "66.7", "333", "0.347")])
def test_digits_per_inference_figures_of_the_docs(tmp_path, profile, energy_nj, leak_nj, latency_us, tops_w):
    """docs/workloads.md quotes the digits MLP's per-inference figures under both profiles."""
    from pathlib import Path

    from emulator.mapper import run_compiled
    from emulator.workloads import digits as D

    c, _ = D.compile_digits(D.shipped_model(True), age_ms=3_600_000)
    pi = run_compiled(c, tmp_path / "d.s", config=profile)[2].per_inference
    got = (f"{pi['energy_j'] * 1e9:.1f}", f"{pi['leakage_j'] * 1e9:.1f}",
           f"{pi['latency_s'] * 1e6:.3g}", f"{pi['tops_w']:.3g}")
    assert got == (energy_nj, leak_nj, latency_us, tops_w)
    text = (Path(__file__).resolve().parent.parent / "docs" / "workloads.md").read_text(encoding="utf-8")
    assert f"{energy_nj} nJ" in text and f"{latency_us} µs" in text and f"{tops_w} TOPS/W" in text


def test_a_wait_for_programming_is_one_time_work():
    """Without a sync after cprog, the first MVM stalls on the programmer: those cycles are
    counted where they happen (work) but moved to the one-time totals."""
    m = Machine().load(SRC.replace("        sync    x0\n        li      x3, 5", "        li      x3, 5"))
    m.enable_profile()
    m.run()
    rep = m.profile_report(inferences=5)
    g = {x["label"]: x for x in rep["groups"]}
    wait = g["work"]["prog_wait"]
    assert wait > 0 and g["setup"]["prog_wait"] == 0
    assert rep["run"]["cycles"] == sum(x["cycles"] for x in rep["groups"] if not x["one_time"]) - wait
    assert rep["one_time"]["cycles"] == g["setup"]["cycles"] + wait
    assert rep["one_time"]["cycles"] + rep["run"]["cycles"] == m.cycle
    # the same program with the sync: the run part takes the same time
    _, synced = _run()
    assert rep["run"]["cycles"] == pytest.approx(synced["run"]["cycles"], abs=2)
