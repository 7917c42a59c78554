"""Arithmetic of assembler expressions, shared by constant folding in the parser and evaluation.

Integers may grow to 128 bits while an expression is computed (asm.limits.MAX_VALUE_BITS); the
slot that receives the result checks its range.  Division truncates toward zero and `%` takes the sign of the dividend (C semantics, so
that `-7 / 2` means what a C programmer expects); shifts take counts 0..63.
"""
from __future__ import annotations

from .limits import MAX_VALUE_BITS, fits
from .nodes import BinOp, Here, Num, Sym, UnOp


class ExprError(Exception):
    """An expression cannot be evaluated; `node` is the culprit (for the caret)."""

    def __init__(self, message: str, node):
        super().__init__(message)
        self.node = node


class Undefined(ExprError):
    """A symbol is not (yet) defined."""


def _div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _mod(a: int, b: int) -> int:
    return a - _div(a, b) * b


def _shift_ok(b: int) -> bool:
    return 0 <= b <= 63


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "%": _mod,
    "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
}

UNARY = {"-": lambda a: -a, "~": lambda a: ~a}


def can_fold(op: str, b: int) -> bool:
    """Whether `a op b` is safe to compute at parse time (errors are left to evaluation)."""
    if op in ("/", "%"):
        return b != 0
    if op in ("<<", ">>"):
        return _shift_ok(b)
    return True


def _too_big(node) -> ExprError:
    return ExprError(f"value does not fit {MAX_VALUE_BITS} bits", node)


def _binary(node: BinOp, a: int, b: int) -> int:
    op = node.op
    if op in ("/", "%") and b == 0:
        raise ExprError("division by zero", node)
    if op in ("<<", ">>") and not _shift_ok(b):
        raise ExprError(f"shift count {b} outside 0..63", node.right)
    v = BINARY[op](a, b)
    if not fits(v):
        raise _too_big(node)
    return v


def evaluate(node, resolve, here: int) -> int:
    """Value of an expression; `resolve(sym)` gives a symbol's value or raises Undefined.

    The tree is walked with an explicit stack (left operand first, as C reads it): a machine
    generated expression of thousands of terms must not exhaust Python's recursion limit."""
    t = type(node)
    if t is Num:
        return node.value
    if t is Sym:
        return resolve(node)
    if t is Here:
        return here
    todo: list = [(node, False)]
    vals: list[int] = []
    while todo:
        n, ready = todo.pop()
        t = type(n)
        if t is BinOp:
            if ready:
                b = vals.pop()
                vals.append(_binary(n, vals.pop(), b))
            else:
                todo += ((n, True), (n.right, False), (n.left, False))
        elif t is UnOp:
            if ready:
                v = UNARY[n.op](vals.pop())
                if not fits(v):
                    raise _too_big(n)
                vals.append(v)
            else:
                todo += ((n, True), (n.operand, False))
        elif t is Num:
            vals.append(n.value)
        elif t is Sym:
            vals.append(resolve(n))
        elif t is Here:
            vals.append(here)
        else:
            raise ExprError("expected a number or an expression", n)
    return vals[0]


def symbols_in(node) -> list[Sym]:
    """Every symbol reference in an expression, left to right."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        t = type(n)
        if t is Sym:
            out.append(n)
        elif t is BinOp:
            todo += (n.right, n.left)
        elif t is UnOp:
            todo.append(n.operand)
    return out
