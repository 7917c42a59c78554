"""The `neurram` command line: one subcommand per capability.

Each subcommand (or close family) lives in its own module and exposes `register(subparsers)`, which
adds its parser and sets `func` to a callable taking the parsed arguments and returning the exit
code.  This module only registers them: a new subcommand is one module plus one entry below.
Options several subcommands share are in emulator.cli.options.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

# module paths whose register() adds subcommands, in the order `neurram --help` lists them
# (asm.cli stays in the assembler package so that `asm` works without the emulator)
COMMAND_MODULES = ["asm.cli", "emulator.cli.run", "emulator.cli.debug", "emulator.cli.trace",
                   "emulator.cli.compile", "emulator.cli.workloads", "emulator.cli.modes", "emulator.cli.scale",
                   "emulator.cli.sweep",
                   "emulator.cli.reproduce"]


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from isa.tables import VERSION as ISA_VERSION

    from .common import SCHEMA_VERSION
    try:
        v = version("neurram48")
    except PackageNotFoundError:   # run from a source tree that is not installed
        v = "unknown"
    isa = ".".join(map(str, ISA_VERSION))
    return f"neurram {v} (NR48 ISA {isa}, JSON report schema {SCHEMA_VERSION})"


class _Parser(argparse.ArgumentParser):
    """argparse with the usage exit code of docs/cli.md (2) and, when the subcommand's --json
    is given, the JSON error object on stdout/file as well."""

    def error(self, message):
        from .common import EXIT_USAGE
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise _UsageExit(message, EXIT_USAGE)


class _UsageExit(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from .common import add_json_option

    parser = _Parser(
        prog="neurram", description="NeuRRAM-48 emulator: assemble, run and inspect NR48 programs.",
        epilog="Exit codes (every subcommand): 0 ok, 1 bad input, 2 usage, 3 fault, 4 ebreak, "
               "5 check failed, 130 interrupted; see docs/cli.md.")
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # every subcommand (and sub-subcommand) takes --json; those that register it themselves keep theirs
    for p in _all_parsers(sub):
        if not any("--json" in a.option_strings for a in p._actions):
            add_json_option(p)
        p.set_defaults(json_command=p.prog.split(" ", 1)[1] if " " in p.prog else p.prog)
    return parser


def _all_parsers(sub):
    for p in sub.choices.values():
        inner = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if inner:
            yield from _all_parsers(inner[0])
        else:
            yield p


def _json_target(argv) -> str | None:
    """--json's value from a command line argparse refused (for the usage error object)."""
    argv = list(argv)
    for i, a in enumerate(argv):
        if a == "--json" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--json="):
            return a.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> int:
    from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, plain_output, write_document

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageExit as e:
        target = _json_target(argv)
        if target:
            ns = argparse.Namespace(json_command=next((a for a in argv if not a.startswith("-")), ""),
                                    json=target, json_error={"kind": "usage", "message": str(e)})
            write_document(ns, EXIT_USAGE, sys.stdout)
        return EXIT_USAGE
    except SystemExit as e:          # --help, --version
        return int(e.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    stdout = sys.stdout
    json_out = getattr(args, "json", None)
    try:
        with plain_output(json_out == "-"):
            try:
                code = int(args.func(args) or EXIT_OK)
            except KeyboardInterrupt:
                Console(stderr=True).print("[red]interrupted[/]")
                code = EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    if json_out:
        code = write_document(args, code, stdout)
    return code
