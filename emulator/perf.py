"""A profile of a run, like `perf report`: cycles, stalls, instructions, MVMs, MACs and energy by
category, attributed to the code that issued them and grouped by enclosing label.

    m = Machine().load("prog.s"); m.enable_profile(); m.run()
    rep = perf.profile(m, inferences=450)     # or m.profile_report(inferences=450)
    rep["groups"], rep["one_time"], rep["run"], rep["per_inference"]

The C core counts per code word (nr_profile_enable); this module drains the counters once and
groups them in bulk.  A pc belongs to the nearest text label at or before it; a label with a dot
folds into the part before it (`conv.y` → `conv`), so a mapper layer's inner loops stay with the
layer.  Groups that issue `cprog` are one-time work (weight programming) and are kept out of the
per-inference figures, and so are the cycles any instruction stalls waiting for a core that is
being programmed (`prog_wait`: e.g. the first scan-in after an asynchronous cprog).  Leakage (powered core-cycles) belongs to no instruction: it is reported
as a whole-run estimate, and per inference as its share of the run's cycles.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

from isa.tables import INSNS

from ._native import PROFILE_COUNTERS
from .energy import CATEGORIES, CORE_EVENTS

# profile counter → energy key (core events; the names match emulator.energy.CORE_EVENTS)
_EVENTS = tuple(k for k in PROFILE_COUNTERS if k in CORE_EVENTS)
_COUNTS = ("insns", "cycles", "stall_cycles", "prog_wait", "mvms", "macs", "mvm_cycles")
ENERGY_KEYS = tuple(c for c in CATEGORIES if c != "leakage") + ("controller",)
START = "<start>"      # code before the first label


def _labels(machine) -> tuple[list[int], list[str], list[bool]]:
    """Text labels by address: (addresses, group names, whether the label is the group's own)."""
    prog = machine.program
    text = sorted((v, k) for k, (sec, v) in (prog.symbols if prog else {}).items() if sec == "text")
    names = [k.split(".", 1)[0] or k for _, k in text]
    return [v for v, _ in text], names, [n == k for n, (_, k) in zip(names, text)]


# primary opcode (bits 31:24, one per instruction) → (mnemonic, group)
_BY_OPCODE = {v[0]: (k, v[6]) for k, v in INSNS.items()}


def _controller_pj(cfg, opcodes: np.ndarray, insns: np.ndarray, vec_elems: np.ndarray) -> np.ndarray:
    """Issue energy of each code word's retired instructions, plus its vector elements (in bulk:
    one pass per opcode the run retired)."""
    out = vec_elems.astype(np.float64) * cfg["e_vec_elem_pj"]
    ran = insns > 0
    for op in np.unique(opcodes[ran]):
        sel = ran & (opcodes == op)
        grp = _BY_OPCODE.get(int(op), ("", "control"))[1]
        out[sel] += insns[sel].astype(np.float64) * cfg[f"e_insn_{grp}_pj"]
    return out


def _empty() -> dict[str, Any]:
    d: dict[str, Any] = dict.fromkeys(_COUNTS, 0)
    d["energy_pj"] = dict.fromkeys(ENERGY_KEYS, 0.0)
    d["total_pj"] = 0.0
    return d


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for k in _COUNTS:
        into[k] += other[k]
    for k in ENERGY_KEYS:
        into["energy_pj"][k] += other["energy_pj"][k]
    into["total_pj"] += other["total_pj"]


def profile(machine, inferences: int | None = None) -> dict[str, Any]:
    """Groups by label (in address order), one-time and run totals, per-inference figures."""
    data = machine._native.profile_data()
    if data is None:
        raise RuntimeError("profiling is off: call Machine.enable_profile() after load and before run")
    cfg = machine.config
    col = {k: data[:, i] for i, k in enumerate(PROFILE_COUNTERS)}
    opcodes = np.asarray(machine.program.words, dtype=np.uint32)[:len(data)] >> 24
    ctrl = _controller_pj(cfg, opcodes, col["insns"], col["vec_elems"])
    cat = {c: np.zeros(len(data)) for c in CATEGORIES}
    for ev in _EVENTS:
        key, c = CORE_EVENTS[ev]
        cat[c] += col[ev].astype(np.float64) * cfg[key]
    addrs, names, own = _labels(machine)
    groups: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    cprog = set(np.flatnonzero((col["insns"] > 0) & (opcodes == INSNS["cprog"][0])).tolist())
    for i in np.flatnonzero(col["insns"] | col["wv_pulses"] | col["wv_reads"]):
        j = bisect_right(addrs, 4 * int(i)) - 1
        name = names[j] if j >= 0 else START
        g = groups.setdefault(name, _empty())
        first.setdefault(name, int(i))
        for k in _COUNTS:
            g[k] += int(col[k][i])
        for c in ENERGY_KEYS:
            e = float(ctrl[i]) if c == "controller" else float(cat[c][i])
            g["energy_pj"][c] += e
            g["total_pj"] += e
        g["one_time"] = g.get("one_time", False) or int(i) in cprog
        if j >= 0 and own[j] and 4 * int(i) == addrs[j]:   # times the group was entered
            g["entries"] = g.get("entries", 0) + int(col["insns"][i])
    one, run = _empty(), _empty()
    for g in groups.values():
        g.setdefault("entries", 0)
        _add(one if g["one_time"] else run, g)
        if not g["one_time"]:   # waits for programming in run code: one-time work all the same
            for k in ("cycles", "stall_cycles"):
                run[k] -= g["prog_wait"]
                one[k] += g["prog_wait"]
            run["prog_wait"] -= g["prog_wait"]
            one["prog_wait"] += g["prog_wait"]
    leak = sum(core.events["powered_cycles"] for core in machine.cores) * cfg["e_leak_core_cycle_pj"]
    rep: dict[str, Any] = {
        "profile": cfg.profile, "cycles": machine.cycle, "clock_hz": cfg.clock_hz,
        "groups": [dict(label=k, **groups[k]) for k in sorted(groups, key=first.get)],
        "one_time": one, "run": run, "leakage_pj": leak,
    }
    if inferences:
        share = run["cycles"] / machine.cycle if machine.cycle else 0.0
        e = run["total_pj"] / inferences
        rep["per_inference"] = {
            "inferences": inferences,
            "energy_j": e * 1e-12,
            "leakage_j": leak * share / inferences * 1e-12,
            "latency_s": run["cycles"] / inferences / cfg.clock_hz,
            "macs": run["macs"] / inferences,
            "tops_w": 2 * run["macs"] / (run["total_pj"] * 1e-12) / 1e12 if run["total_pj"] else 0.0,
        }
    return rep
