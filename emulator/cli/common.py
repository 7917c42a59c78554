"""The conventions every `neurram` subcommand follows (docs/cli.md): exit codes, the JSON report
(`--json FILE|-`) with its versioned schema, the JSON error object, and plain output when stdout
is not a terminal.

A subcommand adopts them in a line or two:

    from .common import EXIT_INPUT, add_json_option, fail, report
    add_json_option(p)                              # in register()
    report(args, {"accuracy": acc})                 # what --json writes (merged into the envelope)
    return fail(args, "bad.npz: no such file")      # one stderr line, the JSON error object, exit 1

`emulator.cli.main` writes the JSON document after the subcommand returns, so a subcommand never
opens the file itself; with `--json -` everything the subcommand prints goes to stderr and stdout
carries only the JSON.  Subcommands outside this package (asm.cli, which must not import the
emulator) follow the same protocol by setting `args.json_report` / `args.json_error` themselves.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

# one exit-code table for every subcommand
EXIT_OK = 0            # success
EXIT_INPUT = 1         # bad input: a file that cannot be read or parsed, bad configuration, …
EXIT_USAGE = 2         # the command line itself is wrong (argparse)
EXIT_FAULT = 3         # the program faulted (cycle_limit and strict checker findings included)
EXIT_EBREAK = 4        # the program stopped at ebreak
EXIT_CHECK = 5         # ran to the end, but what it checks failed (traces differ, a workload's
                       # ideal run is not bit-exact, sweep points failed)
EXIT_INTERRUPTED = 130  # Ctrl+C
EXIT_CODES = {EXIT_OK: "ok", EXIT_INPUT: "bad input", EXIT_USAGE: "usage", EXIT_FAULT: "fault",
              EXIT_EBREAK: "ebreak", EXIT_CHECK: "check failed", EXIT_INTERRUPTED: "interrupted"}

SCHEMA_NAME = "neurram-report"
SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "report.schema.json"


def load_schema() -> dict:
    """The JSON Schema every `--json` document follows (shipped as package data)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def add_json_option(p) -> None:
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON ('-' = stdout "
                   "only the JSON); schema: emulator/cli/report.schema.json")


def command_name(args) -> str:
    """The subcommand's name as typed ("run", "sweep show"); main() sets it on every parser."""
    name = getattr(args, "json_command", None)
    if name is None:
        name = getattr(args, "command", None)
    return name if isinstance(name, str) else ""


def report(args, payload: dict[str, Any]) -> None:
    """Record what `--json` writes for this run (keys merged into the document)."""
    args.json_report = {**(getattr(args, "json_report", None) or {}), **payload}


def fail(args, message: str, code: int = EXIT_INPUT, kind: str = "input", prefix: bool = True,
         details: dict[str, Any] | None = None) -> int:
    """Print one error line to stderr, record the JSON error object, return `code`."""
    line = f"neurram {command_name(args)}: error: {message}" if prefix else message
    print(line, file=sys.stderr)
    return record_error(args, message, code, kind, details)


def record_error(args, message: str, code: int = EXIT_INPUT, kind: str = "input",
                 details: dict[str, Any] | None = None) -> int:
    """Record the JSON error object only (the subcommand printed the error its own way)."""
    args.json_error = {"kind": kind, "message": message, **(details or {})}
    return code


def document(args, code: int) -> dict[str, Any]:
    """The JSON document of a finished subcommand: the envelope plus its report or error."""
    doc: dict[str, Any] = {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION,
                           "command": command_name(args),
                           "exit_code": code, "ok": code == EXIT_OK}
    error = getattr(args, "json_error", None)
    body = getattr(args, "json_report", None) or {}
    doc.update({k: v for k, v in body.items() if k not in doc})
    if error is not None:
        doc["error"] = error
    elif code == EXIT_INTERRUPTED:
        doc["error"] = {"kind": "interrupted", "message": "interrupted (Ctrl+C)"}
    elif code in (EXIT_INPUT, EXIT_USAGE):   # a path that printed its reason without recording it
        doc["error"] = {"kind": "input" if code == EXIT_INPUT else "usage",
                        "message": f"exit {code} ({EXIT_CODES[code]}); the reason is on stderr"}
    return doc


def write_document(args, code: int, stdout) -> int:
    """Write the JSON document where `--json` asked; a file that cannot be written is bad input."""
    text = json.dumps(document(args, code), indent=2, default=_plain) + "\n"
    target = args.json
    if target == "-":
        stdout.write(text)
        stdout.flush()
        return code
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"neurram {command_name(args)}: error: cannot write {target}: {e.strerror or e}",
              file=sys.stderr)
        return EXIT_INPUT if code == EXIT_OK else code
    return code


def _plain(v):
    """numpy scalars and arrays, paths and sets in a report become plain JSON."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    return str(v)


@contextlib.contextmanager
def plain_output(json_to_stdout: bool):
    """While a subcommand runs: output that is not a terminal is not wrapped (rich reads COLUMNS
    when it is not writing to a terminal), and with `--json -` its printing goes to stderr."""
    saved = os.environ.get("COLUMNS")
    out_tty = (sys.stderr if json_to_stdout else sys.stdout).isatty()
    if not out_tty:
        os.environ["COLUMNS"] = "10000"
    try:
        if json_to_stdout:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        else:
            yield
    finally:
        if not out_tty:
            if saved is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = saved
