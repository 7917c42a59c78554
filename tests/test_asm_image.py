"""The image format (docs/image-format.md) and the source map side file."""
from __future__ import annotations

import json
import struct
import zlib

import pytest
from hypothesis import given, strategies as st

from asm import assemble
from asm.image import (FORMAT_VERSION, Image, ImageError, Segment, SourceMap, load_image,
                       load_source_map, map_path_for)
from isa.tables import VERSION_WORD

SOURCE = """
        .data
table:  .word 1, 2, 3
        .org 0x100
msg:    .asciz "hi"
        .text
        nop
_start: la x1, table
        halt
"""


@pytest.fixture
def image() -> Image:
    return assemble(SOURCE).image


def with_crc(data: bytes) -> bytes:
    """Recompute the CRC field after a deliberate edit (so only the edit is tested)."""
    crc = zlib.crc32(data[:20] + b"\0\0\0\0" + data[24:])
    return data[:20] + struct.pack("<I", crc) + data[24:]


def test_layout_matches_the_documented_header(image):
    data = image.to_bytes()
    magic, fmt, isa, entry, count, crc = struct.unpack_from("<8sHHIII", data)
    assert (magic, fmt, isa, entry, count) == (b"NR48IMG\0", FORMAT_VERSION, VERSION_WORD, 4, 3)
    assert crc == zlib.crc32(data[:20] + b"\0\0\0\0" + data[24:])
    table = [struct.unpack_from("<B3xIII", data, 24 + 16 * i) for i in range(count)]
    assert [(k, a, n) for k, a, n, _off in table] == [(1, 0, 16), (2, 0, 12), (2, 0x100, 3)]
    for (_k, _a, n, off), seg in zip(table, image.segments):
        assert data[off:off + n] == seg.data
    assert len(data) == 24 + 16 * 3 + 16 + 12 + 3


def test_round_trip(image):
    assert Image.from_bytes(image.to_bytes()) == image


segments = st.lists(
    st.tuples(st.sampled_from(["text", "data"]), st.integers(0, 1 << 20), st.binary(max_size=64)),
    max_size=4)


@given(segments, st.integers(0, (1 << 30) - 1))
def test_round_trip_any_image(raw, entry):
    segs, ends = [], {"text": 0, "data": 0}
    for kind, gap, payload in raw:       # non-overlapping, word-sized text
        if kind == "text":
            payload = payload[:len(payload) // 4 * 4]
            gap = gap // 4 * 4
        addr = ends[kind] + gap
        segs.append(Segment(kind, addr, payload))
        ends[kind] = addr + len(payload)
    img = Image(entry * 4, tuple(segs))
    assert Image.from_bytes(img.to_bytes()) == img


def test_text_words_pad_gaps_with_zero():
    img = Image(0, (Segment("text", 8, b"\x01\0\0\x02"), Segment("text", 0, b"\x01\0\0\x01")))
    assert img.text_words() == [0x01000001, 0, 0x02000001]
    assert Image(0, ()).text_words() == []


@pytest.mark.parametrize("edit,message", [
    (lambda d: b"NR47" + d[4:], "not an NR48 image (bad magic"),
    (lambda d: b"ELF", "not an NR48 image"),
    (lambda d: d[:10], "truncated: 10 bytes, the header alone needs 24"),
    (lambda d: d[:30], "truncated: 3 segments need a 72-byte header and table"),
    (lambda d: d[:-1], "checksum mismatch"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum mismatch"),
    (lambda d: d[:20] + b"\0\0\0\0" + d[24:], "checksum mismatch"),
    (lambda d: with_crc(d[:8] + struct.pack("<H", FORMAT_VERSION + 1) + d[10:]),
     f"image format version {FORMAT_VERSION + 1} is newer than this reader"),
    (lambda d: with_crc(d[:10] + struct.pack("<H", VERSION_WORD + 1) + d[12:]),
     f"image is for ISA {VERSION_WORD >> 8}.{(VERSION_WORD & 0xFF) + 1}, this build implements "
     f"ISA {VERSION_WORD >> 8}.{VERSION_WORD & 0xFF}"),
    (lambda d: with_crc(d[:10] + struct.pack("<H", VERSION_WORD + 0x100) + d[12:]),
     f"image is for ISA {(VERSION_WORD >> 8) + 1}.{VERSION_WORD & 0xFF}"),
    (lambda d: with_crc(d[:24] + b"\x07" + d[25:]), "segment 0 has unknown kind 7"),
    (lambda d: with_crc(d[:32] + struct.pack("<I", 1 << 20) + d[36:]), "lies outside the file"),
    (lambda d: with_crc(d[:28] + struct.pack("<I", 2) + d[32:]), "not made of whole aligned"),
    (lambda d: with_crc(d[:12] + struct.pack("<I", 2) + d[16:]), "entry point 0x2 is not word-aligned"),
])
def test_bad_images_are_rejected_with_a_clear_message(image, edit, message):
    with pytest.raises(ImageError) as e:
        Image.from_bytes(edit(image.to_bytes()), "prog.img")
    assert str(e.value).startswith("prog.img: ") and message in str(e.value)


def test_overlapping_segments_are_rejected():
    img = Image(0, (Segment("data", 0, b"abcd"), Segment("data", 2, b"xy")))
    with pytest.raises(ImageError, match="data segments at 0x0 and 0x2 overlap"):
        Image.from_bytes(img.to_bytes())


def test_load_image_errors(tmp_path):
    with pytest.raises(ImageError, match="missing.img: cannot read"):
        load_image(tmp_path / "missing.img")
    (tmp_path / "junk.img").write_bytes(b"junk")
    with pytest.raises(ImageError, match="not an NR48 image"):
        load_image(tmp_path / "junk.img")


# ---------------------------------------------------------------- source map

def test_program_save_writes_image_and_map(tmp_path, image):
    prog = assemble(SOURCE, filename="prog.s")
    img_path, map_path = prog.save(tmp_path / "prog.img")
    assert map_path == tmp_path / "prog.map" == map_path_for(img_path)
    assert load_image(img_path) == prog.image
    smap = load_source_map(map_path)
    assert smap.lines == prog.source_map == {0: ("prog.s", 7, 9), 4: ("prog.s", 8, 9),
                                             8: ("prog.s", 8, 9), 12: ("prog.s", 9, 9)}
    assert smap.symbols == prog.symbols
    assert smap.entry == 4 and smap.image_crc == prog.image.crc32
    doc = json.loads(map_path.read_text())
    assert doc["format"] == "nr48-map" and doc["files"] == ["prog.s"]
    assert doc["lines"][0] == [0, 0, 7, 9]


@pytest.mark.parametrize("text,message", [
    ("{", "malformed source map"),
    ('{"format": "other"}', "not an NR48 source map"),
    ('{"format": "nr48-map", "version": 99}', "source map version 99 is newer"),
    ('{"format": "nr48-map", "version": 1, "files": [], "lines": [[0, 3, 1, 1]], "symbols": {}}',
     "malformed source map"),
])
def test_bad_source_maps(tmp_path, text, message):
    (tmp_path / "x.map").write_text(text)
    with pytest.raises(ImageError, match=message):
        load_source_map(tmp_path / "x.map")
    with pytest.raises(ImageError, match="cannot read"):
        load_source_map(tmp_path / "none.map")


def test_source_map_json_round_trip():
    m = SourceMap({0: ("a.s", 1, 2), 4: ("b.s", 3, 4)}, {"x": ("text", 4), "N": ("abs", -1)}, 4, 99)
    assert SourceMap.from_json(m.to_json()) == m
