"""`neurram trace diff`: the first divergence between two traces, field by field."""
from __future__ import annotations

from dataclasses import dataclass, field

from .textfmt import Trace, TraceFormatError, TraceLine

# header keys that say what produced a trace; a difference is worth a note, not a divergence
_PROVENANCE = ("isa", "emulator", "model", "seed", "config", "program", "filters", "chips", "link")


@dataclass
class Divergence:
    index: int                           # record index (0-based) of the first difference
    a: TraceLine | None                  # None: trace A ended here
    b: TraceLine | None
    fields: list[tuple[str, str, str]]   # (field, value in A, value in B)
    vector: int | None = None            # a batch's outputs: the first vector that differs


@dataclass
class DiffResult:
    a: Trace
    b: Trace
    masked: set[str]
    compared: int                        # records compared equal before the divergence
    instructions: int                    # instruction records among them
    divergence: Divergence | None = None
    notes: list[str] = field(default_factory=list)
    cycle_drift: int | None = None       # B − A cycle at the divergence (timed traces)

    @property
    def same(self) -> bool:
        return self.divergence is None


def _differences(a: TraceLine, b: TraceLine, masked: set[str]) -> list[tuple[str, str, str]]:
    out = []
    if a.kind != b.kind:
        out.append(("record", "instruction" if a.kind == "I" else "event",
                    "instruction" if b.kind == "I" else "event"))
    for key in sorted(set(a.fields) | set(b.fields), key=lambda k: (k.startswith("_"), k)):
        if key in masked:
            continue
        va, vb = a.fields.get(key, "—"), b.fields.get(key, "—")
        if va != vb:
            out.append((key, va, vb))
    return out


def diff_traces(a: Trace, b: Trace, ignore: set[str] = frozenset()) -> DiffResult:
    if a.form != b.form:
        raise TraceFormatError(f"cannot compare a {a.form} trace ({a.path}) with a {b.form} trace "
                               f"({b.path}); write both with the same --trace-format")
    masked = a.masked | b.masked | set(ignore)
    res = DiffResult(a, b, masked, 0, 0)
    for key in _PROVENANCE:
        va, vb = a.header.get(key), b.header.get(key)
        if va != vb:
            res.notes.append(f"{key}: {va or '—'} vs {vb or '—'}")
    n = min(len(a.lines), len(b.lines))
    for i in range(n):
        la, lb = a.lines[i], b.lines[i]
        diffs = _differences(la, lb, masked)
        if diffs:
            res.divergence = Divergence(i, la, lb, diffs, _first_vector(a.lines, b.lines, i, masked))
            if "cycle" in la.fields and "cycle" in lb.fields:
                res.cycle_drift = int(lb.fields["cycle"], 16) - int(la.fields["cycle"], 16)
            return res
        res.compared += 1
        res.instructions += la.kind == "I"
    if len(a.lines) != len(b.lines):
        la = a.lines[n] if n < len(a.lines) else None
        lb = b.lines[n] if n < len(b.lines) else None
        res.divergence = Divergence(n, la, lb, [("length", str(len(a.lines)), str(len(b.lines)))])
        return res
    foot = [(k, a.footer.get(k, "—"), b.footer.get(k, "—"))
            for k in sorted(set(a.footer) | set(b.footer))
            if k not in masked and not (k == "cycles" and "cycle" in masked)
            and a.footer.get(k) != b.footer.get(k)]
    if foot:
        res.divergence = Divergence(n, None, None, foot)
    if "cycles" in a.footer and "cycles" in b.footer:
        res.cycle_drift = int(b.footer["cycles"], 16) - int(a.footer["cycles"], 16)
    return res


def _first_vector(a: list[TraceLine], b: list[TraceLine], i: int, masked: set[str]) -> int | None:
    """A divergence in a batch record (or its per-vector digests, bvec lines vNNNN=digest):
    the first vector whose output digests differ, from the bvec lines at and after line i."""
    if a[i].fields.get("event") not in ("batch", "bvec"):
        return None
    j = i + (a[i].fields.get("event") == "batch")
    while j < len(a) and j < len(b) and a[j].fields.get("event") == "bvec" == b[j].fields.get("event"):
        idx = [int(k[1:], 16) for k, _va, _vb in _differences(a[j], b[j], masked) if k[:1] == "v"]
        if idx:
            return min(idx)
        j += 1
    return None


def render(res: DiffResult, context: int = 3) -> list[str]:
    """The report as plain lines (the CLI colours them)."""
    a, b = res.a, res.b
    out = []
    for note in res.notes:
        out.append(f"note: headers differ — {note}")
    if res.same:
        drift = f", final cycle drift {res.cycle_drift:+d}" if res.cycle_drift else ""
        out.append(f"identical: {res.compared} records ({res.instructions} instructions) compared"
                   f"{', ignoring ' + ','.join(sorted(res.masked)) if res.masked else ''}{drift}")
        return out
    d = res.divergence
    where_a = f"{a.path}:{d.a.number}" if d.a else f"{a.path}: end"
    where_b = f"{b.path}:{d.b.number}" if d.b else f"{b.path}: end"
    out.append(f"traces differ at record {d.index + 1} ({where_a}, {where_b})")
    first = d.a or d.b
    if first is not None and first.chip is not None:
        cyc = first.fields.get("cycle")
        pc = first.fields.get("pc")
        if pc is None:   # a core event: the chip's last instruction before it issued it
            side = a if d.a is not None else b
            pc = next((ln.fields["pc"] for ln in reversed(side.lines[:d.index])
                       if ln.chip == first.chip and ln.kind == "I"), None)
        out.append(f"  at chip {first.chip}" + (f", cycle {int(cyc, 16)}" if cyc else "")
                   + (f", pc {int(pc, 16):#x}" if pc else ""))
    lo = max(0, d.index - context)
    if lo < d.index:
        out.append("  context (identical in both):")
        for line in a.lines[lo:d.index]:
            out.append(f"    {line.number:>6} | {line.raw}")
    out.append(f"  A {d.a.number if d.a else 'end':>6} | {d.a.raw if d.a else '(trace A ends here)'}")
    out.append(f"  B {d.b.number if d.b else 'end':>6} | {d.b.raw if d.b else '(trace B ends here)'}")
    for key, va, vb in d.fields:
        out.append(f"  {key}: {va} ≠ {vb}")
    if d.vector is not None:
        out.append(f"  the batch's outputs differ first at vector {d.vector} (0-based) of that bmvm/bsmp")
    summary = f"summary: {res.compared} records ({res.instructions} instructions) identical before it"
    if res.cycle_drift is not None:
        summary += f"; cycle drift there {res.cycle_drift:+d}"
    out.append(summary)
    return out
