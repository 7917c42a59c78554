"""A small, safe expression language over the machine state.

Expressions are parsed with Python's `ast` and evaluated by walking a whitelisted subset of the
tree — never with eval().  Names and functions:

    x0 … x15, pc, cycle, instret, vl, halted, stalls      controller state (registers signed)
    <symbol>                                               a program symbol's value (labels: addresses)
    mem8(a) mem16(a) mem32(a) mem64(a)                     signed loads; u8/u16/u32(a) unsigned
    mem(a, n, i16)                                         n elements as an array (i8 … u64)
    core(i).h  .v  .g  .w  .phase  .busy  .powered  .busy_until  .mvms  .config.nrows …
    abs min max sum len any all int                        the usual helpers
    arithmetic, comparisons, and/or/not, a[i], a[i:j], a[i:j, k:l], x if c else y

Truth (conditions, and/or/not, `if`, chained comparisons): an array is true when all its
elements are non-zero, like numpy's `.all()`; `any(a)` asks for some element.
"""
from __future__ import annotations

import ast
import operator
from typing import Any

import numpy as np

from ..machine import DTYPES, NUM_CORES, Machine


class ExprError(Exception):
    """A malformed or unsupported expression, or one that fails on the current state."""


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv, ast.Div: operator.truediv, ast.Mod: operator.mod,
           ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitAnd: operator.and_,
           ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.Pow: operator.pow}
_UNOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
          ast.Not: operator.not_}
_CMPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
         ast.Gt: operator.gt, ast.GtE: operator.ge}
_MAX_SHIFT = 256


class ConfigView:
    """core(i).config: fields as attributes."""

    def __init__(self, fields: dict[str, int]):
        self._fields = fields

    def get(self, name: str) -> int:
        if name not in self._fields:
            raise ExprError(f"no configuration field {name!r} (fields: {', '.join(self._fields)})")
        return self._fields[name]

    def __eq__(self, other):
        return isinstance(other, ConfigView) and self._fields == other._fields

    def __repr__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self._fields.items())


class CoreView:
    """core(i) in an expression: read-only attributes of one core."""

    ATTRS = ("h", "v", "g", "w", "phase", "busy", "powered", "busy_until", "config", "mvms",
             "samples", "chain")

    def __init__(self, machine: Machine, index: int):
        if not 0 <= index < NUM_CORES:           # Machine.cores also takes negative indices
            raise ExprError(f"no core {index} (cores 0..{NUM_CORES - 1})")
        try:
            self._core = machine.cores[index]
        except (IndexError, TypeError) as e:
            raise ExprError(str(e)) from None
        self.index = index

    def get(self, name: str) -> Any:
        c = self._core
        if name == "h":
            return c.h
        if name == "v":
            return c.v
        if name == "g":
            return c.conductances
        if name == "w":
            return c.weights
        if name == "phase":
            return c.phase
        if name == "busy":
            return c.busy
        if name == "powered":
            return c.powered
        if name == "busy_until":
            return c.busy_until
        if name == "config":
            return ConfigView(c.config)
        if name in ("mvms", "samples"):
            return c.counters[name]
        if name == "chain":
            return c.chain
        raise ExprError(f"a core has no attribute {name!r} (try {', '.join(self.ATTRS)})")

    def __repr__(self) -> str:
        return repr(self._core)


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


class Evaluator:
    """Evaluate expression text against a Machine.  Parsed trees are cached."""

    def __init__(self, machine: Machine):
        self.m = machine
        self._cache: dict[str, ast.Expression] = {}

    # -------------------------------------------------------------- parsing
    def parse(self, text: str) -> ast.Expression:
        tree = self._cache.get(text)
        if tree is None:
            try:
                tree = ast.parse(text.strip(), mode="eval")
            except SyntaxError as e:
                raise ExprError(f"cannot parse {text!r}: {e.msg}") from None
            self._check(tree)
            self._cache[text] = tree
        return tree

    _ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Constant,
                ast.Name, ast.Load, ast.Call, ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple,
                ast.IfExp, ast.And, ast.Or, ast.operator, ast.unaryop, ast.cmpop)

    def _check(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if not isinstance(node, self._ALLOWED):
                raise ExprError(f"{type(node).__name__} is not allowed in an expression")
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                raise ExprError(f"attribute {node.attr!r} is not allowed")
            if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords):
                raise ExprError("only calls of the built-in functions are allowed, without keywords")
            if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, str, bool)):
                raise ExprError(f"constant {node.value!r} is not allowed")

    # -------------------------------------------------------------- evaluation
    def eval(self, text: str) -> Any:
        tree = self.parse(text)
        try:
            return self._ev(tree.body)
        except ExprError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError) as e:
            raise ExprError(f"{text.strip()}: {e}") from None

    def truth(self, text: str) -> bool:
        """A condition's value (breakpoint conditions, `until EXPR`): the same rule as
        and/or/not/if and chained comparisons — see `_truth`."""
        return _truth(self.eval(text))

    def _name(self, name: str) -> Any:
        m = self.m
        if len(name) > 1 and name[0] == "x" and name[1:].isdigit():
            r = int(name[1:])
            if r < len(m.regs):
                return int(m.regs[r])
        if name == "pc":
            return m.pc
        if name == "cycle":
            return m.cycle
        if name == "instret":
            return m.instret
        if name == "vl":
            return m.vl
        if name == "halted":
            return m.halted
        if name == "stalls":
            return m.stall_cycles
        if name in DTYPES:
            return name
        if name in ("True", "False"):
            return name == "True"
        if m.program is not None and name in m.program.symbols:
            return int(m.program.symbols[name][1])
        raise ExprError(f"unknown name {name!r} (registers x0..x15, pc, cycle, instret, symbols)")

    def _load(self, addr, dtype: str) -> int:
        try:
            return int(self.m.mem(int(addr), 1, dtype)[0])
        except IndexError as e:
            raise ExprError(str(e)) from None

    def _call(self, name: str, args: list) -> Any:
        loads = {"mem8": "i8", "mem16": "i16", "mem32": "i32", "mem64": "i64",
                 "u8": "u8", "u16": "u16", "u32": "u32", "u64": "u64"}
        if name in loads:
            if len(args) != 1:
                raise ExprError(f"{name}(addr) takes one argument")
            return self._load(args[0], loads[name])
        if name == "mem":
            if not 1 <= len(args) <= 3:
                raise ExprError("mem(addr, n=16, dtype=i8)")
            addr = int(args[0])
            n = int(args[1]) if len(args) > 1 else 16
            dt = args[2] if len(args) > 2 else "i8"
            if dt not in DTYPES:
                raise ExprError(f"unknown dtype {dt!r} (one of {', '.join(DTYPES)})")
            if n > 1 << 20:
                raise ExprError("at most 1 Mi elements")
            try:
                return self.m.mem(addr, n, dt)
            except IndexError as e:
                raise ExprError(str(e)) from None
        if name == "core":
            if len(args) != 1:
                raise ExprError("core(i) takes one argument")
            return CoreView(self.m, int(args[0]))
        simple = {"abs": abs, "min": min, "max": max, "sum": sum, "len": len, "any": any,
                  "all": all, "int": int}
        if name in simple:
            if name in ("min", "max", "sum", "any", "all") and len(args) == 1 \
                    and isinstance(args[0], np.ndarray):
                return getattr(np, name)(args[0]).item()
            return simple[name](*args)
        raise ExprError(f"unknown function {name!r}")

    def _ev(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.BinOp):
            a, b = self._ev(node.left), self._ev(node.right)
            if isinstance(a, str) or isinstance(b, str):
                raise ExprError("strings only compare")
            op = type(node.op)
            if op is ast.Pow and (not isinstance(b, int) or abs(b) > 64):
                raise ExprError("exponents are limited to ±64")
            if op in (ast.LShift,) and isinstance(b, int) and b > _MAX_SHIFT:
                raise ExprError(f"shifts are limited to {_MAX_SHIFT}")
            return _BINOPS[op](a, b)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not _truth(self._ev(node.operand))
            return _UNOPS[type(node.op)](self._ev(node.operand))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                v = True
                for e in node.values:
                    v = self._ev(e)
                    if not _truth(v):
                        return v
                return v
            v = False
            for e in node.values:
                v = self._ev(e)
                if _truth(v):
                    return v
            return v
        if isinstance(node, ast.Compare):
            left = self._ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self._ev(comp)
                r = _CMPS[type(op)](left, right)
                if not _truth(r):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self._ev(node.body) if _truth(self._ev(node.test)) else self._ev(node.orelse)
        if isinstance(node, ast.Call):
            return self._call(node.func.id, [self._ev(a) for a in node.args])
        if isinstance(node, ast.Attribute):
            obj = self._ev(node.value)
            if isinstance(obj, (CoreView, ConfigView)):
                return obj.get(node.attr)
            raise ExprError(f"{type(obj).__name__} has no attribute {node.attr!r}")
        if isinstance(node, ast.Subscript):
            obj = self._ev(node.value)
            key = self._index(node.slice)
            if not isinstance(obj, np.ndarray):
                raise ExprError("only arrays (core(i).h, mem(…), …) can be indexed")
            r = obj[key]
            return r.item() if isinstance(r, np.generic) else r
        if isinstance(node, ast.Tuple):
            return tuple(self._ev(e) for e in node.elts)
        raise ExprError(f"{type(node).__name__} is not allowed")

    def _index(self, node: ast.AST):
        if isinstance(node, ast.Slice):
            parts = [None if p is None else int(self._ev(p)) for p in (node.lower, node.upper, node.step)]
            return slice(*parts)
        if isinstance(node, ast.Tuple):
            return tuple(self._index(e) for e in node.elts)
        return int(self._ev(node))


def _truth(v) -> bool:
    """The one truth rule of the expression language: an array is true when all its elements
    are non-zero (numpy's `.all()`; an empty array is therefore true) — write `any(a)` for "some
    element".  Everything else: Python's truth (0, False and "" are false)."""
    if isinstance(v, np.ndarray):
        return bool(v.all())
    return bool(v)


def snapshot_value(v: Any) -> Any:
    """A comparable copy of an expression value (arrays are copied)."""
    if isinstance(v, np.ndarray):
        return v.copy()
    return v


def values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    return a == b
