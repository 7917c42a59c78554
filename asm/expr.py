"""Arithmetic of assembler expressions, shared by constant folding in the parser and evaluation.

Integers are unbounded while an expression is computed; the slot that receives the result checks
its range.  Division truncates toward zero and `%` takes the sign of the dividend (C semantics, so
that `-7 / 2` means what a C programmer expects); shifts take counts 0..63.
"""
from __future__ import annotations

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


def evaluate(node, resolve, here: int) -> int:
    """Value of an expression; `resolve(sym)` gives a symbol's value or raises Undefined."""
    t = type(node)
    if t is Num:
        return node.value
    if t is Sym:
        return resolve(node)
    if t is BinOp:
        a = evaluate(node.left, resolve, here)
        b = evaluate(node.right, resolve, here)
        op = node.op
        if op in ("/", "%") and b == 0:
            raise ExprError("division by zero", node)
        if op in ("<<", ">>") and not _shift_ok(b):
            raise ExprError(f"shift count {b} outside 0..63", node.right)
        return BINARY[op](a, b)
    if t is UnOp:
        return UNARY[node.op](evaluate(node.operand, resolve, here))
    if t is Here:
        return here
    raise ExprError("expected a number or an expression", node)


def symbols_in(node) -> list[Sym]:
    """Every symbol reference in an expression, left to right."""
    t = type(node)
    if t is Sym:
        return [node]
    if t is BinOp:
        return symbols_in(node.left) + symbols_in(node.right)
    if t is UnOp:
        return symbols_in(node.operand)
    return []
