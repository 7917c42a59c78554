"""Shared test setup.

rich sizes its output from the COLUMNS variable (80 when there is no terminal).  Tests that read
the human-readable output must not depend on the width of whoever runs them, so it is pinned here;
messages that must survive any width (errors with file paths, summary lines) are printed with
soft wrapping and are checked at a narrow width by their own tests.
"""
import pytest


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.delenv("LINES", raising=False)
