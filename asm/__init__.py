"""The NR48 assembler and disassembler.

    from asm import assemble, assemble_file, AsmError, Program
    prog = assemble_file("programs/count_loop.s")
    prog.image.to_bytes(); prog.source_map; prog.symbols; prog.listing()

Layout: nr48.lark (grammar) → parser.py (Lark LALR + transformer → nodes.py) → assembler.py (two
passes; directives.py, macros.py) → encoder.py (ISA table via specs.py) → image.py (binary image
and source map) and program.py (result, listing); disasm.py goes back from image to source;
cli.py adds `neurram asm` and `neurram disasm`.
"""
from .assembler import assemble, assemble_file
from .errors import AsmError, Diagnostic
from .program import Program

__all__ = ["assemble", "assemble_file", "AsmError", "Diagnostic", "Program"]
