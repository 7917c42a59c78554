"""Core detail: H and V as sparklines, the configuration, and the conductance heatmap (a pooled
overview of all 256×256 cells plus a zoomable window).  Pooling is numpy; each heatmap row is a
run of half-block characters whose colours come from a fixed palette, so redraws stay cheap."""
from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widgets import Static

BARS = "▁▂▃▄▅▆▇█"
_PALETTE = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in
            ((int(20 + 235 * x), int(20 + 200 * x * x), int(60 + 80 * (1 - x)))
             for x in np.linspace(0, 1, 16))]
_CELL = {(a, b): Style(color=_PALETTE[a], bgcolor=_PALETTE[b]) for a in range(16) for b in range(16)}


def sparkline(values: np.ndarray) -> str:
    """Signed values as bar characters, scaled to the largest magnitude."""
    v = values.astype(np.int64)
    top = max(1, int(np.abs(v).max()))
    idx = np.clip(((v + top) * (len(BARS) - 1)) // (2 * top), 0, len(BARS) - 1)
    return "".join(BARS[i] for i in idx)


def pool(g: np.ndarray, out_rows: int, out_cols: int) -> np.ndarray:
    """Max-pool a 2-D array down to (out_rows, out_cols) blocks."""
    r, c = g.shape
    br, bc = max(1, r // out_rows), max(1, c // out_cols)
    g = g[: br * (r // br), : bc * (c // bc)]
    return g.reshape(r // br, br, c // bc, bc).max(axis=(1, 3))


def heat_text(a: np.ndarray, vmax: float | None = None) -> Text:
    """Two array rows per text line (upper half block: fg = upper row, bg = lower row)."""
    if a.shape[0] % 2:
        a = np.vstack([a, np.zeros((1, a.shape[1]), a.dtype)])
    top = float(vmax if vmax else max(1, a.max()))
    q = np.clip((a.astype(np.float64) * 15 / top).round(), 0, 15).astype(np.int64)
    t = Text(no_wrap=True)
    for r in range(0, q.shape[0], 2):
        up, lo = q[r], q[r + 1]
        for x in range(q.shape[1]):
            t.append("▀", _CELL[(int(up[x]), int(lo[x]))])
        t.append("\n")
    return t


class CoreDetail(Static):
    def __init__(self, session, **kw):
        super().__init__("", **kw)
        self.session = session
        self.core = 0
        self.zoom = 0                  # 0: pooled overview; 1…: zoomed window
        self.origin = (0, 0)           # zoom window top-left (physical row, column)

    def show(self, core: int) -> None:
        self.core = core
        self.update_view()

    def zoom_in(self) -> None:
        self.zoom = min(3, self.zoom + 1)
        self.update_view()

    def zoom_out(self) -> None:
        self.zoom = max(0, self.zoom - 1)
        self.update_view()

    def pan(self, dr: int, dc: int) -> None:
        r, c = self.origin
        self.origin = (max(0, min(255, r + dr)), max(0, min(255, c + dc)))
        self.update_view()

    def render_text(self) -> Text:
        c = self.session.m.cores[self.core]
        cfg = c.config
        t = Text(no_wrap=True)
        t.append(f"core {self.core}  chain {c.chain}  {'on' if c.powered else 'off'}  {c.phase}"
                 f"  busy until {c.busy_until}\n", style="bold")
        t.append(" ".join(f"{k}={v}" for k, v in cfg.items()) + "\n", style="dim")
        nh = max(8, cfg["nrows"])
        nv = max(8, cfg["ncols"])
        h = c.h[cfg["row0"]:cfg["row0"] + min(nh, 64)]
        v = c.v[cfg["col0"]:cfg["col0"] + min(nv, 64)]
        t.append("H ", style="bold")
        t.append(sparkline(h), style="cyan")
        t.append(f"  {' '.join(str(int(x)) for x in h[:8])}\n")
        t.append("V ", style="bold")
        t.append(sparkline(v), style="magenta")
        t.append(f"  {' '.join(str(int(x)) for x in v[:8])}\n")
        ev = c.events
        if ev["if_ops"]:
            # integrate-and-fire: spike counts of the output lanes (V side first)
            s = c.spike_counts[cfg["col0"]:cfg["col0"] + min(nv, 64)]
            t.append("S ", style="bold")
            t.append(sparkline(s), style="yellow")
            t.append(f"  {' '.join(str(int(x)) for x in s[:8])}  ({ev['spikes']} spikes)\n")
        if ev["op_ops"]:
            p = c.update_pulses
            t.append(f"update pulses {ev['op_pulses']} in {ev['op_ops']} opu, max {int(p.max())} per cell\n",
                     style="bold")
        g = c.conductances
        if self.zoom == 0:
            t.append("G (max-pooled 8×8, 256×256 nS)\n", style="bold")
            t.append_text(heat_text(pool(g, 32, 32)))
        else:
            size = {1: 64, 2: 32, 3: 16}[self.zoom]
            r0, c0 = self.origin
            r0, c0 = min(r0, 256 - size), min(c0, 256 - size)
            win = g[r0:r0 + size, c0:c0 + size]
            t.append(f"G rows {r0}..{r0 + size - 1}, cols {c0}..{c0 + size - 1} "
                     f"(max {int(win.max())} nS)\n", style="bold")
            t.append_text(heat_text(win, max(1, int(g.max()))))
        return t

    def update_view(self) -> None:
        self.update(self.render_text())

    # the mouse wheel pans a zoomed heatmap by 16 rows
    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if self.zoom and not getattr(self.app, "running", False):
            self.pan(16, 0)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        if self.zoom and not getattr(self.app, "running", False):
            self.pan(-16, 0)
