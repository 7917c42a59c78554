"""Diagnostics of the assembler: `file:line:col: error: message`, the source line and a caret."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int                 # 1-based; 0 when the problem has no line (e.g. a missing input file)
    col: int                  # 1-based; 0 when the whole line is meant
    message: str
    source: str | None = None  # the text of the line, shown under the message
    end_col: int | None = None  # exclusive end of the underlined span
    notes: tuple[str, ...] = field(default=())  # extra lines, e.g. where a macro was invoked

    def render(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        out = [f"{where}: error: {self.message}"]
        if self.source is not None and self.line:
            text = self.source.rstrip("\r\n").expandtabs(1)  # one column per tab keeps the caret aligned
            out.append(f"    {text}")
            if self.col:
                width = max(1, (self.end_col or self.col + 1) - self.col)
                width = min(width, max(1, len(text) - self.col + 1))
                out.append("    " + " " * (self.col - 1) + "^" + "~" * (width - 1))
        out.extend(f"note: {n}" for n in self.notes)
        return "\n".join(out)


class AsmError(Exception):
    """Assembly failed; `.diagnostics` lists every problem found (in source order)."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        n = len(self.diagnostics)
        text = "\n".join(d.render() for d in self.diagnostics)
        if n > 1:
            text += f"\n{n} errors"
        return text
