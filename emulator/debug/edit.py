"""Changing the machine from the debugger (`set`): a register, data memory, a core's H/V entry or
configuration field.  A mixin of `Session`.

An edit makes the recorded history wrong (replaying from a checkpoint would not redo it), so the
history starts again at the edited state: reverse execution goes back at most to the last edit,
and `restart` reloads the program (back to the loaded state, without the edits).
"""
from __future__ import annotations

import re

import numpy as np

from ..machine import NUM_CORES
from .history import normalize
from .stops import DebugError

_MEM = re.compile(r"mem(8|16|32|64)\((?P<addr>.+)\)$")
_CORE = re.compile(r"core\((?P<core>[^)]+)\)\.(?P<what>h|v)\[(?P<index>.+)\]$")
_CFG = re.compile(r"core\((?P<core>[^)]+)\)\.config\.(?P<field>\w+)$")
_REG = re.compile(r"x(\d+)$")

TARGETS = "xN | mem8/16/32/64(ADDR) | core(N).h[I] | core(N).v[I] | core(N).config.FIELD"


class Edit:
    """`set` and the history bookkeeping it needs (mixed into `Session`)."""

    floor: tuple[int, int] = (0, 0)      # (cycle, instret) reverse execution cannot go before
    edited = False                        # the machine differs from a replay of the program

    def set_value(self, target: str, expr: str) -> str:
        """Evaluate `expr` and write it to `target` (TARGETS); returns what was done."""
        target = target.strip().replace(" ", "")
        value = self.ev.eval(expr)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise DebugError(f"set needs an integer value, {expr!r} is {type(value).__name__}")
        value = int(value)
        if (m := _REG.match(target)) is not None:
            r = int(m.group(1))
            if not 1 <= r <= 15:
                raise DebugError(f"set: x{r} is not a writable register (x1..x15)")
            self.m.set_reg(r, value)
            done = f"x{r} = {value}"
        elif (m := _MEM.match(target)) is not None:
            bits = int(m.group(1))
            addr = int(self.ev.eval(m.group("addr")))
            if not -(1 << (bits - 1)) <= value < (1 << bits):
                raise DebugError(f"set: {value} does not fit {bits} bits")
            data = np.array([value & ((1 << bits) - 1)], dtype=f"<u{bits // 8}")
            try:
                self.m.write_mem(addr, data)
            except Exception:  # noqa: BLE001 - the C core refuses addresses outside memory
                raise DebugError(f"set: {bits // 8} bytes at {addr:#x} leave the data memory") from None
            done = f"mem{bits}({addr:#x}) = {value}"
        elif (m := _CORE.match(target)) is not None:
            core = self._core_index(m.group("core"))
            i = int(self.ev.eval(m.group("index")))
            reg = getattr(self.m.cores[core], m.group("what"))
            if not 0 <= i < len(reg):
                raise DebugError(f"set: {m.group('what').upper()} index {i} outside 0..{len(reg) - 1}")
            if not -32768 <= value <= 32767:
                raise DebugError(f"set: {value} does not fit an int16 register entry")
            reg[i] = value
            done = f"core({core}).{m.group('what')}[{i}] = {value}"
        elif (m := _CFG.match(target)) is not None:
            core = self._core_index(m.group("core"))
            try:
                self.m.cores[core].set_config(**{m.group("field"): value})
            except (KeyError, ValueError) as e:
                raise DebugError(f"set: {e.args[0] if e.args else e}") from None
            done = f"core({core}).config.{m.group('field')} = {value}"
        else:
            raise DebugError(f"set: cannot write {target!r} (one of {TARGETS})")
        self._after_edit()
        return done

    def _core_index(self, text: str) -> int:
        i = int(self.ev.eval(text))
        if not 0 <= i < NUM_CORES:
            raise DebugError(f"no core {i} (cores 0..{NUM_CORES - 1})")
        return i

    def _after_edit(self) -> None:
        """The history starts again here; watch and change markers take the new values."""
        normalize(self.m)
        self.history.clear()
        self.history.save(self.m, landing=self.at_landing())
        self.floor = (self.m.cycle, self.m.instret)
        self.edited = True
        for w in self.watches.values():
            w.old = self._watch_value(w)
        self._core_state = self._cores_now()
        self._emit("info", "state edited: reverse execution starts here; `restart` reloads")
