"""The mapper spilling a network over chips: conv residual adds and global average pooling
bit-exact on one chip, the partition rules, one vs several chips giving the same outputs, and
the ResNet-20-shaped example on two chips (full size behind the slow marker)."""
from __future__ import annotations

import numpy as np
import pytest

from emulator.mapper import MapError, compile_model, quantise, reference, run_compiled
from emulator.mapper.multichip import compile_system, partition, run_system_compiled
from emulator.workloads.resnet import resnet20, run_resnet


def _small(seed=0, n=3):
    m = resnet20(seed, in_hw=8, widths=(4, 8, 8), blocks=1)
    rng = np.random.default_rng(seed + 1)
    q = quantise(m, rng.random((12, 8 * 8 * 3)))
    return q, q.encode(rng.random((n, 8 * 8 * 3)))


def test_small_resnet_on_one_chip_is_bit_exact(tmp_path):
    q, rows = _small()
    assert [type(L).__name__ for L in q.layers][-2:] == ["QGap", "QDense"]
    assert q.layers[2].residual == 0                 # s1b1b adds the stem's codes
    out, _, r = run_compiled(compile_model(q, rows, name="r"), tmp_path / "r.s")
    assert r.ok and np.array_equal(out, reference(q, rows))


def test_one_and_several_chips_give_the_same_outputs(tmp_path):
    q, rows = _small()
    one, _, _ = run_compiled(compile_model(q, rows, name="r"), tmp_path / "one" / "r.s")
    sc = compile_system(q, rows, name="r", max_cores=4)
    assert len(sc.chips) >= 2 and sum(sc.cores()) == sum(len(L.segments) * len(L.colblocks)
                                                         for L in q.layers if hasattr(L, "segments"))
    for link in ("c2c", "host"):
        out, pred, r, s = run_system_compiled(sc, tmp_path / link / "r", link=link)
        assert r.ok and np.array_equal(out, one) and np.array_equal(out, reference(q, rows))
        tot = s.link_report()["total"]
        assert tot["bytes"] == len(rows) * sum(t["bytes"] for t in sc.transfers)
        assert tot["transfers"] == len(rows) * len(sc.transfers)


def test_the_map_names_every_chip_and_transfer():
    q, rows = _small()
    sc = compile_system(q, rows, name="r", max_cores=4)
    text = sc.map_text()
    for k in range(len(sc.chips)):
        assert f"chip {k}: layers " in text
    assert "bytes per sample" in text
    assert all("send" in c.asm for c in sc.chips[:-1]) and all("recv" in c.asm for c in sc.chips[1:])


def test_cuts_stay_outside_residual_connections():
    q, _ = _small()
    ranges = partition(q, max_cores=4)
    assert len(ranges) >= 2 and ranges[0][0] == 0 and ranges[-1][1] == len(q.layers)
    for a, _b in ranges[1:]:
        assert type(q.layers[a]).__name__ in ("QConv", "QPool")
        for j, L in enumerate(q.layers):
            r = getattr(L, "residual", None)
            assert r is None or not r < a <= j


def test_a_model_that_cannot_be_cut_is_refused():
    q, rows = _small()
    with pytest.raises(MapError, match="more than one chip"):
        partition(q, max_cores=1)


def test_conv_residual_of_another_shape_is_refused():
    from emulator.mapper import Conv2D, Dense, Model

    rng = np.random.default_rng(0)
    m = Model([Conv2D(rng.normal(size=(3, 3, 1, 4)), padding=1, name="a"),
               Conv2D(rng.normal(size=(3, 3, 4, 4)), padding=1, stride=2, name="b", residual=0),
               Dense(rng.normal(size=(64, 3)), relu=False, name="fc")], in_shape=(8, 8, 1))
    with pytest.raises(MapError, match="residual from a has shape"):
        quantise(m, rng.random((4, 64)))


def test_global_average_pool_needs_a_power_of_two_positions():
    from emulator.mapper import Conv2D, Dense, Model
    from emulator.mapper.gap import GlobalAvgPool2D

    rng = np.random.default_rng(0)
    m = Model([Conv2D(rng.normal(size=(3, 3, 1, 4)), name="a"), GlobalAvgPool2D(name="g"),
               Dense(rng.normal(size=(4, 3)), relu=False, name="fc")], in_shape=(8, 8, 1))
    with pytest.raises(MapError, match="power of two"):
        m.shapes()   # a 3×3 kernel without padding leaves 6×6 = 36 positions


@pytest.mark.slow
def test_resnet20_on_two_chips_bit_exact_both_links():
    r = run_resnet(n_inputs=2, links=("c2c", "host"))
    assert len(r["cores"]) == 2 and sum(r["cores"]) == 59
    assert r["cores"] == [33, 26]
    for link in ("c2c", "host"):
        assert r["links"][link]["bit_exact"]
        assert r["links"][link]["link_bytes_per_inference"] == 4096
    # the figures docs/mapper.md quotes: c2c 128 packets × 5 ns + 5 ns flight, 4096·8 bits ×
    # 203.125 pJ; host 2 × ceil((100 µs + 256 blocks × 47.059 ns) / 10 ns) cycles, 8192·8 × 100 pJ
    c2c, host = r["links"]["c2c"], r["links"]["host"]
    assert c2c["link_latency_s_per_inference"] == pytest.approx(0.65e-6)
    assert c2c["link_energy_j_per_inference"] == pytest.approx(6.656e-6)
    assert host["link_latency_s_per_inference"] == pytest.approx(224.1e-6)
    assert host["link_energy_j_per_inference"] == pytest.approx(6.5536e-6)
    assert host["wire_bytes_per_inference"] == 8192


@pytest.mark.slow
def test_neurram_compile_writes_a_two_chip_system_that_neurram_run_executes(tmp_path, capsys):
    import json

    from emulator.cli import main
    from emulator.mapper import load_model, save_model

    save_model(resnet20(0), tmp_path / "resnet.npz")
    X = np.random.default_rng(5).random((2, 32 * 32 * 3))
    np.save(tmp_path / "x.npy", X)
    assert main(["compile", str(tmp_path / "resnet.npz"), "-o", str(tmp_path / "out" / "resnet.s"),
                 "--inputs", str(tmp_path / "x.npy")]) == 0
    text = capsys.readouterr().out
    assert "chip 0: layers stem … s3b1a, 33 cores" in text and "chip 1: layers s3b1b … fc, 26 cores" in text
    toml = tmp_path / "out" / "resnet.toml"
    assert main(["run", str(toml), "--dump", "1/out::i16", "--json", str(tmp_path / "r.json")]) == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    q = quantise(load_model(tmp_path / "resnet.npz"), X)
    assert rep["dumps"]["1/out"] == reference(q, q.encode(X)).ravel().tolist()


@pytest.mark.slow
def test_neurram_resnet_command(tmp_path, capsys):
    import json

    from emulator.cli import main

    assert main(["resnet", "--inputs", "1", "--link", "c2c", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "cores per chip 33 + 26 = 59 (authors' mapping: 45 + 19 = 64)" in out
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["links"]["c2c"]["bit_exact"] and r["links"]["c2c"]["cycles_per_inference"] > 0
    # the same system on the test board's timing: each chip slower per image, the link unchanged
    assert main(["resnet", "--inputs", "1", "--link", "c2c", "--config", "board",
                 "--json", str(tmp_path / "b.json")]) == 0
    b = json.loads((tmp_path / "b.json").read_text())
    assert r["profile"] == "chip" and b["profile"] == "board"
    assert b["links"]["c2c"]["cycles_per_inference"] > 3 * r["links"]["c2c"]["cycles_per_inference"]
    assert b["links"]["c2c"]["link_bytes_per_inference"] == r["links"]["c2c"]["link_bytes_per_inference"]
    assert main(["resnet", "--config", "nosuch"]) == 1
