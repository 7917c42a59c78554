"""What pass 1 of the assembler builds: where statements come from (Src), the chunks of code
and data they are placed in (a new chunk at each .org), the symbol and constant definitions, the
placed Items that pass 2 fills — and `Layout`, the Assembler's placement of words and bytes in
those chunks with the code/data memory bounds checked before anything is materialised."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .limits import CODE_BYTES, DATA_ADDR_END, MAX_DATA_BYTES

TEXT, DATA = "text", "data"


@dataclass
class Src:
    """Where a run of statements comes from: a file, or a macro expansion inside one."""
    file: str
    lines: list[str]                 # the text the statements were parsed from
    dir: Path                        # .include and .npy paths are relative to this
    line_base: int = 0               # added to a statement's line to get the line in `file`
    notes: tuple[str, ...] = ()


class TextChunk:
    """Consecutive code words placed from `start` (a new one begins at each .org)."""
    __slots__ = ("start", "words", "src", "line")
    section = TEXT

    def __init__(self, start, src, line):
        self.start, self.words, self.src, self.line = start, [], src, line

    @property
    def size(self) -> int:
        return 4 * len(self.words)

    def payload(self) -> bytes:
        return struct.pack(f"<{len(self.words)}I", *self.words)


class DataChunk:
    __slots__ = ("start", "buf", "src", "line")
    section = DATA

    def __init__(self, start, src, line):
        self.start, self.buf, self.src, self.line = start, bytearray(), src, line

    @property
    def size(self) -> int:
        return len(self.buf)

    def payload(self) -> bytes:
        return bytes(self.buf)


@dataclass
class SymbolDef:
    name: str
    kind: str                        # "label" or "equ"
    section: str                     # labels: "text" or "data"; equ: "abs" (see section_of)
    value: int | None
    src: Src
    line: int
    col: int
    expr: object = None              # equ: the defining expression
    here: int = 0                    # equ: the value of '.' where it was defined
    busy: bool = False

    def where(self) -> str:
        return f"{self.src.file}:{self.src.line_base + self.line}"


@dataclass(frozen=True)
class EquDef:
    """The `extra` of an Item that defines a constant."""
    name: str
    expr: object


@dataclass(slots=True)
class Item:
    """One statement placed by pass 1.  `emit(item)` (pass 2) fills its space, if it has any."""
    emit: object
    addr: int
    src: Src
    stmt: object
    chunk: object
    index: int                       # word index (text) or byte offset (data) in the chunk
    size: int
    extra: object = None


class Layout:
    """The placement half of the Assembler (asm/assembler.py): `chunks`, `current`, `section`,
    `items` and `data_bytes` are its state; `fatal` reports a budget overrun."""

    def new_chunk(self, section: str, start: int, src: Src, line: int):
        chunk = (TextChunk if section == TEXT else DataChunk)(start, src, line)
        self.chunks[section].append(chunk)
        self.current[section] = chunk
        return chunk

    def chunk(self, section: str | None = None):
        section = section or self.section
        c = self.current[section]
        if c is None:
            c = self.new_chunk(section, 0, None, 0)
        return c

    def here(self) -> int:
        c = self.chunk()
        return c.start + c.size

    def _check_room(self, c, n: int, src: Src, st) -> None:
        """Code and data stay inside the memories (and the image inside its budget) before
        anything is materialised."""
        end = c.start + c.size + n
        if c.section == TEXT:
            if end > CODE_BYTES:
                self.fatal(src, st.line, st.col, f"code reaches {end:#x}, beyond the code memory "
                                                 f"(0..{CODE_BYTES - 1:#x}, {CODE_BYTES // 4} "
                                                 "instructions)")
            return
        if end > DATA_ADDR_END:
            self.fatal(src, st.line, st.col, f"data reaches {end:#x}, beyond the largest data "
                                             f"memory (0..{DATA_ADDR_END - 1:#x})")
        self.data_bytes += n
        if self.data_bytes > MAX_DATA_BYTES:
            self.fatal(src, st.line, st.col, f"the image holds more than {MAX_DATA_BYTES >> 20} MiB "
                                             "of data (memory is zero at reset: place large "
                                             "buffers with .org instead of .zero)")

    def place_words(self, n: int, emit, src: Src, st, extra=None) -> Item:
        c = self.current[TEXT] or self.chunk(TEXT)
        self._check_room(c, 4 * n, src, st)
        idx = len(c.words)
        if n == 1:
            c.words.append(0)
        else:
            c.words.extend([0] * n)
        item = Item(emit, c.start + 4 * idx, src, st, c, idx, 4 * n, extra)
        self.items.append(item)
        return item

    def place_bytes(self, data: bytes | int, emit, src: Src, st, extra=None) -> Item:
        """Reserve (int) or store (bytes) data at the current location of the current section."""
        c = self.chunk()
        self._check_room(c, data if isinstance(data, int) else len(data), src, st)
        if c.section == TEXT:
            n = data if isinstance(data, int) else len(data)
            idx = len(c.words)
            if isinstance(data, int):
                c.words.extend([0] * (n // 4))
            else:
                c.words.extend(struct.unpack(f"<{n // 4}I", data))
            item = Item(emit, c.start + 4 * idx, src, st, c, idx, n, extra)
        else:
            off = len(c.buf)
            if isinstance(data, int):
                c.buf.extend(bytes(data))
                n = data
            else:
                c.buf += data
                n = len(data)
            item = Item(emit, c.start + off, src, st, c, off, n, extra)
        self.items.append(item)
        return item

    def mark(self, src: Src, st) -> None:
        """Record a statement that takes no space (for the listing)."""
        c = self.chunk()
        self.items.append(Item(None, c.start + c.size, src, st, c, 0, 0))
