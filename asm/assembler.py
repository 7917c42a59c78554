"""The two-pass NR48 assembler.

Pass 1 walks the statements in order (following .include and macro expansions), defines labels,
decides the size and address of everything and reserves its space.  Sizes never depend on values
that are unknown at that point: `li` of a forward reference takes the fixed two-word form, and
.org/.align/.zero need values known when they are reached.

Pass 2 evaluates every operand with all symbols known and fills the reserved space: instruction
words from the ISA table (asm.encoder), data values with their range checks.

Errors never stop a pass: each is recorded as a Diagnostic and the statement is skipped (its
space stays reserved so later addresses, and thus later messages, stay right).  `AsmError`
carries all of them at the end.
"""
from __future__ import annotations

from pathlib import Path

from .chunks import DATA, TEXT, EquDef, Item, Layout, Src, SymbolDef
from .directives import DIRECTIVES, DirectiveError
from .encoder import CountError, OperandError, check_count, encode
from .errors import AsmError, Diagnostic
from .expr import ExprError, Undefined, evaluate
from .image import Image, Segment
from .limits import (MAX_EXPANDED_LINES, MAX_INCLUDE_DEPTH, MAX_LINE_CHARS, MAX_MACRO_DEPTH,
                     MAX_SOURCE_BYTES, MAX_SYMBOL_DEPTH, shown_name, short)
from .loadimm import _emit_la, _emit_li, _substitute, _template, li_length
from .macros import Macro, expand, extract, split_args
from .nodes import Assign, BinOp, Call, Directive, Here, Instr, Label, Mem, Num, Reg, Sym
from .parser import MAX_SYNTAX_ERRORS, parse
from .program import Program, Row, data_extents
from .specs import ALL_MNEMONICS, SPECS, MnemonicError, PseudoSpec, Resolved, resolve_mnemonic, suggest

MAX_ERRORS = 100
MAX_NOTES = 8           # "in macro … invoked at …" lines kept for a nested expansion
NOP_WORD = SPECS["nop"].match
_U64 = 1 << 64


class Assembler(Layout):
    nop_word = NOP_WORD
    max_include_depth = MAX_INCLUDE_DEPTH

    def __init__(self, include_dirs=()):
        self.include_dirs = [Path(d) for d in include_dirs]
        self.diags: list[Diagnostic] = []
        self.symbols: dict[str, SymbolDef] = {}
        self.items: list[Item] = []
        self.macros: dict[str, tuple[Macro, Src]] = {}
        self.macro_serial = 0
        self.macro_depth = 0
        self.include_stack: list[Path] = []
        self.globals: dict[str, tuple[Src, int, int]] = {}
        self.entry: tuple | None = None
        self.chunks = {TEXT: [], DATA: []}
        self.current = {TEXT: None, DATA: None}
        self.section = TEXT
        self._here_section = TEXT          # section of '.' while pass 2 evaluates an item
        self._resolved: dict[str, tuple] = {}
        self._file_order: dict[str, int] = {}
        self.main_file = ""
        self.entry_point = 0
        self.expanded_lines = 0            # budgets of asm.limits
        self.includes = 0
        self.data_bytes = 0
        self._symbol_depth = 0
        self._parsed: dict[str, tuple] = {}   # macro body text → its parse (fan-outs repeat it)

    # ------------------------------------------------------------------ diagnostics

    def error(self, src: Src, line: int, col: int, message: str, end: int | None = None) -> None:
        text = src.lines[line - 1] if 1 <= line <= len(src.lines) else None
        self._file_order.setdefault(src.file, len(self._file_order))
        self.diags.append(Diagnostic(src.file, src.line_base + line, col, message, text, end,
                                     src.notes))
        if len(self.diags) >= MAX_ERRORS:
            raise _TooManyErrors()

    def fatal(self, src: Src | None, line: int, col: int, message: str) -> None:
        """A budget is exhausted: report it and stop (what follows would only cost more)."""
        if src is None:
            self.diags.append(Diagnostic(self.main_file, 0, 0, message))
        else:
            self.error(src, line, col, message)
        raise _TooManyErrors()

    def node_error(self, src: Src, line: int, node, message: str) -> None:
        self.error(src, line, node.col, message, node.end)

    def snippet(self, src: Src, line: int, node) -> str:
        text = src.lines[line - 1] if 1 <= line <= len(src.lines) else ""
        s = text[node.col - 1:node.end - 1].strip()
        return s or "nothing"

    # ------------------------------------------------------------------ entry points

    def run_text(self, text: str, filename: str) -> Program:
        self.main_file = shown_name(filename)
        base = Path(filename).parent if filename and not filename.startswith("<") else Path.cwd()
        try:
            if self.main_file != filename:
                # the source map and the listing store file names as UTF-8 text
                self.fatal(None, 0, 0, "the file name is not valid UTF-8; rename the file")
            if len(text) > MAX_SOURCE_BYTES:
                self.fatal(None, 0, 0, f"source larger than {MAX_SOURCE_BYTES >> 20} MiB")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:     # a lone surrogate: only str from the API has one
                line = text.count("\n", 0, e.start) + 1
                col = e.start - (text.rfind("\n", 0, e.start) + 1) + 1
                self.fatal(Src(self.main_file, text.split("\n"), base), line, col,
                           f"character U+{ord(text[e.start]):04X} is not text (a lone surrogate)")
            self.process_text(text, filename, base)
            self.finish_pass1()
            self.pass2()
        except _TooManyErrors:
            pass
        if self.diags:
            order = self._file_order
            self.diags.sort(key=lambda d: (order.get(d.file, 1 << 30), d.line, d.col))
            raise AsmError(self.diags)
        return self.build()

    def process_text(self, text: str, filename: str, base: Path) -> None:
        """Pass 1 over one file (the main one or an .include)."""
        lines = text.split("\n")
        src = Src(filename, lines, base)
        self._file_order.setdefault(filename, len(self._file_order))
        if self._too_long(lines, src):
            text = "\n".join(lines)
        body, macros, problems = extract(lines, filename)
        for p in problems:
            self.error(src, p.line, p.col, p.message)
        for m in macros:
            if m.name in self.macros:
                first = self.macros[m.name][0]
                self.error(src, m.line, 1, f"macro '{m.name}' is already defined at "
                                           f"{first.file}:{first.line}")
            elif m.name.lower().split(".")[0] in ALL_MNEMONICS:   # would lex as the instruction
                self.error(src, m.line, 1, f"macro name '{m.name}' is an instruction name")
            else:
                self.macros[m.name] = (m, src)
        text = "\n".join(body) if macros or problems else text
        statements, syntax = parse(text)
        for p in syntax:
            self.error(src, p.line, p.col, p.message, p.end_col)
        if len(syntax) >= MAX_SYNTAX_ERRORS:
            raise _TooManyErrors()     # the rest would drown in follow-up errors
        self.run_statements(statements, src)

    def _too_long(self, lines: list[str], src: Src) -> bool:
        """Report and blank lines over MAX_LINE_CHARS (so that nothing else reads them)."""
        if max(map(len, lines), default=0) <= MAX_LINE_CHARS:
            return False
        for i, text in enumerate(lines):
            if len(text) > MAX_LINE_CHARS:
                self.error(src, i + 1, 0, f"line of {len(text)} characters, longer than the "
                                          f"limit of {MAX_LINE_CHARS}")
                lines[i] = ""
        return True

    def count_lines(self, n: int, src: Src, line: int, col: int) -> None:
        """Charge n expanded lines (a macro body, an included file) to the expansion budget."""
        self.expanded_lines += n
        if self.expanded_lines > MAX_EXPANDED_LINES:
            self.fatal(src, line, col, f"macro expansions and includes exceed {MAX_EXPANDED_LINES} "
                                       "lines (a macro that invokes others several times "
                                       "doubles at each level)")

    def parse_body(self, text: str) -> tuple:
        hit = self._parsed.get(text)
        if hit is None:
            if len(self._parsed) >= 4096:
                self._parsed.clear()
            hit = self._parsed[text] = parse(text)
        return hit

    def run_statements(self, statements, src: Src) -> None:
        handlers = self._handlers
        for st in statements:
            handlers[type(st)](self, st, src)

    # ------------------------------------------------------------------ placing things

    # ------------------------------------------------------------------ symbols

    def define(self, name: str, kind: str, section: str, value, src: Src, line: int, col: int,
               end: int | None = None, expr=None, here: int = 0) -> None:
        old = self.symbols.get(name)
        if old is not None:
            self.error(src, line, col, f"'{name}' is already defined at {old.where()}",
                       end or col + len(name))
            return
        self.symbols[name] = SymbolDef(name, kind, section, value, src, line, col, expr, here)

    def resolve(self, sym: Sym) -> int:
        d = self.symbols.get(sym.name)
        if d is None:
            raise Undefined(f"undefined symbol '{sym.name}'", sym)
        if d.value is not None:
            return d.value
        if d.busy:
            raise ExprError(f"'{sym.name}' is defined in terms of itself", sym)
        if self._symbol_depth >= MAX_SYMBOL_DEPTH:
            raise ExprError(f"symbols defined through more than {MAX_SYMBOL_DEPTH} other "
                            "symbols not yet evaluated (define them in order)", sym)
        d.busy = True
        self._symbol_depth += 1
        try:
            v = evaluate(d.expr, self.resolve, d.here)
        except Undefined as e:
            raise Undefined(f"{e} (in the definition of '{sym.name}' at {d.where()})", sym) from None
        except ExprError as e:
            raise ExprError(f"{e} (in the definition of '{sym.name}' at {d.where()})", sym) from None
        finally:
            d.busy = False
            self._symbol_depth -= 1
        d.value = v
        return v

    def value(self, node, here: int) -> int:
        """Evaluate an expression (the `ctx.value` of asm.encoder)."""
        if type(node) is Num:
            return node.value
        return evaluate(node, self.resolve, here)

    def section_of(self, node, depth: int = 0) -> str | None:
        """"text"/"data" when an expression is an address in that memory (label ± constant)."""
        t = type(node)
        if t is Sym:
            d = self.symbols.get(node.name)
            if d is None or depth > 32:
                return None
            if d.kind == "label":
                return d.section
            return self.section_of(d.expr, depth + 1)
        if t is BinOp and node.op in ("+", "-"):
            a, b = self.section_of(node.left, depth + 1), self.section_of(node.right, depth + 1)
            if node.op == "-":
                return a if b is None else None
            return a if b is None else b if a is None else None
        if t is Here:
            return self._here_section
        return None

    # ------------------------------------------------------------------ statements (pass 1)

    def on_label(self, st: Label, src: Src) -> None:
        name = st.name
        if name[0] in "xc" and name[1:].isdigit():
            self.error(src, st.line, st.col, f"'{name}' is a {'register' if name[0] == 'x' else 'core'} "
                                             "name and cannot be a label", st.col + len(name))
            return
        self.define(name, "label", self.section, self.here(), src, st.line, st.col, st.col + len(name))
        self.mark(src, st)

    def on_assign(self, st: Assign, src: Src) -> None:
        self.define_equ(st.name, st.expr, src, st, st.col)

    def define_equ(self, name: str, expr, src: Src, st, col: int) -> None:
        """`name = expr`: kept as an expression, evaluated when first needed (so it may use
        labels defined later); pass 2 evaluates it once more to report its errors in place."""
        here = self.here()
        value = expr.value if type(expr) is Num else None
        self.define(name, "equ", "abs", value, src, st.line, col, col + len(name), expr, here)
        c = self.chunk()
        self.items.append(Item(_emit_equ if value is None else None, here, src, st, c, 0, 0,
                               EquDef(name, expr)))

    def on_directive(self, st: Directive, src: Src) -> None:
        handler = DIRECTIVES.get(st.name)
        if handler is None:
            self.error(src, st.line, st.col, f"unknown directive .{st.name}"
                       f"{suggest(st.name, DIRECTIVES, '.')}", st.col + len(st.name) + 1)
            return
        placed = len(self.items)
        try:
            handler(self, st, src)
            if len(self.items) == placed:
                self.mark(src, st)
        except DirectiveError as e:
            node = e.node
            if node is None:
                self.error(src, st.line, st.col, str(e), st.col + len(st.name) + 1)
            else:
                self.node_error(src, st.line, node, str(e))
        except ExprError as e:
            self.node_error(src, st.line, e.node, str(e))

    def on_instr(self, st: Instr, src: Src) -> None:
        r = self._resolved.get(st.mnemonic)
        if r is None:
            try:
                r = self._resolve(st.mnemonic)
            except MnemonicError as e:
                a = st.col + e.offset
                self.error(src, st.line, a, str(e), a + max(1, e.length))
                return
        if self.section != TEXT:
            self.error(src, st.line, st.col, f"instructions belong in .text (this is .{self.section}; "
                                             "add .text before it)", st.col + len(st.mnemonic))
            return
        kind = r[0]
        if kind is _INSN:
            self.place_words(1, _emit_insn, src, st, r[1])
        elif kind is _TEMPLATE:
            self._pseudo_template(st, src, r)
        else:
            kind(self, st, src, r[1])

    def _resolve(self, mnemonic: str) -> tuple:
        res = resolve_mnemonic(mnemonic)
        spec = res.spec
        if isinstance(spec, PseudoSpec):
            if spec.builtin:
                entry = (_BUILTINS[spec.mnemonic], res)
            else:
                tmpl, names = _template(spec)
                by_suffix = {f.name: v for f, v in zip(spec.suffixes, res.suffix_names)}
                target = resolve_mnemonic(".".join(by_suffix.get(p, p)
                                                   for p in tmpl.mnemonic.split(".")))
                entry = (_TEMPLATE, res, tmpl, names, target)
        else:
            entry = (_INSN, res)
        self._resolved[mnemonic] = entry
        return entry

    def _pseudo_template(self, st: Instr, src: Src, r: tuple) -> None:
        """Expand a pseudo-instruction by its table template (`bgt rt, rs1, off16` →
        `blt rs1, rt, off16`): the user's operands replace the template's operand names."""
        _kind, res, tmpl, names, target = r
        if len(st.operands) != len(names):
            try:
                check_count(res.spec, st.operands)
            except CountError as e:
                self.error(src, st.line, st.col, str(e), st.col + len(st.mnemonic))
            self.place_words(1, None, src, st)
            return
        by_name = dict(zip(names, st.operands))
        ops = tuple(_substitute(o, by_name) for o in tmpl.operands)
        self.place_words(1, _emit_insn, src, st, (target, ops))

    def on_call(self, st: Call, src: Src) -> None:
        entry = self.macros.get(st.name)
        if entry is None:
            base = st.name.lower().split(".")[0]
            names = ALL_MNEMONICS + sorted(self.macros)
            hint = suggest(base, names)
            if not st.args and not hint:
                hint = f" (a label is written '{st.name}:')"
            self.error(src, st.line, st.col, f"unknown instruction or macro '{st.name}'{hint}",
                       st.end)
            return
        macro, _def_src = entry
        if self.macro_depth >= MAX_MACRO_DEPTH:
            self.error(src, st.line, st.col, f"macros nested more than {MAX_MACRO_DEPTH} deep "
                                             f"(does '{st.name}' invoke itself?)", st.end)
            return
        text = src.lines[st.line - 1][st.end - 1:] if st.line <= len(src.lines) else ""
        args = split_args(text)
        if len(args) != len(macro.params):
            want = ", ".join(macro.params) or "no arguments"
            self.error(src, st.line, st.col, f"macro '{macro.name}' takes {len(macro.params)} "
                       f"argument(s) ({want}), got {len(args)}", st.end)
            return
        self.count_lines(len(macro.body), src, st.line, st.col)
        self.macro_serial += 1
        body = expand(macro, args, self.macro_serial)
        inner = Src(macro.file, body, _def_src.dir, macro.line,
                    (f"in macro '{macro.name}' invoked at {src.file}:{src.line_base + st.line}",)
                    + src.notes[:MAX_NOTES])
        self._too_long(body, inner)
        statements, problems = self.parse_body("\n".join(body))
        for p in problems:
            self.error(inner, p.line, p.col, p.message, p.end_col)
        self.macro_depth += 1
        try:
            self.run_statements(statements, inner)
        finally:
            self.macro_depth -= 1

    _handlers = {Label: on_label, Instr: on_instr, Directive: on_directive, Assign: on_assign,
                 Call: on_call}

    # ------------------------------------------------------------------ li / la

    def on_li(self, st: Instr, src: Src, res: Resolved) -> None:
        if not self._builtin_count(st, src, res):
            return
        expr = st.operands[1]
        forward = False
        try:
            v = self.value(expr, self.here()) if not isinstance(expr, (Reg, Mem)) else 0
            n = li_length(v) if -(1 << 63) <= v < _U64 else 1
        except ExprError:
            n, forward = 2, True
        self.place_words(n, _emit_li, src, st, (res, forward))

    def on_la(self, st: Instr, src: Src, res: Resolved) -> None:
        if self._builtin_count(st, src, res):
            self.place_words(2, _emit_la, src, st, res)

    def _builtin_count(self, st: Instr, src: Src, res: Resolved) -> bool:
        try:
            check_count(res.spec, st.operands)
            return True
        except CountError as e:
            self.error(src, st.line, st.col, str(e), st.col + len(st.mnemonic))
            self.place_words(1, None, src, st)
            return False

    # ------------------------------------------------------------------ end of pass 1

    def finish_pass1(self) -> None:
        for section in (TEXT, DATA):
            order = {id(c): i for i, c in enumerate(self.chunks[section])}
            chunks = sorted((c for c in self.chunks[section] if c.size), key=lambda c: c.start)
            for a, b in zip(chunks, chunks[1:]):
                if a.start + a.size <= b.start:
                    continue
                # report at whichever was placed later in the source
                new, old = (a, b) if order[id(a)] > order[id(b)] else (b, a)
                where = f" from {old.src.file}:{old.src.line_base + old.line}" if old.src else ""
                msg = (f"{section} at {new.start:#x}..{new.start + new.size - 1:#x} overlaps "
                       f"{section} at {old.start:#x}..{old.start + old.size - 1:#x} placed earlier"
                       f"{where}")
                if new.src is not None:
                    self.error(new.src, new.line, 0, msg)
        for name, (src, line, col) in self.globals.items():
            if name not in self.symbols:
                self.error(src, line, col, f".global '{name}' is never defined"
                           f"{suggest(name, self.symbols)}", col + len(name))

    # ------------------------------------------------------------------ pass 2

    def pass2(self) -> None:
        for item in self.items:
            emit = item.emit
            if emit is None:
                continue
            self._here_section = item.chunk.section if item.chunk is not None else TEXT
            try:
                emit(self, item)
            except OperandError as e:
                st = item.stmt
                line = st.line
                msg = e.message or f"expected {e.expected}, got {self.snippet(item.src, line, e.node)}"
                self.node_error(item.src, line, e.node, msg)
            except CountError as e:
                st = item.stmt
                self.error(item.src, st.line, st.col, str(e), st.col + len(st.mnemonic))
            except ExprError as e:
                st = item.stmt
                line = st.line
                msg = str(e)
                if isinstance(e, Undefined) and type(e.node) is Sym and e.node.name not in self.symbols:
                    msg += suggest(e.node.name, self.symbols)
                self.node_error(item.src, line, e.node, msg)
            except DirectiveError as e:
                st = item.stmt
                node = e.node
                if node is None:
                    self.error(item.src, st.line, st.col, str(e))
                else:
                    self.node_error(item.src, st.line, node, str(e))
        self.entry_point = self._entry()

    def _entry(self) -> int:
        if self.entry is not None:
            expr, src, line = self.entry
            try:
                v = self.value(expr, 0)
            except ExprError as e:
                self.node_error(src, line, e.node, str(e))
                return 0
            if self.section_of(expr) == DATA:
                self.node_error(src, line, expr, "the entry point must be a code address, "
                                                 "this is a data label")
            elif v % 4 or not 0 <= v < 1 << 32:
                self.node_error(src, line, expr, f"entry point {v:#x} is not a word-aligned "
                                                 "code address")
            return v
        for name in ("_start", "main"):
            d = self.symbols.get(name)
            if d is not None and d.kind == "label" and d.section == TEXT:
                return d.value
        texts = [c for c in self.chunks[TEXT] if c.size]
        return min(c.start for c in texts) if texts else 0

    # ------------------------------------------------------------------ output

    def build(self) -> Program:
        segments = []
        for section in (TEXT, DATA):
            chunks = sorted((c for c in self.chunks[section] if c.size), key=lambda c: c.start)
            run_start, parts = None, []
            end = None
            for c in chunks:
                if parts and c.start != end:
                    segments.append(Segment(section, run_start, b"".join(parts)))
                    parts = []
                if not parts:
                    run_start = c.start
                parts.append(c.payload())
                end = c.start + c.size
            if parts:
                segments.append(Segment(section, run_start, b"".join(parts)))
        image = Image(self.entry_point, tuple(segments))
        source_map = {}
        rows = []
        for it in self.items:
            src, st = it.src, it.stmt
            line = st.line
            if it.chunk is not None and it.chunk.section == TEXT and it.size:
                loc = (src.file, src.line_base + line, st.col)
                for a in range(it.addr, it.addr + it.size, 4):
                    source_map[a] = loc
            note = ""
            if type(it.extra) is EquDef:
                d = self.symbols.get(it.extra.name)       # show the value of an .equ
                if d is not None and d.value is not None:
                    note = f"= {d.value:#x}" if d.value >= 0 else f"= {d.value}"
            rows.append(Row(it.chunk.section if it.chunk is not None else self.section,
                            it.addr, it.chunk, it.index, it.size, src.file, src.line_base + line,
                            src.lines[line - 1] if line <= len(src.lines) else "", id(src), note))
        symbols = {}
        for name, d in self.symbols.items():
            if d.kind == "label":
                symbols[name] = (d.section, d.value)
            else:
                sect = self.section_of(Sym(name, 0, 0, 0))
                symbols[name] = (sect or "abs", d.value)
        # labels only: an .equ that points into a buffer does not cut the buffer's extent
        data = data_extents({n: symbols[n] for n, d in self.symbols.items() if d.kind == "label"},
                            self.items)
        return Program(image, source_map, symbols, tuple(rows), tuple(self.globals), self.main_file,
                       data)


class _TooManyErrors(Exception):
    pass


# ---------------------------------------------------------------------- pass-2 emitters
# Each takes (assembler, item) and writes the item's reserved space.

def _emit_insn(asm: Assembler, it: Item) -> None:
    extra = it.extra
    if type(extra) is tuple:            # an expanded pseudo-instruction: (target, operands)
        it.chunk.words[it.index] = encode(extra[0], extra[1], it.addr, asm)
    else:
        it.chunk.words[it.index] = encode(extra, it.stmt.operands, it.addr, asm)


def _emit_equ(asm: Assembler, it: Item) -> None:
    name, expr = it.extra.name, it.extra.expr
    d = asm.symbols.get(name)
    if d is not None and d.src is it.src and d.line == it.stmt.line and d.value is None:
        d.value = evaluate(expr, asm.resolve, d.here)


_INSN = object()
_TEMPLATE = object()
_BUILTINS = {"li": Assembler.on_li, "la": Assembler.on_la}


# ---------------------------------------------------------------------- public entry points


def assemble(text: str, filename: str = "<string>", include_dirs=()) -> Program:
    """Assemble source text; raises AsmError listing every problem."""
    return Assembler(include_dirs).run_text(text, filename)


def assemble_file(path, include_dirs=()) -> Program:
    """Assemble a file; .include and .npy paths are relative to it (then to include_dirs)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise AsmError([Diagnostic(shown_name(str(path)), 0, 0, f"source file larger than "
                                                                    f"{MAX_SOURCE_BYTES >> 20} MiB")])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise AsmError([Diagnostic(short(shown_name(str(path)), 300), 0, 0,
                                   f"cannot read source file: {reason}")]) from None
    asm = Assembler(include_dirs)
    asm.include_stack.append(path.resolve())
    return asm.run_text(text, str(path))
