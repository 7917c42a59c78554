"""Energy and latency report: the C core's event counters × the per-event energy table.

    rep = machine.energy_report()      # or emulator.energy.report(machine)
    rep["total_pj"], rep["tops_per_w"], rep["cores"]["0"]["energy_pj"]["wl"]

The C core counts events (docs/analog.md, Energy) in the machine struct, so snapshots carry
them; this module only multiplies and sums.  The energies come from the profile's `e_*_pj`
keys (emulator/profiles/): in `chip` the MVM events are calibrated to the silicon's measured
figures, in `board` they are the pre-1.2 estimates; leakage and controller energy are estimates
in both.
"""
from __future__ import annotations

from typing import Any

from isa.tables import GROUPS, INSNS

# core event → (energy key, report category).  The three MVM categories are the silicon's
# measured breakdown (ED Fig. 12b): word-line switching, input pulses, neuron operations.
CORE_EVENTS = {
    "wl_switches": ("e_wl_switch_pj", "wl"),
    "wl_phases": ("e_wl_phase_pj", "wl"),
    "input_pulses": ("e_input_pulse_pj", "input"),
    "line_pulses": ("e_line_pulse_pj", "input"),
    "samples": ("e_sample_pj", "neuron"),
    "integrations": ("e_integ_pj", "neuron"),
    "compares": ("e_compare_pj", "neuron"),
    "decrements": ("e_decrement_pj", "neuron"),
    "shift_adds": ("e_shift_add_pj", "neuron"),
    "scan_shifts": ("e_scan_shift_pj", "scan"),
    "wv_pulses": ("e_wv_pulse_pj", "program"),
    "wv_reads": ("e_wv_read_pj", "program"),
    "powered_cycles": ("e_leak_core_cycle_pj", "leakage"),
    # integrate-and-fire mode (ifrun/ifstep): counted apart from the MVM events, same physics
    # per input pulse, integration and comparison; a spike adds its charge subtraction
    "if_line_pulses": ("e_line_pulse_pj", "input"),
    "if_integrations": ("e_integ_pj", "neuron"),
    "if_steps": ("e_compare_pj", "neuron"),
    "spikes": ("e_spike_pj", "neuron"),
    # in-situ update (opu): pulses and selection loads; oprefresh counts as write-verify
    "op_pulses": ("e_op_pulse_pj", "program"),
    "op_phases": ("e_op_phase_pj", "program"),
}
CATEGORIES = ("wl", "input", "neuron", "scan", "program", "leakage")
MVM_CATEGORIES = ("wl", "input", "neuron")   # what the silicon's efficiency figures count
# instruction classes = the table's groups; each has an e_insn_<group>_pj energy key (config.py)
INSN_CLASSES = tuple(GROUPS)


def event_energy(events: dict[str, int], cfg) -> dict[str, float]:
    """pJ per category of a set of core event counts (missing events count 0)."""
    e = dict.fromkeys(CATEGORIES, 0.0)
    for name, (key, cat) in CORE_EVENTS.items():
        e[cat] += events.get(name, 0) * cfg[key]
    return e


def report(machine) -> dict[str, Any]:
    """Per-core and per-instruction-class energy (pJ), MVM latency, TOPS and TOPS/W."""
    cfg = machine.config
    clock = cfg.clock_hz
    cores: dict[str, Any] = {}
    cat_total = dict.fromkeys(CATEGORIES, 0.0)
    macs = mvm_cycles = mvms = spikes = if_ops = 0
    busy_tops = 0.0
    for core in machine.cores:
        ev = core.events
        if not any(ev.values()):
            continue
        e = event_energy(ev, cfg)
        n = core.counters["mvms"] + core.counters["samples"]
        cores[str(core.index)] = {
            "events": ev, "energy_pj": e, "total_pj": sum(e.values()),
            "mvms": n, "mean_mvm_latency_s": ev["mvm_cycles"] / n / clock if n else None,
        }
        for k in CATEGORIES:
            cat_total[k] += e[k]
        macs += ev["macs"]
        spikes += ev["spikes"]
        if_ops += ev["if_ops"]
        mvm_cycles += ev["mvm_cycles"]
        if ev["mvm_cycles"]:    # this core's rate while it runs MVMs; cores run concurrently
            busy_tops += 2 * ev["macs"] / (ev["mvm_cycles"] / clock) / 1e12
        mvms += n
    ops = machine.op_counts
    classes = {k: {"instructions": 0, "energy_pj": 0.0} for k in INSN_CLASSES}
    for op, n in ops.items():
        grp = INSNS[op][6] if op in INSNS else INSN_CLASSES[0]
        classes[grp]["instructions"] += n
        classes[grp]["energy_pj"] += n * cfg[f"e_insn_{grp}_pj"]
    vec_elems = int(machine._native.m.ev_vec_elems)
    classes["vector"]["elements"] = vec_elems
    classes["vector"]["energy_pj"] += vec_elems * cfg["e_vec_elem_pj"]
    controller = sum(c["energy_pj"] for c in classes.values())
    cores_total = sum(cat_total.values())
    total = cores_total + controller
    time_s = machine.cycle / clock
    ops2 = 2 * macs            # one MAC = 2 operations, as the paper counts (facts §4)
    mvm_energy = sum(cat_total[k] for k in MVM_CATEGORIES)
    return {
        "profile": cfg.profile,
        "model": cfg["model"],
        "time_s": time_s,
        "total_pj": total,
        "cores_pj": cores_total,
        "controller_pj": controller,
        "by_category_pj": cat_total,
        "by_instruction_class": classes,
        "cores": cores,
        "macs": macs,
        "mvms": mvms,
        "spikes": spikes,          # integrate-and-fire spikes fired (ifrun/ifstep)
        "if_ops": if_ops,          # ifrun/ifstep operations, one per core
        "mean_mvm_latency_s": mvm_cycles / mvms / clock if mvms else None,
        # throughput over the whole run, and the sum of each core's rate while it runs MVMs
        # (the peak of the cores used, were they kept busy with MVMs all the time)
        "tops": ops2 / time_s / 1e12 if time_s else 0.0,
        "tops_mvm": busy_tops,
        "tops_per_w": ops2 / (total * 1e-12) / 1e12 if total else 0.0,
        # the silicon's definition: MVM energy only (WL + input + neuron), no leakage or transfer
        "tops_per_w_mvm": ops2 / (mvm_energy * 1e-12) / 1e12 if mvm_energy else 0.0,
        "average_power_w": total * 1e-12 / time_s if time_s else 0.0,
    }
