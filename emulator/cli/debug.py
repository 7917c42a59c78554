"""`neurram debug`: the step debugger.

    neurram debug prog.s                       full-screen TUI (textual)
    neurram debug prog.s --batch cmds.txt      run commands from a file ('-' = stdin), print, exit
    neurram debug prog.s --line                interactive line mode (also used on dumb terminals)

Exit codes (docs/cli.md): 0 normally, 1 bad input (assembler errors, missing files, a batch
command that failed — the batch goes on, the exit code says so), 3 when a batch ends with the
program sitting on a fault, 130 when Ctrl+C interrupted a batch (the rest is skipped).  The
program checker reports its findings as warnings at each stop (`--strict`: faults).

Ctrl+C while a command runs the machine interrupts it at the next slice boundary (the state is
consistent and inspectable; the command prints "interrupted at pc … cycle …"); at the line-mode
prompt it does nothing (`quit` or Ctrl+D leaves).
"""
from __future__ import annotations

import os
import sys

from .common import EXIT_FAULT, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, fail, record_error, report
from .options import add_check_options, add_machine_options, positive


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "debug", help="step-debug a program (TUI, batch or line mode)",
        description="Debug an NR48 program: breakpoints, watchpoints, log points, reverse "
                    "execution, core and conductance views.  See docs/debugger.md.")
    p.add_argument("program", help="a .s source or an .img image (with its .map if present), or a "
                   "system .toml (batch and line modes; docs/debugger.md, Systems)")
    p.add_argument("--batch", metavar="FILE", help="run debugger commands from FILE ('-' = stdin) and exit")
    p.add_argument("--line", action="store_true", help="interactive line mode instead of the TUI")
    add_machine_options(p, model_help="numeric model (default from the configuration: ideal)",
                        seed_help="RNG seed of stochastic sampling")
    p.add_argument("--history-interval", type=positive, default=32, metavar="N",
                   help="reverse execution: checkpoint every N instructions (default %(default)s)")
    p.add_argument("--history-mb", type=positive, default=256, metavar="MB",
                   help="reverse execution: bound on compressed checkpoints (default %(default)s)")
    p.add_argument("-x", "--command", action="append", default=[], metavar="CMD",
                   help="a command to run first (repeatable; with --batch, before the file)")
    add_check_options(p)
    p.set_defaults(func=main)


def _session(args):
    from emulator.debug import Session
    return Session(args.program, model=args.model, seed=args.seed, config=args.config,
                   interval=args.history_interval, history_bytes=args.history_mb << 20,
                   check=getattr(args, "check", "off"))


def main(args) -> int:
    def bad(msg: str) -> int:
        return fail(args, msg)

    if args.batch is not None:          # a bad batch file fails before the program is loaded
        name = "<stdin>" if args.batch == "-" else args.batch
        try:
            if args.batch == "-":
                buf = getattr(sys.stdin, "buffer", None)
                text = buf.read().decode("utf-8") if buf is not None else sys.stdin.read()
            else:
                with open(args.batch, "rb") as f:
                    text = f.read().decode("utf-8")
        except OSError as e:
            return bad(f"{name}: cannot read the batch file: {e.strerror or e}")
        except UnicodeDecodeError as e:
            line = text_line(e.object, e.start)
            return bad(f"{name}: the batch file is not UTF-8 text (byte {e.object[e.start]:#04x} "
                        f"at offset {e.start}, line {line})")
    if str(args.program).endswith(".toml"):      # a multi-chip system: batch or line mode
        from .debug_system import main as debug_system
        return debug_system(args, text.splitlines() if args.batch is not None else None)
    try:
        session = _session(args)
    except Exception as e:  # noqa: BLE001 - assembler, file and configuration errors alike
        return bad(str(e) if str(e) else type(e).__name__)
    if args.batch is not None:
        return run_lines(session, list(args.command) + text.splitlines(), echo=True, args=args)
    dumb = os.environ.get("TERM", "") in ("", "dumb") or not sys.stdout.isatty()
    if args.line or dumb:
        return line_mode(session, args.command)
    from emulator.tui.app import DebuggerApp
    app = DebuggerApp(session, startup=args.command)
    app.run()
    return 0


def text_line(data: bytes, offset: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def execute(interp, line: str) -> list:
    """One command with Ctrl+C routed to the session: a running command stops at its next slice
    boundary (and says "interrupted at …"); a Ctrl+C anywhere else gives "interrupted"."""
    from rich.text import Text

    s = interp.s
    try:
        with s.sigint_interrupts():
            out = interp.execute(line)
            seen = s.sigint_seen
    except KeyboardInterrupt:
        interp.interrupted = True
        return [Text("interrupted", style="bold yellow")]
    if seen and not interp.interrupted:
        # a Ctrl+C the command did not see (it came after its last slice boundary)
        interp.interrupted = True
        out = list(out) + [Text("interrupted", style="bold yellow")]
    return out


def run_lines(session, lines, echo: bool = True, console=None, args=None) -> int:
    """Batch mode: each command is echoed (`(nr48) cmd`) and its output printed.  A command
    that fails makes the exit code 1 (the batch goes on); Ctrl+C interrupts the running command
    and skips the rest of the batch (exit code 130).  With `args`, the JSON report is recorded."""
    from rich.console import Console
    from rich.text import Text
    from emulator.debug.commands import CommandInterpreter

    console = console or Console(highlight=False, soft_wrap=False)
    interp = CommandInterpreter(session)
    failed: list[str] = []
    code = None
    for line in lines:
        if not line.strip() or line.strip().startswith("#"):
            continue
        if echo:
            echoed = Text("(nr48)", style="bold")
            echoed.append(" " + line.strip())          # user text: never parsed as markup
            console.print(echoed, highlight=False)
        for r in execute(interp, line):
            console.print(r)
        if interp.failed:
            failed.append(line.strip())
        if interp.interrupted:
            console.print(Text("interrupted: the rest of the batch is skipped", style="bold yellow"))
            code = EXIT_INTERRUPTED
            break
        if interp.quit:
            break
    if code is None:
        code = EXIT_FAULT if session.fault is not None else EXIT_INPUT if failed else EXIT_OK
    if failed:
        console.print(Text(f"{len(failed)} command(s) failed: {'; '.join(failed[:5])}",
                           style="bold red"))
    if args is not None:
        if failed and code == EXIT_INPUT:
            record_error(args, f"{len(failed)} command(s) failed: {'; '.join(failed[:5])}")
        m = session.m
        report(args, {"program": str(m.program.name), "stop": session.last_stop.reason
                      if session.last_stop else None, "pc": m.pc, "cycles": m.cycle,
                      "instructions": m.instret, "fault": session.fault.fault if session.fault else None,
                      "failed_commands": failed,
                      "diagnostics": [d.to_dict() for d in m.diagnostics]})
    return code


def line_mode(session, startup=()) -> int:
    """Interactive prompt; an empty line repeats the last command (like gdb)."""
    from rich.console import Console
    from rich.text import Text
    from emulator.debug.commands import CommandInterpreter

    console = Console(highlight=False)
    interp = CommandInterpreter(session)
    console.print(Text(f"neurram debug: {session.program.name} — `help` for commands, "
                       "`quit` to leave"))
    console.print(interp.where())

    def run(line: str) -> None:
        """One command and its output; Ctrl+C while the output prints cuts it short."""
        try:
            outs = execute(interp, line)
            for r in outs:
                console.print(r)
        except KeyboardInterrupt:
            interp.interrupted = True
            console.print()
            console.print(Text("interrupted", style="bold yellow"))

    for i, line in enumerate(startup):
        run(line)
        if interp.interrupted:
            left = len(startup) - i - 1
            if left:
                console.print(Text(f"interrupted: {left} startup command(s) skipped",
                                   style="bold yellow"))
            break
        if interp.quit:
            return 0
    try:
        import readline  # noqa: F401 - line editing and history when available
    except ImportError:
        pass
    while not interp.quit:
        try:
            line = input("(nr48) ")
        except EOFError:
            break
        except KeyboardInterrupt:
            console.print()
            console.print(Text("(Ctrl+C interrupts a running command; `quit` or Ctrl+D leaves)",
                               style="dim"))
            continue
        except UnicodeDecodeError as e:
            console.print(Text(f"error: the input is not UTF-8 text ({e.reason})", style="bold red"))
            continue
        if not line.strip() and interp.last:
            line = interp.last
        run(line)
    return 0
