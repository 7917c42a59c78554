"""Turning what a user hands to `Machine.load` into code words, data segments and debug info.

Accepted: a `.s` path (assembled), a `.img` path (with its sibling `.map` if present),
assembly source text, an `asm.Program`, an `asm.image.Image`, or a `LoadedProgram`.
Assembler errors propagate as `asm.AsmError`; unreadable images as `asm.image.ImageError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LoadedProgram:
    words: np.ndarray                          # uint32 code words from address 0
    segments: tuple[tuple[int, bytes], ...]    # data memory (address, bytes)
    entry: int
    name: str = "<program>"
    lines: dict[int, tuple[str, int, int]] = field(default_factory=dict)   # addr → file, line, col
    symbols: dict[str, tuple[str, int]] = field(default_factory=dict)     # name → section, value
    notes: tuple[str, ...] = ()                # warnings for the user (e.g. a source map ignored)
    data: dict[str, tuple[int, str]] = field(default_factory=dict)        # data label → bytes, dtype


def _from_image(image, name: str, lines=None, symbols=None, data=None) -> LoadedProgram:
    words = np.array(image.text_words(), dtype=np.uint32)
    segs = tuple((s.addr, bytes(s.data)) for s in image.segments if s.kind == "data")
    return LoadedProgram(words, segs, int(image.entry), name, dict(lines or {}),
                         dict(symbols or {}), data=dict(data or {}))


def _lines_of(source_map: Any) -> dict:
    # Program.source_map may be a plain dict or an asm.image.SourceMap
    return dict(getattr(source_map, "lines", source_map) or {})


def _from_program(prog, name: str) -> LoadedProgram:
    symbols = getattr(prog, "symbols", None)
    if symbols is None:
        symbols = getattr(getattr(prog, "source_map", None), "symbols", {})
    data = getattr(prog, "data", None)
    if data is None:
        data = getattr(getattr(prog, "source_map", None), "data", {})
    return _from_image(prog.image, name, _lines_of(getattr(prog, "source_map", {})), symbols, data)


def load_program(obj: Any) -> LoadedProgram:
    """Resolve any accepted program form into a LoadedProgram."""
    if isinstance(obj, LoadedProgram):
        return obj
    from asm.image import Image, ImageError, load_image, load_source_map, map_path_for

    if isinstance(obj, Image):
        return _from_image(obj, "<image>")
    if hasattr(obj, "image") and hasattr(obj, "source_map"):
        return _from_program(obj, "<program>")
    if isinstance(obj, Path) or (isinstance(obj, str) and "\n" not in obj
                                 and obj.strip().endswith((".s", ".img", ".S", ".asm"))):
        path = Path(obj)
        if path.suffix == ".img":
            image = load_image(path)
            mp = map_path_for(path)
            if not mp.exists():
                return _from_image(image, str(path))
            # a map that does not belong to this image would put wrong names on every line:
            # without it the program still runs, with addresses instead of file:line
            try:
                sm = load_source_map(mp)
            except ImageError as e:
                return replace(_from_image(image, str(path)), notes=(f"source map ignored: {e}",))
            if sm.image_crc and sm.image_crc != image.crc32:
                return replace(_from_image(image, str(path)),
                               notes=(f"source map ignored: {mp} belongs to another build of the "
                                      "image (CRC differs); reassemble to get file:line locations",))
            return _from_image(image, str(path), sm.lines, sm.symbols, sm.data)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        from asm import assemble_file

        return _from_program(assemble_file(path), str(path))
    if isinstance(obj, str):
        from asm import assemble

        return _from_program(assemble(obj), "<source>")
    raise TypeError(f"cannot load a {type(obj).__name__}: pass a .s or .img path, source text, "
                    "an asm.Program or an asm.image.Image")
