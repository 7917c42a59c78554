"""`neurram asm` and `neurram disasm`.

Exit codes (docs/cli.md, the same for every `neurram` subcommand): 0 success, 1 bad input (the
source has errors, the image or map given to disasm cannot be read, an output file cannot be
written), 2 usage.  User mistakes never show a traceback.

`--json FILE|-` (added by `neurram`'s main) writes the report this module records in
`args.json_report` / `args.json_error` — the protocol of emulator/cli/common.py, followed here
without importing the emulator so that the assembler stands alone.
"""
from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from .errors import AsmError
from .image import ImageError, load_image, load_source_map, map_path_for


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "asm", help="assemble an NR48 source file into a binary image",
        description="Assemble an NR48 source file.  Writes the image and, next to it, its JSON "
                    "source map (X.map for X.img).")
    p.add_argument("source", help="assembly source file (.s)")
    p.add_argument("-o", "--output", metavar="IMAGE", help="image file (default: SOURCE with .img)")
    p.add_argument("--listing", nargs="?", const="-", metavar="FILE",
                   help="write a listing (address, words, source) to FILE, or to stdout")
    p.add_argument("--map", metavar="FILE", help="source map file (default: IMAGE with .map)")
    p.add_argument("-I", "--include-dir", action="append", default=[], metavar="DIR",
                   help="also look for .include and .npy files here")
    p.set_defaults(func=run_asm)

    d = subparsers.add_parser(
        "disasm", help="disassemble an NR48 image",
        description="Disassemble an image into assembly that re-assembles to the same bytes.  "
                    "Symbols come from the image's source map when there is one.")
    d.add_argument("image", help="image file (.img)")
    d.add_argument("-o", "--output", metavar="FILE", help="write the assembly here (default: stdout)")
    d.add_argument("--map", metavar="FILE", help="source map to take symbols from "
                                                 "(default: IMAGE with .map, if present)")
    d.add_argument("--no-map", action="store_true", help="ignore any source map")
    d.set_defaults(func=run_disasm)


EXIT_OK, EXIT_INPUT = 0, 1     # emulator/cli/common.py's table (tests/test_cli_conventions.py)


def _error(args, message: str, **details) -> int:
    args.json_error = {"kind": "input", "message": message, **details}
    return EXIT_INPUT


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")


def run_asm(args) -> int:
    from . import assemble_file   # imported here so `neurram --help` stays fast

    con = _err()
    try:
        prog = assemble_file(args.source, include_dirs=args.include_dir)
    except AsmError as e:
        for d in e.diagnostics:
            text = Text(d.render())
            text.highlight_regex(r"^\S+: error:", "bold red")
            con.print(text)
        if len(e.diagnostics) > 1:
            con.print(f"{len(e.diagnostics)} errors", markup=False)
        return _error(args, str(e.diagnostics[0].render().splitlines()[0]) if e.diagnostics else str(e),
                      diagnostics=[{"file": d.file, "line": d.line, "column": d.col,
                                    "message": d.message} for d in e.diagnostics])
    out = args.output or str(Path(args.source).with_suffix(".img"))
    try:
        image_path, map_path = prog.save(out, args.map)
        if args.listing:
            _write(args.listing, prog.listing())
    except OSError as e:
        con.print(f"error: cannot write {e.filename or out}: {e.strerror or e}", markup=False)
        return _error(args, f"cannot write {e.filename or out}: {e.strerror or e}")
    img = prog.image
    args.json_report = {
        "image": str(image_path), "map": str(map_path), "entry": img.entry,
        "code_bytes": sum(len(g.data) for g in img.segments if g.kind == "text"),
        "data_bytes": sum(len(g.data) for g in img.segments if g.kind == "data"),
        "symbols": {k: {"section": sec, "value": v} for k, (sec, v) in sorted(prog.symbols.items())},
        "data": {k: {"bytes": n, "dtype": t} for k, (n, t) in sorted(prog.data.items())},
    }
    return EXIT_OK


def run_disasm(args) -> int:
    from .disasm import disassemble

    con = _err()
    try:
        image = load_image(args.image)
    except ImageError as e:
        con.print(f"error: {e}", markup=False)
        return _error(args, str(e))
    symbols = None
    if not args.no_map:
        path = Path(args.map) if args.map else map_path_for(args.image)
        if args.map or path.exists():
            try:
                smap = load_source_map(path)
            except ImageError as e:
                if args.map:
                    con.print(f"error: {e}", markup=False)
                    return _error(args, str(e))
                con.print(f"warning: {e}; disassembling without symbols", markup=False)
            else:
                if smap.image_crc and smap.image_crc != image.crc32:
                    con.print(f"warning: {path} belongs to another build of the image; "
                              "disassembling without symbols", markup=False)
                else:
                    symbols = smap.symbols
    text = disassemble(image, symbols)
    if getattr(args, "json", None) == "-" and not args.output:
        args.json_report = {"image": str(args.image), "symbols": symbols is not None,
                            "assembly": text}          # stdout carries only the JSON
        return EXIT_OK
    try:
        _write(args.output or "-", text)
    except OSError as e:
        con.print(f"error: cannot write {e.filename or args.output}: {e.strerror or e}", markup=False)
        return _error(args, f"cannot write {e.filename or args.output}: {e.strerror or e}")
    args.json_report = {"image": str(args.image), "symbols": symbols is not None,
                        "output": args.output or "-", "lines": text.count("\n")}
    return EXIT_OK
