"""The commit-log trace: a versioned header, one fixed-column line per record, a footer.

Forms (docs/trace-format.md has every field with its width and an example):

* `timed`       instruction lines with their issue cycle and stalls, core events with start and
                end cycles;
* `functional`  the same without time: no cycles, stalls or end events, so a change to the timing
                model leaves it unchanged while any change to what the program computes shows;
* `jsonl`       one JSON object per record, for tools.

Integers are hex, values are the codes the chip holds, vectors appear as `address+length#digest`.
"""
from __future__ import annotations

import gzip
import json
import lzma
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TextIO

import numpy as np

from .records import DIRS, KIND, KINDS

FORMAT_NAME = "nr48-trace"
FORMAT_VERSION = 1
FORMS = ("timed", "functional", "jsonl")
# fields a functional trace leaves out, which `trace diff` therefore ignores
FUNCTIONAL_MASK = ("cycle", "stall", "end")
ASM_WIDTH = 34


class TraceFormatError(Exception):
    """A trace file is truncated, foreign or of a newer format version."""


@dataclass
class TraceHeader:
    form: str
    isa: str
    emulator: str
    model: str
    seed: int
    config_hash: str
    program_hash: str
    program: str = ""
    masked: tuple[str, ...] = ()
    filters: str = ""
    profile: str = ""

    def lines(self) -> list[str]:
        out = [f"# {FORMAT_NAME} {FORMAT_VERSION}", f"# form {self.form}", f"# isa {self.isa}",
               f"# emulator {self.emulator}", f"# model {self.model}", f"# seed {self.seed}",
               f"# config {self.config_hash}", f"# program {self.program_hash}"]
        if self.profile:
            out.append(f"# profile {self.profile}")
        if self.program:
            out.append(f"# source {self.program}")
        if self.masked:
            out.append(f"# masked {','.join(self.masked)}")
        if self.filters:
            out.append(f"# filters {self.filters}")
        return out


@dataclass(frozen=True)
class Filters:
    """Which records a trace keeps: a cycle window [start, stop), cores, record kinds."""
    start: int = 0
    stop: int | None = None
    cores: frozenset[int] | None = None
    kinds: frozenset[str] | None = None

    def describe(self) -> str:
        parts = []
        if self.start or self.stop is not None:
            parts.append(f"cycles={self.start:#x}..{'' if self.stop is None else hex(self.stop)}")
        if self.cores is not None:
            parts.append("cores=" + ",".join(map(str, sorted(self.cores))))
        if self.kinds is not None:
            parts.append("kinds=" + ",".join(sorted(self.kinds)))
        return " ".join(parts)

    def mask(self, recs: np.ndarray) -> np.ndarray:
        keep = recs["kind"] != KIND["phase"]
        if self.start:
            keep &= recs["cycle"] >= self.start
        if self.stop is not None:
            keep &= recs["cycle"] < self.stop
        if self.cores is not None:
            is_core_event = ~np.isin(recs["kind"], [KIND["insn"], KIND["fault"]])
            keep &= ~is_core_event | np.isin(recs["core"], list(self.cores))
        if self.kinds is not None:
            keep &= np.isin(recs["kind"], [KIND[k] for k in self.kinds])
        return keep


# A record as a plain tuple, in REC_DTYPE field order: `recs.tolist()` converts a whole drained
# batch at C speed, and plain ints format far faster than numpy scalars.
#   (cycle, a, b, pc, word, stall, mlen, digest, kind, rd, core)


def _mem(b: int, mlen: int, digest: int) -> str:
    return f"{b:08x}+{mlen:04x}#{digest:08x}"


def _event_fields(kind: str, r: tuple, timed: bool) -> list[str]:
    cycle, a, b, pc, word, stall, mlen, digest, _, _, core = r
    out = []
    if kind in ("wake", "scan_in", "scan_out", "mvm", "smp", "prog", "batch", "ifire", "update",
                "refresh") and timed:
        out.append(f"end={a:012x}")
        if stall and kind not in ("ifire", "update"):
            out.append(f"queued={stall:x}")
    if kind in ("scan_in", "scan_out"):
        out.append("mem=" + _mem(b, mlen, digest))
    elif kind in ("mvm", "smp"):
        out.append(f"dir={DIRS[b] if b < len(DIRS) else b}")
        out.append(f"out={mlen:04x}#{digest:08x}")
    elif kind == "batch":
        out.append(f"dir={DIRS[b & 3] if (b & 3) < len(DIRS) else b & 3}{' smp' if b & 4 else ''} n={b >> 8:04x}")
        out.append(f"out={mlen:04x}#{digest:08x}")
    elif kind == "bvec":
        # the output digests of vectors pc … pc+word−1 of the batch: `trace diff` names the
        # first one that differs
        digests = (a & 0xFFFFFFFF, a >> 32, b & 0xFFFFFFFF, b >> 32)
        out += [f"v{pc + i:04x}={digests[i]:08x}" for i in range(min(word, 4))]
    elif kind == "ifire":
        d = b & 0xFF
        out.append(f"dir={DIRS[d] if d < len(DIRS) else d}")
        out.append(f"{'step' if b >> 8 else 'rate'} spikes={stall:x}")
        out.append(f"out={mlen:04x}#{digest:08x}")
    elif kind == "update":
        out.append(f"pulses={b:x} phases={stall:x}")
    elif kind == "refresh":
        out.append(f"pulses={b:x}")
    elif kind == "prog":
        out.append(f"cells={mlen:x} pulses={b:x} codes#{digest:08x}")
    elif kind == "end":
        out.append(KINDS[a] if a < len(KINDS) else str(a))
        if mlen:
            out.append("mem=" + _mem(b, mlen, digest))
    elif kind == "fault":
        out.append(f"code={a:x} detail={b:x} pc={pc:08x}")
    return out


def format_record(r: tuple, form: str, insn_text: Callable[[int, int], str]) -> str | None:
    """One trace line for a record tuple, or None when the form leaves the record out.
    `insn_text(pc, word)` gives the fixed-width "pc word disassembly" part of instruction lines."""
    cycle, a, b, pc, word, stall, mlen, digest, kind_code, rd, core = r
    timed = form == "timed"
    if kind_code == 0:
        parts = [f"I {cycle:012x} {insn_text(pc, word)}" if timed else f"I {insn_text(pc, word)}"]
        if rd:
            parts.append(f"x{rd - 1}={a:016x}")
        if mlen:
            parts.append("mem=" + _mem(b, mlen, digest))
        if timed and stall:
            parts.append(f"stall={stall:x}")
        return " ".join(parts).rstrip()
    kind = KINDS[kind_code]
    if kind == "phase" or (kind == "end" and not timed):
        return None
    head = f"E {cycle:012x} " if timed else "E "
    core_txt = f"c{core:02d} " if kind != "fault" else ""
    return f"{head}{core_txt}{kind:<9} {' '.join(_event_fields(kind, r, timed))}".rstrip()


def record_json(r: tuple, disasm: Callable[[int, int], str]) -> dict:
    cycle, a, b, pc, word, stall, mlen, digest, kind_code, rd, core = r
    kind = KINDS[kind_code]
    d = {"kind": kind, "cycle": cycle}
    if kind == "insn":
        d.update(pc=pc, word=word, asm=disasm(pc, word))
        if rd:
            d.update(rd=rd - 1, value=a)
        if stall:
            d["stall"] = stall
    else:
        d.update(core=core, a=a, b=b)
        if kind != "phase":
            d["pc"] = pc
        if stall:
            d[{"ifire": "spikes", "update": "phases"}.get(kind, "queued")] = stall
    if mlen:
        d.update(mlen=mlen, digest=digest)
    return d


class TraceWriter:
    """Writes a trace file: header, records in drained batches, then a footer."""

    def __init__(self, out: TextIO, header: TraceHeader, disasm: Callable[[int, int], str],
                 filters: Filters = Filters()):
        if header.form not in FORMS:
            raise ValueError(f"unknown trace form {header.form!r} (expected one of {', '.join(FORMS)})")
        self.out, self.header, self.filters = out, header, filters
        self._disasm_cache: dict[tuple[int, int], str] = {}
        self._insn_cache: dict[tuple[int, int], str] = {}
        self._disasm = disasm
        self.instructions = self.events = 0
        if header.form == "functional":
            header.masked = tuple(sorted(set(header.masked) | set(FUNCTIONAL_MASK)))
        header.filters = filters.describe()
        if header.form == "jsonl":
            meta = {k: v for k, v in header.__dict__.items()}
            out.write(json.dumps({"kind": "header", "format": FORMAT_NAME, "version": FORMAT_VERSION,
                                  **meta}) + "\n")
        else:
            out.write("\n".join(header.lines()) + "\n")

    def disasm(self, pc: int, word: int) -> str:
        key = (pc, word)
        text = self._disasm_cache.get(key)
        if text is None:
            text = self._disasm_cache[key] = self._disasm(pc, word)
        return text

    def insn_text(self, pc: int, word: int) -> str:
        key = (pc, word)
        text = self._insn_cache.get(key)
        if text is None:
            text = self._insn_cache[key] = f"{pc:08x} {word:08x} {self.disasm(pc, word):<{ASM_WIDTH}}"
        return text

    def write(self, recs: np.ndarray) -> None:
        recs = recs[self.filters.mask(recs)]
        form = self.header.form
        if form == "jsonl":
            lines = [json.dumps(record_json(r, self.disasm)) for r in recs.tolist()]
        else:
            lines = [line for line in (format_record(r, form, self.insn_text) for r in recs.tolist())
                     if line is not None]
        n_insn = int(np.count_nonzero(recs["kind"] == KIND["insn"]))
        self.instructions += n_insn
        # events the form leaves out (end in functional) are not counted
        self.events += len(lines) - n_insn if form != "jsonl" else len(recs) - n_insn
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def close(self, stop: str, cycles: int) -> None:
        if self.header.form == "jsonl":
            self.out.write(json.dumps({"kind": "footer", "stop": stop, "instructions": self.instructions,
                                       "events": self.events, "cycles": cycles}) + "\n")
        else:
            tail = f" cycles={cycles:x}" if self.header.form == "timed" else ""
            self.out.write(f"# end stop={stop} instructions={self.instructions:x} "
                           f"events={self.events:x}{tail}\n")


# ---------------------------------------------------------------- reading


@dataclass
class TraceLine:
    number: int                    # 1-based line number in the file
    kind: str                      # "I" or "E"
    fields: dict[str, str]         # field name → text
    raw: str
    chip: int | None = None        # a system trace's chip (the `@K ` prefix), None for one chip


@dataclass
class Trace:
    path: str
    header: dict[str, str]
    lines: list[TraceLine] = field(default_factory=list)
    footer: dict[str, str] = field(default_factory=dict)

    @property
    def form(self) -> str:
        return self.header.get("form", "")

    @property
    def masked(self) -> set[str]:
        return set(filter(None, self.header.get("masked", "").split(",")))


def _kv(tokens: Iterable[str], start: int = 0) -> dict[str, str]:
    out = {}
    for i, tok in enumerate(tokens):
        k, sep, v = tok.partition("=")
        out[k if sep else f"_{start + i}"] = v if sep else tok
    return out


def parse_line(number: int, raw: str, timed: bool) -> TraceLine:
    """Split a trace line into named fields (raises ValueError on a malformed line).  A system
    trace prefixes each line with `@K ` (chip K); the chip becomes a field like any other."""
    if raw.startswith("@"):
        tag, _, rest = raw.partition(" ")
        line = parse_line(number, rest, timed)
        line.chip = int(tag[1:])
        line.fields = {"chip": tag[1:], **line.fields}
        line.raw = raw
        return line
    if raw.startswith("I "):
        rest = raw[2:]
        f: dict[str, str] = {}
        if timed:
            f["cycle"], rest = rest[:12], rest[13:]
            int(f["cycle"], 16)
        f["pc"], f["word"] = rest[:8], rest[9:17]
        int(f["pc"], 16), int(f["word"], 16)
        body = rest[18:]
        f["asm"] = body[:ASM_WIDTH].rstrip()
        for tok in body[ASM_WIDTH:].split():
            k, _, v = tok.partition("=")
            f[k] = v
        return TraceLine(number, "I", f, raw)
    if raw.startswith("E "):
        toks = raw[2:].split()
        f = {}
        if timed:
            f["cycle"] = toks.pop(0)
            int(f["cycle"], 16)
        if toks and toks[0].startswith("c") and toks[0][1:].isdigit():
            f["core"] = toks.pop(0)[1:]
        f["event"] = toks.pop(0)
        f.update(_kv(toks))
        return TraceLine(number, "E", f, raw)
    raise ValueError("a trace line starts with 'I ' or 'E '")


def read_trace(path: str) -> Trace:
    """Read a text trace (plain, or compressed as .xz / .gz); TraceFormatError names the file
    and line for anything unusable."""
    opener = {".xz": lzma.open, ".gz": gzip.open}.get(Path(path).suffix, open)
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
    except OSError as e:
        raise TraceFormatError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    except (UnicodeDecodeError, lzma.LZMAError, EOFError):
        raise TraceFormatError(f"{path}: not a text trace (undecodable or truncated compressed data)") from None
    rows = text.split("\n")
    if not rows or not rows[0].startswith(f"# {FORMAT_NAME} "):
        if rows and rows[0].startswith("{"):
            raise TraceFormatError(f"{path}:1: a JSONL trace; compare text traces "
                                   "(--trace-format timed or functional)")
        raise TraceFormatError(f"{path}:1: not an {FORMAT_NAME} file (expected '# {FORMAT_NAME} N')")
    try:
        version = int(rows[0].split()[2])
    except (IndexError, ValueError):
        raise TraceFormatError(f"{path}:1: unreadable format version in {rows[0]!r}") from None
    if version > FORMAT_VERSION:
        raise TraceFormatError(f"{path}:1: format version {version} is newer than this emulator "
                               f"reads ({FORMAT_VERSION}); update the emulator")
    trace = Trace(path, {"version": str(version)})
    timed = None
    for number, raw in enumerate(rows[1:], 2):
        if not raw:
            continue
        if raw.startswith("# end "):
            trace.footer = _kv(raw[6:].split())
            continue
        if raw.startswith("# "):
            key, _, value = raw[2:].partition(" ")
            trace.header[key] = value
            continue
        if trace.footer:
            raise TraceFormatError(f"{path}:{number}: a record after the end line")
        if timed is None:
            if trace.form not in ("timed", "functional"):
                raise TraceFormatError(f"{path}: unknown trace form {trace.form!r}")
            timed = trace.form == "timed"
        try:
            trace.lines.append(parse_line(number, raw, timed))
        except (ValueError, IndexError) as e:
            raise TraceFormatError(f"{path}:{number}: malformed record ({e}): {raw[:60]!r}") from None
    if not trace.footer:
        raise TraceFormatError(f"{path}: truncated — no '# end' line after line {len(rows)}")
    return trace
