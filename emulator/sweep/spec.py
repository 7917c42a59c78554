"""Sweep specifications: a TOML file naming a workload and the axes to sweep (docs/sweeps.md).

    spec = load_spec("programs/sweeps/digits_noise.toml")
    spec.points()          # every point: its index, its parameters and its key

A mistake in the file is a SpecError naming the file, the line and the key.  tomllib reports
positions only for syntax errors, so the line of a key is found by scanning the source text for
the key inside its table.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# workload parameters that may also be axes; which kinds accept each one is in KIND_AXES
WORKLOAD_AXES = ("die_seed", "age_ms", "copies", "in_bits")
KINDS = ("program", "model", "digits", "cnn", "rnn", "rbm")
KIND_AXES = {
    "program": {"die_seed"},
    "model": {"die_seed", "age_ms", "copies", "in_bits"},
    "digits": {"die_seed", "age_ms", "copies", "in_bits"},
    "cnn": {"die_seed", "age_ms", "copies"},
    "rnn": {"die_seed", "copies"},
    "rbm": {"die_seed", "age_ms"},
}
# [workload] keys per kind besides `kind` and the axes above: key → (type, required)
KIND_KEYS: dict[str, dict[str, tuple[type, bool]]] = {
    "program": {"program": (str, True), "outputs": (list, True), "inferences": (int, False),
                "loop": (str, False)},
    "model": {"model_file": (str, True), "inputs": (str, True), "labels": (str, False),
              "calib": (str, False), "in_scale": (float, False)},
    "digits": {"n_test": (int, False), "training": (str, False)},
    "cnn": {"n_test": (int, False), "training": (str, False)},
    "rnn": {"n_test": (int, False), "training": (str, False)},
    "rbm": {"n": (int, False), "frac": (float, False), "unknown": (bool, False)},
}
TABLES = ("sweep", "workload", "config", "grid", "random")
DISTRIBUTIONS = ("uniform", "loguniform", "integers", "choice")
MAX_POINTS = 1_000_000


class SpecError(ValueError):
    """A sweep specification that cannot be run; the message names the file, line and key."""


@dataclass(frozen=True)
class Point:
    index: int                  # position in the spec's expansion (grid order, then sample)
    params: dict                # axis name → value
    key: str                    # identity of the point: workload, fixed settings and params


@dataclass
class Spec:
    path: Path
    text: str
    name: str
    workload: dict              # [workload] with the defaults filled in
    config: dict                # fixed chip configuration keys
    grid: dict                  # axis → list of values
    random: dict                # axis → (distribution, args)
    samples: int = 0
    random_seed: int = 0
    axes: tuple = field(default=())

    @property
    def sweep_id(self) -> str:
        """What a results database belongs to: the workload and the fixed settings (not the
        axes, so a sweep can be extended with more values or seeds into the same file)."""
        return _digest({"workload": self.workload, "config": self.config})

    def points(self) -> list[Point]:
        grid_axes = list(self.grid)
        combos = list(itertools.product(*(self.grid[a] for a in grid_axes))) or [()]
        draws = [self._draw(k) for k in range(self.samples)] or [{}]
        out, seen = [], set()
        for combo in combos:
            for d in draws:
                params = {**dict(zip(grid_axes, combo)), **d}
                key = _digest({"sweep": self.sweep_id, "params": params})
                if key not in seen:   # random draws may repeat a point: it is one point
                    seen.add(key)
                    out.append(Point(len(out), params, key))
        return out

    def _draw(self, k: int) -> dict:
        # one generator per (spec seed, sample, axis): a sample's values do not depend on which
        # other axes exist or in what order they are listed
        out = {}
        for axis, (dist, args) in self.random.items():
            rng = np.random.default_rng([self.random_seed, k, _axis_number(axis)])
            if dist == "uniform":
                v = float(rng.uniform(args[0], args[1]))
            elif dist == "loguniform":
                v = float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
            elif dist == "integers":
                v = int(rng.integers(args[0], args[1], endpoint=True))
            else:
                v = args[int(rng.integers(len(args)))]
            out[axis] = v
        return out


def _axis_number(axis: str) -> int:
    return int.from_bytes(hashlib.sha256(axis.encode()).digest()[:8], "little")


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


def line_of(text: str, table: str | None, key: str | None) -> int | None:
    """Line (1-based) of `key` inside `[table]` of a TOML text (of the table header when key is
    None); None if neither is written in the text."""
    current, header = None, None
    pattern = re.compile(rf"^\s*(\"?){re.escape(key)}\1\s*=") if key else None
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*\[([^\[\]]+)\]", line)
        if m:
            current = m.group(1).strip()
            if current == table and header is None:
                header = n
            continue
        if pattern and current == table and pattern.match(line):
            return n
    return header


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def fail(self, table: str | None, key: str | None, msg: str):
        n = line_of(self.text, table, key) if table else None
        where = f"{self.path}:{n}" if n else str(self.path)
        what = f"[{table}] {key}" if table and key else f"[{table}]" if table else ""
        raise SpecError(f"{where}: {what + ': ' if what else ''}{msg}")


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _grid_values(ck: _Checker, axis: str, v) -> list:
    if isinstance(v, list):
        if not v:
            ck.fail("grid", axis, "empty axis: give at least one value")
        return v
    if not isinstance(v, dict):
        return [v]
    unknown = sorted(set(v) - {"from", "to", "step", "num", "log"})
    if unknown or "from" not in v or "to" not in v:
        ck.fail("grid", axis, "a range is { from = A, to = B, step = S } or { from = A, to = B, num = N"
                f"[, log = true] }}{'; unknown field ' + ', '.join(unknown) if unknown else ''}")
    lo, hi = v["from"], v["to"]
    if not (_is_num(lo) and _is_num(hi)):
        ck.fail("grid", axis, f"range ends must be numbers, got from = {lo!r}, to = {hi!r}")
    if hi < lo:
        ck.fail("grid", axis, f"bad range: to = {hi} is below from = {lo}")
    if ("step" in v) == ("num" in v):
        ck.fail("grid", axis, "bad range: give exactly one of step or num")
    if "step" in v:
        step = v["step"]
        if not _is_num(step) or step <= 0:
            ck.fail("grid", axis, f"bad range: step must be a number > 0, got {step!r}")
        n = int(math.floor((hi - lo) / step + 1e-9)) + 1
        if n > MAX_POINTS:
            ck.fail("grid", axis, f"bad range: {n} values (at most {MAX_POINTS})")
        if all(isinstance(x, int) for x in (lo, hi, step)):
            return list(range(lo, hi + 1, step))
        return [round(lo + i * step, 12) for i in range(n)]
    num = v["num"]
    if not isinstance(num, int) or isinstance(num, bool) or not 1 <= num <= MAX_POINTS:
        ck.fail("grid", axis, f"bad range: num must be an integer 1…{MAX_POINTS}, got {num!r}")
    if v.get("log"):
        if lo <= 0:
            ck.fail("grid", axis, f"bad range: a log range needs from > 0, got {lo}")
        vals = np.geomspace(lo, hi, num)
    else:
        vals = np.linspace(lo, hi, num)
    return [float(round(x, 12)) for x in vals]


def _random_axis(ck: _Checker, axis: str, v) -> tuple:
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in DISTRIBUTIONS:
        ck.fail("random", axis, "a random axis is one of { uniform = [lo, hi] }, { loguniform = [lo, hi] }, "
                "{ integers = [lo, hi] } or { choice = [a, b, …] }")
    dist, args = next(iter(v.items()))
    if not isinstance(args, list) or not args:
        ck.fail("random", axis, f"{dist} needs a non-empty list, got {args!r}")
    if dist == "choice":
        return dist, args
    if len(args) != 2 or not all(_is_num(a) for a in args):
        ck.fail("random", axis, f"{dist} needs [lo, hi] (two numbers), got {args!r}")
    lo, hi = args
    if hi < lo:
        ck.fail("random", axis, f"bad range: hi = {hi} is below lo = {lo}")
    if dist == "loguniform" and lo <= 0:
        ck.fail("random", axis, f"bad range: loguniform needs lo > 0, got {lo}")
    if dist == "integers" and not all(isinstance(a, int) for a in args):
        ck.fail("random", axis, f"integers needs integer bounds, got {args!r}")
    return dist, args


def _check_workload(ck: _Checker, wl: dict, base: Path) -> dict:
    kind = wl.get("kind")
    if kind not in KINDS:
        ck.fail("workload", "kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    known = KIND_KEYS[kind]
    out = {"kind": kind}
    for key, value in wl.items():
        if key == "kind":
            continue
        if key in WORKLOAD_AXES:
            if key not in KIND_AXES[kind]:
                ck.fail("workload", key, f"not a setting of a {kind} workload "
                        f"(it takes {', '.join(sorted(KIND_AXES[kind])) or 'none of ' + ', '.join(WORKLOAD_AXES)})")
            _check_workload_value(ck, "workload", key, value)
            out[key] = value
            continue
        if key not in known:
            ck.fail("workload", key, f"unknown key for a {kind} workload; known: "
                    f"{', '.join(['kind', *known, *sorted(KIND_AXES[kind])])}")
        want = known[key][0]
        ok = (_is_num(value) if want is float else isinstance(value, want) and
              (want is bool or not isinstance(value, bool)))
        if not ok:
            ck.fail("workload", key, f"must be {'a number' if want is float else want.__name__}, got {value!r}")
        out[key] = float(value) if want is float else value
    for key, (_, required) in known.items():
        if required and key not in out:
            ck.fail("workload", None, f"a {kind} workload needs `{key}`")
    for key in ("program", "model_file", "inputs", "labels", "calib"):
        if key in out:
            p = (base / out[key]).resolve()
            if not p.is_file():
                ck.fail("workload", key, f"{out[key]}: no such file (paths are relative to the spec)")
            out[key] = str(p)
    if "training" in out and out["training"] not in ("noise-aware", "plain"):
        ck.fail("workload", "training", f"must be 'noise-aware' or 'plain', got {out['training']!r}")
    for key, lo in (("n_test", 1), ("n", 1), ("inferences", 1)):
        if key in out and out[key] < lo:
            ck.fail("workload", key, f"must be ≥ {lo}, got {out[key]}")
    if "frac" in out and not 0 < out["frac"] <= 1:
        ck.fail("workload", "frac", f"must be in (0, 1], got {out['frac']}")
    if kind == "program":
        if Path(out["program"]).suffix not in (".s", ".img"):
            ck.fail("workload", "program", "expected a .s source or an .img image")
        if not out["outputs"] or not all(isinstance(o, str) for o in out["outputs"]):
            ck.fail("workload", "outputs", "give a non-empty list of dump specs, e.g. [\"y:4:i16\"]")
    return out


def _check_workload_value(ck: _Checker, table: str, key: str, v) -> None:
    lo = {"die_seed": 0, "age_ms": 0, "copies": 1, "in_bits": 1}[key]
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        ck.fail(table, key, f"must be an integer ≥ {lo}, got {v!r}")
    if key == "in_bits" and v > 8:
        ck.fail(table, key, f"must be 1…8 (the neurons' input width), got {v}")
    if key == "copies" and v & (v - 1):
        ck.fail(table, key, f"must be a power of two, got {v}")


def load_spec(path) -> Spec:
    """Read and check a sweep specification; raises SpecError naming the line and key."""
    from emulator.config import ChipConfig, ConfigError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SpecError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not UTF-8 text: {e}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: invalid TOML: {e}") from None
    ck = _Checker(path, text)
    for t, v in raw.items():
        if t not in TABLES:
            ck.fail(None, None, f"unknown table or key `{t}` (the tables are {', '.join(TABLES)})")
        if not isinstance(v, dict):
            ck.fail(None, None, f"`{t}` must be a table [{t}]")
    meta = raw.get("sweep", {})
    for k in meta:
        if k != "name":
            ck.fail("sweep", k, "unknown key (only `name`)")
    if "workload" not in raw:
        ck.fail(None, None, "no [workload] table: name the workload to sweep (docs/sweeps.md)")
    wl = _check_workload(ck, raw["workload"], path.parent)
    kind = wl["kind"]
    config = dict(raw.get("config", {}))
    for k in config:
        if k in WORKLOAD_AXES:
            ck.fail("config", k, "a workload setting: put it in [workload] or make it an axis")
    config.setdefault("model", "analog")
    try:
        base = ChipConfig.load(config)
    except ConfigError as e:
        key = re.search(r"key '([^']+)'", str(e))
        ck.fail("config", key.group(1) if key else None, str(e).removeprefix("<dict>: "))
    config_keys = set(base) | {"base"}      # `base`: the profile a point runs on (chip, board, a .toml)

    grid, random = {}, {}
    for table, target in (("grid", grid), ("random", random)):
        for axis, v in raw.get(table, {}).items():
            if table == "random" and axis in ("samples", "draw_seed"):
                continue
            if axis not in config_keys and axis not in WORKLOAD_AXES:
                ck.fail(table, axis, "unknown key: an axis is a chip configuration key "
                        f"(docs/configuration.md) or one of {', '.join(WORKLOAD_AXES)}")
            if axis in WORKLOAD_AXES and axis not in KIND_AXES[kind]:
                ck.fail(table, axis, f"a {kind} workload has no {axis} axis "
                        f"(it takes {', '.join(sorted(KIND_AXES[kind]))})")
            if axis in config or axis in wl:
                ck.fail(table, axis, f"also fixed in [{'config' if axis in config else 'workload'}]")
            if axis in grid:
                ck.fail(table, axis, "is both a grid and a random axis")
            target[axis] = _grid_values(ck, axis, v) if table == "grid" else _random_axis(ck, axis, v)
    rnd = raw.get("random", {})
    samples, rseed = rnd.get("samples", 0), rnd.get("draw_seed", 0)
    if random and (not isinstance(samples, int) or isinstance(samples, bool) or samples < 1):
        ck.fail("random", "samples", f"must be an integer ≥ 1 when random axes are given, got {samples!r}")
    if not random and "samples" in rnd:
        ck.fail("random", "samples", "no random axes to draw")
    if not isinstance(rseed, int) or isinstance(rseed, bool) or rseed < 0:
        ck.fail("random", "draw_seed", f"must be an integer ≥ 0, got {rseed!r}")
    n = math.prod(len(v) for v in grid.values()) * max(1, samples if random else 1)
    if n > MAX_POINTS:
        ck.fail("grid", None, f"{n} points (at most {MAX_POINTS})")
    spec = Spec(path, text, str(meta.get("name", path.stem)), wl, dict(config), grid, random,
                samples if random else 0, rseed, tuple([*grid, *random]))
    _check_points(ck, spec, base)
    return spec


def _check_points(ck: _Checker, spec: Spec, base) -> None:
    """Every value an axis takes must be a valid setting: refused here, before anything runs."""
    from emulator.config import ConfigError

    seen: set = set()
    for p in spec.points():
        for axis, v in p.params.items():
            if (axis, repr(v)) in seen:
                continue
            seen.add((axis, repr(v)))
            table = "grid" if axis in spec.grid else "random"
            if axis in WORKLOAD_AXES:
                _check_workload_value(ck, table, axis, v)
                continue
            try:
                if axis == "base":
                    from emulator.config import ChipConfig
                    ChipConfig.load({**spec.config, "base": v})
                else:
                    base.updated({axis: v}, "<axis>")
            except ConfigError as e:
                ck.fail(table, axis, str(e).removeprefix("<axis>: ").removeprefix("<dict>: "))
