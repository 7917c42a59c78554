"""Help screen: key bindings and the command table."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..debug.commands import COMMANDS
from ..debug.keys import key_display


class HelpScreen(ModalScreen):
    BINDINGS = [("escape", "app.pop_screen", "close"), ("q", "app.pop_screen", "close"),
                ("question_mark", "app.pop_screen", "close")]

    def __init__(self, bindings):
        super().__init__()
        self.key_rows = bindings

    def compose(self) -> ComposeResult:
        keys = Table(title="keys", header_style="bold")
        keys.add_column("key")
        keys.add_column("action")
        for key, _action, desc in self.key_rows:
            keys.add_row(Text(key_display(key)), Text(desc))
        cmds = Table(title="commands (type `:` first)", header_style="bold")
        cmds.add_column("command")
        cmds.add_column("what it does")
        for c in COMMANDS:
            cmds.add_row(Text(c.usage), Text(c.help))
        with VerticalScroll(id="help-body"):
            yield Static(keys)
            yield Static(cmds)
            yield Static("escape closes this screen", classes="dim")
