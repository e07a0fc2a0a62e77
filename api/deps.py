"""Dependencies: the loaded state, the caller (API key → principal), role and district scope.

Why dependencies: each route states what it needs in its signature (``caller: Caller``) and the
rules live here once: a key comes from ``X-API-Key`` or ``Authorization: Bearer``; it is hashed
with the pepper and looked up (briefly cached); unknown, malformed or revoked → 401; over the
key's rate → 429 with ``Retry-After``. Scope: ``bureau`` sees the whole city, ``district`` and
``station`` their districts; a firm outside them is answered exactly like a firm that does not
exist (404), so a caller cannot probe other districts.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from api.index import FirmIndex
from api.keys import hash_key, looks_like_key
from api.repository import AuditRecord, Repository
from api.state import ApiState
from tiering.store.records import Principal

__all__ = [
    "CONFIDENTIAL_ROLES",
    "ROLES",
    "SECURITY_SCHEMES",
    "Caller",
    "Index",
    "Repo",
    "State",
    "audit",
    "get_index",
    "get_principal",
    "get_repository",
    "get_state",
    "in_scope",
    "is_confidential",
    "scope_districts",
    "state_of",
]

ROLES = ("bureau", "district", "station")
CONFIDENTIAL_ROLES = frozenset({"bureau", "district"})

# Documented in the OpenAPI schema by :func:`api.app.create_app` (``SECURITY_SCHEMES``); read
# here straight from the headers: FastAPI's ``Security`` sub-dependencies would cost ~0.2 ms a
# request on the look-up path for the same two header reads.
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API密钥（tiering keys create 生成）",
    },
    "Bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "Authorization: Bearer <API密钥>",
    },
}


def state_of(request: Request) -> ApiState:
    """The state loaded by the lifespan (503 if the app runs without its lifespan)."""
    state = getattr(request.app.state, "api", None)
    if state is None:
        raise ApiError(503, "服务尚未就绪")
    return state


async def get_state(request: Request) -> ApiState:
    """The state loaded by the lifespan."""
    return state_of(request)


State = Annotated[ApiState, Depends(get_state)]


async def get_repository(state: State) -> Repository:
    return state.repo


Repo = Annotated[Repository, Depends(get_repository)]


async def get_index(state: State) -> FirmIndex:
    """The latest published run's index; 404 when nothing has been published yet."""
    if state.index is None:
        raise ApiError(404, "尚无已发布的评估批次")
    return state.index


Index = Annotated[FirmIndex, Depends(get_index)]


def _unauthorized() -> ApiError:
    return ApiError(401, headers={"WWW-Authenticate": "Bearer"})


def _key_from(request: Request) -> str | None:
    """The key from ``X-API-Key``, else from ``Authorization: Bearer <key>``."""
    headers = request.headers
    raw = headers.get("x-api-key")
    if raw:
        return raw.strip()
    scheme, _, credentials = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def get_principal(request: Request) -> Principal:
    """Authenticate the caller, apply its rate limit and note its key id for the request log."""
    state = state_of(request)
    raw = _key_from(request)
    if not raw or not looks_like_key(raw):
        raise _unauthorized()
    principal = state.principals.get(hash_key(raw, state.settings.api_key_pepper))
    if principal is None or principal.revoked_at is not None or principal.role not in ROLES:
        raise _unauthorized()
    wait = state.limiter.acquire(str(principal.id))
    if wait > 0:
        raise ApiError(429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
    scope_state = request.scope.setdefault("state", {})
    scope_state["key_id"] = principal.key_prefix
    scope_state["role"] = principal.role
    return principal


Caller = Annotated[Principal, Depends(get_principal)]


def scope_districts(principal: Principal) -> tuple[str, ...] | None:
    """Districts the caller may see; ``None`` = city-wide."""
    return None if principal.role == "bureau" else principal.districts


def in_scope(principal: Principal, district: str | None) -> bool:
    """Whether a firm in ``district`` is visible to the caller (unknown district: bureau only)."""
    if principal.role == "bureau":
        return True
    return district is not None and district in principal.districts


def is_confidential(principal: Principal) -> bool:
    """Whether the caller gets the confidential view (and is audited)."""
    return principal.role in CONFIDENTIAL_ROLES


def audit(state: ApiState, principal: Principal, endpoint: str, firms: tuple[str, ...]) -> None:
    """Queue an audit record: ``principal`` received confidential fields of ``firms``."""
    state.audit.add(
        AuditRecord(
            at=dt.datetime.now(dt.UTC), principal_id=principal.id, endpoint=endpoint, firms=firms
        )
    )
