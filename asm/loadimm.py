"""The built-in pseudo-instructions of the assembler: `li` (any 64-bit constant: movi, then shori
for each further 16 bits) and `la` (an address, always two words), and the parsed expansions of
the table's template pseudo-instructions."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .encoder import OperandError, encode
from .expr import symbols_in
from .nodes import BinOp, Instr, Mem, Num, Reg, Sym, UnOp
from .parser import parse
from .specs import PseudoSpec, resolve_mnemonic, template_text

if TYPE_CHECKING:
    from .assembler import Assembler
    from .chunks import Item

_U64 = 1 << 64


def li_length(v: int) -> int:
    """Instructions `li` needs for a 64-bit value: movi, then one shori per further 16 bits."""
    if v >= 1 << 63:
        v -= _U64
    for n in (1, 2, 3):
        if -(1 << (16 * n - 1)) <= v < 1 << (16 * n - 1):
            return n
    return 4


def li_chunks(v: int, n: int) -> list[int]:
    """The 16-bit pieces, most significant first, of `v` in n·16 bits."""
    u = v & ((1 << (16 * n)) - 1)
    return [(u >> (16 * (n - 1 - i))) & 0xFFFF for i in range(n)]


_MOVI = resolve_mnemonic("movi")
_SHORI = resolve_mnemonic("shori")


def _load_words(asm: Assembler, it: Item, rd, v: int, n: int) -> None:
    expr = it.stmt.operands[1]
    col, end = expr.col, expr.end
    pieces = li_chunks(v, n)
    first = pieces[0] - 0x10000 if pieces[0] >= 0x8000 else pieces[0]
    words = it.chunk.words
    words[it.index] = encode(_MOVI, (rd, Num(first, col, end)), it.addr, asm)
    for i, p in enumerate(pieces[1:], 1):
        words[it.index + i] = encode(_SHORI, (rd, Num(p, col, end)), it.addr + 4 * i, asm)


def _load_value(asm: Assembler, it: Item, what: str) -> int:
    expr = it.stmt.operands[1]
    if isinstance(expr, (Reg, Mem)) or type(expr).__name__ in ("Core", "Str"):
        raise OperandError(expr, expected=f"{what} (a number, label or expression)")
    return asm.value(expr, it.addr)


def _emit_li(asm: Assembler, it: Item) -> None:
    _res, forward = it.extra
    rd = it.stmt.operands[0]
    v = _load_value(asm, it, "a constant")
    expr = it.stmt.operands[1]
    if not -(1 << 63) <= v < _U64:
        raise OperandError(expr, f"li value {v} does not fit 64 bits")
    if v >= 1 << 63:
        v -= _U64
    n = it.size // 4
    if forward and not -(1 << 31) <= v < 1 << 31:
        names = ", ".join(f"'{s.name}'" for s in symbols_in(expr)) or "its symbols"
        raise OperandError(expr, f"li of a forward reference uses the 2-instruction form, which "
                                 f"holds signed 32-bit values; {v:#x} does not fit (define "
                                 f"{names} before this line, or build the value in steps)")
    _load_words(asm, it, rd, v, n)


def _emit_la(asm: Assembler, it: Item) -> None:
    rd = it.stmt.operands[0]
    v = _load_value(asm, it, "an address")
    if not 0 <= v < 1 << 31:
        raise OperandError(it.stmt.operands[1], f"la address {v:#x} outside 0..0x7fffffff "
                                                "(use li for other constants)")
    _load_words(asm, it, rd, v, 2)


_TEMPLATES: dict[str, tuple] = {}


def _template(spec: PseudoSpec) -> tuple:
    """The parsed expansion of a template pseudo-instruction and the names of its operands."""
    t = _TEMPLATES.get(spec.mnemonic)
    if t is None:
        statements, problems = parse(template_text(spec))
        if problems or len(statements) != 1 or not isinstance(statements[0], Instr):
            raise RuntimeError(f"pseudo {spec.mnemonic}: cannot read its expansion "
                               f"{spec.expansion!r} ({problems})")
        t = _TEMPLATES[spec.mnemonic] = (statements[0], tuple(f for f, _b in spec.operands))
    return t


def _substitute(node, by_name: dict):
    """Replace the template's operand names by the operands written by the user."""
    t = type(node)
    if t is Sym and node.name in by_name:
        return by_name[node.name]
    if t is Mem:
        return Mem(_substitute(node.offset, by_name), node.base, node.col, node.end)
    if t is BinOp:
        return BinOp(node.op, _substitute(node.left, by_name), _substitute(node.right, by_name),
                     node.col, node.end)
    if t is UnOp:
        return UnOp(node.op, _substitute(node.operand, by_name), node.col, node.end)
    return node
