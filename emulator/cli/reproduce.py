"""`neurram reproduce energy`: the chip's measured efficiency, throughput, MVM latency and energy
breakdown (ED Fig. 12 as reconstructed by CiMLoop) next to the same figures measured on the
emulated chip, one precision row per program of programs/energy/ (emulator/silicon.py).

    neurram reproduce energy [--config chip|board|my.toml] [--json FILE] [--png DIR]

Exit codes: 0 every row within the tolerances (5 % TOPS and TOPS/W, 10 % latency, 3 percentage
points per breakdown share), 1 bad input, 5 some row outside them (listed on stderr).
"""
from __future__ import annotations

import sys
from pathlib import Path

from .common import EXIT_CHECK, EXIT_OK, add_json_option, fail, report
from .options import UsageError

JSON_KEYS = ("in_bits", "out_bits", "phases", "tops", "ref_tops", "tops_w", "ref_tops_w",
             "latency_us", "ref_latency_us", "fj_per_op", "ref_fj_per_op")
_CATS = (("wl", "WL", "magenta"), ("neuron", "neuron", "cyan"), ("input", "input", "yellow"))


def register(subparsers) -> None:
    p = subparsers.add_parser("reproduce", help="reproduce the chip's measured figures",
                              description="Run the programs that reproduce a published measurement "
                                          "of the NeuRRAM chip and compare side by side.")
    sub = p.add_subparsers(dest="reproduce_what", metavar="FIGURE", required=True)
    e = sub.add_parser("energy", help="TOPS, TOPS/W, MVM latency and energy breakdown vs bit precision",
                       description="One program per precision row of ED Fig. 12 (all 48 cores, full "
                                   "128×256 windows, outputs 2 bits wider than inputs, one- and two-"
                                   "phase): measured vs reference, with the ratio of each figure.",
                       epilog="Exit codes: 0 within tolerance, 1 bad input, 5 outside tolerance.")
    e.add_argument("--config", metavar="PROFILE|TOML", default=None,
                   help="profile to measure (default chip; board shows how far the test system is)")
    add_json_option(e)
    e.add_argument("--png", metavar="DIR", help="also draw the curves as PNG files into DIR (needs matplotlib)")
    e.set_defaults(func=_energy)


def _energy(args) -> int:
    from emulator import silicon
    from emulator.config import ConfigError

    try:
        rows = silicon.reproduce(args.config)
    except (ConfigError, FileNotFoundError, RuntimeError, UsageError) as e:
        return fail(args, str(e))
    _print(rows)
    if args.png:
        for path in _pngs(rows, Path(args.png)):
            print(f"wrote {path}")
    bad = silicon.out_of_tolerance(rows)
    for b in bad:
        print(f"outside tolerance: {b}", file=sys.stderr)
    report(args, {"profile": rows[0]["profile"] if rows else None,
                  "rows": [{k: r[k] for k in JSON_KEYS} for r in rows],
                  "outside_tolerance": [str(b) for b in bad]})
    return EXIT_CHECK if bad else EXIT_OK


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


def _print(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    from emulator import silicon

    con = Console(highlight=False)
    prof = rows[0]["profile"] if rows else "?"
    t = Table(title=f"profile {prof} vs {silicon.SOURCE}: measured/reference ×ratio",
              title_justify="left", padding=(0, 1))
    for col in ("in/out", "ph", "peak TOPS", "TOPS/W", "MVM µs", "WL fJ/op", "neuron fJ/op",
                "input fJ/op", "total fJ/op", "% WL/neu/in"):
        t.add_column(col, justify="right")
    for r in rows:
        f, g = r["fj_per_op"], r["ref_fj_per_op"]
        s, q = silicon.shares(f), silicon.shares(g)

        def cell(a, b, fmt):
            return f"{a:{fmt}}/{b:{fmt}} ×{_ratio(a, b)}"
        t.add_row(f"{r['in_bits']}/{r['out_bits']}", str(r["phases"]),
                  cell(r["tops"], r["ref_tops"], ".3f"), cell(r["tops_w"], r["ref_tops_w"], ".2f"),
                  cell(r["latency_us"], r["ref_latency_us"], ".2f"),
                  *(cell(f[k], g[k], ".1f") for k in ("wl", "neuron", "input", "total")),
                  f"{s['wl']:.0f}/{s['neuron']:.0f}/{s['input']:.0f} ~ "
                  f"{q['wl']:.0f}/{q['neuron']:.0f}/{q['input']:.0f}")
    con.print(t)
    con.print(_bars(rows))
    lim = silicon.TOLERANCE
    con.print(f"tolerances: peak TOPS and TOPS/W {100 * lim['tops']:g} %, latency "
              f"{100 * lim['latency_us']:g} %, breakdown shares {lim['share_pp']:g} percentage points; "
              f"1 MAC = 2 ops, MVM energy only (WL + neuron + input pulses), as the chip's table")


def _bars(rows: list[dict]):
    """Terminal bars: TOPS/W measured (█) over the reference (░), and the breakdown split."""
    from rich.text import Text

    width = 40
    top = max(max(r["tops_w"], r["ref_tops_w"]) for r in rows)
    text = Text("TOPS/W, measured █ vs reference ░, and the measured split ")
    for k, name, style in _CATS:
        text.append(f"{name} ", style=style)
    text.append("\n")
    for r in rows:
        label = f"{r['in_bits']}/{r['out_bits']}b {r['phases']}ph "
        n = round(width * r["tops_w"] / top)
        m = round(width * r["ref_tops_w"] / top)
        text.append(f"{label:>11}")
        text.append("█" * n + " " * (width - n), style="green")
        text.append(f" {r['tops_w']:6.2f}  ")
        f = r["fj_per_op"]
        used = 0
        for k, _, style in _CATS:
            w = round(20 * f[k] / f["total"])
            text.append("▆" * w, style=style)
            used += w
        text.append("\n" + " " * 11)
        text.append("░" * m + " " * (width - m), style="dim")
        text.append(f" {r['ref_tops_w']:6.2f}\n")
    return text


def _pngs(rows: list[dict], out: Path) -> list[Path]:
    """TOPS/W, peak TOPS and latency vs input bits (one- and two-phase), and the breakdown."""
    from emulator.mapper import pictures as PIC

    if not PIC.have_matplotlib():
        print(PIC.MISSING)
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, key, label in zip(axes, ("tops_w", "tops", "latency_us"),
                              ("TOPS/W", "peak TOPS (48 cores)", "256×256 MVM latency (µs)")):
        for ph, marker in ((1, "o"), (2, "s")):
            sel = [r for r in rows if r["phases"] == ph]
            x = [r["in_bits"] for r in sel]
            ax.plot(x, [r[f"ref_{key}"] for r in sel], marker, fillstyle="none", color="gray",
                    label=f"chip, {ph}-phase")
            ax.plot(x, [r[key] for r in sel], marker + "-", label=f"emulator, {ph}-phase")
        ax.set_xlabel("input bits")
        ax.set_title(label)
        ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    p1 = out / "energy_efficiency.png"
    fig.savefig(p1, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    # one pair of bars per precision: the reconstruction's breakdown is of its two-phase mode
    pairs = list({(r["in_bits"], r["out_bits"]): r for r in sorted(rows, key=lambda r: r["phases"])}.values())
    xs = range(len(pairs))
    for off, src, hatch in ((-0.2, "fj_per_op", None), (0.2, "ref_fj_per_op", "//")):
        bottom = [0.0] * len(pairs)
        for k, name, color in (("wl", "WL switching", "tab:purple"), ("neuron", "neuron", "tab:cyan"),
                               ("input", "input pulses", "tab:olive")):
            v = [r[src][k] for r in pairs]
            ax.bar([x + off for x in xs], v, 0.38, bottom=bottom, color=color, hatch=hatch,
                   label=f"{name} ({'emulator' if hatch is None else 'chip'})")
            bottom = [b + a for a, b in zip(v, bottom)]
    ax.set_xticks(list(xs), [f"{r['in_bits']}/{r['out_bits']}" for r in pairs])
    ax.set_xlabel("input/output bits")
    ax.set_ylabel("fJ/op")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    p2 = out / "energy_breakdown.png"
    fig.savefig(p2, dpi=120)
    plt.close(fig)
    return [p1, p2]
