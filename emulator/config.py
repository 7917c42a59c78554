"""Chip configuration: emulator/chip.toml (documented defaults) plus user overrides.

    cfg = ChipConfig.load("my.toml")          # defaults, then the keys of my.toml
    cfg = ChipConfig.load({"t_wake": 10})      # or a dict of overrides
    cfg["seed"], cfg.to_c()                    # values; the C `nr_config` for nr_init

An override with an unknown key, a wrong type or a value outside the key's range (RANGES: the
one table of every key's range, docs/configuration.md) raises ConfigError naming the file (or
"<dict>"), the key, the value and the range.  The C core checks the whole configuration again.
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Mapping

from isa.tables import GROUPS

from ._native import PARAM_MAX, PARAM_NAMES, ffi, lib

DEFAULT_PATH = Path(__file__).resolve().parent / "chip.toml"
MODELS = {"ideal": lib.NR_MODEL_IDEAL, "analog": lib.NR_MODEL_ANALOG}

# key → expected Python type; the timing parameters come from the C core's X-macro list
_BASE_TYPES: dict[str, type] = {
    "model": str, "seed": int, "mem_size": int, "clock_hz": float,
    "g_lsb_ns": int, "g_pulse_ns": int,
    # analog model (csrc/analog.c, docs/analog.md)
    "g_tol_ns": int, "g_min_ns": int, "wv_max_vmax": int, "wv_max_iters": int,
    "wv_v_start": float, "wv_v_step": float, "wv_v_max": float, "wv_v_th": float,
    "wv_set_gain_ns": float, "wv_reset_gain_ns": float, "wv_pulse_sigma": float,
    "wv_read_sigma_ns": float, "relax_scale": float, "relax_wv_sigma_ns": float,
    "read_noise": float, "col_gain_sigma": float, "core_offset_sigma": float, "ir_drop": float,
    # host execution: never changes results (threads) or only their draws (wv_reference)
    "threads": int, "wv_reference": int,
}

# per-event energies (pJ) of the energy report: Python only (emulator/energy.py)
ENERGY_KEYS: tuple[str, ...] = (
    "e_line_pulse_pj", "e_integ_pj", "e_compare_pj", "e_decrement_pj", "e_scan_shift_pj",
    "e_wv_pulse_pj", "e_wv_read_pj", "e_leak_core_cycle_pj", "e_vec_elem_pj",
) + tuple(f"e_insn_{g}_pj" for g in GROUPS)   # one issue energy per instruction group of the table
_BASE_TYPES.update({k: float for k in ENERGY_KEYS})


_DEFAULTS: "ChipConfig | None" = None

# Every key's range, inclusive: (lo, hi, why).  A cost of 0 would make an instruction or core
# operation free (time would not advance in a loop of them), so those start at 1.
_P = PARAM_MAX
_TIMING = {"t_load": 0, "t_branch": 0, "t_mul": 1, "t_div": 1, "t_vsetup": 1, "vec_lanes": 1,
           "t_wake": 0, "scan_div": 1, "neuron_div": 1, "t_cds": 0, "t_sample": 0, "t_integ": 1,
           "t_comp": 1, "t_step": 1, "t_verify": 1, "t_pulse": 1, "t_cellread": 1}
RANGES: dict[str, tuple[float, float, str]] = {
    "seed": (0, 2**64 - 1, "64-bit"),
    "mem_size": (1, 2**32, "bytes, up to 4 GiB"),
    "clock_hz": (1e3, 1e12, "Hz"),
    "g_lsb_ns": (3, 511, "nS: int16 weight cache, uint16 conductance of code -128"),
    "g_pulse_ns": (1, 65535, "nS"),
    "g_tol_ns": (1, 65535, "nS"), "g_min_ns": (0, 65535, "nS"),
    "wv_max_vmax": (0, 10**6, "pulses"), "wv_max_iters": (1, 10**6, "runs"),
    "wv_v_start": (0.0, 100.0, "V, at most wv_v_max"), "wv_v_step": (1e-3, 100.0, "V"),
    "wv_v_max": (0.0, 100.0, "V"), "wv_v_th": (0.0, 100.0, "V"),
    "wv_set_gain_ns": (0.0, 1e6, "nS/V"), "wv_reset_gain_ns": (0.0, 1e6, "nS/V"),
    "wv_pulse_sigma": (0.0, 100.0, "relative"), "wv_read_sigma_ns": (0.0, 1e6, "nS"),
    "relax_scale": (0.0, 1e3, "0 = off"), "relax_wv_sigma_ns": (0.0, 1e6, "nS"),
    "read_noise": (0.0, 100.0, "of full scale"), "col_gain_sigma": (0.0, 100.0, "relative"),
    "core_offset_sigma": (0.0, 1e6, "output codes"), "ir_drop": (0.0, 1e3, "per mS"),
    "threads": (0, 1024, "0 = all host cores"), "wv_reference": (0, 1, "0 or 1"),
    **{k: (lo, _P, "cycles" if k != "vec_lanes" else "elements per cycle") for k, lo in _TIMING.items()},
    **{k: (0.0, 1e9, "pJ") for k in ENERGY_KEYS},
}
CHOICES: dict[str, tuple[str, ...]] = {"model": ("ideal", "analog")}


def range_text(key: str) -> str:
    """The range of a key as the error messages and docs/configuration.md show it."""
    if key in CHOICES:
        return "one of " + ", ".join(CHOICES[key])
    lo, hi, why = RANGES[key]
    fmt = (lambda v: f"{v:g}") if isinstance(lo, float) else (lambda v: f"{v}")
    return f"{fmt(lo)}..{fmt(hi)} ({why})" if why else f"{fmt(lo)}..{fmt(hi)}"


class ConfigError(ValueError):
    """A configuration key is unknown, has the wrong type or is out of range."""


def _types() -> dict[str, type]:
    return {**_BASE_TYPES, **{p: int for p in PARAM_NAMES}}


def _check_type(key: str, value: Any, want: type, where: str) -> Any:
    if want is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{where}: key '{key}' must be a finite number, got {value!r}")
        return float(value)
    if want is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if want is str and isinstance(value, str):
        return value
    raise ConfigError(f"{where}: key '{key}' must be {'a number' if want is float else want.__name__}"
                      f", got {type(value).__name__} {value!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None


class ChipConfig(Mapping[str, Any]):
    """The resolved configuration: an immutable mapping of key → value."""

    def __init__(self, values: dict[str, Any], sources: tuple[str, ...] = ()):
        self._values = dict(values)
        self.sources = sources

    @classmethod
    def defaults(cls) -> "ChipConfig":
        global _DEFAULTS
        if _DEFAULTS is None:
            _DEFAULTS = cls._read_defaults()
        return _DEFAULTS

    @classmethod
    def _read_defaults(cls) -> "ChipConfig":
        raw = _read_toml(DEFAULT_PATH)
        types = _types()
        missing = sorted(set(types) - set(raw))
        extra = sorted(set(raw) - set(types))
        if missing or extra:   # a broken install or a table change without a chip.toml update
            raise ConfigError(f"{DEFAULT_PATH}: missing keys {missing}, unknown keys {extra}")
        values = {k: _check_type(k, v, types[k], str(DEFAULT_PATH)) for k, v in raw.items()}
        return cls(values, (str(DEFAULT_PATH),))

    @classmethod
    def load(cls, override: "str | Path | Mapping[str, Any] | ChipConfig | None" = None,
             **extra: Any) -> "ChipConfig":
        """Defaults, then `override` (a TOML path or a mapping), then keyword overrides."""
        cfg = cls.defaults()
        if isinstance(override, ChipConfig):
            cfg = override
        elif isinstance(override, (str, Path)):
            cfg = cfg.updated(_read_toml(Path(override)), str(override))
        elif override is not None:
            cfg = cfg.updated(dict(override), "<dict>")
        extra = {k: v for k, v in extra.items() if v is not None}
        return cfg.updated(extra, "<arguments>") if extra else cfg

    def updated(self, overrides: Mapping[str, Any], where: str) -> "ChipConfig":
        """A copy with `overrides` applied, each key checked by type and by the C core."""
        types = _types()
        values = dict(self._values)
        for key, value in overrides.items():
            if key not in types:
                hint = " (the file must be flat: no [tables])" if isinstance(value, dict) else ""
                raise ConfigError(f"{where}: unknown key '{key}'{hint}; known keys: "
                                  f"{', '.join(sorted(types))}")
            values[key] = _check_type(key, value, types[key], where)
            _check_range(key, values[key], where)
        if overrides:
            _validate(values, list(overrides), where)
        return ChipConfig(values, self.sources + (where,))

    def to_c(self):
        """A freshly allocated `nr_config *` holding these values."""
        return _to_c(self._values)

    @property
    def clock_hz(self) -> float:
        return self._values["clock_hz"]

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"ChipConfig({self._values!r})"


def _to_c(values: Mapping[str, Any]):
    cfg = ffi.new("nr_config *")
    lib.nr_config_default(cfg)
    for key, value in values.items():
        if key == "model":
            cfg.model = MODELS.get(value, -1)
        elif key in PARAM_NAMES:
            if not 0 <= value <= PARAM_MAX:
                return None
            if lib.nr_config_set_param(cfg, key.encode(), value) != lib.NR_OK:
                return None
        elif key == "seed":
            if not 0 <= value < 2**64:
                return None
            cfg.seed = value
        elif key in ENERGY_KEYS:
            if value < 0:
                return None
        elif key == "mem_size":
            if not 0 < value <= 2**32:
                return None
            cfg.mem_size = value
        else:
            if value < 0:
                return None
            setattr(cfg, key, value)
    return cfg


def _check_range(key: str, value: Any, where: str) -> None:
    if key in CHOICES:
        if value not in CHOICES[key]:
            raise ConfigError(f"{where}: key '{key}' must be {range_text(key)}, got {value!r}")
        return
    if key not in RANGES:   # a key added without its range: the C check below still applies
        return                # (tests/test_config_ranges.py fails until RANGES has it)
    lo, hi, _why = RANGES[key]
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: key '{key}' = {value!r} is out of range {range_text(key)}")


def _validate(values: dict[str, Any], keys: list[str], where: str) -> None:
    """Rules between keys, then the C core's own check of the whole configuration."""
    if values["wv_v_start"] > values["wv_v_max"]:
        raise ConfigError(f"{where}: key 'wv_v_start' = {values['wv_v_start']!r} must not exceed "
                          f"wv_v_max = {values['wv_v_max']!r}")
    # ranges are checked with the ideal model: an unimplemented model is reported by Machine()
    cfg = _to_c({**values, "model": "ideal"})
    rc = lib.NR_ERR_CONFIG if cfg is None else lib.nr_config_check(cfg)
    if rc != lib.NR_OK:   # RANGES is narrower than the C core's check: a table bug if reached
        raise ConfigError(f"{where}: the C core refuses this configuration (keys {', '.join(keys)})")
