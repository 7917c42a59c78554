"""Chip configuration: a named profile shipped in emulator/profiles/ plus user overrides.

    cfg = ChipConfig.load()                   # the default profile, `chip`
    cfg = ChipConfig.load("board")            # a shipped profile by name
    cfg = ChipConfig.load("my.toml")          # a file: its `base` profile (default chip), then its keys
    cfg = ChipConfig.load({"t_wake": 10})      # or a dict of overrides (it may name a `base` too)
    cfg["seed"], cfg.profile, cfg.to_c()       # values; the profile name; the C `nr_config`

A profile file may name the profile it derives from with `base = "NAME"` (a shipped profile) or
`base = "other.toml"` (a path, relative to the file).  An override with an unknown key, a wrong type or a value outside the key's range (RANGES: the
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

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_PROFILE = "chip"
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
    # host execution: never changes results (threads, wv_serial) or only their draws (wv_reference)
    "threads": int, "wv_reference": int, "wv_serial": int,
    # outer-product update (opu / oprefresh), docs/analog.md
    "op_v_pulse": float, "op_g_max_ns": int,
}

# per-event energies (pJ) of the energy report: Python only (emulator/energy.py)
ENERGY_KEYS: tuple[str, ...] = (
    "e_line_pulse_pj", "e_integ_pj", "e_compare_pj", "e_decrement_pj", "e_wl_switch_pj",
    "e_wl_phase_pj", "e_input_pulse_pj", "e_sample_pj", "e_shift_add_pj", "e_scan_shift_pj",
    "e_wv_pulse_pj", "e_wv_read_pj", "e_leak_core_cycle_pj", "e_vec_elem_pj",
    "e_spike_pj", "e_op_pulse_pj", "e_op_phase_pj",
) + tuple(f"e_insn_{g}_pj" for g in GROUPS)   # one issue energy per instruction group of the table
_BASE_TYPES.update({k: float for k in ENERGY_KEYS})


_PROFILES: dict[str, "ChipConfig"] = {}


def profile_names() -> tuple[str, ...]:
    """The shipped profiles, by name."""
    return tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))

# Every key's range, inclusive: (lo, hi, why).  A cost of 0 would make an instruction or core
# operation free (time would not advance in a loop of them), so those start at 1.
_P = PARAM_MAX
_TIMING = {"t_load": 0, "t_branch": 0, "t_mul": 1, "t_div": 1, "t_vsetup": 1, "vec_lanes": 1,
           "t_wake": 0, "scan_div": 1, "neuron_div": 1, "t_cds": 0, "t_sample": 0, "t_integ": 1,
           "t_comp": 1, "t_step": 1, "t_verify": 1, "t_pulse": 1, "t_cellread": 1, "t_opsel": 1}
_PHASES = {"bit_phases": (1, 2, "sample+integrate rounds per input pulse"),
           "phase_bits": (1, 8, "magnitude bits of one integration phase"),
           "phase_split": (0, 1, "0 = phase_bits LSBs first, 1 = an even split"),
           "adc_skip": (0, 1, "0 or 1")}
RANGES: dict[str, tuple[float, float, str]] = {
    "seed": (0, 2**64 - 1, "64-bit"),
    "mem_size": (1, 2**32, "bytes, up to 4 GiB"),
    "clock_hz": (1e3, 1e12, "Hz"),
    "g_lsb_ns": (3, 511, "nS: int16 weight cache, uint16 conductance of code -128"),
    "g_pulse_ns": (1, 65535, "nS"),
    "g_tol_ns": (1, 65535, "nS"), "g_min_ns": (0, 65534, "nS, below op_g_max_ns"),
    "wv_max_vmax": (0, 10**6, "pulses"), "wv_max_iters": (1, 10**6, "runs"),
    "wv_v_start": (0.0, 100.0, "V, at most wv_v_max"), "wv_v_step": (1e-3, 100.0, "V"),
    "wv_v_max": (0.0, 100.0, "V"), "wv_v_th": (0.0, 100.0, "V"),
    "wv_set_gain_ns": (0.0, 1e6, "nS/V"), "wv_reset_gain_ns": (0.0, 1e6, "nS/V"),
    "wv_pulse_sigma": (0.0, 100.0, "relative"), "wv_read_sigma_ns": (0.0, 1e6, "nS"),
    "relax_scale": (0.0, 1e3, "0 = off"), "relax_wv_sigma_ns": (0.0, 1e6, "nS"),
    "read_noise": (0.0, 100.0, "of full scale"), "col_gain_sigma": (0.0, 100.0, "relative"),
    "core_offset_sigma": (0.0, 1e6, "output codes"), "ir_drop": (0.0, 1e3, "per mS"),
    "op_v_pulse": (0.0, 100.0, "V"), "op_g_max_ns": (1, 65535, "nS, above g_min_ns"),
    "threads": (0, 1024, "0 = all host cores"), "wv_reference": (0, 1, "0 or 1"),
    "wv_serial": (0, 1, "0 or 1"),
    **{k: (lo, _P, "cycles" if k != "vec_lanes" else "elements per cycle") for k, lo in _TIMING.items()},
    **_PHASES,
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
    """The resolved configuration: an immutable mapping of key → value.  `profile` names the
    shipped profile it derives from; `sources` lists every file and override applied."""

    def __init__(self, values: dict[str, Any], sources: tuple[str, ...] = (), profile: str = ""):
        self._values = dict(values)
        self.sources = sources
        self.profile = profile

    @classmethod
    def defaults(cls) -> "ChipConfig":
        return cls.profile_named(DEFAULT_PROFILE)

    @classmethod
    def profile_named(cls, name: str) -> "ChipConfig":
        """A shipped profile (emulator/profiles/NAME.toml), complete and checked."""
        if name not in _PROFILES:
            path = PROFILE_DIR / f"{name}.toml"
            if not path.is_file():
                raise ConfigError(f"no profile named '{name}' (shipped profiles: "
                                  f"{', '.join(profile_names())}; or give a .toml path)")
            _PROFILES[name] = cls._from_file(path, (), shipped=True)
        return _PROFILES[name]

    @classmethod
    def _from_file(cls, path: Path, seen: tuple[Path, ...], shipped: bool = False) -> "ChipConfig":
        raw = _read_toml(path)
        base = raw.pop("base", None)
        if base is not None and not isinstance(base, str):
            raise ConfigError(f"{path}: key 'base' must be a profile name or a .toml path, got {base!r}")
        if path.resolve() in seen:
            raise ConfigError(f"{path}: profile bases form a loop ({' → '.join(map(str, seen))})")
        if base is None and shipped:   # a root profile: every key, checked as a whole
            types = _types()
            missing, extra = sorted(set(types) - set(raw)), sorted(set(raw) - set(types))
            if missing or extra:   # a broken install or a table change without a profile update
                raise ConfigError(f"{path}: missing keys {missing}, unknown keys {extra}")
            values = {k: _check_type(k, v, types[k], str(path)) for k, v in raw.items()}
            cfg = cls(values, (str(path),), path.stem)
            for key, value in values.items():
                _check_range(key, value, str(path))
            _validate(values, list(values), str(path))
            return cfg
        start = cls._base(base, path, seen + (path.resolve(),)) if base is not None else cls.defaults()
        cfg = start.updated(raw, str(path))
        cfg.profile = path.stem if shipped else start.profile
        return cfg

    @classmethod
    def _base(cls, base: str, where: Path | None, seen: tuple[Path, ...]) -> "ChipConfig":
        if base in profile_names():
            return cls.profile_named(base)
        path = Path(base)
        if where is not None and not path.is_absolute():
            path = where.parent / path
        if path.suffix != ".toml" and not path.exists():
            raise ConfigError(f"{where or '<dict>'}: base '{base}' is neither a shipped profile "
                              f"({', '.join(profile_names())}) nor a .toml file")
        return cls._from_file(path, seen)

    @classmethod
    def load(cls, override: "str | Path | Mapping[str, Any] | ChipConfig | None" = None,
             **extra: Any) -> "ChipConfig":
        """The default profile, or `override`: a profile name, a TOML path (on the profile its
        `base` names, default chip) or a mapping of overrides; then keyword overrides."""
        if isinstance(override, ChipConfig):
            cfg = override
        elif isinstance(override, str) and override in profile_names():
            cfg = cls.profile_named(override)
        elif isinstance(override, (str, Path)):
            path = Path(override)
            if isinstance(override, str) and path.suffix != ".toml" and not path.exists() \
                    and "/" not in override:
                raise ConfigError(f"no profile named '{override}' (shipped profiles: "
                                  f"{', '.join(profile_names())}; or give a .toml path)")
            cfg = cls._from_file(path, ())
        elif override is not None:
            values = dict(override)
            base = values.pop("base", None)
            if base is not None and not isinstance(base, str):
                raise ConfigError(f"<dict>: key 'base' must be a profile name or a .toml path, got {base!r}")
            cfg = (cls._base(base, None, ()) if base is not None else cls.defaults())
            cfg = cfg.updated(values, "<dict>")
        else:
            cfg = cls.defaults()
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
        return ChipConfig(values, self.sources + (where,), self.profile)

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
    if values["op_g_max_ns"] <= values["g_min_ns"]:
        raise ConfigError(f"{where}: key 'op_g_max_ns' = {values['op_g_max_ns']!r} must exceed "
                          f"g_min_ns = {values['g_min_ns']!r}")
    if values["wv_v_start"] > values["wv_v_max"]:
        raise ConfigError(f"{where}: key 'wv_v_start' = {values['wv_v_start']!r} must not exceed "
                          f"wv_v_max = {values['wv_v_max']!r}")
    # ranges are checked with the ideal model: an unimplemented model is reported by Machine()
    cfg = _to_c({**values, "model": "ideal"})
    rc = lib.NR_ERR_CONFIG if cfg is None else lib.nr_config_check(cfg)
    if rc != lib.NR_OK:   # RANGES is narrower than the C core's check: a table bug if reached
        raise ConfigError(f"{where}: the C core refuses this configuration (keys {', '.join(keys)})")
