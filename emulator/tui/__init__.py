"""The debugger's full-screen view (textual).  The engine is emulator.debug; this package only
draws a Session and turns keys into the engine's commands."""
