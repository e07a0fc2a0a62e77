"""HTTP API of the tiering service (FastAPI): look-ups, what-if, candidate lists, runs, health.

``create_app(settings)`` builds the app; ``tiering serve`` runs it on uvicorn. Nothing is loaded
at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from tiering.settings import Settings


def create_app(settings: Settings | None = None, **kwargs: Any) -> FastAPI:
    """Build the API app (see :func:`api.app.create_app`)."""
    from api.app import create_app as _create

    return _create(settings, **kwargs)
