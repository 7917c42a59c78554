"""The result of assembling: image, source map, symbols and the listing."""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .image import Image, SourceMap, map_path_for
from .limits import DATA_ADDR_END
from .nodes import Directive

# rows of data longer than this many lines are cut short in the listing
_MAX_DATA_ROWS = 4
_BYTES_PER_ROW = 8


class Row(NamedTuple):
    """One placed statement, as the listing shows it (a tuple: a program has thousands)."""
    section: str
    addr: int
    chunk: object          # the chunk holding its bytes (read when the listing is rendered)
    index: int             # word index (text) or byte offset (data) in the chunk
    size: int
    file: str
    line: int
    text: str
    src_id: int            # rows of one source line (labels + instruction) are merged by this
    note: str = ""         # shown instead of contents, e.g. the value of an .equ

    def payload(self) -> bytes:
        if not self.size or self.chunk is None:
            return b""
        if self.section == "text":
            words = self.chunk.words[self.index:self.index + self.size // 4]
            return b"".join(w.to_bytes(4, "little") for w in words)
        return bytes(self.chunk.buf[self.index:self.index + self.size])


@dataclass(frozen=True)
class Program:
    image: Image
    source_map: dict[int, tuple[str, int, int]]   # code address → (file, line, column)
    symbols: dict[str, tuple[str, int]]           # name → ("text" | "data" | "abs", value)
    rows: tuple[Row, ...] = ()
    global_names: tuple[str, ...] = ()
    main_file: str = ""
    data: dict[str, tuple[int, str]] = field(default_factory=dict)   # data label → (bytes, dtype)

    def map(self) -> SourceMap:
        return SourceMap(dict(self.source_map), dict(self.symbols), self.image.entry,
                         self.image.crc32, dict(self.data))

    def save(self, image_path: str | Path, map_path: str | Path | None = None) -> tuple[Path, Path]:
        """Write the image and its source map (default: X.map next to X.img)."""
        image_path = Path(image_path)
        map_path = Path(map_path) if map_path else map_path_for(image_path)
        # both encoded before either is written: a failure leaves no half-written pair behind
        image, smap = self.image.to_bytes(), self.map().to_json().encode("utf-8")
        image_path.write_bytes(image)
        map_path.write_bytes(smap)
        return image_path, map_path

    def listing(self) -> str:
        """Address, hex contents and source of every statement, in source order.

        Text rows show one 32-bit word each; data rows up to eight bytes.  The first column is the
        section (T text, D data), then the address.
        """
        merged: list[list] = []
        for r in self.rows:
            last = merged[-1] if merged else None
            if last and last[0].src_id == r.src_id and last[0].line == r.line \
                    and last[0].section == r.section:
                last.append(r)
            else:
                merged.append([r])
        main = self.main_file
        out = [f"{'sect':<4} {'address':<8}  {'contents':<23}  {'line':>5}  source"]
        for group in merged:
            first = group[0]
            data = b"".join(r.payload() for r in group)
            where = str(first.line) if first.file == main else f"{Path(first.file).name}:{first.line}"
            text = first.text.rstrip()
            sect = "T" if first.section == "text" else "D"
            chunks = _hex_chunks(data, first.section)
            if not chunks:
                if first.note:
                    out.append(f"{'':<4} {'':<8}  {first.note:<23}  {where:>5}  {text}")
                else:
                    out.append(f"{sect:<4} {first.addr:08x}  {'':<23}  {where:>5}  {text}")
                continue
            step = 4 if first.section == "text" else _BYTES_PER_ROW
            for i, hx in enumerate(chunks):
                if first.section == "data" and i == _MAX_DATA_ROWS and len(chunks) > _MAX_DATA_ROWS + 1:
                    rest = len(data) - i * step
                    out.append(f"{'':<4} {first.addr + i * step:08x}  ... {rest} more bytes")
                    break
                if i == 0:
                    out.append(f"{sect:<4} {first.addr:08x}  {hx:<23}  {where:>5}  {text}")
                else:
                    out.append(f"{'':<4} {first.addr + i * step:08x}  {hx}")
        return "\n".join(out) + "\n"


def _hex_chunks(data: bytes, section: str) -> list[str]:
    if section == "text":
        return [f"{int.from_bytes(data[i:i + 4], 'little'):08x}" for i in range(0, len(data), 4)]
    return [data[i:i + _BYTES_PER_ROW].hex(" ") for i in range(0, len(data), _BYTES_PER_ROW)]


# the element type a data directive declares for the label in front of it
_DIRECTIVE_DTYPES = {"byte": "i8", "half": "i16", "short": "i16", "word": "i32", "dword": "i64",
                     "quad": "i64", "zero": "i8", "space": "i8", "ascii": "u8", "asciz": "u8",
                     "string": "u8"}
_PADDING = {"align", "balign", "p2align"}         # bytes that belong to no symbol


def data_extents(symbols: dict, items) -> dict[str, tuple[int, str]]:
    """Each data label's extent and element type (docs/image-format.md, `data`): the bytes the
    data directives after it place (alignment padding not counted) up to the next data label
    at a higher address, and the type of the first data directive at its address (.npy: the
    array's dtype; a label with nothing after it has extent 0)."""
    first: dict[int, str] = {}
    placed = []                                   # (start, end) of every data directive
    for it in items:
        st = it.stmt
        if not it.size or it.chunk is None or it.chunk.section != "data" or not isinstance(st, Directive):
            continue
        if st.name in _PADDING:
            continue
        placed.append((it.addr, it.addr + it.size))
        if it.addr not in first:
            first[it.addr] = it.extra if st.name == "npy" else _DIRECTIVE_DTYPES.get(st.name, "i8")
    placed.sort()
    starts = [a for a, _e in placed]
    addrs = sorted({v for s, v in symbols.values() if s == "data"})
    out = {}
    for name, (section, value) in symbols.items():
        if section != "data":
            continue
        i = bisect.bisect_right(addrs, value)
        limit = addrs[i] if i < len(addrs) else DATA_ADDR_END
        end = value
        for k in range(bisect.bisect_left(starts, value), bisect.bisect_left(starts, limit)):
            end = max(end, min(placed[k][1], limit))
        out[name] = (end - value, first.get(value, "i8"))
    return out
