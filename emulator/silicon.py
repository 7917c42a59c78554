"""The NeuRRAM chip's measured efficiency, throughput, latency and energy breakdown, and their
reproduction on the emulated chip (`neurram reproduce energy`, docs/analog.md, Energy).

    rows = reproduce()                         # one dict per precision row, measured vs reference
    bad = out_of_tolerance(rows)               # [] when every row is within TOLERANCE

Reference: Extended Data Fig. 12 of Wan et al., Nature 608 (2022), as reconstructed by CiMLoop
(mit-emze/cimloop, workspace/models/arch/1_macro/wan_nature_2022/_tests.py), digitised from a
figure (±3 %); see shared/reference/neurram-energy.md.  Each row runs programs/energy/
inN_outM.s (all 48 cores, full 128 × 256 windows, outputs 2 bits wider than the inputs) with
the profile's `phase_bits` set so that the input runs in the row's number of phases.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAM_DIR = Path(__file__).resolve().parent.parent / "programs" / "energy"
OPS_PER_MVM = 2 * 128 * 256          # one full-core MVM: 128 logical rows × 256 columns, 2 ops per MAC
CORES = 48
TOLERANCE = {"tops": 0.05, "tops_w": 0.05, "latency_us": 0.10, "share_pp": 3.0}


@dataclass(frozen=True)
class Row:
    in_bits: int
    out_bits: int
    phases: int
    tops: float             # peak TOPS of the chip (48 cores)
    tops_w: float           # TOPS/W


# ED Fig. 12 c/d as reconstructed by CiMLoop: peak TOPS and TOPS/W of the 48-core chip
ROWS = (
    Row(1, 3, 1, 2.12230988, 43.07875866), Row(2, 4, 1, 1.793083771, 40.33412834),
    Row(3, 5, 1, 1.165400233, 23.09069279), Row(4, 6, 1, 0.7438677864, 15.95409517),
    Row(5, 7, 1, 0.4515642, 11.32999012), Row(5, 7, 2, 0.5254091287, 11.03166076),
    Row(6, 8, 1, 0.260797508, 9.12235241), Row(6, 8, 2, 0.4177183338, 8.257196816),
    Row(7, 9, 2, 0.343873405, 7.750037817), Row(8, 10, 2, 0.2638743409, 6.437388185),
)
# ED Fig. 12b as reconstructed: (WL switching, neuron ops + control, input pulses) in fJ/op, by
# (in, out) bits; the reconstruction has one breakdown per precision, used for both phase rows
BREAKDOWN = {
    (1, 3): (8.99015248, 10.6186848, 3.446220545), (2, 4): (8.270951256, 12.38674172, 3.955661604),
    (3, 5): (15.46307324, 20.11826462, 7.73153662), (4, 6): (21.75617998, 29.1084171, 11.50740478),
    (5, 7): (30.92613276, 44.21188287, 14.0246365), (6, 8): (37.2192395, 52.48282041, 19.23892768),
    (7, 9): (43.69214654, 61.83258722, 22.83498524), (8, 10): (50.52466791, 75.85721686, 27.50986693),
}
SOURCE = "ED Fig. 12 (Wan et al., Nature 2022) as reconstructed by CiMLoop"


def program_path(row: Row) -> Path:
    return PROGRAM_DIR / f"in{row.in_bits}_out{row.out_bits}.s"


def magnitude_bits(row: Row) -> int:
    """1-bit rows use unsigned inputs (one magnitude bit); wider ones signed (one bit is the sign)."""
    return max(row.in_bits - 1, 1)


def measure(row: Row, config: Any = None) -> dict[str, Any]:
    """Run the row's program on `config` (default: the chip profile) with the row's phases and
    return measured and reference figures."""
    from .config import ChipConfig
    from .energy import report
    from .machine import Machine

    path = program_path(row)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the precision programs of `neurram reproduce energy` "
                                f"are missing (they live in the repository's programs/energy/)")
    # one phase: a phase as wide as the input; two: a phase narrower than it
    m_bits = magnitude_bits(row)
    base = ChipConfig.load(config)
    cfg = base.updated({"phase_bits": 8 if row.phases == 1 else min(m_bits - 1, 3)},
                       f"<reproduce row {row.in_bits}/{row.out_bits}, {row.phases} phase(s)>")
    m = Machine(config=cfg)
    m.load(path)
    res = m.run()
    if not res.ok:
        raise RuntimeError(f"{path}: {res.message or res.stop}")
    rep = report(m)
    cores = rep["cores"]
    if len(cores) != CORES:
        raise RuntimeError(f"{path}: expected MVMs on {CORES} cores, got {len(cores)}")
    latency_s = rep["mean_mvm_latency_s"]
    ops = 2 * rep["macs"]
    cat = rep["by_category_pj"]
    fj = {k: cat[k] * 1e3 / ops for k in ("wl", "neuron", "input")}
    fj["total"] = sum(fj.values())
    ref_wl, ref_neuron, ref_input = BREAKDOWN[(row.in_bits, row.out_bits)]
    ref_fj = {"wl": ref_wl, "neuron": ref_neuron, "input": ref_input}
    ref_fj["total"] = ref_wl + ref_neuron + ref_input
    return {
        "in_bits": row.in_bits, "out_bits": row.out_bits, "phases": row.phases,
        "tops": rep["tops_mvm"], "ref_tops": row.tops,
        "tops_w": 1e3 / fj["total"], "ref_tops_w": row.tops_w,
        "latency_us": latency_s * 1e6, "ref_latency_us": CORES * OPS_PER_MVM / (row.tops * 1e12) * 1e6,
        "fj_per_op": fj, "ref_fj_per_op": ref_fj,
        "profile": cfg.profile, "program": str(path),
    }


def reproduce(config: Any = None, rows: tuple[Row, ...] = ROWS) -> list[dict[str, Any]]:
    return [measure(r, config) for r in rows]


def shares(fj: dict[str, float]) -> dict[str, float]:
    """Percent of the total per breakdown category."""
    return {k: 100 * fj[k] / fj["total"] for k in ("wl", "neuron", "input")}


def deviations(row: dict[str, Any]) -> dict[str, float]:
    """Relative deviations (TOPS, TOPS/W, latency) and share differences in percentage points."""
    d = {k: row[k] / row[f"ref_{k}"] - 1 for k in ("tops", "tops_w", "latency_us")}
    s, r = shares(row["fj_per_op"]), shares(row["ref_fj_per_op"])
    d.update({f"share_{k}_pp": s[k] - r[k] for k in s})
    return d


def out_of_tolerance(rows: list[dict[str, Any]]) -> list[str]:
    """One message per figure outside TOLERANCE (empty: the emulator agrees with silicon)."""
    bad = []
    for row in rows:
        name = f"{row['in_bits']}b/{row['out_bits']}b {row['phases']}-phase"
        for k, v in deviations(row).items():
            lim = TOLERANCE["share_pp"] if k.startswith("share") else TOLERANCE[k]
            if abs(v) > lim:
                unit = " pp" if k.startswith("share") else ""
                shown = f"{v:+.2f}{unit}" if unit else f"{100 * v:+.1f} %"
                bad.append(f"{name}: {k} off by {shown} (limit {lim if unit else f'{100 * lim:g} %'}{unit})")
    return bad
