"""Chip configuration: emulator/chip.toml (documented defaults) plus user overrides.

    cfg = ChipConfig.load("my.toml")          # defaults, then the keys of my.toml
    cfg = ChipConfig.load({"t_wake": 10})      # or a dict of overrides
    cfg["seed"], cfg.to_c()                    # values; the C `nr_config` for nr_init

An override with an unknown key, a wrong type or a value the C core rejects raises ConfigError
with the file (or "<dict>") and the key in its message.
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
    # outer-product update (opu / oprefresh), docs/analog.md
    "op_v_pulse": float, "op_g_max_ns": int,
}

# per-event energies (pJ) of the energy report: Python only (emulator/energy.py)
ENERGY_KEYS: tuple[str, ...] = (
    "e_line_pulse_pj", "e_integ_pj", "e_compare_pj", "e_decrement_pj", "e_scan_shift_pj",
    "e_wv_pulse_pj", "e_wv_read_pj", "e_leak_core_cycle_pj", "e_vec_elem_pj", "e_spike_pj", "e_op_pulse_pj",
    "e_op_phase_pj",
) + tuple(f"e_insn_{g}_pj" for g in GROUPS)   # one issue energy per instruction group of the table
_BASE_TYPES.update({k: float for k in ENERGY_KEYS})


_DEFAULTS: "ChipConfig | None" = None


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
            _validate(values, key, where)
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


def _validate(values: dict[str, Any], key: str, where: str) -> None:
    if key == "model" and values[key] not in MODELS:
        raise ConfigError(f"{where}: key 'model' must be one of {', '.join(MODELS)}, "
                          f"got {values[key]!r}")
    # ranges are checked with the ideal model: an unimplemented model is reported by Machine()
    cfg = _to_c({**values, "model": "ideal"})
    rc = lib.NR_ERR_CONFIG if cfg is None else lib.nr_config_check(cfg)
    if rc != lib.NR_OK:
        raise ConfigError(f"{where}: key '{key}' = {values[key]!r} is out of range"
                          f"{_RANGES.get(key, f' (0..{PARAM_MAX})' if key in PARAM_NAMES else '')}")


_RANGES = {
    "mem_size": " (1..4 GiB)",
    "seed": " (0..2^64-1)",
    "g_lsb_ns": " (3..511 nS: int16 weight cache, uint16 conductance of code -128)",
    "g_pulse_ns": " (1..65535 nS)",
    "clock_hz": " (> 0)",
    "vec_lanes": f" (1..{PARAM_MAX})",
    "threads": " (0..1024; 0 = all host cores)",
    "wv_reference": " (0 or 1)",
    "op_g_max_ns": " (g_min_ns+1..65535 nS)",
    "op_v_pulse": " (0..1e9 V)",
}
