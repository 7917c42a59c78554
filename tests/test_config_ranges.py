"""Strict configuration: every key has a range in one table (emulator.config.RANGES), values
outside it are refused naming the file, key, value and range; the docs list the same ranges."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator import ChipConfig, ConfigError, Machine
from emulator.config import CHOICES, RANGES, range_text

KEYS = list(ChipConfig.defaults())


def _outside(key: str) -> list:
    lo, hi, _ = RANGES[key]
    if isinstance(lo, float):
        return [lo - max(1.0, abs(lo)), hi * 2 + 1]
    return [lo - 1, hi + 1]


def test_every_key_has_exactly_one_range_and_the_defaults_are_inside():
    assert set(RANGES) | set(CHOICES) == set(KEYS) and not set(RANGES) & set(CHOICES)
    d = ChipConfig.defaults()
    for k, (lo, hi, _why) in RANGES.items():
        assert lo <= d[k] <= hi, k


@pytest.mark.parametrize("key", [k for k in KEYS if k in RANGES])
def test_each_key_refuses_values_outside_its_range_naming_file_key_value_range(key, tmp_path):
    lo, hi, _ = RANGES[key]
    # wv_v_start ≤ wv_v_max: the other one moves out of the way
    # (and g_min_ns < op_g_max_ns)
    both = {"wv_v_max": 100.0} if key == "wv_v_start" else {"wv_v_start": 0.0} if key == "wv_v_max" else \
        {"op_g_max_ns": 65535} if key == "g_min_ns" else {"g_min_ns": 0} if key == "op_g_max_ns" else {}
    for v in (lo, hi):
        assert ChipConfig.load({**both, key: v})[key] == v
    for v in _outside(key):
        if abs(v) < 2**63:              # TOML integers are 64-bit signed
            f = tmp_path / "my.toml"
            f.write_text(f"{key} = {v!r}\n")
            with pytest.raises(ConfigError) as e:
                ChipConfig.load(f)
            text = str(e.value)
            assert text.startswith(f"{f}: key '{key}' = {v!r} is out of range {range_text(key)}")
        with pytest.raises(ConfigError, match=rf"<dict>: key '{key}' = .* is out of range"):
            ChipConfig.load({key: v})


def test_zero_neuron_and_scan_dividers_no_longer_make_mvms_and_scans_free(tmp_path, capsys):
    from emulator.cli import main as cli_main

    for key in ("neuron_div", "scan_div"):
        with pytest.raises(ConfigError, match=f"'{key}' = 0 is out of range 1..16777215"):
            Machine(config={key: 0})
        cfg = tmp_path / "z.toml"
        cfg.write_text(f"{key} = 0\n")
        assert cli_main(["run", "programs/demo.s", "--config", str(cfg)]) == 1
        err = capsys.readouterr().err
        assert f"z.toml: key '{key}' = 0 is out of range" in err and "Traceback" not in err


def test_rules_between_keys_and_choices():
    with pytest.raises(ConfigError, match="'wv_v_start' = 5.0 must not exceed wv_v_max = 4.0"):
        ChipConfig.load({"wv_v_start": 5.0})
    # one file may raise both in any order
    assert ChipConfig.load({"wv_v_start": 5.0, "wv_v_max": 6.0})["wv_v_start"] == 5.0
    with pytest.raises(ConfigError, match="key 'model' must be one of ideal, analog, got 'x'"):
        ChipConfig.load({"model": "x"})


def test_the_docs_list_every_range():
    text = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|$", text, re.M))
    for k in KEYS:
        assert rows.get(k) == range_text(k), k
