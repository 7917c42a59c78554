"""`neurram sweep show`: the summary table of a results store (mean ± sd per configuration over
the seed axes) and the standard pictures — accuracy vs noise scale, energy per inference vs
precision, the accuracy–energy Pareto front — in the terminal, and as PNG with matplotlib."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SEED_AXES = ("seed", "die_seed")
# axes drawn as "noise scale", first present wins
NOISE_AXES = ("relax_scale", "read_noise", "col_gain_sigma", "core_offset_sigma", "ir_drop",
              "wv_read_sigma_ns", "wv_pulse_sigma", "age_ms")
PRECISION_AXES = ("in_bits",)


def configurations(rows: list[dict]) -> list[tuple[dict, list[dict]]]:
    """Finished rows grouped by their parameters without the seed axes, in point order."""
    groups: dict[str, tuple[dict, list]] = {}
    for r in rows:
        if r["status"] != "ok":
            continue
        cfg = {k: v for k, v in r["params"].items() if k not in SEED_AXES}
        groups.setdefault(json.dumps(cfg, sort_keys=True), (cfg, []))[1].append(r)
    return list(groups.values())


def _ms(vals, scale=1.0, fmt=".4g") -> str:
    a = np.array([v for v in vals if v is not None], float) * scale
    if not len(a):
        return "–"
    return f"{a.mean():{fmt}}" + (f" ± {a.std(ddof=1):{fmt}}" if len(a) > 1 else "")


def _mean(vals, scale=1.0) -> str:
    a = [v for v in vals if v is not None]
    return f"{np.mean(a) * scale:.4g}" if a else "–"


def table(rows: list[dict], title: str):
    from rich.table import Table

    groups = configurations(rows)
    axes = list(dict.fromkeys(k for cfg, _ in groups for k in cfg))
    t = Table(title=title, title_justify="left")
    for c in [*axes, "n", "accuracy %", "error", "µJ/inf", "µs/inf", "cycles"]:
        t.add_column(c, justify="right")
    for cfg, rs in groups:
        t.add_row(*[str(cfg.get(a, "")) for a in axes], str(len(rs)),
                  _ms([r["accuracy"] for r in rs], 100, ".2f"), _ms([r["output_error"] for r in rs]),
                  _mean([r["energy_per_inference_j"] for r in rs], 1e6),
                  _mean([r["latency_per_inference_s"] for r in rs], 1e6), _mean([r["cycles"] for r in rs]))
    return t


def _levels(rows, axis, metric):
    """[(label, {series: values})] of `metric` along `axis`, the series being the other non-seed axes."""
    out: dict = {}
    for cfg, rs in configurations(rows):
        if axis not in cfg:
            continue
        series = ", ".join(f"{k} {v}" for k, v in cfg.items() if k != axis) or "all points"
        vals = [r[metric] for r in rs if r[metric] is not None]
        if vals:
            out.setdefault(cfg[axis], {}).setdefault(series, []).extend(vals)
    return [(f"{axis} {x}", d) for x, d in sorted(out.items())]


def _bars(levels, title, unit, scale):
    from rich.text import Text

    top = max((np.mean(v) for _, d in levels for v in d.values()), default=0) or 1
    out = Text(title + "\n", style="bold")
    for lvl, d in levels:
        out.append(f"{lvl}\n")
        for k, v in d.items():
            m = float(np.mean(v))
            out.append(f"  {k:<14s} ")
            out.append("█" * max(1, int(round(40 * m / top))), style="cyan")
            out.append(f" {m * scale:.4g} {unit}\n")
    return out


def pareto(rows) -> list[tuple[float, float, dict]]:
    """(energy/inference J, mean accuracy, configuration) of every configuration, and which are on
    the front: no other configuration has both less energy and at least the accuracy."""
    pts = []
    for cfg, rs in configurations(rows):
        e = [r["energy_per_inference_j"] for r in rs if r["energy_per_inference_j"] is not None]
        a = [r["accuracy"] for r in rs if r["accuracy"] is not None]
        if e and a:
            pts.append((float(np.mean(e)), float(np.mean(a)), cfg))
    front = [p for p in pts if not any((q[0] < p[0] and q[1] >= p[1]) or (q[0] <= p[0] and q[1] > p[1])
                                       for q in pts)]
    return pts, sorted(front, key=lambda p: p[0])


def _scatter(pts, front, width=56, height=12):
    from rich.text import Text

    es, acc = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    grid = [[" "] * width for _ in range(height)]
    (e0, de), (a0, da) = (es.min(), np.ptp(es)), (acc.min(), np.ptp(acc))
    onf = {id(p) for p in front}
    for p in sorted(pts, key=lambda p: id(p) in onf):
        x = int(round((p[0] - e0) / de * (width - 1))) if de else 0
        y = height - 1 - (int(round((p[1] - a0) / da * (height - 1))) if da else 0)
        grid[y][x] = "●" if id(p) in onf else "·"
    out = Text("accuracy–energy Pareto front (● on the front, · dominated)\n", style="bold")
    for i, line in enumerate(grid):
        lab = f"{100 * (a0 + da * (height - 1 - i) / (height - 1)):6.2f} % |" if i in (0, height - 1) else "         |"
        out.append(lab + "".join(line) + "\n")
    out.append("         +" + "-" * width + "\n")
    out.append(f"          {e0 * 1e6:.4g} µJ{'energy / inference':^{max(0, width - 24)}}{(e0 + de) * 1e6:.4g} µJ\n")
    for e, a, cfg in front:
        out.append(f"  ● {e * 1e6:.4g} µJ  {100 * a:.2f} %  " + ", ".join(f"{k} {v}" for k, v in cfg.items()) + "\n")
    return out


def pictures(rows) -> list:
    """The terminal pictures this sweep's axes allow, and a note for each one they do not."""
    from rich.text import Text

    from emulator.mapper.pictures import accuracy_bars

    axes = {k for r in rows for k in r["params"]}
    out = []
    noise = next((a for a in NOISE_AXES if a in axes), None)
    if noise and any(r["accuracy"] is not None for r in rows):
        lv = _levels(rows, noise, "accuracy")
        lo = max(0.0, np.floor(10 * min(min(v) for _, d in lv for v in d.values()) - 1) / 10) if lv else 0.0
        out.append(accuracy_bars(lv, f"accuracy vs {noise}", lo=min(lo, 0.9)))
    else:
        out.append(Text(f"(accuracy vs noise scale: needs an accuracy and one of the axes {', '.join(NOISE_AXES)})"))
    prec = next((a for a in PRECISION_AXES if a in axes), None)
    if prec:
        out.append(_bars(_levels(rows, prec, "energy_per_inference_j"), f"energy per inference vs {prec}", "µJ", 1e6))
    else:
        out.append(Text(f"(energy per inference vs precision: needs the axis {', '.join(PRECISION_AXES)})"))
    pts, front = pareto(rows)
    if len(pts) >= 2:
        out.append(_scatter(pts, front))
    else:
        out.append(Text("(Pareto front: needs two configurations with an accuracy)"))
    return out


def write_pngs(rows, folder) -> list[Path]:
    """The same pictures as PNG files in `folder` (needs matplotlib: the plots extra)."""
    from emulator.mapper.pictures import have_matplotlib, png_accuracy

    if not have_matplotlib():
        raise RuntimeError("--png needs matplotlib: pip install 'neurram48[plots]'")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    axes = {k for r in rows for k in r["params"]}
    noise = next((a for a in NOISE_AXES if a in axes), None)
    if noise:
        p = png_accuracy(_levels(rows, noise, "accuracy"), folder / "accuracy_vs_noise.png", f"accuracy vs {noise}")
        written += [p] if p else []
    pts, front = pareto(rows)
    if len(pts) >= 2:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.scatter([p[0] * 1e6 for p in pts], [100 * p[1] for p in pts], color="#bbbbbb", label="configurations")
        ax.plot([p[0] * 1e6 for p in front], [100 * p[1] for p in front], "o-", color="#d62728", label="Pareto front")
        ax.set_xlabel("energy per inference (µJ)")
        ax.set_ylabel("accuracy (%)")
        ax.legend()
        fig.savefig(folder / "pareto.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(folder / "pareto.png")
    prec = next((a for a in PRECISION_AXES if a in axes), None)
    if prec:
        lv = _levels(rows, prec, "energy_per_inference_j")
        fig, ax = plt.subplots(figsize=(7, 4))
        series = list(dict.fromkeys(k for _, d in lv for k in d))
        for k in series:
            ax.plot([lab.split()[-1] for lab, d in lv if k in d], [1e6 * np.mean(d[k]) for _, d in lv if k in d],
                    "o-", label=k)
        ax.set_xlabel(prec)
        ax.set_ylabel("energy per inference (µJ)")
        ax.legend()
        fig.savefig(folder / "energy_vs_precision.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(folder / "energy_vs_precision.png")
    return written
