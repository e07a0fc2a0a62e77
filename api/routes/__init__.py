"""The versioned router: every public route lives under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import assess, candidates, firms, rules, runs

__all__ = ["v1_router"]


def v1_router() -> APIRouter:
    """A fresh ``/v1`` router with every endpoint (one per app, so apps never share state)."""
    router = APIRouter(prefix="/v1")
    for module in (firms, assess, candidates, runs, rules):
        router.include_router(module.router)
    return router
