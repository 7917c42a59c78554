"""`Core`: one CIM core of a Machine (`machine.cores[i]`) — zero-copy views of its registers,
conductances and weights, its configuration fields, power state, phase and event counters.
The Machine owns the C struct; a Core only holds views into it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._native import (CFG_FIELDS, CFG_NAMES, CORE_COLS, CORE_ROWS, LOGICAL_ROWS, NUM_CORES, PHASE_NAMES,
                      REG_LEN, as_buffer, check, lib, view)

if TYPE_CHECKING:
    from .machine import Machine


class Core:
    """One CIM core: zero-copy views of its registers and arrays, and its status."""

    def __init__(self, machine: "Machine", index: int):
        self._m = machine
        self.index = index
        c = machine._native.m.core[index]
        self._c = c
        owner = machine._native
        self.h = view(c.h, np.int16, (REG_LEN,), owner)
        self.v = view(c.v, np.int16, (REG_LEN,), owner)
        # conductances are read-only here: set_conductances() goes through C so the weight
        # cache that the MVM kernels use is refreshed
        self.conductances = view(c.g, np.uint16, (CORE_ROWS, CORE_COLS), owner, writeable=False)
        self.weights = view(c.w, np.int16, (LOGICAL_ROWS, CORE_COLS), owner, writeable=False)

    def set_conductances(self, g) -> None:
        """Write all 256×256 conductances (nS, uint16) and refresh the ideal weights."""
        g = np.asarray(g)
        if g.dtype != np.uint16 and g.size and (g.min() < 0 or g.max() > 65535):
            raise ValueError("conductances must lie in 0..65535 nS")
        g = np.ascontiguousarray(g, dtype=np.uint16)
        if g.shape != (CORE_ROWS, CORE_COLS):
            raise ValueError(f"conductances must have shape ({CORE_ROWS}, {CORE_COLS}), got {g.shape}")
        check(lib.nr_core_set_conductances(self._m._native.m, self.index,
                                           as_buffer(g, np.uint16, "conductances")), "conductances")

    def set_weights(self, w, row0: int = 0, col0: int = 0) -> None:
        """Program integer codes (|w| ≤ 128) as ideal differential pairs, without timing."""
        w = np.asarray(w)
        if w.ndim != 2 or row0 + w.shape[0] > LOGICAL_ROWS or col0 + w.shape[1] > CORE_COLS:
            raise ValueError(f"weights of shape {w.shape} at ({row0}, {col0}) do not fit "
                             f"{LOGICAL_ROWS}×{CORE_COLS}")
        if np.any(np.abs(w.astype(np.int64)) > 128):
            raise ValueError("weight codes must lie in -128..128")
        lsb = self._m.config["g_lsb_ns"]
        g = self.conductances.copy()
        w = w.astype(np.int64)
        rows = slice(2 * row0, 2 * (row0 + w.shape[0]), 2)
        cols = slice(col0, col0 + w.shape[1])
        g[rows, cols] = np.maximum(w, 0) * lsb
        g[2 * row0 + 1:2 * (row0 + w.shape[0]):2, cols] = np.maximum(-w, 0) * lsb
        self.set_conductances(g)

    @property
    def config(self) -> dict[str, int]:
        """Configuration fields by name (a copy; write with set_config)."""
        return {name: int(self._c.cfg[i]) for name, (i, *_r) in CFG_FIELDS.items()}

    def set_config(self, **fields: int) -> None:
        for name, value in fields.items():
            if name not in CFG_FIELDS:
                raise KeyError(f"unknown configuration field {name!r}; fields: {', '.join(CFG_NAMES)}")
            i, lo, hi, _ = CFG_FIELDS[name]
            if lib.nr_core_set_cfg(self._m._native.m, self.index, i, int(value)) != lib.NR_OK:
                raise ValueError(f"{name} = {value} is outside {lo}..{hi}")

    def _status(self):
        return self._m._native.core_status(self.index)

    @property
    def powered(self) -> bool:
        return bool(self._c.powered)

    @powered.setter
    def powered(self, on: bool) -> None:
        check(lib.nr_core_set_power(self._m._native.m, self.index, int(bool(on))),
              f"power core {self.index} (it must be idle)")

    @property
    def phase(self) -> str:
        return PHASE_NAMES[self._status().phase]

    def phase_at(self, cycle: int) -> str:
        """Phase of the current (or last) operation at another cycle."""
        return PHASE_NAMES[lib.nr_core_phase_at(self._m._native.m, self.index, cycle)]

    @property
    def busy_until(self) -> int:
        return int(self._c.busy_until)

    @property
    def busy(self) -> bool:
        return bool(self._status().busy)

    @property
    def counters(self) -> dict[str, int]:
        st = self._status()
        return {"busy_cycles": st.busy_cycles, "mvms": st.mvms, "samples": st.samples,
                "prog_cells": st.prog_cells, "prog_pulses": st.prog_pulses,
                "prog_failed": st.prog_failed, "prog_outside": st.prog_outside,
                "powered_cycles": st.powered_cycles}

    @property
    def keys(self) -> dict[str, int]:
        """The noise-key state (docs/machine.md, Batches): the key counters of the next MVM and
        sample draws, and the bkey stride and advance of this core's batches (0: 1 and BN)."""
        c = self._c
        return {"mvm": int(c.k_mvm), "sample": int(c.k_smp), "stride": int(c.key_stride),
                "advance": int(c.key_adv)}

    @property
    def events(self) -> dict[str, int]:
        """Energy event counters of this core (see docs/analog.md, Energy)."""
        c = self._c
        return {"line_pulses": int(c.ev_line_pulses), "integrations": int(c.ev_integ),
                "compares": int(c.ev_compare), "decrements": int(c.ev_decrement),
                "macs": int(c.ev_macs), "scan_shifts": int(c.ev_scan_shifts),
                "wv_pulses": int(c.ev_wv_pulses), "wv_reads": int(c.ev_wv_reads),
                "passes": int(c.ev_passes), "mvm_cycles": int(c.ev_mvm_cycles),
                "wl_switches": int(c.ev_wl_switches), "wl_phases": int(c.ev_wl_phases),
                "input_pulses": int(c.ev_input_pulses), "samples": int(c.ev_samples),
                "shift_adds": int(c.ev_shift_adds),
                "if_line_pulses": int(c.ev_if_pulses), "if_integrations": int(c.ev_if_integ),
                "if_steps": int(c.ev_if_steps), "spikes": int(c.ev_spikes),
                "if_ops": int(c.n_if), "if_cycles": int(c.ev_if_cycles),
                "op_pulses": int(c.ev_op_pulses), "op_phases": int(c.ev_op_phases),
                "op_ops": int(c.n_opu), "op_cycles": int(c.ev_op_cycles), "refreshes": int(c.n_refresh),
                "powered_cycles": int(self._status().powered_cycles)}

    @property
    def spike_counts(self) -> np.ndarray:
        """Integrate-and-fire: spikes of each output lane (V index for fwd, H index for bwd/rec)
        since the last ifclr or ifrun."""
        return view(self._c.if_cnt, np.uint32, (REG_LEN,), self._m._native, writeable=False)

    @property
    def update_pulses(self) -> np.ndarray:
        """Outer-product update pulses each cell took (opu; 256 × 256, physical rows), the
        endurance count; saturates at 65535."""
        return view(self._c.op_pulses, np.uint16, (CORE_ROWS, CORE_COLS), self._m._native,
                    writeable=False)

    @property
    def charges(self) -> np.ndarray:
        """Integrate-and-fire: the charge each output lane's neuron holds, in output codes."""
        return view(self._c.if_u, np.float64, (REG_LEN,), self._m._native, writeable=False)

    @property
    def cell_pulses(self) -> np.ndarray:
        """Analog model: SET/RESET pulses of each cell's last write-verify (saturating at 255)."""
        return view(self._c.cell_pulses, np.uint8, (CORE_ROWS, CORE_COLS), self._m._native,
                    writeable=False)

    @property
    def programmed_conductances(self) -> np.ndarray:
        """Analog model: the conductances write-verify left (before relaxation), nS."""
        return view(self._c.g_prog, np.uint16, (CORE_ROWS, CORE_COLS), self._m._native,
                    writeable=False)

    @property
    def chain(self) -> int:
        return int(lib.nr_chain_of(self.index))

    def __repr__(self) -> str:
        return f"<Core {self.index} {'on' if self.powered else 'off'} {self.phase}>"


class _Cores:
    """machine.cores[i]: Core objects made on first use (48 × 4 views cost a few ms)."""

    def __init__(self, machine: "Machine"):
        self._m = machine
        self._cores: list[Core | None] = [None] * NUM_CORES

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(NUM_CORES))]
        if not -NUM_CORES <= i < NUM_CORES:
            raise IndexError(f"no core {i} (cores 0..{NUM_CORES - 1})")
        i %= NUM_CORES
        if self._cores[i] is None:
            self._cores[i] = Core(self._m, i)
        return self._cores[i]

    def __len__(self) -> int:
        return NUM_CORES

    def __iter__(self):
        return (self[i] for i in range(NUM_CORES))
