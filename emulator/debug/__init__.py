"""The UI-free debugging engine: sessions, break/watch/log points, reverse execution, and the
command language shared by the TUI, the batch mode and the line mode."""
from .expr import Evaluator, ExprError
from .session import Breakpoint, DebugError, Event, Session, Stop, Watchpoint

__all__ = ["Session", "Stop", "Event", "Breakpoint", "Watchpoint", "DebugError", "Evaluator",
           "ExprError"]
