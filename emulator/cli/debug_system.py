"""`neurram debug system.toml`: the debugger over a multi-chip system, in batch or line mode
(the full-screen TUI is for one chip).  Commands: `help` (emulator.debug.system_session.HELP).

    neurram debug programs/systems/pingpong.toml --batch cmds.txt
    neurram debug programs/systems/ring.toml --line

Exit codes: 0, 1 bad input, 3 when the batch ends on a fault or deadlock.
"""
from __future__ import annotations

import sys


def main(args, batch_lines: list[str] | None) -> int:
    from emulator.config import ConfigError
    from emulator.debug.system_session import SystemCommands, SystemSession
    from emulator.system import System, load_system_file

    try:
        d = load_system_file(args.program)
        s = System(len(d["programs"]), model=args.model or d["model"],
                   seed=args.seed if args.seed is not None else d["seed"],
                   config=[c if c is not None else args.config for c in d["configs"]],
                   link=d["link"]).load(d["programs"])
    except (ConfigError, OSError, ValueError) as e:
        print(f"neurram debug: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - assembler errors of a chip's program
        print(f"neurram debug: {e}", file=sys.stderr)
        return 1
    cmds = SystemCommands(SystemSession(s))
    print(f"system of {s.n_chips} chips, link {s.link['name']}; chip 0 selected (help lists commands)")
    lines = list(args.command) + (batch_lines or [])
    if batch_lines is None:   # line mode
        for line in args.command:
            _show(line, cmds, echo=True)
        while True:
            try:
                line = input(f"(chip {cmds.ss.chip}) ")
            except EOFError:
                break
            if line.strip() in ("quit", "q"):
                break
            _show(line, cmds, echo=False)
        return 0
    for line in lines:
        if line.strip() in ("quit", "q"):
            break
        _show(line, cmds, echo=True)
    faulted = any(m.result().stop == "fault" for m in s.chips)
    return 3 if faulted else 0


def _show(line: str, cmds, echo: bool) -> None:
    out = cmds.run(line)
    if echo and line.strip() and not line.strip().startswith("#"):
        print(f"(chip {cmds.ss.chip}) {line.strip()}")
    for o in out:
        print(o)
