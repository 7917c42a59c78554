"""`neurram asm` and `neurram disasm`.

Exit codes: 0 success, 1 the source has errors (or an output file cannot be written),
2 the image or map given to disasm cannot be read.  User mistakes never show a traceback.
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
        return 1
    out = args.output or str(Path(args.source).with_suffix(".img"))
    try:
        prog.save(out, args.map)
        if args.listing:
            _write(args.listing, prog.listing())
    except OSError as e:
        con.print(f"error: cannot write {e.filename or out}: {e.strerror or e}", markup=False)
        return 1
    return 0


def run_disasm(args) -> int:
    from .disasm import disassemble

    con = _err()
    try:
        image = load_image(args.image)
    except ImageError as e:
        con.print(f"error: {e}", markup=False)
        return 2
    symbols = None
    if not args.no_map:
        path = Path(args.map) if args.map else map_path_for(args.image)
        if args.map or path.exists():
            try:
                smap = load_source_map(path)
            except ImageError as e:
                if args.map:
                    con.print(f"error: {e}", markup=False)
                    return 2
                con.print(f"warning: {e}; disassembling without symbols", markup=False)
            else:
                if smap.image_crc and smap.image_crc != image.crc32:
                    con.print(f"warning: {path} belongs to another build of the image; "
                              "disassembling without symbols", markup=False)
                else:
                    symbols = smap.symbols
    text = disassemble(image, symbols)
    try:
        _write(args.output or "-", text)
    except OSError as e:
        con.print(f"error: cannot write {e.filename or args.output}: {e.strerror or e}", markup=False)
        return 1
    return 0
