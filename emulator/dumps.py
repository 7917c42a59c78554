"""Memory dump specifications (`--dump`, a sweep's recorded outputs): resolve NAME=ADDR:COUNT:DTYPE
or SYMBOL[:COUNT[:DTYPE]] against a loaded program.  A symbol's dump defaults to the element type
the assembler recorded for it (the first data directive after the label: .byte i8, .half i16,
.word i32, .dword i64, .zero i8, .ascii u8, .npy its dtype) and to its extent (up to the next
data label or the end of its segment)."""
from __future__ import annotations

from dataclasses import dataclass

DTYPE_NAMES = ("i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64")


class DumpError(ValueError):
    """A dump specification that does not fit the program or the data memory."""


@dataclass(frozen=True)
class Dump:
    name: str
    addr: int
    count: int
    dtype: str


def _int(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise DumpError(f"{what} {text!r} is not a number") from None


def _symbol_extent(machine, name: str) -> tuple[int, str]:
    """A data symbol's extent in bytes and declared element type (the assembler's record,
    emulator.check.data_extents); a code or absolute symbol has no extent (0, i8)."""
    from .check import data_extents

    return data_extents(machine.program).get(name, (0, "i8"))


def parse_dump(spec: str, machine) -> Dump:
    """Resolve one --dump SPEC against the loaded program."""
    symbols = machine.program.symbols if machine.program else {}
    name, eq, rest = spec.partition("=")
    parts = (rest if eq else spec).split(":")
    if eq:
        if len(parts) != 3:
            raise DumpError(f"--dump {spec!r}: expected NAME=ADDR:COUNT:DTYPE")
        where, count, dtype = parts
        addr = symbols[where][1] if where in symbols else _int(where, f"--dump {spec!r}: address")
        if not count and where not in symbols:
            raise DumpError(f"--dump {spec!r}: give a COUNT (an empty count runs to the next "
                             "symbol, so it needs a symbol, not a number, as ADDR)")
        extent_of = where
    else:
        if not 1 <= len(parts) <= 3:
            raise DumpError(f"--dump {spec!r}: expected SYMBOL[:COUNT[:DTYPE]]")
        name = parts[0]
        if name not in symbols:
            known = ", ".join(sorted(s for s, (sec, _) in symbols.items() if sec == "data")) or "none"
            raise DumpError(f"--dump {spec!r}: no symbol {name!r} (data symbols: {known})")
        addr = symbols[name][1]
        dtype = parts[2] if len(parts) == 3 and parts[2] else _symbol_extent(machine, name)[1]
        count = parts[1] if len(parts) >= 2 else None
        extent_of = name
    if dtype not in DTYPE_NAMES:
        raise DumpError(f"--dump {spec!r}: unknown dtype {dtype!r} (one of {', '.join(DTYPE_NAMES)})")
    size = int(dtype[1:]) // 8
    if not count:   # absent or empty (SYMBOL::DTYPE): the symbol's extent
        n = _symbol_extent(machine, extent_of)[0] // size
    else:
        n = _int(count, f"--dump {spec!r}: count")
    if n < 0 or addr < 0 or addr + n * size > machine.memory.size:
        raise DumpError(f"--dump {spec!r}: {n} × {dtype} at {addr:#x} leaves the "
                         f"{machine.memory.size}-byte data memory")
    return Dump(name, addr, n, dtype)
