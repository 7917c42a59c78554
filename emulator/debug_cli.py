"""`neurram debug`: the step debugger.

    neurram debug prog.s                       full-screen TUI (textual)
    neurram debug prog.s --batch cmds.txt      run commands from a file ('-' = stdin), print, exit
    neurram debug prog.s --line                interactive line mode (also used on dumb terminals)

Exit codes: 0 normally, 1 bad input (assembler errors, missing files), 3 when a batch ends with
the program sitting on a fault.
"""
from __future__ import annotations

import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "debug", help="step-debug a program (TUI, batch or line mode)",
        description="Debug an NR48 program: breakpoints, watchpoints, log points, reverse "
                    "execution, core and conductance views.  See docs/debugger.md.")
    p.add_argument("program", help="a .s source or an .img image (with its .map if present)")
    p.add_argument("--batch", metavar="FILE", help="run debugger commands from FILE ('-' = stdin) and exit")
    p.add_argument("--line", action="store_true", help="interactive line mode instead of the TUI")
    p.add_argument("--model", help="numeric model (default from the configuration: ideal)")
    p.add_argument("--seed", type=int, help="RNG seed of stochastic sampling")
    p.add_argument("--config", metavar="TOML", help="chip configuration overriding chip.toml")
    p.add_argument("--history-interval", type=int, default=32, metavar="N",
                   help="reverse execution: checkpoint every N instructions (default %(default)s)")
    p.add_argument("--history-mb", type=int, default=256, metavar="MB",
                   help="reverse execution: bound on compressed checkpoints (default %(default)s)")
    p.add_argument("-x", "--command", action="append", default=[], metavar="CMD",
                   help="a command to run first (repeatable; with --batch, before the file)")
    p.set_defaults(func=main)


def _session(args):
    from .debug import Session
    return Session(args.program, model=args.model, seed=args.seed, config=args.config,
                   interval=args.history_interval, history_bytes=args.history_mb << 20)


def main(args) -> int:
    from rich.console import Console

    err = Console(stderr=True)
    try:
        session = _session(args)
    except Exception as e:  # noqa: BLE001 - assembler, file and configuration errors alike
        msg = str(e) if str(e) else type(e).__name__
        err.print(f"[red]neurram debug: {msg}[/]")
        return 1
    if args.batch is not None:
        try:
            text = sys.stdin.read() if args.batch == "-" else open(args.batch, encoding="utf-8").read()
        except OSError as e:
            err.print(f"[red]neurram debug: {args.batch}: {e.strerror}[/]")
            return 1
        return run_lines(session, list(args.command) + text.splitlines(), echo=True)
    dumb = os.environ.get("TERM", "") in ("", "dumb") or not sys.stdout.isatty()
    if args.line or dumb:
        return line_mode(session, args.command)
    from .tui.app import DebuggerApp
    app = DebuggerApp(session, startup=args.command)
    app.run()
    return 0


def run_lines(session, lines, echo: bool = True, console=None) -> int:
    """Batch mode: each command is echoed (`(nr48) cmd`) and its output printed."""
    from rich.console import Console
    from .debug.commands import CommandInterpreter

    console = console or Console(highlight=False, soft_wrap=False)
    interp = CommandInterpreter(session)
    for line in lines:
        if not line.strip() or line.strip().startswith("#"):
            continue
        if echo:
            console.print(f"[bold](nr48)[/] {line.strip()}", highlight=False)
        for r in interp.execute(line):
            console.print(r)
        if interp.quit:
            break
    return 3 if session.fault is not None else 0


def line_mode(session, startup=()) -> int:
    """Interactive prompt; an empty line repeats the last command (like gdb)."""
    from rich.console import Console
    from .debug.commands import CommandInterpreter

    console = Console(highlight=False)
    interp = CommandInterpreter(session)
    console.print(f"neurram debug: {session.program.name} — `help` for commands, `quit` to leave")
    console.print(interp.where())
    for line in startup:
        for r in interp.execute(line):
            console.print(r)
    try:
        import readline  # noqa: F401 - line editing and history when available
    except ImportError:
        pass
    while not interp.quit:
        try:
            line = input("(nr48) ")
        except EOFError:
            break
        if not line.strip() and interp.last:
            line = interp.last
        for r in interp.execute(line):
            console.print(r)
    return 0
