"""Reverse execution of a debug session: going to any earlier landing point or cycle by
replaying from a checkpoint (`history.History`), reverse steps, and reverse-continue scanning
the history backwards for the last breakpoint arrival or watchpoint change.  A mixin of
`Session`."""
from __future__ import annotations

from typing import Any

from ..machine import Snapshot
from .history import normalize
from .runctl import _command
from .stops import Interrupted, Stop, _short

# a reverse step replaying more than _LONG_REPLAY instructions (cycles) from its checkpoint
# leaves a checkpoint _NEAR before its target on the way, for the next reverse steps
_LONG_REPLAY = 1 << 22
_NEAR = 1 << 12


class Reverse:
    """Reverse execution and its commands (mixed into `Session`)."""

    def _replay(self, cp, reached, advance, landing: bool = True) -> None:
        """Restore checkpoint `cp` (None: go on from the current state) and run forward with
        `advance()` (one slice: the stop name) until `reached()`.  An ebreak stops a replay early,
        so the replay goes on past it; a fault ends it.  Between slices an interrupt leaves the
        machine where the replay got to."""
        if cp is not None:
            self.history.restore(self.m, cp)
            self.fault = None
        while not reached() and not self.m.halted and self.fault is None:
            stop = advance()
            if stop == "fault":
                self.fault = self.m.result()
                break
            if stop in ("step", "cycle") and not reached():
                self._poll(landing)
                continue
            if stop != "ebreak":
                break
        normalize(self.m)

    def _replay_near(self, cp, distance: int, position, target: int, advance, landing: bool) -> Any:
        """A long replay (after a long run: `distance` instructions or cycles from checkpoint `cp`)
        first goes to `target - _NEAR` and leaves a checkpoint there, so that the next reverse
        steps replay little.  The checkpoint to go on from (None: the current state)."""
        if distance < _LONG_REPLAY:
            return cp
        near = target - _NEAR
        self._replay(cp, lambda: position() >= near, lambda: advance(near), landing)
        if position() == near and self.fault is None and not self.m.halted:
            self.history.save(self.m, landing=landing and self.at_landing())
        return None

    @_command
    def goto_instret(self, k: int) -> Stop:
        """The landing point of k instructions (rebuilt from a checkpoint)."""
        self.mark()
        k = max(self.floor[1], k)         # not before the last `set` (edit.py)
        cp = self.history.for_instret(k)

        def advance(to: int) -> str:
            return self._slice_insns(to - self.m.instret)

        cp = self._replay_near(cp, k - cp.instret, lambda: self.m.instret, k, advance, True)
        self._replay(cp, lambda: self.m.instret >= k, lambda: advance(k))
        return self._record("step", "")

    @_command
    def goto_cycle(self, cycle: int) -> Stop:
        """The state at `cycle` (rebuilt from a checkpoint)."""
        self.mark()
        cycle = max(self.floor[0], cycle)
        cp = self.history.for_cycle(cycle)
        cp = self._replay_near(cp, cycle - cp.cycle, lambda: self.m.cycle, cycle,
                               self._slice_cycles, False)
        self._replay(cp, lambda: self.m.cycle >= cycle, lambda: self._slice_cycles(cycle),
                     landing=False)
        return self._record("cycle", "")

    @_command
    def reverse_stepi(self, n: int = 1) -> Stop:
        k = self.m.instret
        # between landing points (after a cycle step) the first step back goes to the landing
        back = n if self.at_landing() or self.m.halted or self.fault else n - 1
        with self._or_back():
            if k - back < self.floor[1] or (k == self.floor[1] and back > 0):
                st = self.goto_instret(self.floor[1])
                st.text = ("at the last `set` (history starts there)" if self.edited
                           else "at the beginning of the program")
                return st
            return self.goto_instret(k - back)

    @_command
    def reverse_step(self, n: int = 1) -> Stop:
        """Back one source line: to the first instruction of the previous line executed."""
        self.mark()
        with self._or_back():
            return self._reverse_step(n)

    def _reverse_step(self, n: int) -> Stop:
        st = None
        for _ in range(max(1, n)):
            k = self.m.instret - (1 if self.at_landing() else 0)
            here = self.line_of(self.m.pc)
            st = self.goto_instret(max(0, k))
            # keep going back while the same line continues (multi-word pseudo instructions)
            while self.m.instret > 0:
                line = self.line_of(self.m.pc)
                prev_pc = self.m.prev_pc
                if line is None or self.line_of(prev_pc) != line or line == here:
                    break
                st = self.goto_instret(self.m.instret - 1)
            if self.m.instret == 0:
                break
        return st

    @_command
    def reverse_stepc(self, n: int = 1) -> Stop:
        return self.goto_cycle(self.m.cycle - max(1, n))

    @_command
    def reverse_continue(self) -> Stop:
        """Back to the most recent breakpoint arrival or watchpoint change before now.  The history
        is scanned backwards one checkpoint segment at a time.  An interrupt leaves the machine at
        the start of the part scanned so far (nothing stops between there and where it was), or
        where it was when no segment was finished."""
        self.mark()
        bps = {a: [b for b in lst if b.kind != "log"] for a, lst in self._enabled_breaks().items()}
        watching = any(w.enabled for w in self.watches.values())
        cur_k = self.m.instret
        end_k = cur_k - 1 if self.at_landing() or self.fault else cur_k
        checkpoints = [c for c in self.history.points if c.instret <= end_k]
        seg_end = end_k
        back: tuple[Any, Any] = (self.m.snapshot(), self.fault)    # where an interrupt returns to
        found = None
        try:
            for cp in reversed(checkpoints):
                if cp.instret > seg_end:
                    continue
                hits = self._scan(cp, seg_end, bps, watching)
                if hits:
                    found = hits[-1]
                    break
                back = (cp, None)
                # the earlier segment ends just before this checkpoint's landing point, whose
                # arrival was evaluated here; with watchpoints it ends on it, so that the change
                # into the checkpoint's state is compared too (each segment seeds the watched
                # values from its own checkpoint)
                seg_end = cp.instret - (1 if cp.landing and not watching else 0)
                if seg_end < 0:
                    break
        except (Interrupted, KeyboardInterrupt):
            where, fault = back
            if isinstance(where, Snapshot):
                self.m.restore(where)
            else:
                self.history.restore(self.m, where)
            self.fault = fault
            normalize(self.m)
            raise Interrupted from None
        if found is not None:
            k, text, pid = found
            # the found stop is the result: its replay is not cut short by an interrupt
            with self._uninterruptible():
                st = self.goto_instret(k)
            st.reason = "breakpoint" if text.startswith("breakpoint") else "watchpoint"
            st.text = "reverse: " + text
            st.point = pid
            self._emit("stop", st.text)
            return st
        st = self.goto_instret(0)
        st.reason = "history"
        st.text = "reverse: reached the beginning of the program"
        self._emit("stop", st.text)
        return st

    def _scan(self, cp, seg_end: int, bps, watching: bool) -> list[tuple[int, str, Any]]:
        """The breakpoint arrivals and watchpoint changes (instret, text, point id) from checkpoint
        `cp` up to the landing point `seg_end`, without counting hits or printing log points.
        Without watchpoints it runs on the C core's breakpoints in slices; with them it steps."""
        self.history.restore(self.m, cp)
        normalize(self.m)
        for w in self.watches.values():
            w.old = self._watch_value(w)
        hits: list[tuple[int, str, Any]] = []
        arrived = -1                       # the instret whose arrival has been evaluated

        def arrive() -> None:
            nonlocal arrived
            arrived = self.m.instret
            b = self._arrive(bps, count=False)
            if b is not None:
                hits.append((self.m.instret, f"breakpoint {b.id} at "
                             f"{self.location(b.addr) or hex(b.addr)}", b.id))

        if cp.landing and cp.instret > 0:
            arrive()
        if watching:
            while self.m.instret < seg_end and not self.m.halted:
                self._poll()
                if self._go(insns=1) == "fault":
                    break
                w = self._check_watches(count=False)
                if w is not None:
                    hits.append((self.m.instret, f"watchpoint {w[0].id}: {w[0].expr}: "
                                 f"{_short(w[1])} → {_short(w[2])}", w[0].id))
                arrive()
            return hits
        stop = None
        while self.m.instret < seg_end and not self.m.halted:
            self._poll()
            stop = self._slice_on_breaks(bps, skip_here=arrived == self.m.instret,
                                         left=seg_end - self.m.instret)
            if stop == "breakpoint":
                arrive()
            elif stop == "fault":
                break
        # the last landing point: stepping checks its arrival, a run ending there does not
        if self.m.instret == seg_end and arrived != seg_end and stop != "fault" \
                and not self.m.halted and self.m.pc in bps:
            arrive()
        return hits
