"""The syntax tree of NR48 assembly: what the parser's transformer returns.

Every node is a frozen dataclass.  Operands and expressions carry their start and end column
(1-based, end exclusive) so that diagnostics can underline them; statements carry their line.
The file a statement came from is known to the assembler, not to the node, so that a parsed
template (a pseudo-instruction expansion, a macro body) can be reused anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass


# ---------------------------------------------------------------- expressions

@dataclass(frozen=True, slots=True)
class Num:
    """An integer constant: a literal, a character, or a folded constant expression."""
    value: int
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class Sym:
    """A reference to a label or an .equ constant."""
    name: str
    line: int
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class Here:
    """`.`: the address of the statement it appears in."""
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str          # one of + - * / % << >> & | ^
    left: "Expr"
    right: "Expr"
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class UnOp:
    op: str          # '-' or '~'
    operand: "Expr"
    col: int
    end: int


Expr = Num | Sym | Here | BinOp | UnOp


# ---------------------------------------------------------------- other operands

@dataclass(frozen=True, slots=True)
class Reg:
    """`xN` as written; N may be out of range (checked against the table later)."""
    num: int
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class Core:
    """`cN` as written; N may be out of range."""
    num: int
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class Mem:
    """`offset(base)`; `(xN)` has the offset Num(0)."""
    offset: Expr
    base: Reg
    col: int
    end: int


@dataclass(frozen=True, slots=True)
class Str:
    """A string literal, already unescaped and UTF-8 encoded."""
    value: bytes
    col: int
    end: int


Operand = Expr | Reg | Core | Mem | Str


# ---------------------------------------------------------------- statements

@dataclass(frozen=True, slots=True)
class Label:
    name: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Instr:
    """An instruction or pseudo-instruction; `mnemonic` includes its suffixes (`vcvt.i8.i32`)."""
    mnemonic: str
    operands: tuple
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Directive:
    name: str        # without the dot, lower case
    args: tuple
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Assign:
    """`NAME = expr`."""
    name: str
    expr: Expr
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Call:
    """`name args…` where name is not an ISA mnemonic: a macro invocation or a typo."""
    name: str
    args: tuple
    line: int
    col: int
    end: int


Statement = Label | Instr | Directive | Assign | Call
