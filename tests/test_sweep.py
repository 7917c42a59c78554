"""Sweeps (docs/sweeps.md): spec checking, the store, resume, retries and determinism across
in-process / LocalCluster runs, a worker killed mid-sweep and a killed client."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator.cli import main as cli
from emulator.sweep import SpecError, Store, load_spec, sweep
from emulator.sweep.store import RUN_DEPENDENT

ROOT = Path(__file__).resolve().parents[1]

DIGITS = """\
[sweep]
name = "test digits"
[workload]
kind = "digits"
n_test = {n}
copies = 1
[grid]
relax_scale = [0.0, 3.0]
seed = {{ from = 1, to = {seeds}, step = 1 }}
"""

PROGRAM = f"""\
[workload]
kind = "program"
program = "{ROOT / 'programs' / 'forward.s'}"
outputs = ["y:16:i8"]
[grid]
read_noise = [0.0, 0.05]
[random]
samples = 2
draw_seed = 3
seed_axis = {{ integers = [1, 1000000] }}
"""


def _spec(tmp_path, text, name="s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(db):
    return [{k: v for k, v in r.items() if k not in RUN_DEPENDENT} for r in Store(db).rows()]


# ------------------------------------------------------------------------------ bad specs

@pytest.mark.parametrize("text, line, words", [
    ("[workload]\nkind = 'digits'\n[grid]\nrelax_scal = [1.0]\n", 4, ["[grid] relax_scal", "unknown key"]),
    ("[workload]\nkind = 'digits'\n\n[grid]\nseed = []\n", 5, ["[grid] seed", "empty axis"]),
    ("[workload]\nkind = 'digits'\n[grid]\nrelax_scale = { from = 2.0, to = 1.0, num = 3 }\n", 4,
     ["[grid] relax_scale", "bad range"]),
    ("[workload]\nkind = 'digits'\n[grid]\nrelax_scale = { from = 0, to = 1, step = 0 }\n", 4,
     ["[grid] relax_scale", "step"]),
    ("[workload]\nkind = 'digits'\nn_test = 5\n[grid]\nread_noise = [0.01, -1.0]\n", 5,
     ["[grid] read_noise", "out of range"]),
    ("[workload]\nkind = 'digits'\n[random]\nsamples = 2\nt_wake = { uniform = [1, 5] }\n", 5,
     ["[random] t_wake", "must be int"]),
    ("[workload]\nkind = 'digits'\nn_tset = 4\n", 3, ["[workload] n_tset", "unknown key"]),
    ("[workload]\nkind = 'rnn'\n[grid]\nin_bits = [2, 4]\n", 4, ["[grid] in_bits", "no in_bits axis"]),
    ("[workload]\nkind = 'digits'\n[config]\nrelax_scale = 1.0\n[grid]\nrelax_scale = [2.0]\n", 6,
     ["[grid] relax_scale", "also fixed"]),
    ("[workload]\nkind = 'digits'\n[grid]\nseed = [1 2]\nrelax_scale = [1.0]\n", 4, ["invalid TOML", "line 4"]),
    ("[workload]\nkind = 'digits'\n[grid]\nbase = ['chip', 'bord']\n", 4, ["[grid] base", "'bord' is neither a shipped profile"]),
])
def test_bad_spec_names_key_and_line(tmp_path, capsys, text, line, words):
    p = _spec(tmp_path, text)
    with pytest.raises(SpecError) as e:
        load_spec(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:") and (f"{p}:{line}:" in msg or f"line {line}" in msg), msg
    for w in words:
        assert w in msg, msg
    assert cli(["sweep", str(p), "--workers", "0", "--out", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err
    assert words[0] in err and "Traceback" not in err
    assert not (tmp_path / "x.db").exists()


def test_profile_axis(tmp_path):
    """`base` sweeps the profile: each point runs on its own."""
    s = load_spec(_spec(tmp_path, "[workload]\nkind = 'digits'\nn_test = 3\n[grid]\nbase = ['chip', 'board']\n"))
    assert [p.params["base"] for p in s.points()] == ["chip", "board"]


def test_spec_expansion_is_grid_times_samples_and_deterministic(tmp_path):
    s = load_spec(_spec(tmp_path, PROGRAM.replace("seed_axis", "col_gain_sigma").replace(
        "integers = [1, 1000000]", "uniform = [0.0, 0.1]")))
    pts = s.points()
    assert len(pts) == 4 and len({p.key for p in pts}) == 4
    assert [p.params["read_noise"] for p in pts] == [0.0, 0.0, 0.05, 0.05]
    # a sample's draw is the same whatever grid point it is paired with, and on every load
    assert pts[0].params["col_gain_sigma"] == pts[2].params["col_gain_sigma"]
    assert pts[0].params["col_gain_sigma"] != pts[1].params["col_gain_sigma"]
    assert [p.key for p in load_spec(s.path).points()] == [p.key for p in pts]


# ------------------------------------------------------------------- store, resume, retries

def test_program_sweep_records_error_vs_ideal_and_resumes(tmp_path):
    spec = _spec(tmp_path, PROGRAM.replace("seed_axis", "seed"))
    db = tmp_path / "p.db"
    s = sweep(spec, out=db, workers=0, progress=False)
    assert (s.points, s.ok, s.failed, s.skipped) == (4, 4, 0, 0)
    rows = Store(db).rows()
    assert {r["params"]["read_noise"] for r in rows} == {0.0, 0.05}
    for r in rows:
        assert r["status"] == "ok" and r["cycles"] > 0 and r["energy_j"] > 0 and r["version"]
        assert len(r["config_hash"]) == 16
        assert r["output_error"] > 0 and len(json.loads(r["outputs"])) == 16, r   # analog vs ideal
    again = sweep(spec, out=db, workers=0, progress=False)
    assert (again.skipped, again.ran) == (4, 0)
    assert len(Store(db).rows()) == 4
    ideal = _spec(tmp_path, PROGRAM.replace("seed_axis", "seed") + '[config]\nmodel = "ideal"\n', "i.toml")
    sweep(ideal, out=tmp_path / "i.db", workers=0, progress=False)
    for r in Store(tmp_path / "i.db").rows():
        assert r["output_error"] == 0.0
        assert json.loads(r["outputs"]) == [-4, 25, 29, 29, 4, -20, -8, 9, -9, 41, -19, 23, -24, 39, -2, -5]


def test_failed_point_recorded_and_retried_once(tmp_path):
    prog = tmp_path / "bad.s"
    prog.write_text("        .data\ny: .zero 4\n        .text\n_start: li x1, 0x7fffffff\n"
                    "        lw x2, 0(x1)\n        halt\n")
    spec = _spec(tmp_path, f'[workload]\nkind = "program"\nprogram = "bad.s"\noutputs = ["y:4:u8"]\n'
                           "[grid]\nseed = [1, 2]\n")
    db = tmp_path / "f.db"
    s = sweep(spec, out=db, workers=0, progress=False)
    assert (s.failed, s.ran) == (2, 4)
    for r in Store(db).rows():
        assert r["status"] == "failed" and r["attempts"] == 2 and "fault" in r["error"]
    assert sweep(spec, out=db, workers=0, progress=False).ran == 0   # retried once, not again


def test_store_refuses_another_sweep(tmp_path, capsys):
    db = tmp_path / "p.db"
    sweep(_spec(tmp_path, PROGRAM.replace("seed_axis", "seed")), out=db, workers=0, progress=False)
    other = _spec(tmp_path, PROGRAM.replace("seed_axis", "seed") + "[config]\nir_drop = 0.1\n", "o.toml")
    assert cli(["sweep", str(other), "--workers", "0", "--out", str(db)]) == 1
    assert "another sweep" in capsys.readouterr().err
    (tmp_path / "junk.db").write_text("not sqlite")
    assert cli(["sweep", "show", str(tmp_path / "junk.db")]) == 1
    assert "not a sweep results database" in capsys.readouterr().err


def test_model_file_sweep_accuracy_with_labels_error_without(tmp_path):
    import numpy as np

    from emulator.mapper import Dense, Model, save_model

    rng = np.random.default_rng(0)
    W = rng.normal(size=(16, 4))
    save_model(Model([Dense(W, np.zeros(4), relu=False, name="fc")], in_scale=1.0), tmp_path / "net.npz")
    X = rng.random((12, 16)) * 15
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", (X @ W).argmax(1))
    base = ('[workload]\nkind = "model"\nmodel_file = "net.npz"\ninputs = "x.npy"\n{labels}'
            "[grid]\nin_bits = [2, 4]\ncopies = [1, 4]\n")
    s = sweep(_spec(tmp_path, base.format(labels='labels = "y.npy"\n')), out=tmp_path / "a.db",
              workers=0, progress=False)
    assert s.ok == 4
    rows = Store(tmp_path / "a.db").rows()
    assert all(0 <= r["accuracy"] <= 1 and r["inferences"] == 12 and r["setup_cycles"] > 0 for r in rows)
    # more input bits: longer MVMs, more energy per inference
    by = {(r["params"]["in_bits"], r["params"]["copies"]): r for r in rows}
    assert by[(4, 1)]["latency_per_inference_s"] > by[(2, 1)]["latency_per_inference_s"]
    sweep(_spec(tmp_path, base.format(labels=""), "u.toml"), out=tmp_path / "u.db", workers=0, progress=False)
    for r in Store(tmp_path / "u.db").rows():
        assert r["accuracy"] is None and r["output_error"] is not None


# ------------------------------------------------------------------- Dask: determinism, faults

def test_two_worker_cluster_equals_in_process_row_for_row(tmp_path):
    spec = _spec(tmp_path, DIGITS.format(n=20, seeds=2))
    sweep(spec, out=tmp_path / "here.db", workers=0, progress=False)
    s = sweep(spec, out=tmp_path / "dask.db", workers=2, progress=False)
    assert s.workers == 2 and s.ok == 4
    assert _rows(tmp_path / "here.db") == _rows(tmp_path / "dask.db")
    prog = _spec(tmp_path, PROGRAM.replace("seed_axis", "seed"), "p.toml")
    sweep(prog, out=tmp_path / "ph.db", workers=0, progress=False)
    sweep(prog, out=tmp_path / "pd.db", workers=2, progress=False)
    assert _rows(tmp_path / "ph.db") == _rows(tmp_path / "pd.db")


def test_worker_killed_mid_sweep_every_point_exactly_once(tmp_path):
    from distributed import Client

    from emulator.sweep.engine import local_cluster

    spec = _spec(tmp_path, DIGITS.format(n=120, seeds=6))
    db = tmp_path / "k.db"
    with local_cluster(2) as cluster, \
            Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed_at = []

        def kill_one():
            # once some points are stored, kill one worker process (the nanny restarts it)
            deadline = time.time() + 120
            while time.time() < deadline:
                try:
                    n = sqlite3.connect(db).execute("SELECT count(*) FROM points").fetchone()[0]
                except sqlite3.Error:
                    n = 0
                if n >= 2:
                    os.kill(pids[0], signal.SIGKILL)
                    killed_at.append(n)
                    return
                time.sleep(0.02)

        t = threading.Thread(target=kill_one)
        t.start()
        s = sweep(spec, out=db, scheduler=cluster.scheduler_address, progress=False)
        t.join()
    assert killed_at and killed_at[0] < 12        # the worker died while points were left
    assert s.ok == 12 and s.failed == 0
    keys = [r[0] for r in sqlite3.connect(db).execute("SELECT key FROM points")]
    assert len(keys) == len(set(keys)) == 12
    assert {p.key for p in load_spec(spec).points()} == set(keys)
    sweep(spec, out=tmp_path / "ref.db", workers=0, progress=False)
    assert [{k: v for k, v in r.items() if k != "attempts"} for r in _rows(db)] == \
        [{k: v for k, v in r.items() if k != "attempts"} for r in _rows(tmp_path / "ref.db")]


def test_resume_after_client_killed(tmp_path):
    spec = _spec(tmp_path, DIGITS.format(n=120, seeds=6))
    db = tmp_path / "c.db"
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "sweep", str(spec), "--out", str(db),
                             "--workers", "1", "--quiet"], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, n = time.time() + 120, 0
        while time.time() < deadline and proc.poll() is None:
            try:
                n = sqlite3.connect(db).execute("SELECT count(*) FROM points").fetchone()[0]
            except sqlite3.Error:
                n = 0
            if n >= 3:
                break
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)   # the client and its LocalCluster, at once
        proc.wait()
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM points").fetchone()[0]
    assert 3 <= stored
    s = sweep(spec, out=db, workers=0, progress=False)
    assert s.skipped == stored and s.ok == 12
    keys = [r[0] for r in sqlite3.connect(db).execute("SELECT key FROM points")]
    assert len(keys) == len(set(keys)) == 12
    sweep(spec, out=tmp_path / "ref.db", workers=0, progress=False)
    assert _rows(db) == _rows(tmp_path / "ref.db")


# ------------------------------------------------------------------------------ show

def test_show_prints_table_and_pictures(tmp_path, capsys):
    spec = _spec(tmp_path, DIGITS.format(n=20, seeds=2).replace("seed = ", "in_bits = [2, 4]\nseed = "))
    db = tmp_path / "d.db"
    assert cli(["sweep", str(spec), "--workers", "0", "--out", str(db), "--quiet"]) == 0
    capsys.readouterr()
    assert cli(["sweep", "show", str(db)]) == 0
    out = capsys.readouterr().out
    assert "test digits: 8 finished points" in out
    assert "accuracy vs relax_scale" in out and "energy per inference vs in_bits" in out
    assert "Pareto front" in out and "●" in out
    assert cli(["sweep", "show", str(tmp_path / "none.db")]) == 1


def test_example_specs_are_valid():
    noise = load_spec(ROOT / "programs" / "sweeps" / "digits_noise.toml")
    assert noise.workload["kind"] == "digits" and set(noise.axes) == {"relax_scale", "seed"}
    assert len(noise.points()) == 25
    bits = load_spec(ROOT / "programs" / "sweeps" / "energy_bits.toml")
    assert {p.params["in_bits"] for p in bits.points()} == {1, 2, 3, 4, 6, 8}


def test_parquet_export_or_clear_refusal(tmp_path, capsys):
    spec = _spec(tmp_path, PROGRAM.replace("seed_axis", "seed"))
    db, pq = tmp_path / "p.db", tmp_path / "p.parquet"
    rc = cli(["sweep", str(spec), "--workers", "0", "--out", str(db), "--quiet", "--parquet", str(pq)])
    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        assert rc == 1 and "needs pandas and pyarrow" in capsys.readouterr().err and not db.exists()
        return
    assert rc == 0
    import pandas as pd
    df = pd.read_parquet(pq)
    assert len(df) == 4 and "param_read_noise" in df.columns
