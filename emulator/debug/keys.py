"""The TUI's key-binding table (key, action, description), kept in the debug layer so that the
`help` command of every mode (TUI, line, batch) shows the same keys the TUI binds, by the names a
user types (`key_display`), not textual's internal key names."""
from __future__ import annotations

KEYS = [
    ("s", "cmd('step')", "step line"),
    ("n", "cmd('next')", "next (over calls)"),
    ("i", "cmd('stepi')", "step instruction"),
    ("c", "cmd('continue')", "continue"),
    ("f", "cmd('finish')", "finish"),
    ("r", "cmd('reverse-stepi')", "reverse step"),
    ("R", "cmd('reverse-continue')", "reverse continue"),
    ("t", "cmd('cycle')", "cycle step"),
    ("T", "cmd('reverse-cycle')", "reverse cycle"),
    ("b", "toggle_break", "toggle breakpoint"),
    ("up", "cursor(-1)", "cursor up"),
    ("down", "cursor(1)", "cursor down"),
    ("left_square_bracket", "core(-1)", "previous core"),
    ("right_square_bracket", "core(1)", "next core"),
    ("plus", "zoom(1)", "zoom heatmap in"),
    ("minus", "zoom(-1)", "zoom heatmap out"),
    ("shift+up", "pan(-16, 0)", "pan heatmap up"),
    ("shift+down", "pan(16, 0)", "pan heatmap down"),
    ("shift+left", "pan(0, -16)", "pan heatmap left"),
    ("shift+right", "pan(0, 16)", "pan heatmap right"),
    ("d", "dtype", "memory dtype"),
    ("g", "goto_mem", "memory: go to address"),
    ("colon", "focus_command", "command line"),
    ("question_mark", "help", "help"),
    ("q", "quit", "quit"),
    ("ctrl+c", "interrupt", "interrupt"),
    ("escape", "interrupt_or_back", "interrupt a run, else back to the source pane"),
]

_NAMES = {"left_square_bracket": "[", "right_square_bracket": "]", "plus": "+", "minus": "-",
          "colon": ":", "question_mark": "?", "up": "↑", "down": "↓", "left": "←",
          "right": "→", "escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space"}


def key_display(key: str) -> str:
    """What a user presses for a textual key name: `left_square_bracket` → `[`, `shift+up` →
    `Shift+↑`, `ctrl+c` → `Ctrl+C`; a letter stays itself (`R` is shift+r)."""
    *mods, base = key.split("+")
    base = _NAMES.get(base, base.upper() if mods and len(base) == 1 else base)
    return "+".join([m.capitalize() for m in mods] + [base])
