"""Pictures: the core map as a coloured 8 × 6 grid (rich) and accuracy vs noise level as terminal
bars; the same as PNG files when matplotlib is installed (optional: `pip install matplotlib`).

`cores` everywhere is a list of (core, label, utilisation 0…1); `levels` a list of
(noise level name, {series: [accuracies]}) — measured values, nothing hard-coded here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = ["cyan", "magenta", "yellow", "green", "blue", "red", "bright_cyan", "bright_magenta"]
HEX = ["#17becf", "#d62728", "#bcbd22", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b"]


def slots_cores(slots) -> list:
    return [(s.core, s.name, s.utilisation) for s in slots]


def core_grid(cores, title="core map"):
    """A rich Table: 8 chains (rows) × 6 positions (columns); used cores coloured by layer."""
    from rich.table import Table
    from rich.text import Text

    names = list(dict.fromkeys(c[1] for c in cores))
    by = {c[0]: c for c in cores}
    t = Table(title=f"{title}: {len(by)} of 48 cores used", show_lines=True)
    t.add_column("chain")
    for pos in range(6):
        t.add_column(f"pos {pos}", justify="center")
    for chain in range(8):
        cells = []
        for pos in range(6):
            c = chain * 6 + pos
            if c in by:
                _, name, u = by[c]
                col = COLOURS[names.index(name) % len(COLOURS)]
                cells.append(Text(f"{c} {name}\n{'█' * max(1, round(8 * u)):<8} {100 * u:.0f}%",
                                  style=f"bold {col}"))
            else:
                cells.append(Text(f"{c} off", style="dim"))
        t.add_row(str(chain), *cells)
    return t


def accuracy_bars(levels, title="accuracy vs noise level", lo=0.8):
    """Rich text: one bar per (noise level, series), mean ± sd, scaled from `lo` to 100 %."""
    from rich.text import Text

    out = Text(title + f" (bars from {100 * lo:.0f} % to 100 %)\n", style="bold")
    series = list(dict.fromkeys(k for _, d in levels for k in d))
    for lvl, d in levels:
        out.append(f"{lvl}\n")
        for k, v in d.items():
            a = np.asarray(v, float)
            m, sd = a.mean(), (a.std(ddof=1) if len(a) > 1 else 0.0)
            n = int(round(40 * max(0.0, (m - lo) / (1 - lo))))
            out.append(f"  {k:<14s} ", style=COLOURS[series.index(k) % len(COLOURS)])
            out.append("█" * n, style=COLOURS[series.index(k) % len(COLOURS)])
            out.append(f" {100 * m:.2f} %" + (f" ± {100 * sd:.2f}" if len(a) > 1 else "") + "\n")
    return out


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


MISSING = "PNG output needs matplotlib, which is not installed (pip install matplotlib); no PNG written."


def png_core_map(cores, path, title="core map") -> Path | None:
    if not have_matplotlib():
        print(MISSING)
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(c[1] for c in cores))
    by = {c[0]: c for c in cores}
    fig, ax = plt.subplots(figsize=(7, 8))
    for chain in range(8):
        for pos in range(6):
            c = chain * 6 + pos
            if c in by:
                _, name, u = by[c]
                ax.add_patch(plt.Rectangle((pos, 7 - chain), 0.95, 0.95, color=HEX[names.index(name) % len(HEX)],
                                           alpha=0.3 + 0.7 * u))
                ax.text(pos + 0.47, 7 - chain + 0.47, f"{c}\n{name}\n{100 * u:.0f} %", ha="center", va="center",
                        fontsize=8)
            else:
                ax.add_patch(plt.Rectangle((pos, 7 - chain), 0.95, 0.95, color="#dddddd"))
                ax.text(pos + 0.47, 7 - chain + 0.47, f"{c}", ha="center", va="center", fontsize=7, color="grey")
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 8)
    ax.set_xticks(np.arange(6) + 0.47, [f"pos {p}" for p in range(6)])
    ax.set_yticks(np.arange(8) + 0.47, [f"chain {7 - c}" for c in range(8)])
    ax.set_title(f"{title}: {len(by)} of 48 cores used")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def png_accuracy(levels, path, title="accuracy vs noise level") -> Path | None:
    if not have_matplotlib():
        print(MISSING)
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = list(dict.fromkeys(k for _, d in levels for k in d))
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, k in enumerate(series):
        xs, ms, sds = [], [], []
        for j, (_, d) in enumerate(levels):
            if k in d:
                a = np.asarray(d[k], float)
                xs.append(j)
                ms.append(100 * a.mean())
                sds.append(100 * a.std(ddof=1) if len(a) > 1 else 0.0)
        ax.errorbar(xs, ms, yerr=sds, marker="o", capsize=3, label=k, color=HEX[i % len(HEX)])
    ax.set_xticks(range(len(levels)), [lvl for lvl, _ in levels])
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
