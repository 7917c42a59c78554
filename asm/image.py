"""The NR48 binary image (`.img`) and its JSON source map (`.map`).

An image holds a program ready to load: an entry point and segments of code memory ("text",
32-bit instruction words at byte addresses 0, 4, 8, …) and data memory ("data", bytes).  The
byte layout is specified in docs/image-format.md; in short (all integers little-endian):

    header (24 bytes)
        0   8  magic  b"NR48IMG\\0"
        8   2  format version (FORMAT_VERSION)
        10  2  ISA version word: major << 8 | minor (isa.tables.VERSION_WORD)
        12  4  entry point (code byte address)
        16  4  segment count N
        20  4  CRC32 (zlib.crc32) of the whole file with these four bytes read as zero
    segment table (N × 16 bytes)
        0   1  kind: 1 text, 2 data
        1   3  zero
        4   4  load address
        8   4  size in bytes
        12  4  file offset of the payload
    payloads

The source map is a JSON side file (`X.map` next to `X.img`) that maps each code address to the
file, line and column it came from and lists the program's symbols.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from isa.tables import CODE_WORDS, VERSION_WORD

MAGIC = b"NR48IMG\0"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHHIII")
SEGMENT = struct.Struct("<B3xIII")
KINDS = {"text": 1, "data": 2}
KIND_NAMES = {v: k for k, v in KINDS.items()}
MAP_FORMAT = "nr48-map"
MAP_VERSION = 1


class ImageError(Exception):
    """An image or source map cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Segment:
    kind: str      # "text" or "data"
    addr: int      # load address (byte address in code or data memory)
    data: bytes

    @property
    def end(self) -> int:
        return self.addr + len(self.data)


def _version_text(word: int) -> str:
    return f"{word >> 8}.{word & 0xFF}"


@dataclass(frozen=True)
class Image:
    entry: int
    segments: tuple[Segment, ...]
    isa_version: int = VERSION_WORD

    def text_words(self) -> list[int]:
        """The code memory from address 0 to the end of the last text segment, gaps as 0 words."""
        texts = [s for s in self.segments if s.kind == "text"]
        if not texts:
            return []
        end = max(s.end for s in texts)
        if end > CODE_WORDS * 4:
            raise ImageError(f"code reaches {end:#x}, beyond the {CODE_WORDS}-instruction code memory "
                             f"(0..{CODE_WORDS * 4 - 1:#x})")
        mem = bytearray(end)
        for s in texts:
            mem[s.addr:s.end] = s.data
        return list(struct.unpack(f"<{len(mem) // 4}I", mem))

    def segments_of(self, kind: str) -> list[Segment]:
        return [s for s in self.segments if s.kind == kind]

    @property
    def crc32(self) -> int:
        return struct.unpack_from("<I", self.to_bytes(), 20)[0]

    def to_bytes(self) -> bytes:
        table = bytearray()
        offset = HEADER.size + SEGMENT.size * len(self.segments)
        for s in self.segments:
            table += SEGMENT.pack(KINDS[s.kind], s.addr, len(s.data), offset)
            offset += len(s.data)
        body = bytes(table) + b"".join(s.data for s in self.segments)
        head = HEADER.pack(MAGIC, FORMAT_VERSION, self.isa_version, self.entry, len(self.segments), 0)
        crc = zlib.crc32(body, zlib.crc32(head))
        return HEADER.pack(MAGIC, FORMAT_VERSION, self.isa_version, self.entry,
                           len(self.segments), crc) + body

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "<image>") -> "Image":
        data = bytes(data)
        if data[:len(MAGIC)] != MAGIC[:min(len(data), len(MAGIC))]:
            raise ImageError(f"{name}: not an NR48 image (bad magic {data[:8]!r}, "
                             f"expected {MAGIC!r})")
        if len(data) < HEADER.size:
            raise ImageError(f"{name}: truncated: {len(data)} bytes, the header alone needs "
                             f"{HEADER.size}")
        _, fmt, isa, entry, count, crc = HEADER.unpack_from(data)
        if fmt > FORMAT_VERSION:
            raise ImageError(f"{name}: image format version {fmt} is newer than this reader "
                             f"(up to {FORMAT_VERSION}); update the emulator")
        if fmt < 1:
            raise ImageError(f"{name}: invalid image format version {fmt}")
        if isa >> 8 != VERSION_WORD >> 8 or isa > VERSION_WORD:
            raise ImageError(f"{name}: image is for ISA {_version_text(isa)}, this build "
                             f"implements ISA {_version_text(VERSION_WORD)}; reassemble the program")
        table_end = HEADER.size + SEGMENT.size * count
        if len(data) < table_end:
            raise ImageError(f"{name}: truncated: {count} segments need a {table_end}-byte "
                             f"header and table, the file has {len(data)} bytes")
        zeroed = data[:20] + b"\0\0\0\0" + data[24:]
        actual = zlib.crc32(zeroed)
        if actual != crc:
            raise ImageError(f"{name}: checksum mismatch (stored {crc:#010x}, computed "
                             f"{actual:#010x}): the file is corrupted or truncated")
        segments = []
        for i in range(count):
            kind, addr, size, off = SEGMENT.unpack_from(data, HEADER.size + i * SEGMENT.size)
            if kind not in KIND_NAMES:
                raise ImageError(f"{name}: segment {i} has unknown kind {kind}")
            if off < table_end or off + size > len(data):
                raise ImageError(f"{name}: segment {i} payload ({size} bytes at offset {off}) "
                                 f"lies outside the file ({len(data)} bytes)")
            kname = KIND_NAMES[kind]
            if kname == "text" and (addr % 4 or size % 4):
                raise ImageError(f"{name}: text segment {i} at {addr:#x} ({size} bytes) is not "
                                 f"made of whole aligned 32-bit words")
            segments.append(Segment(kname, addr, data[off:off + size]))
        for kname in KINDS:
            segs = sorted((s for s in segments if s.kind == kname), key=lambda s: s.addr)
            for a, b in zip(segs, segs[1:]):
                if a.end > b.addr:
                    raise ImageError(f"{name}: {kname} segments at {a.addr:#x} and {b.addr:#x} "
                                     f"overlap")
        if entry % 4:
            raise ImageError(f"{name}: entry point {entry:#x} is not word-aligned")
        return cls(entry, tuple(segments), isa)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())


def load_image(path: str | Path) -> Image:
    """Read an image file; any problem (missing file, bad contents) raises ImageError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImageError(f"{path}: cannot read: {e.strerror or e}") from None
    return Image.from_bytes(data, str(path))


# ---------------------------------------------------------------- source map

@dataclass(frozen=True)
class SourceMap:
    """Where each code word came from, and the program's symbols.

    `lines`: code address → (file, line, column); `symbols`: name → (section, value) with
    section "text", "data" or "abs"; `data`: data label → (extent in bytes, element type).  `image_crc` is the CRC32 of the image the map belongs to
    (0 if unknown), so a tool can tell a stale map from a matching one.
    """
    lines: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    symbols: dict[str, tuple[str, int]] = field(default_factory=dict)
    entry: int = 0
    image_crc: int = 0
    data: dict[str, tuple[int, str]] = field(default_factory=dict)   # data label → (bytes, dtype)

    def to_json(self) -> str:
        files: dict[str, int] = {}
        rows = []
        for addr in sorted(self.lines):
            f, line, col = self.lines[addr]
            rows.append([addr, files.setdefault(f, len(files)), line, col])
        doc = {
            "format": MAP_FORMAT,
            "version": MAP_VERSION,
            "isa": _version_text(VERSION_WORD),
            "image_crc": self.image_crc,
            "entry": self.entry,
            "files": list(files),
            "lines": rows,
            "symbols": {k: [s, v] for k, (s, v) in sorted(self.symbols.items())},
            "data": {k: [n, t] for k, (n, t) in sorted(self.data.items())},
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, name: str = "<map>") -> "SourceMap":
        try:
            doc = json.loads(text)
            if doc.get("format") != MAP_FORMAT:
                raise ImageError(f"{name}: not an NR48 source map (format {doc.get('format')!r})")
            if doc.get("version", 0) > MAP_VERSION:
                raise ImageError(f"{name}: source map version {doc['version']} is newer than this "
                                 f"reader (up to {MAP_VERSION})")
            files = doc["files"]
            lines = {int(a): (files[f], int(ln), int(c)) for a, f, ln, c in doc["lines"]}
            symbols = {str(k): (str(s), int(v)) for k, (s, v) in doc["symbols"].items()}
            data = {str(k): (int(n), str(t)) for k, (n, t) in doc.get("data", {}).items()}
            return cls(lines, symbols, int(doc.get("entry", 0)), int(doc.get("image_crc", 0)), data)
        except ImageError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            raise ImageError(f"{name}: malformed source map ({e})") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def load_source_map(path: str | Path) -> SourceMap:
    """Read a `.map` file; any problem raises ImageError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ImageError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return SourceMap.from_json(text, str(path))


def map_path_for(image_path: str | Path) -> Path:
    """The conventional source map of an image: `X.map` next to `X.img`."""
    return Path(image_path).with_suffix(".map")
