"""Run control of a debug session: slices, interrupts and the command wrapper.

Slices and interrupts.  Every command runs the machine in bounded slices (a number of
instructions, or of cycles for the cycle commands, sized to take about `slice_seconds` of wall
time) and checks between slices whether `interrupt()` was called — from another thread (the TUI
runs commands in a worker thread) or from a SIGINT handler (`sigint_interrupts()`, line and batch
mode).  An interrupted command stops with reason "interrupted" at a slice boundary: a landing
point (a cycle state for the cycle commands) whose breakpoint arrival has been dealt with, so
continuing afterwards reaches exactly the state and trace an uninterrupted run reaches.  Slicing
does not change the machine's behaviour (its state at a cycle does not depend on how the run was
cut up).  Long runs also take a checkpoint every `checkpoint_seconds`, so that reverse execution
after a long run replays at most that much.
"""
from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time

from .history import normalize
from .stops import Interrupted, Stop

_NEVER = 2**64 - 1                   # "no cycle bound"
# slice sizes adapt to take about slice_seconds each, within these bounds
_SLICE_BOUNDS = {"insns": (16, 1 << 24), "cycles": (1 << 10, 1 << 24), "budget": (1 << 10, 1 << 26)}


def _command(fn):
    """A command that runs the machine: the outermost one turns an interrupt into a stop."""
    @functools.wraps(fn)
    def run(self, *args, **kw):
        if self._depth:
            return fn(self, *args, **kw)
        self._depth += 1
        self.running = True
        self._run_started = self._last_checkpoint = time.perf_counter()
        self._progress = (self.m.cycle, self.m.instret)
        try:
            return fn(self, *args, **kw)
        except Interrupted:
            return self._stop_interrupted()
        except KeyboardInterrupt:
            # a KeyboardInterrupt that was not routed through interrupt() (no sigint_interrupts,
            # or a second Ctrl+C): the machine state is consistent (C calls are never torn)
            return self._stop_interrupted()
        finally:
            self.m.clear_breakpoints()
            self._depth -= 1
            self.running = False
            self._cancel.clear()
            self._progress = (self.m.cycle, self.m.instret)
    return run



class RunControl:
    """Slicing, interrupts and progress (mixed into `Session`)."""

    def interrupt(self) -> None:
        """Ask the running command to stop at its next slice boundary (thread-safe; also safe
        from a signal handler).  A request made while no command runs is kept for the next
        command (clear it with `clear_interrupt`)."""
        self._cancel.set()

    def clear_interrupt(self) -> None:
        self._cancel.clear()

    @property
    def interrupt_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def progress(self) -> tuple[int, int]:
        """(cycle, instret) of the running command at its last slice boundary (safe to read from
        another thread while the command runs), else of the machine."""
        if self.running:
            return self._progress
        return self.m.cycle, self.m.instret

    @contextlib.contextmanager
    def sigint_interrupts(self):
        """While active, Ctrl+C (SIGINT) interrupts the running command at its next slice
        boundary instead of raising KeyboardInterrupt wherever Python happens to be (also a
        second one: the command still stops at its next boundary, which slices bound in wall
        time).  While no command runs the machine, Ctrl+C raises KeyboardInterrupt.  Every
        Ctrl+C sets `sigint_seen` (also one arriving after the command's last slice boundary,
        which the command itself no longer sees), so the caller can report it and, in batch mode,
        skip the rest.  Only in the main thread; elsewhere a no-op."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            self.sigint_seen = True
            if self._depth:
                # a command runs: it stops at its next slice boundary.  Never raise here: a
                # KeyboardInterrupt could land between a C slice and the Python code that deals
                # with where it stopped (a breakpoint arrival), losing that stop
                self._cancel.set()
                return
            raise KeyboardInterrupt

        old = signal.signal(signal.SIGINT, handler)
        self.sigint_seen = False
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old)
            self._cancel.clear()

    @contextlib.contextmanager
    def _uninterruptible(self):
        """Slice boundaries inside do not stop (an interrupt stays pending for the caller)."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1

    @contextlib.contextmanager
    def _or_back(self):
        """An interrupt inside puts the machine back where it was (a reverse step ends at its
        target or where it started, never somewhere in between)."""
        snap, fault = self.m.snapshot(), self.fault
        try:
            yield
        except (Interrupted, KeyboardInterrupt):
            self.m.restore(snap)
            self.fault = fault
            normalize(self.m)
            raise Interrupted from None

    def _poll(self, landing: bool = True) -> None:
        """A slice boundary: publish progress, take a checkpoint in long runs, and raise
        Interrupted when an interrupt was asked for.  `landing`: the state is a landing point."""
        self._progress = (self.m.cycle, self.m.instret)
        if self.on_poll is not None:
            self.on_poll()
        if self._cancel.is_set() and not self._hold:
            raise Interrupted
        if self.checkpoint_seconds and \
                time.perf_counter() - self._last_checkpoint >= self.checkpoint_seconds:
            normalize(self.m)
            self.history.save(self.m, landing=landing and self.at_landing())
            self._last_checkpoint = time.perf_counter()

    def _go(self, until: int = _NEVER, insns: int = 0) -> str:
        """One call into the C core, `insns` instructions at most (0: no bound); no RunResult
        is built (`self.m.result()` when one is needed)."""
        return self.m.advance(until, insns or None)

    def _slice_len(self, kind: str) -> int:
        if self.fixed_slice:
            return self.fixed_slice if kind != "budget" else self.fixed_slice * 64
        return self._slice[kind]

    def _adapt(self, kind: str, seconds: float) -> None:
        """Resize the slices of `kind` after a full slice that took `seconds`."""
        lo, hi = _SLICE_BOUNDS[kind]
        n = self._slice[kind]
        if seconds < self.slice_seconds / 2:
            n = min(hi, 2 * n)
        elif seconds > 2 * self.slice_seconds:
            n = max(lo, n // 2)
        self._slice[kind] = n

    def _slice_insns(self, left: int | None = None, until: int = _NEVER) -> str:
        """Up to one slice of instructions (at most `left`), stopping at cycle `until`."""
        n = self._slice_len("insns")
        if left is not None:
            n = min(n, left)
        budget = self._slice_len("budget")
        end = min(until, self.m.cycle + budget)
        t0 = time.perf_counter()
        stop = self._go(end, n)
        if stop == "cycle" and end < until:
            # the cycle budget ended the slice (not the caller's cycle limit), perhaps inside an
            # instruction's cost or a stall: one more instruction ends it on a landing point (a
            # breakpoint at the next pc fires here before it issues, as in an unsliced run)
            stop = self._go(until, 1)
            if budget == self._slice["budget"]:
                self._adapt("budget", time.perf_counter() - t0)
        elif stop == "step" and n == self._slice["insns"]:
            self._adapt("insns", time.perf_counter() - t0)
        return stop

    def _slice_on_breaks(self, addrs, skip_here: bool, left: int | None = None,
                         until: int = _NEVER) -> str:
        """One instruction slice with the C core's breakpoints set at `addrs` (cleared again
        afterwards, also when interrupted).  `skip_here`: the arrival at the current pc has been
        dealt with, so its breakpoint must not fire again."""
        self.m.skip_breakpoint(skip_here)
        for a in addrs:
            self.m.set_breakpoint(a)
        try:
            return self._slice_insns(left, until)
        finally:
            self.m.clear_breakpoints()

    def _slice_cycles(self, target: int) -> str:
        """Up to one slice of cycles toward cycle `target`."""
        n = self._slice_len("cycles")
        end = min(target, self.m.cycle + n)
        t0 = time.perf_counter()
        stop = self._go(end)
        if stop == "cycle" and end < target and n == self._slice["cycles"]:
            self._adapt("cycles", time.perf_counter() - t0)
        return stop

    def _stop_interrupted(self) -> Stop:
        self.m.clear_breakpoints()
        pc, where = self.m.pc, self.location(self.m.pc)
        return self._finish_stop("interrupted", f"interrupted at pc {pc:#06x} cycle {self.m.cycle}"
                                 + (f" ({where})" if where else ""))
