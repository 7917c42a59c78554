"""The ISA version names one encoding: changing the opcode set or any field layout needs a bump.

Images record the ISA version (docs/image-format.md), so two tables that decode words differently
must not both call themselves 1.0.  ENCODINGS holds the digest of the encoding facts of every
released version; a table whose digest is not the one of its version fails with instructions.
"""
from __future__ import annotations

import hashlib
import json

from isa import tables

# version → sha256 of encoding_facts() (first 16 hex digits).  Add a line when you bump the version.
ENCODINGS = {
    (1, 0): "f964f3e84c71f5be",
    (1, 1): "1c297454cbdd7f90",   # vsigm, vtanh
    (1, 2): "f3f30cffb12f03f6",   # outbits up to 10 (ccfg ranges join the digest); phase timing parameters; batches: bcount, bstride, bmvm, bsmp, vadd2, vmax2, vcvt2, vargmax2; cfg escape (ccfgr csel 15 + xsel), ifthr, ifleak, ifsteps, opdev; ifrun, ifstep, ifclr, opu, oprefresh; links: send, recv, barrier, chipid, nchips
    (1, 3): "90f1cb43823c8d72",   # bkey (noise-key stride and advance of a core's batches)
}


def encoding_facts() -> dict:
    """Everything that decides how a word decodes (not docs, costs or timing defaults)."""
    return {
        "word_bits": tables.WORD_BITS,
        "fields": tables.FIELDS,          # bits, kind and accepted values of every field
        "enums": tables.ENUMS,            # dtype/dir codes and the csel code of every cfg field
        "insns": {m: (i[0], i[1], i[2], i[3], i[4]) for m, i in tables.INSNS.items()},
        "writes": tables.WRITES,
        # from 1.2 on, the values ccfg accepts per field: an image that sets outbits 10 needs a
        # core that takes it (earlier versions' digests were recorded without this entry)
        **({"cfg_ranges": {k: tuple(v[:3]) for k, v in tables.CFG.items()}} if tables.VERSION >= (1, 2) else {}),
        # from 1.2: the cfg escape (csel code, selector field, instruction); absent before
        **({"cfg_escape": tables.CFG_ESCAPE} if getattr(tables, "CFG_ESCAPE", None) else {}),
    }


def digest() -> str:
    text = json.dumps(encoding_facts(), sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_isa_version_matches_its_encoding():
    version, have = tables.VERSION, digest()
    want = ENCODINGS.get(version)
    v = f"{version[0]}.{version[1]}"
    assert want is not None, (
        f"ISA version {v} has no recorded encoding digest: add  {version!r}: {have!r},  to ENCODINGS "
        f"in {__file__}")
    assert have == want, (
        f"the instruction encodings of isa/nr48.isa changed (digest {have}, ISA {v} is {want}); images "
        f"record the ISA version, so bump 'version' in isa/nr48.isa (MINOR for added instructions or "
        f"fields, MAJOR for changed ones), run 'make gen', and add  (MAJOR, MINOR): {have!r},  to "
        f"ENCODINGS in {__file__}")


def test_released_digests_are_distinct():
    assert len(set(ENCODINGS.values())) == len(ENCODINGS)
