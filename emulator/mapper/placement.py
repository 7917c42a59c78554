"""Placement of a QModel on the 48 cores: one core per (layer, row segment, column block) in the
cheapest-scan order, the core map, and the balancing rows that equalise each core's column
conductance totals.  Code generation (codegen.py, batch_codegen.py, …) builds on these."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import MAX_COLS, MAX_ROWS, MapError, QModel, has_weights


N_CORES = 48
# scan cost by chain position (H shifts 1,3,5,6,4,2): cheapest positions first, chains interleaved
POS_ORDER = (0, 5, 1, 4, 2, 3)
CORE_ORDER = [chain * 6 + pos for pos in POS_ORDER for chain in range(8)]


@dataclass
class Slot:
    core: int
    layer: int
    name: str
    seg: int
    blk: int
    row0: int
    rows: int
    col0: int
    cols: int
    rep: int = 1                    # the core holds `rep` copies of these columns side by side
    replica: int = 0                # data-parallel replica of the whole network (compile_model replicate)

    @property
    def utilisation(self):
        return self.rows * self.cols * self.rep / (MAX_ROWS * MAX_COLS)


def place(q: QModel, cores=None, replicate=1) -> list[Slot]:
    """One core per (layer, row segment, column block); refuses models that need > 48 cores.
    With `replicate` = R the whole network is placed R times on distinct cores (replica r takes
    the next cores in the cheapest-scan order, so the replicas' cores sit on different chains
    where possible)."""
    order = list(cores) if cores is not None else CORE_ORDER
    need = [(k, L) for k, L in enumerate(q.layers) if has_weights(L)]
    total = sum(len(L.segments) * len(L.colblocks) for _, L in need)
    if replicate < 1:
        raise MapError(f"replicate must be ≥ 1, got {replicate}")
    if total > len(order):
        per = ", ".join(f"{L.name}: {len(L.segments)}×{len(L.colblocks)}" for _, L in need)
        raise MapError(f"the model needs {total} cores ({per} segments × column blocks) "
                       f"but only {len(order)} are available; shrink or prune the model")
    if total * replicate > len(order):
        raise MapError(f"replicate={replicate} needs {replicate} × {total} = {total * replicate} cores "
                       f"but only {len(order)} are available; at most {len(order) // total} "
                       f"replicas of this model fit")
    slots, it = [], iter(order)
    for r in range(replicate):
        for k, L in need:
            for si, (r0, nr) in enumerate(L.segments):
                for bi, (c0, nc) in enumerate(L.colblocks):
                    slots.append(Slot(next(it), k, L.name, si, bi, r0, nr, c0, nc, L.rep, r))
    return slots


def core_map_text(q: QModel, slots: list[Slot]) -> str:
    nrep = 1 + max((s.replica for s in slots), default=0)
    lines = ["core chain pos  layer    seg blk   rows        cols        copies  util"
             + ("  replica" if nrep > 1 else "")]
    for s in sorted(slots, key=lambda s: s.core):
        lines.append(f"{s.core:4d} {s.core // 6:5d} {s.core % 6:3d}  {s.name:<8s} {s.seg:3d} {s.blk:3d}"
                     f"   {s.row0:3d}+{s.rows:<4d}    {s.col0:3d}+{s.cols:<4d}    ×{s.rep:<3d}"
                     f"  {100 * s.utilisation:5.1f} %" + (f"  {s.replica:7d}" if nrep > 1 else ""))
    used = len(slots)
    cells = sum(s.rows * s.cols * s.rep for s in slots)
    lines.append(f"{used} of {N_CORES} cores used ({N_CORES - used} left powered off); "
                 f"{cells} weights, {100 * cells / (used * MAX_ROWS * MAX_COLS):.1f} % of the "
                 f"used cores' capacity")
    grid = []
    for chain in range(8):
        row = []
        for pos in range(6):
            c = chain * 6 + pos
            s = next((s for s in slots if s.core == c), None)
            lab = (s.name if not s.replica else f"{s.name[:3]}r{s.replica}") if s else ""
            row.append(f"{lab[:5]:>5s}" if s else "    .")
        grid.append(f"chain {chain}: " + " ".join(row))
    return "\n".join(lines + [""] + grid)


PAD_CODE = 112      # largest |code| of a balancing row (the weight code range)


def _spread(deficit, P: int) -> np.ndarray:
    """P balancing rows (int8) whose codes add up to each column's deficit of Σ|code|, as evenly
    as possible (partial balance when P rows of ≤ PAD_CODE cannot cover it)."""
    d = np.minimum(np.asarray(deficit, np.int64), P * PAD_CODE)
    base, rem = d // max(P, 1), d % max(P, 1)
    return (np.tile(base, (P, 1)) + (np.arange(P)[:, None] < rem[None, :])).astype(np.int8)


def pad_rows(block, P: int) -> np.ndarray:
    """P balancing rows for a block of weight codes (rows × columns) on its own core: they bring
    every column's Σ|code| up to the block's largest (see balance_rows)."""
    tot = np.abs(np.asarray(block, np.int64)).sum(0)
    return _spread(tot.max() - tot, P)


def balance_rows(q: QModel, slots: list[Slot]) -> dict:
    """Column-total balancing rows (docs/mapper.md): voltage-mode sensing divides each output
    line by its total conductance Σ(G⁺+G⁻) and references the gain to the window's mean total,
    so columns whose |codes| sum to less than the mean come out too large and vice versa
    (docs/analog.md).  Rows with input 0 add conductance to a column's total without adding to
    its sum, so every core gets rows below its weights that bring each column's Σ|code| up to
    the core's largest: then all columns have the same total and the per-column gain error is
    gone.  Returns {(layer, seg): (P, {blk: P × cols int8 codes})}; P rows per segment (the
    same for every column block of a segment, ≤ 128 − rows)."""
    out = {}
    for k, L in enumerate(q.layers):
        if not has_weights(L):
            continue
        for si, (r0, nr) in enumerate(L.segments):
            need, deficits = 0, {}
            for bi, (c0, nc) in enumerate(L.colblocks):
                tot = np.abs(L.codes[r0:r0 + nr, c0:c0 + nc].astype(np.int64)).sum(0)
                tot = np.tile(tot, L.rep)
                d = tot.max() - tot
                deficits[bi] = d
                need = max(need, int(-(-d.max() // PAD_CODE)))
            P = min(need, MAX_ROWS - nr)
            if P <= 0:
                continue
            out[(k, si)] = (P, {bi: _spread(d, P) for bi, d in deficits.items()})
    return out
