"""Forward execution of a debug session: the one checking loop (break/watch points, until
expressions, source lines, temporary addresses), the fast run on the C core's breakpoints, and
the forward commands.  A mixin of `Session`."""
from __future__ import annotations

from .expr import ExprError
from .history import normalize
from .runctl import _command
from .stops import DebugError, Stop, _short


class Forward:
    """Forward execution and its commands (mixed into `Session`)."""

    def _can_run(self) -> None:
        if self.fault is not None:
            raise DebugError(f"the program faulted: {self.fault.message} — inspect the state, "
                             "reverse, or `restart`")
        if self.m.halted:
            raise DebugError("the program has halted (reverse or `restart`)")

    def _run_checked(self, *, until_expr: str | None = None, temp: set[int] = frozenset(),
                     line_from: tuple | None = None, over_calls: bool = False,
                     max_insns: int | None = None, fast_ok: bool = True) -> Stop:
        """The one forward loop.  Stops at halt, fault, an arriving breakpoint, a watchpoint
        change, a true until-expression, a temporary address, or a source-line change."""
        self._can_run()
        bps = self._enabled_breaks()
        watches = any(w.enabled for w in self.watches.values())
        # an unfinished instruction cost (after a cycle step) first runs to the landing point
        if not self.at_landing():
            r = self.m.run_until(self.m.next_issue)
            if r.stop == "fault":
                return self._stop_fault(r)
            if self.m.halted:
                return self._stop_halt()
            if r.stop == "ebreak":
                return self._stop_ebreak(bps)
            b = self._arrive(bps)
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                return self._finish_stop("step", "")
        fast = fast_ok and not watches and until_expr is None and line_from is None \
            and max_insns is None
        if fast:
            return self._run_fast(bps, temp)
        limit = max_insns if max_insns is not None else self.max_steps
        done = 0
        while True:
            # every instruction is a slice boundary here (its arrival was dealt with below)
            self._poll()
            stop = None
            if over_calls and self._is_call(self.m.pc):
                ret = self.m.pc + 4
                st = self._run_fast(bps, set(temp) | {ret}, final=False)
                if st is not None:
                    return st
            else:
                stop = self._go(insns=1)
                if stop == "fault":
                    return self._stop_fault(self.m.result())
            done += 1
            self.history.maybe_save(self.m, landing=True, throttle=True)
            if self.m.halted:
                return self._stop_halt()
            if stop == "ebreak":
                return self._stop_ebreak(bps)
            hit = self._check_watches()
            if hit is not None:
                w, old, new = hit
                return self._finish_stop("watchpoint", f"watchpoint {w.id}: {w.expr}: "
                                         f"{_short(old)} → {_short(new)}", point=w.id, old=old, new=new)
            b = self._arrive(bps)
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                return self._finish_stop("step", "")
            if until_expr is not None:
                try:
                    if self.ev.truth(until_expr):
                        return self._finish_stop("until", f"until: {until_expr} is true")
                except ExprError as e:
                    return self._finish_stop("until", f"until: {e}")
            if line_from is not None:
                here = self.line_of(self.m.pc)
                if here is None or here != line_from:
                    return self._finish_stop("step", "")
            if done >= limit:
                if max_insns is not None:
                    return self._finish_stop("step", "")
                return self._finish_stop("limit", f"stopped after {done} instructions "
                                         "(the step limit of one command)")

    def _run_fast(self, bps, temp, final: bool = True) -> Stop | None:
        """Continue on the C core's breakpoints, in slices of instructions.  With final=False
        (next over a call), None when a temporary address was reached, so the caller's loop
        goes on."""
        # step off the current instruction first: its breakpoint already had its chance
        stop = self._go(insns=1)
        if stop == "fault":
            return self._stop_fault(self.m.result())
        if self.m.halted:
            return self._stop_halt()
        if stop == "ebreak":
            return self._stop_ebreak(bps)
        addrs = set(bps) | set(temp)
        limit = self.m.cycle + self.max_cycles
        while True:
            # arriving at a landing point (after the step off, a C breakpoint stop or a slice):
            # log points print, conditions and ignore counts apply, temporary addresses end
            b = self._arrive(bps) if self.m.pc in bps else None
            if b is not None:
                return self._stop_break(b)
            if self.m.pc in temp:
                if not final:
                    normalize(self.m)
                    return None
                return self._finish_stop("step", "")
            self._poll()
            # this arrival is dealt with: the C core must not fire its breakpoint again
            stop = self._slice_on_breaks(addrs, skip_here=True, until=limit)
            if stop in ("step", "breakpoint"):
                continue
            if stop == "cycle":
                return self._finish_stop("limit", f"still running after {self.max_cycles} cycles")
            if stop == "fault":
                return self._stop_fault(self.m.result())
            if stop == "halt" or self.m.halted:
                return self._stop_halt()
            if stop == "ebreak":
                return self._stop_ebreak(bps)
            return self._finish_stop(stop, "")

    def _is_call(self, pc: int) -> bool:
        from asm.disasm import decode
        words = self.m.program.words
        if pc % 4 or not 0 <= pc < 4 * len(words):
            return False
        spec, vals = decode(int(words[pc // 4]))
        return spec is not None and spec.mnemonic in ("jal", "jalr") and vals.get("rd", 0) != 0

    # ---------------------------------------------------------------- commands
    @_command
    def stepi(self, n: int = 1) -> Stop:
        self.mark()
        return self._run_checked(max_insns=max(1, n))

    @_command
    def step(self, n: int = 1, over: bool = False) -> Stop:
        """Source-line steps (an instruction at a time where there is no source)."""
        self.mark()
        st = None
        for _ in range(max(1, n)):
            here = self.line_of(self.m.pc)
            if here is None:
                st = self._run_checked(max_insns=1, over_calls=over)
            else:
                st = self._run_checked(line_from=here, over_calls=over)
            if st.reason != "step":
                break
        return st

    @_command
    def next(self, n: int = 1) -> Stop:
        return self.step(n, over=True)

    @_command
    def finish(self) -> Stop:
        """Run until the return address in x1 (the call convention's ra)."""
        self.mark()
        ret = int(self.m.regs[1])
        return self._run_checked(temp={ret})

    @_command
    def cont(self) -> Stop:
        self.mark()
        return self._run_checked()

    @_command
    def until(self, expr: str) -> Stop:
        self.mark()
        try:
            self.ev.parse(expr)
        except ExprError as e:
            raise DebugError(str(e)) from None
        return self._run_checked(until_expr=expr)

    @_command
    def advance(self, spec: str) -> Stop:
        self.mark()
        return self._run_checked(temp={self.resolve(spec)})

    @_command
    def stepc(self, n: int = 1) -> Stop:
        """Advance n cycles (halt and faults stop earlier; break/watch points do not)."""
        self.mark()
        return self.run_to_cycle(self.m.cycle + max(1, n))

    @_command
    def run_to_cycle(self, target: int) -> Stop:
        self._can_run()
        self.mark()
        if target <= self.m.cycle:
            return self.goto_cycle(target)
        while True:
            stop = self._slice_cycles(target)
            if stop != "cycle" or self.m.cycle >= target:
                break
            self._poll(landing=False)
        if stop == "fault":
            return self._stop_fault(self.m.result())
        if self.m.halted:
            return self._stop_halt()
        if stop == "ebreak":
            return self._stop_ebreak({})        # cycle steps do not stop at breakpoints
        return self._finish_stop("cycle", "")

    @_command
    def restart(self) -> Stop:
        self.mark()
        if self.edited:                   # a `set` changed the machine: reload the program
            self.load(self.m.program)
            return self._record("step", "restarted: the program was reloaded (edits undone)")
        return self.goto_instret(0)
