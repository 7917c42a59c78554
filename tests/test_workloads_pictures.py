"""Pictures (emulator/mapper/pictures.py): the rich core grid and accuracy bars, the PNG fallback."""
import io

from rich.console import Console

from emulator.mapper import pictures as PIC


def _render(x):
    con = Console(file=io.StringIO(), width=120, color_system=None)
    con.print(x)
    return con.file.getvalue()


def test_core_grid_marks_used_cores():
    txt = _render(PIC.core_grid([(0, "conv", 0.05), (6, "fc", 0.38)], "t"))
    assert "2 of 48 cores used" in txt and "0 conv" in txt and "6 fc" in txt and "38%" in txt
    import re
    assert re.search(r"\b1 off", txt) and not re.search(r"\b6 off", txt) and re.search(r"\b7 off", txt)


def test_accuracy_bars_scale():
    txt = _render(PIC.accuracy_bars([("ideal", {"a": [1.0]}), ("analog", {"a": [0.9, 0.92]})], lo=0.8))
    lines = [ln for ln in txt.splitlines() if ln.strip().startswith("a ")]
    assert lines[0].count("█") == 40 and lines[1].count("█") == 22
    assert "91.00 % ± 1.41" in txt


def test_png_without_matplotlib_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(PIC, "have_matplotlib", lambda: False)
    assert PIC.png_core_map([(0, "x", 0.5)], tmp_path / "c.png") is None
    assert "matplotlib" in capsys.readouterr().out and not (tmp_path / "c.png").exists()


def test_png_files_when_matplotlib_is_installed(tmp_path):
    import pytest
    pytest.importorskip("matplotlib")   # an optional extra (pip install '.[plots]')
    c = PIC.png_core_map([(0, "conv", 0.05), (6, "fc", 0.38)], tmp_path / "c.png")
    a = PIC.png_accuracy([("ideal", {"a": [0.96]}), ("analog", {"a": [0.95, 0.94]})], tmp_path / "a.png")
    for path in (c, a):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_cnn_and_rnn_commands_draw_their_core_map(capsys):
    from emulator.cli import main
    for cmd, label in (("cnn", "1 fc"), ("rnn", "0 rnn")):
        assert main([cmd, "--n-test", "12", "--seeds", "1", "--map"]) == 0
        out = capsys.readouterr().out
        assert f"{cmd} core map: " in out and label in out
        assert "chip analog" in out and "noise-aware" in out and "plain" in out
