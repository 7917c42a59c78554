"""Break, log and watch points of a debug session: adding, toggling, enabling, conditions and
ignore counts, and what happens when the machine arrives at a breakpoint's pc or a watched value
changes.  A mixin of `Session` (it reads the session's machine, evaluator and event log)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .expr import ExprError, snapshot_value, values_equal
from .stops import DebugError, _short


@dataclass
class Breakpoint:
    id: int
    addr: int
    spec: str
    kind: str = "break"                # break, tbreak, log
    condition: str | None = None
    message: str | None = None         # log points: the format string
    enabled: bool = True
    hits: int = 0
    ignore: int = 0

    @property
    def temporary(self) -> bool:
        return self.kind == "tbreak"


@dataclass
class Watchpoint:
    id: int
    expr: str
    enabled: bool = True
    hits: int = 0
    old: Any = None
    kind: str = "watch"



class Points:
    """Break/log/watch point state and logic (mixed into `Session`)."""

    def _new_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    def add_break(self, spec: str, condition: str | None = None, temporary: bool = False) -> Breakpoint:
        addr = self.resolve(spec)
        if condition:
            self.ev.parse(condition)
        bp = Breakpoint(self._new_id(), addr, spec, "tbreak" if temporary else "break", condition)
        self.breaks[bp.id] = bp
        return bp

    def add_log(self, spec: str, message: str) -> Breakpoint:
        addr = self.resolve(spec)
        for e in _fields(message):
            self.ev.parse(e[0])
        bp = Breakpoint(self._new_id(), addr, spec, "log", None, message)
        self.breaks[bp.id] = bp
        return bp

    def add_watch(self, expr: str) -> Watchpoint:
        try:
            self.ev.parse(expr)
        except ExprError as e:
            raise DebugError(str(e)) from None
        w = Watchpoint(self._new_id(), expr)
        w.old = self._watch_value(w)
        self.watches[w.id] = w
        return w

    def toggle_break(self, addr: int) -> Breakpoint | None:
        """Remove the breakpoints at addr, or add one; the new breakpoint (or None)."""
        there = [b for b in self.breaks.values() if b.addr == addr and b.kind != "log"]
        if there:
            for b in there:
                del self.breaks[b.id]
            return None
        spec = self.location(addr) or f"{addr:#x}"
        bp = Breakpoint(self._new_id(), addr, spec)
        self.breaks[bp.id] = bp
        return bp

    def point(self, i: int):
        if i in self.breaks:
            return self.breaks[i]
        if i in self.watches:
            return self.watches[i]
        raise DebugError(f"no breakpoint or watchpoint {i}")

    def delete(self, ids: list[int] | None = None) -> int:
        if ids is None:
            n = len(self.breaks) + len(self.watches)
            self.breaks.clear()
            self.watches.clear()
            return n
        for i in ids:
            self.point(i)
        for i in ids:
            self.breaks.pop(i, None)
            self.watches.pop(i, None)
        return len(ids)

    def set_enabled(self, ids: list[int] | None, on: bool) -> None:
        pts = list(self.breaks.values()) + list(self.watches.values()) if ids is None \
            else [self.point(i) for i in ids]
        for p in pts:
            p.enabled = on
            if on and isinstance(p, Watchpoint):
                p.old = self._watch_value(p)

    def set_condition(self, i: int, cond: str | None) -> None:
        p = self.point(i)
        if not isinstance(p, Breakpoint):
            raise DebugError(f"{i} is a watchpoint; conditions are for breakpoints")
        if cond:
            try:
                self.ev.parse(cond)
            except ExprError as e:
                raise DebugError(str(e)) from None
        p.condition = cond or None

    def set_ignore(self, i: int, count: int) -> None:
        p = self.point(i)
        if not isinstance(p, Breakpoint):
            raise DebugError(f"{i} is a watchpoint")
        p.ignore = max(0, count)

    def _watch_value(self, w: Watchpoint):
        try:
            return snapshot_value(self.ev.eval(w.expr))
        except ExprError as e:
            return f"<error: {e}>"

    def format_message(self, message: str) -> str:
        out = []
        pos = 0
        for expr, spec, a, b in _fields(message):
            out.append(message[pos:a])
            try:
                v = self.ev.eval(expr)
                out.append(format(v, spec) if spec and not isinstance(v, np.ndarray) else _short(v))
            except (ExprError, ValueError, TypeError) as e:
                out.append(f"<{e}>")
            pos = b
        out.append(message[pos:])
        return "".join(out).replace("{{", "{").replace("}}", "}")

    def _enabled_breaks(self) -> dict[int, list[Breakpoint]]:
        out: dict[int, list[Breakpoint]] = {}
        for b in self.breaks.values():
            if b.enabled:
                out.setdefault(b.addr, []).append(b)
        return out

    def _arrive(self, bps: dict[int, list[Breakpoint]], count: bool = True) -> Breakpoint | None:
        """Breakpoint logic on arriving at pc: log points print, conditions and ignore counts
        apply.  The breakpoint that stops, if any."""
        stop = None
        for b in bps.get(self.m.pc, ()):
            if b.condition:
                try:
                    if not self.ev.truth(b.condition):
                        continue
                except ExprError as e:
                    if count:
                        self._emit("info", f"breakpoint {b.id}: condition error: {e} (stopping)")
                    stop = stop or b
                    continue
            if not count:
                if b.kind != "log":
                    stop = stop or b
                continue
            if b.kind == "log":
                b.hits += 1
                self._emit("log", self.format_message(b.message or ""))
                continue
            if b.ignore > 0:
                b.ignore -= 1
                b.hits += 1
                continue
            b.hits += 1
            stop = stop or b
        return stop

    def _check_watches(self, count: bool = True) -> tuple[Watchpoint, Any, Any] | None:
        hit = None
        for w in self.watches.values():
            if not w.enabled:
                continue
            new = self._watch_value(w)
            if not values_equal(w.old, new):
                if hit is None:
                    hit = (w, w.old, new)
                    if count:
                        w.hits += 1
                w.old = new
        return hit


_FIELD_RE = re.compile(r"(?<!\{)\{([^{}]+)\}(?!\})")


def _fields(message: str):
    """(expression, format spec, start, end) of each {expr[:spec]} in a log message."""
    out = []
    for mt in _FIELD_RE.finditer(message):
        body = mt.group(1)
        expr, spec = body, ""
        # a trailing :spec (but not inside brackets, e.g. slices)
        depth = 0
        for i, ch in enumerate(body):
            if ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif ch == ":" and depth == 0:
                expr, spec = body[:i], body[i + 1:]
                break
        out.append((expr, spec, mt.start(), mt.end()))
    return out
