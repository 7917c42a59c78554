"""The `neurram` command line: one subcommand per capability.

Each subcommand (or close family) lives in its own module and exposes `register(subparsers)`, which
adds its parser and sets `func` to a callable taking the parsed arguments and returning the exit
code.  This module only registers them: a new subcommand is one module plus one entry below.
Options several subcommands share are in emulator.cli.options.
"""
from __future__ import annotations

import argparse

from rich.console import Console

# module paths whose register() adds subcommands, in the order `neurram --help` lists them
# (asm.cli stays in the assembler package so that `asm` works without the emulator)
COMMAND_MODULES = ["asm.cli", "emulator.cli.run", "emulator.cli.debug", "emulator.cli.trace",
                   "emulator.cli.compile", "emulator.cli.workloads", "emulator.cli.scale",
                   "emulator.cli.sweep"]


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="neurram", description="NeuRRAM-48 emulator: assemble, run and inspect NR48 programs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        Console(stderr=True).print("[red]interrupted[/]")
        return 130
    except BrokenPipeError:
        return 0
