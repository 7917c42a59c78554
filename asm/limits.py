"""The assembler's budgets: every input, however hostile, is refused with a diagnostic before it
can cost unbounded time or memory.  docs/assembly.md (Limits) lists them with these numbers;
tests/test_asm_limits.py checks each one.
"""
from __future__ import annotations

from isa.tables import CODE_WORDS

# values: a literal and every intermediate result of an expression fit this many bits (sign
# apart), so that no computation grows without bound and every value prints in a message
MAX_VALUE_BITS = 128

# source text
MAX_LINE_CHARS = 1 << 16          # characters of one line (after macro substitution)
MAX_SOURCE_BYTES = 64 << 20       # bytes of one source file (the main one or an .include)

# expansion
MAX_MACRO_DEPTH = 64              # macros invoked from macros
MAX_INCLUDE_DEPTH = 32            # .include inside .include
MAX_INCLUDES = 4096               # .include directives carried out in one assembly
MAX_EXPANDED_LINES = 1 << 18      # lines produced by macro expansions and includes together
MAX_SYMBOL_DEPTH = 200            # .equ defined through .equ … (each a forward reference)

# image
CODE_BYTES = CODE_WORDS * 4       # code memory: 4 Mi instructions = 16 MiB
DATA_ADDR_END = 1 << 32           # the largest data memory a configuration allows (4 GiB)
MAX_DATA_BYTES = 64 << 20         # data bytes stored in one image (.zero, .npy and values)
MAX_RESERVE = 64 << 20            # one .zero / .align


def fits(v: int) -> bool:
    """Whether a value is inside the MAX_VALUE_BITS budget."""
    return v.bit_length() <= MAX_VALUE_BITS


def shown_name(name: str) -> str:
    """A file name as it can be printed and stored in UTF-8 text (undecodable bytes as \\xHH)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"
