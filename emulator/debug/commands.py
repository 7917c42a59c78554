"""The gdb-like command language shared by the TUI command line, `--batch` files and line mode.

`CommandInterpreter(session).execute("break demo.s:82")` returns a list of rich renderables (and
never raises for a user mistake: errors come back as red messages, and `interp.failed` tells the
last command failed).  `display` expressions are printed at every stop, with the program
checker's new findings.  `interp.quit` turns true after `quit`; `interp.interrupted` tells whether the last command was interrupted
(`Session.interrupt()`, Ctrl+C).  `interp.runs(line)` tells whether a line runs the machine
(the TUI runs those in a worker thread, interruptible).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from rich.table import Table
from rich.text import Text

from ..machine import NUM_CORES, PHASE_NAMES
from .expr import ExprError
from .edit import TARGETS
from .keys import KEYS, key_display
from .session import DebugError, Session, Stop
from .stops import _short


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]
    usage: str
    help: str
    fn: str


COMMANDS = [
    Command(("break", "b"), "break LOC [if EXPR]", "breakpoint at an address, label, file:line or line", "do_break"),
    Command(("tbreak",), "tbreak LOC [if EXPR]", "temporary breakpoint (deleted when hit)", "do_tbreak"),
    Command(("log",), "log LOC \"message {expr[:fmt]}\"", "log point: print a message, do not stop", "do_log"),
    Command(("watch",), "watch EXPR | watch core N h|v|config|phase | watch mem ADDR [LEN]",
            "stop when a value changes (checked after each instruction)", "do_watch"),
    Command(("delete", "d"), "delete [ID …]", "delete break/watch/log points (all without IDs)", "do_delete"),
    Command(("disable",), "disable [ID …]", "disable points", "do_disable"),
    Command(("enable",), "enable [ID …]", "enable points", "do_enable"),
    Command(("condition",), "condition ID [EXPR]", "set (or clear) a breakpoint's condition", "do_condition"),
    Command(("ignore",), "ignore ID COUNT", "pass a breakpoint COUNT times before stopping", "do_ignore"),
    Command(("step", "s"), "step [N]", "one source line (an instruction where there is no source)", "do_step"),
    Command(("stepi", "si"), "stepi [N]", "N instructions", "do_stepi"),
    Command(("next", "n"), "next [N]", "one source line, over calls", "do_next"),
    Command(("finish",), "finish", "run until the return address in x1", "do_finish"),
    Command(("continue", "c"), "continue", "run to a breakpoint, watchpoint, halt, ebreak or fault", "do_continue"),
    Command(("cycle", "stepc"), "cycle [N]", "advance N cycles (default 1)", "do_cycle"),
    Command(("until", "u"), "until CYCLE | until EXPR", "run to a cycle, or until an expression is true", "do_until"),
    Command(("advance",), "advance LOC", "run to a location", "do_advance"),
    Command(("reverse-step", "rs"), "reverse-step [N]", "back N source lines", "do_rstep"),
    Command(("reverse-stepi", "rsi"), "reverse-stepi [N]", "back N instructions", "do_rstepi"),
    Command(("reverse-cycle", "rcycle"), "reverse-cycle [N]", "back N cycles", "do_rcycle"),
    Command(("reverse-continue", "rc"), "reverse-continue", "back to the previous break/watch stop", "do_rcontinue"),
    Command(("restart",), "restart", "back to the loaded state (points are kept)", "do_restart"),
    Command(("print", "p"), "print[/x|/d] EXPR", "evaluate an expression", "do_print"),
    Command(("display",), "display[/x|/d] [EXPR]", "print EXPR at every stop (no EXPR: list them)", "do_display"),
    Command(("undisplay",), "undisplay [N …]", "stop displaying (all without N)", "do_undisplay"),
    Command(("set",), "set TARGET = EXPR", "write xN, mem8/16/32/64(ADDR), core(N).h[I] / .v[I] / "
            ".config.FIELD (history restarts there)", "do_set"),
    Command(("x",), "x/N{b,h,w,g}[x|d] ADDR", "examine memory: N bytes/halfwords/words/doublewords", "do_x"),
    Command(("info", "i"), "info regs|break|watch|cores|core N|history|events", "show state", "do_info"),
    Command(("list", "l"), "list [LOC]", "source around the current line (or LOC)", "do_list"),
    Command(("help", "h", "?"), "help [COMMAND]", "this list", "do_help"),
    Command(("quit", "q", "exit"), "quit", "leave the debugger", "do_quit"),
]
_BY_NAME = {n: c for c in COMMANDS for n in c.names}
# the commands that run the machine (and can be interrupted)
RUNNING = {"do_step", "do_stepi", "do_next", "do_finish", "do_continue", "do_cycle", "do_until",
           "do_advance", "do_rstep", "do_rstepi", "do_rcycle", "do_rcontinue", "do_restart"}
_X_MAX = 1 << 16           # x/N: at most this many elements


def _err(msg: str) -> Text:
    return Text(f"error: {msg}", style="bold red")


class CommandInterpreter:
    def __init__(self, session: Session):
        self.s = session
        self.quit = False
        self.interrupted = False
        self.last: str = ""
        self.failed = False                  # the last command ended with an error
        self.on_stop: list[Callable[[Stop], None]] = []
        self.displays: dict[int, tuple[str, str]] = {}   # number → (expression, format)
        self._next_display = 1

    # ------------------------------------------------------------------ dispatch
    @staticmethod
    def _lookup(line: str) -> tuple[Command | None, str, str, str, list[str]]:
        """(command, word, rest, format, candidates) of a command line."""
        word, _, rest = line.strip().partition(" ")
        fmt = ""
        if "/" in word and not word.startswith("/"):
            word, _, fmt = word.partition("/")
        cmd = _BY_NAME.get(word)
        cands: list[str] = []
        if cmd is None:
            cands = sorted({c.names[0] for c in COMMANDS if c.names[0].startswith(word)})
            if len(cands) == 1:
                cmd = _BY_NAME[cands[0]]
        return cmd, word, rest, fmt, cands

    def runs(self, line: str) -> bool:
        """True when `line` is a command that runs the machine (step, continue, reverse-…)."""
        line = line.strip()
        if not line or line.startswith("#"):
            return False
        cmd = self._lookup(line)[0]
        return cmd is not None and cmd.fn in RUNNING

    def execute(self, line: str) -> list[Any]:
        out = self._execute(line)
        self.failed = any(isinstance(r, Text) and r.plain.startswith("error: ") for r in out)
        return out

    def _execute(self, line: str) -> list[Any]:
        line = line.strip()
        self.interrupted = False
        if not line or line.startswith("#"):
            return []
        cmd, word, rest, fmt, cands = self._lookup(line)
        if cmd is None:
            hint = f" (did you mean {', '.join(cands)}?)" if cands else " (try `help`)"
            return [_err(f"unknown command {word!r}{hint}")]
        self.last = line
        logged: list[Any] = []

        def grab(e):
            if e.kind == "log":
                logged.append(Text(f"log: {e.text}", style="green"))

        self.s.listeners.append(grab)
        try:
            return logged + getattr(self, cmd.fn)(rest.strip(), fmt)
        except (DebugError, ExprError) as e:
            return [_err(str(e))]
        except ValueError as e:
            return [_err(f"{cmd.usage}: {e}")]
        except Exception as e:  # noqa: BLE001 - a command never takes the debugger down
            return [_err(f"{type(e).__name__}: {e}")]
        finally:
            self.s.listeners.remove(grab)

    def _stopped(self, st: Stop) -> list[Any]:
        self.interrupted = st.reason == "interrupted"
        for fn in self.on_stop:
            fn(st)
        out = []
        if st.text:
            style = {"fault": "bold red", "breakpoint": "yellow", "watchpoint": "magenta",
                     "halt": "green", "interrupted": "bold yellow"}.get(st.reason, "cyan")
            out.append(Text(st.text, style=style))
        out.append(self.where())
        for d in self.s.m.checker.drain() if self.s.m.checker.mode == "warn" else ():
            loc, _sep, text = d.message.partition(": ")
            out.append(Text(f"{loc}: warning: {text}", style="yellow"))
        out.extend(self._show_displays())
        return out

    def _show_displays(self) -> list[Any]:
        out = []
        for n, (expr, fmt) in self.displays.items():
            try:
                v = self.s.ev.eval(expr)
            except (DebugError, ExprError) as e:
                out.append(Text(f"{n}: {expr} = <{e}>", style="dim"))
                continue
            shown = format_value(expr, v, fmt)
            out.append(Text(f"{n}: ") + shown if isinstance(shown, Text) else shown)
        return out

    def where(self) -> Text:
        s = self.s
        pc = s.m.pc
        loc = s.location(pc)
        t = Text()
        t.append(f"cycle {s.m.cycle}", style="bold")
        t.append(f"  instret {s.m.instret}  pc {pc:#06x}  ")
        if loc:
            t.append(loc, style="blue")
            f, _, ln = loc.rpartition(":")
            src = s.source_lines.get(f, [])
            if ln.isdigit() and 0 < int(ln) <= len(src):
                t.append("  " + src[int(ln) - 1].strip())
        else:
            t.append(s.disasm(pc), style="dim")
        return t

    @staticmethod
    def _int(text: str, default: int = 1, minimum: int = 1, what: str = "N") -> int:
        text = text.strip()
        n = int(text, 0) if text else default
        if n < minimum:
            raise DebugError(f"{what} must be at least {minimum} (got {n})")
        return n

    def _ids(self, rest: str) -> list[int] | None:
        if not rest:
            return None
        return [int(x) for x in rest.replace(",", " ").split()]

    # ------------------------------------------------------------------ points
    def _split_if(self, rest: str) -> tuple[str, str | None]:
        loc, sep, cond = rest.partition(" if ")
        return loc.strip(), (cond.strip() if sep else None)

    def do_break(self, rest, fmt, temporary=False):
        if not rest:
            rest = f"{self.s.m.pc:#x}"
        loc, cond = self._split_if(rest)
        b = self.s.add_break(loc, cond, temporary)
        where = self.s.location(b.addr) or ""
        kind = "temporary breakpoint" if temporary else "breakpoint"
        return [Text(f"{kind} {b.id} at {b.addr:#06x} {where}" + (f" if {cond}" if cond else ""),
                     style="yellow")]

    def do_tbreak(self, rest, fmt):
        return self.do_break(rest, fmt, True)

    def do_log(self, rest, fmt):
        loc, _, msg = rest.partition(" ")
        msg = msg.strip()
        if len(msg) >= 2 and msg[0] == msg[-1] and msg[0] in "\"'":
            msg = msg[1:-1]
        if not loc or not msg:
            raise DebugError('usage: log LOC "message {expr}"')
        b = self.s.add_log(loc, msg)
        return [Text(f"log point {b.id} at {b.addr:#06x} {self.s.location(b.addr) or ''}: {msg}",
                     style="yellow")]

    def do_watch(self, rest, fmt):
        parts = rest.split()
        if not parts:
            raise DebugError("usage: watch EXPR | watch core N h|v|config|phase | watch mem ADDR [LEN]")
        if parts[0] == "core" and len(parts) == 3 and parts[1].isdigit():
            what = {"h": "h", "v": "v", "config": "config", "phase": "phase", "g": "g"}.get(parts[2])
            if what is None:
                raise DebugError("watch core N h|v|config|phase|g")
            if not 0 <= int(parts[1]) < NUM_CORES:
                raise DebugError(f"no core {parts[1]} (cores 0..{NUM_CORES - 1})")
            expr = f"core({int(parts[1])}).{what}"
        elif parts[0] == "mem" and len(parts) in (2, 3):
            expr = f"mem({parts[1]}, {parts[2] if len(parts) == 3 else 1}, u8)"
        else:
            expr = rest
        w = self.s.add_watch(expr)
        return [Text(f"watchpoint {w.id}: {expr} = {_short(w.old)}", style="magenta")]

    def do_delete(self, rest, fmt):
        n = self.s.delete(self._ids(rest))
        return [Text(f"deleted {n} point{'s' if n != 1 else ''}")]

    def do_disable(self, rest, fmt):
        self.s.set_enabled(self._ids(rest), False)
        return [Text("disabled")]

    def do_enable(self, rest, fmt):
        self.s.set_enabled(self._ids(rest), True)
        return [Text("enabled")]

    def do_condition(self, rest, fmt):
        i, _, cond = rest.partition(" ")
        if not i:
            raise DebugError("usage: condition ID [EXPR]")
        self.s.set_condition(int(i), cond.strip() or None)
        return [Text(f"breakpoint {i}: " + (f"condition {cond.strip()}" if cond.strip() else "unconditional"))]

    def do_ignore(self, rest, fmt):
        i, _, n = rest.partition(" ")
        self.s.set_ignore(int(i), self._int(n, 0, 0, "the ignore count"))
        return [Text(f"breakpoint {i}: ignore the next {n or 0} hits")]

    # ------------------------------------------------------------------ running
    def do_step(self, rest, fmt):
        return self._stopped(self.s.step(self._int(rest)))

    def do_stepi(self, rest, fmt):
        return self._stopped(self.s.stepi(self._int(rest)))

    def do_next(self, rest, fmt):
        return self._stopped(self.s.next(self._int(rest)))

    def do_finish(self, rest, fmt):
        return self._stopped(self.s.finish())

    def do_continue(self, rest, fmt):
        return self._stopped(self.s.cont())

    def do_cycle(self, rest, fmt):
        return self._stopped(self.s.stepc(self._int(rest)))

    def do_until(self, rest, fmt):
        if not rest:
            raise DebugError("usage: until CYCLE | until EXPR")
        try:
            target = int(rest, 0)
        except ValueError:
            return self._stopped(self.s.until(rest))
        return self._stopped(self.s.run_to_cycle(target))

    def do_advance(self, rest, fmt):
        return self._stopped(self.s.advance(rest))

    def do_rstep(self, rest, fmt):
        return self._stopped(self.s.reverse_step(self._int(rest)))

    def do_rstepi(self, rest, fmt):
        return self._stopped(self.s.reverse_stepi(self._int(rest)))

    def do_rcycle(self, rest, fmt):
        return self._stopped(self.s.reverse_stepc(self._int(rest)))

    def do_rcontinue(self, rest, fmt):
        return self._stopped(self.s.reverse_continue())

    def do_restart(self, rest, fmt):
        return self._stopped(self.s.restart())

    # ------------------------------------------------------------------ inspecting
    def do_print(self, rest, fmt):
        if not rest:
            raise DebugError("usage: print[/x|/d] EXPR")
        if fmt not in ("", "x", "d"):
            raise DebugError(f"bad format /{fmt}: print/x or print/d")
        v = self.s.ev.eval(rest)
        return [format_value(rest, v, fmt)]

    def do_display(self, rest, fmt):
        if fmt not in ("", "x", "d"):
            raise DebugError(f"bad format /{fmt}: display/x or display/d")
        if not rest:
            if not self.displays:
                return [Text("no display expressions")]
            return [Text("\n".join(f"{n}: {e}" + (f" (/{f})" if f else "")
                                   for n, (e, f) in self.displays.items()))]
        self.s.ev.eval(rest)                       # refuse a bad expression now, not at a stop
        n = self._next_display
        self._next_display += 1
        self.displays[n] = (rest, fmt)
        shown = format_value(rest, self.s.ev.eval(rest), fmt)
        return [Text(f"{n}: ") + shown if isinstance(shown, Text) else shown]

    def do_undisplay(self, rest, fmt):
        ids = self._ids(rest)
        if ids is None:
            self.displays.clear()
            return [Text("no display expressions")]
        missing = [i for i in ids if i not in self.displays]
        if missing:
            raise DebugError(f"no display {', '.join(map(str, missing))}")
        for i in ids:
            del self.displays[i]
        return [Text(f"undisplayed {', '.join(map(str, ids))}")]

    def do_set(self, rest, fmt):
        target, eq, expr = rest.partition("=")
        if not eq or not target.strip() or not expr.strip():
            raise DebugError(f"usage: set TARGET = EXPR  (TARGET: {TARGETS})")
        return [Text(self.s.set_value(target, expr.strip()), style="yellow")]

    def do_x(self, rest, fmt):
        if not rest:
            raise DebugError("usage: x/N{b,h,w,g}[x|d] ADDR")
        mt = re.fullmatch(r"(\d*)([bhwgxd]*)", fmt)
        sizes = [ch for ch in (mt.group(2) if mt else "") if ch in "bhwg"]
        radixes = [ch for ch in (mt.group(2) if mt else "") if ch in "xd"]
        if mt is None or len(sizes) > 1 or len(radixes) > 1:
            raise DebugError(f"bad format /{fmt}: x/N{{b,h,w,g}}[x|d] with a count N ≥ 1, "
                             "one size letter and one radix letter")
        size = sizes[0] if sizes else "b"
        radix = radixes[0] if radixes else "x"
        n = int(mt.group(1)) if mt.group(1) else 16
        if not 1 <= n <= _X_MAX:
            raise DebugError(f"x: the count must be 1..{_X_MAX} (got {n})")
        dt = {"b": "i1", "h": "i2", "w": "i4", "g": "i8"}[size]
        addr = int(self.s.ev.eval(rest))
        try:
            arr = self.s.m.mem(addr, n, np.dtype(dt))
        except IndexError as e:
            raise DebugError(str(e)) from None
        width = arr.itemsize
        per = max(1, 16 // width)
        out = Text()
        for i in range(0, n, per):
            out.append(f"{addr + i * width:#010x}:", style="blue")
            for v in arr[i:i + per]:
                v = int(v)
                out.append(f" {v & ((1 << 8 * width) - 1):0{2 * width}x}" if radix == "x"
                           else f" {v:>{3 * width + 1}d}")
            if i + per < n:
                out.append("\n")
        return [out]

    def do_info(self, rest, fmt):
        what, _, arg = rest.partition(" ")
        s = self.s
        if what in ("regs", "registers", "r", ""):
            return [regs_table(s)]
        if what in ("break", "breakpoints", "b", "watch", "watchpoints", "points"):
            return [points_table(s)]
        if what == "cores":
            return [cores_table(s)]
        if what == "core":
            i = int(arg or "0", 0)
            if not 0 <= i < NUM_CORES:
                raise DebugError(f"no core {i} (cores 0..{NUM_CORES - 1})")
            return [core_detail(s, i)]
        if what == "history":
            h = s.history
            return [Text(f"{len(h.points)} checkpoints every {h.interval} instructions, "
                         f"{h.bytes / 1024:.1f} KiB compressed (peak {h.peak_bytes / 1024:.1f} KiB, "
                         f"limit {h.max_bytes >> 20} MiB); one snapshot is "
                         f"{(h.points[0].raw_size if h.points else 0) / 2**20:.1f} MiB uncompressed")]
        if what == "events":
            t = Text()
            for e in s.events[-self._int(arg, 20, 1, "the event count"):]:
                t.append(f"{e.cycle:>10} {e.kind:<6} {e.text}\n")
            return [t]
        raise DebugError("info regs|break|watch|cores|core N|history|events")

    def do_list(self, rest, fmt):
        s = self.s
        pc = s.resolve(rest) if rest else s.m.pc
        loc = s.line_of(pc)
        t = Text()
        bp_addrs = {b.addr for b in s.breaks.values()}
        if loc is None or not s.source_lines.get(loc[0]):
            for a in range(max(0, pc - 16), min(4 * len(s.program.words), pc + 20), 4):
                mark = "●" if a in bp_addrs else " "
                t.append(f"{mark}{'→' if a == s.m.pc else ' '} {a:#06x}  {s.disasm(a)}\n",
                         style="reverse" if a == s.m.pc else "")
            return [t]
        f, line = loc
        lines = s.source_lines[f]
        bp_lines = {s.line_of(a) for a in bp_addrs}
        cur = s.line_of(s.m.pc)
        for ln in range(max(1, line - 5), min(len(lines), line + 5) + 1):
            mark = "●" if (f, ln) in bp_lines else " "
            arrow = "→" if cur == (f, ln) else " "
            t.append(f"{mark}{arrow}{ln:>4}  {lines[ln - 1]}\n",
                     style="reverse" if cur == (f, ln) else "")
        return [t]

    def do_help(self, rest, fmt):
        if rest:
            c = _BY_NAME.get(rest.strip())
            if c is None:
                raise DebugError(f"no command {rest!r}")
            return [Text(f"{c.usage}\n  {c.help}  (aliases: {', '.join(c.names)})")]
        t = Table(title="debugger commands", show_header=True, header_style="bold")
        t.add_column("command")
        t.add_column("what it does")
        for c in COMMANDS:
            t.add_row(Text(c.usage), Text(c.help))
        keys = Table(title="keys of the full-screen debugger", show_header=True, header_style="bold")
        keys.add_column("key")
        keys.add_column("what it does")
        for key, _action, desc in KEYS:
            keys.add_row(Text(key_display(key)), Text(desc))
        return [t, keys, Text("expressions: x0..x15 pc cycle instret symbols mem8/16/32/64(a) "
                        "u8/u16/u32(a) mem(a,n,i16) core(i).h/.v/.g/.w/.phase/.busy/.config.nrows",
                        style="dim"),
                Text("Ctrl+C interrupts a running command (Ctrl+C or Esc in the TUI)", style="dim")]

    def do_quit(self, rest, fmt):
        self.quit = True
        return [Text("bye")]


# ---------------------------------------------------------------------- renderers
def format_value(expr: str, v: Any, fmt: str = "") -> Any:
    radix = "x" if "x" in fmt else "d"
    if isinstance(v, np.ndarray):
        if v.ndim == 2:
            t = Table(title=f"{v.shape[0]}×{v.shape[1]} {v.dtype}", show_header=False,
                      box=None, pad_edge=False)
            for _ in range(v.shape[1]):
                t.add_column(justify="right")
            for row in v[:64]:
                t.add_row(*(_num(int(x), radix, 8 * v.itemsize) for x in row[:32]))
            return t
        body = " ".join(_num(int(x), radix, 8 * v.itemsize) for x in v[:512]) if np.issubdtype(v.dtype, np.integer) \
            else " ".join(str(x) for x in v[:512])
        return Text(f"{expr} = [{body}{' …' if v.size > 512 else ''}]  ({v.size} × {v.dtype})")
    if isinstance(v, bool):
        return Text(f"{expr} = {v}")
    if isinstance(v, int):
        return Text(f"{expr} = {_num(v, radix)}")
    return Text(f"{expr} = {v!r}" if isinstance(v, str) else f"{expr} = {v}")


def _num(v: int, radix: str, bits: int = 64) -> str:
    if radix == "x":
        return f"{v & ((1 << bits) - 1):#x}" if v < 0 else f"{v:#x}"
    return str(v)


def regs_table(s: Session) -> Table:
    t = Table(show_header=False, box=None)
    for _ in range(4):
        t.add_column()
    changed = s.changed_regs()
    cells = []
    for i in range(16):
        v = int(s.m.regs[i])
        cells.append(Text(f"x{i:<2} {v:>20}  {v & (2**64 - 1):#018x}",
                          style="bold yellow" if i in changed else ""))
    for i in range(0, 16, 2):
        t.add_row(cells[i], cells[i + 1])
    t.add_row(Text(f"pc  {s.m.pc:#x}"), Text(f"cycle {s.m.cycle}  instret {s.m.instret}  vl {s.m.vl}"))
    return t


def points_table(s: Session) -> Any:
    if not s.breaks and not s.watches:
        return Text("no break, watch or log points")
    t = Table(header_style="bold")
    for c in ("id", "type", "enabled", "where / what", "hits", "condition / message"):
        t.add_column(c)
    for b in s.breaks.values():
        # user text (conditions, messages, expressions) as Text: never parsed as rich markup
        t.add_row(str(b.id), b.kind, "y" if b.enabled else "n",
                  Text(f"{b.addr:#06x} {s.location(b.addr) or ''}"), str(b.hits),
                  Text((b.condition or "") + (f" ignore {b.ignore}" if b.ignore else "")
                       + (b.message or "")))
    for w in s.watches.values():
        t.add_row(str(w.id), "watch", "y" if w.enabled else "n", Text(w.expr), str(w.hits),
                  Text(_short(w.old)))
    return t


def cores_table(s: Session) -> Table:
    t = Table(title="cores (chain × position)", header_style="bold")
    t.add_column("chain")
    for p in range(6):
        t.add_column(f"pos {p}")
    cyc = max(1, s.m.cycle)
    for chain in range(NUM_CORES // 6):
        row = []
        for p in range(6):
            c = s.m.cores[chain * 6 + p]
            util = c.counters["busy_cycles"] / cyc
            row.append(f"{c.index:>2} {c.phase if c.powered else 'off':<9} {100 * util:4.1f}%")
        t.add_row(str(chain), *row)
    return t


def core_detail(s: Session, i: int) -> Table:
    c = s.m.cores[i]
    t = Table(title=f"core {i} (chain {c.chain})", show_header=False)
    t.add_column()
    t.add_column()
    t.add_row("power / phase", f"{'on' if c.powered else 'off'} / {c.phase}")
    t.add_row("busy until", str(c.busy_until))
    t.add_row("config", " ".join(f"{k}={v}" for k, v in c.config.items()))
    t.add_row("counters", " ".join(f"{k}={v}" for k, v in c.counters.items()))
    t.add_row("H[0:32]", _short(c.h[:32], 32))
    t.add_row("V[0:32]", _short(c.v[:32], 32))
    ev = c.events
    if ev["if_ops"]:
        # integrate-and-fire: spikes per output lane since ifclr / ifrun, and the charges
        t.add_row("spikes", f"{ev['spikes']} in {ev['if_ops']} ifrun/ifstep")
        t.add_row("spike counts[0:32]", _short(c.spike_counts[:32], 32))
        t.add_row("charges[0:32]", _short(c.charges[:32].astype(int), 32))
    if ev["op_ops"]:
        # in-situ update: pulses per cell (endurance)
        p = c.update_pulses
        r, col = divmod(int(p.argmax()), p.shape[1])
        t.add_row("update pulses", f"{ev['op_pulses']} in {ev['op_ops']} opu, {int((p > 0).sum())} cells, "
                  f"max {int(p.max())} at row {r} col {col}")
    return t


__all__ = ["CommandInterpreter", "COMMANDS", "format_value", "PHASE_NAMES"]
