"""``tiering assess`` and ``tiering rules …`` (being built with issue #2)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the rule commands to the main app."""
