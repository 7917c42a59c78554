"""The chip profile reproduces the NeuRRAM chip's measured figures (ED Fig. 12 as reconstructed by
CiMLoop) within the issue's tolerances on every row: a change to the timing or energy model that
breaks agreement with silicon fails here."""
from __future__ import annotations

import json

import pytest

from emulator import silicon
from emulator.cli import main

ROWS = silicon.reproduce()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['in_bits']}b-{r['out_bits']}b-{r['phases']}ph")
def test_every_row_is_within_the_tolerances(row):
    assert abs(row["tops_w"] / row["ref_tops_w"] - 1) <= 0.05
    assert abs(row["tops"] / row["ref_tops"] - 1) <= 0.05
    assert abs(row["latency_us"] / row["ref_latency_us"] - 1) <= 0.10
    got, want = silicon.shares(row["fj_per_op"]), silicon.shares(row["ref_fj_per_op"])
    for k in ("wl", "neuron", "input"):
        assert abs(got[k] - want[k]) <= 3.0, k


def test_the_rows_are_the_reference_table():
    assert [(r["in_bits"], r["out_bits"], r["phases"]) for r in ROWS] == \
        [(1, 3, 1), (2, 4, 1), (3, 5, 1), (4, 6, 1), (5, 7, 1), (5, 7, 2), (6, 8, 1), (6, 8, 2),
         (7, 9, 2), (8, 10, 2)]
    assert silicon.out_of_tolerance(ROWS) == []
    # peak TOPS is 48 cores × 65 536 ops per MVM latency: the two columns agree
    for r in ROWS:
        assert r["tops"] == pytest.approx(48 * 65536 / (r["latency_us"] * 1e-6) / 1e12, rel=1e-3)


def test_the_board_profile_is_far_from_silicon():
    """The test system's timing is ~20× slower: reproduce says so rather than passing."""
    row = silicon.measure(silicon.ROWS[3], "board")
    assert row["latency_us"] > 10 * row["ref_latency_us"]
    assert silicon.out_of_tolerance([row])


def test_cli_json_has_exactly_the_documented_keys(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert main(["reproduce", "energy", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())     # the report envelope of docs/cli.md, the rows under "rows"
    assert doc["command"] == "reproduce energy" and doc["ok"] and doc["profile"] == "chip"
    rows = doc["rows"]
    assert len(rows) == 10
    for r in rows:
        assert list(r) == ["in_bits", "out_bits", "phases", "tops", "ref_tops", "tops_w", "ref_tops_w",
                           "latency_us", "ref_latency_us", "fj_per_op", "ref_fj_per_op"]
        assert set(r["fj_per_op"]) == set(r["ref_fj_per_op"]) == {"wl", "neuron", "input", "total"}
    text = capsys.readouterr().out
    assert "4/6" in text and "TOPS/W, measured" in text


def test_cli_board_exits_outside_tolerance_and_bad_config(capsys):
    assert main(["reproduce", "energy", "--config", "board"]) == 5
    assert "outside tolerance" in capsys.readouterr().err
    assert main(["reproduce", "energy", "--config", "nosuch"]) == 1
    assert "no profile named 'nosuch'" in capsys.readouterr().err


def test_png_without_matplotlib_is_skipped_cleanly(tmp_path, capsys, monkeypatch):
    import emulator.mapper.pictures as PIC

    monkeypatch.setattr(PIC, "have_matplotlib", lambda: False)
    assert main(["reproduce", "energy", "--png", str(tmp_path / "png")]) == 0
    assert "needs matplotlib" in capsys.readouterr().out
    assert not (tmp_path / "png").exists()


def test_docs_table_is_what_the_command_measures():
    """docs/analog.md quotes the measured/reference rows: they must be today's."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "analog.md").read_text(encoding="utf-8")
    for r in ROWS:
        f, g = r["fj_per_op"], r["ref_fj_per_op"]
        s, q = silicon.shares(f), silicon.shares(g)
        line = (f"| {r['in_bits']}/{r['out_bits']} | {r['phases']} | {r['tops']:.3f} / {r['ref_tops']:.3f} | "
                f"{r['tops_w']:.2f} / {r['ref_tops_w']:.2f} | {r['latency_us']:.2f} / {r['ref_latency_us']:.2f} | "
                f"{f['wl']:.1f} / {g['wl']:.1f} | {f['neuron']:.1f} / {g['neuron']:.1f} | "
                f"{f['input']:.1f} / {g['input']:.1f} | {s['wl']:.0f}/{s['neuron']:.0f}/{s['input']:.0f} vs "
                f"{q['wl']:.0f}/{q['neuron']:.0f}/{q['input']:.0f} |")
        assert line in text, line


def test_png_curves_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    assert main(["reproduce", "energy", "--png", str(tmp_path)]) == 0
    for name in ("energy_efficiency.png", "energy_breakdown.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
