"""The documentation's promises, checked: the README program prints what the README says, the
tutorial's Python session works, and every profile key is documented."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np

from emulator import Machine
from emulator.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent


def _code_block(path: Path, lang: str, index: int = 0) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    return blocks[index]


def test_readme_first_program_gives_the_printed_result(tmp_path, capsys):
    src = tmp_path / "first.s"
    src.write_text(_code_block(ROOT / "README.md", "asm"), encoding="utf-8")
    assert cli_main(["run", str(src), "--dump", "y:4:i8"]) == 0
    out = capsys.readouterr().out
    assert "[ 5 -5  8  4]" in out
    m = Machine().load(str(src))
    assert m.run().stop == "halt"
    np.testing.assert_array_equal(m.mem(m.sym("y"), 4, "i8"), [5, -5, 8, 4])


def test_tutorial_cycle_table_adds_up(tmp_path):
    # the tutorial explains the 8 958 cycles of the first program operation by operation (chip
    # profile), then the 15 911 of the test board
    src = tmp_path / "first.s"
    src.write_text(_code_block(ROOT / "README.md", "asm"), encoding="utf-8")
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `?[\w.]+`?[^|]*\| ([\d ]+) \|", text, re.M)
    assert sum(int(r.replace(" ", "")) for r in rows) == 8_958
    assert Machine().load(str(src)).run().cycles == 8_958 and "8 958 cycles" in text
    board = Machine(config="board").load(str(src))
    board.run()
    assert board.cycle == 15_911 and "15 911 cycles" in text
    mvm = board.cores[0].events["mvm_cycles"]
    assert mvm == 7_432 and "7 432 cycles" in text


def test_tutorial_python_session(tmp_path, monkeypatch):
    (tmp_path / "first.s").write_text(_code_block(ROOT / "README.md", "asm"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = _code_block(ROOT / "docs" / "tutorial.md", "python")
    scope: dict = {}
    exec(compile(code, "tutorial.md", "exec"), scope)
    m, snap = scope["m"], scope["snap"]
    assert m.snapshot() == snap


def test_every_chip_config_key_is_documented():
    keys = {}
    for prof in ("board", "chip"):
        with open(ROOT / "emulator" / "profiles" / f"{prof}.toml", "rb") as f:
            keys.update(tomllib.load(f))
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")

    def flat(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            else:
                yield prefix + k
    missing = [k for k in flat(keys) if f"`{k}`" not in doc and f"`{k.rsplit('.', 1)[-1]}`" not in doc]
    assert not missing, f"profile keys missing from docs/configuration.md: {missing}"


def test_docs_links_resolve():
    for md in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", md.read_text(encoding="utf-8")):
            assert (md.parent / target).exists(), f"{md.name} links to missing {target}"


def test_tutorial_analog_section(tmp_path):
    # the README program with its weights ×25 and the output gain 41/1024, as the tutorial shows
    text = _code_block(ROOT / "README.md", "asm")
    text = text.replace(".byte  1, -2,  3, 0", ".byte  25, -50,  75, 0").replace(
        ".byte  2,  1, -1, 4", ".byte  50,  25, -25, 100").replace(
        "ccfg.ncols x1, 4", "ccfg.ncols x1, 4\n        ccfg.gain x1, 41\n        ccfg.gshift x1, 10")
    src = tmp_path / "first25.s"
    src.write_text(text, encoding="utf-8")
    ideal = Machine().load(str(src))
    ideal.run()
    np.testing.assert_array_equal(ideal.mem(ideal.sym("y"), 4, "i8"), [5, -5, 8, 4])
    outs = []
    for seed in (1, 2, 3):
        m = Machine(model="analog", seed=seed).load(str(src))
        m.run()
        outs.append(m.mem(m.sym("y"), 4, "i8").astype(int))
    errs = np.abs(np.array(outs) - [5, -5, 8, 4])
    assert errs.max() <= 4 and errs.mean() < 2.5          # "within a few codes"
    assert len({tuple(o) for o in outs}) > 1               # a different way for each seed
    # and the unscaled program is dominated by the programming window, as the tutorial says
    raw = Machine(model="analog", seed=1).load(_code_block(ROOT / "README.md", "asm"))
    raw.run()
    assert np.abs(raw.mem(raw.sym("y"), 4, "i8").astype(int) - [5, -5, 8, 4]).max() > 2


def test_readme_bring_your_own_model_works(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_code_block(ROOT / "README.md", "python"), "README.md", "exec"), {})
    sh = _code_block(ROOT / "README.md", "sh", 3).splitlines()
    compile_args = sh[0].split("#")[0].split()[1:]
    assert compile_args[0] == "compile" and cli_main(compile_args) == 0
    assert "2 of 48 cores used" in capsys.readouterr().out
    run_args = sh[1].split()[1:]
    assert cli_main(run_args) == 0
    loop_out = capsys.readouterr().out
    assert "pred (4 ×" in loop_out
    batched_args = sh[2].split("#")[0].split()[1:]       # --batched: the same results
    assert "--batched" in batched_args and cli_main(batched_args) == 0
    capsys.readouterr()
    assert cli_main([run_args[0], "netb/net.s", *run_args[2:]]) == 0
    batched_out = capsys.readouterr().out
    # the dumped values, after the timing lines (the buffers' addresses differ)
    pick = lambda text: re.sub(r" at 0x[0-9a-f]+", "", text[text.index("out ("):])   # noqa: E731
    assert pick(batched_out) == pick(loop_out)


def test_tutorial_own_network_section(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_code_block(ROOT / "docs" / "tutorial.md", "python", 1), "tutorial.md", "exec"), {})
    out = capsys.readouterr().out
    acc = {m: float(a) for m, a in re.findall(r"(ideal|analog) accuracy ([0-9.]+)", out)}
    assert acc["ideal"] >= 0.85 and acc["analog"] >= 0.8 and "cores used" in out
    assert (tmp_path / "mlp.npz").exists() and (tmp_path / "mlp" / "mlp.s").exists()


def test_tutorial_beyond_one_vector_commands_work_as_written(capsys):
    """Every `neurram …` line of the tutorial's section 14 runs and exits 0."""
    import shlex

    from emulator.cli import main

    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    sec = text[text.index("## 14. Beyond one vector"):text.index("## 15. Where next")]
    lines = [ln.split("#")[0].strip() for ln in sec.splitlines() if ln.startswith("neurram ")]
    assert len(lines) == 7
    for ln in lines:
        argv = shlex.split(ln)[1:]
        assert main(argv) == 0, ln
    out = capsys.readouterr().out
    for said in ("batched program: chip time", "per-sample loop program: chip time", "analog mean reduction",
                 "system of 3 chips",
                 "cores per chip 33 + 26", "spikes / inference", "epoch"):
        assert said in out, said
