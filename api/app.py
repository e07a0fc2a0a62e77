"""The app factory: ``create_app(settings)`` → a FastAPI app whose lifespan loads everything once.

Why a factory: tests build one app per temporary store with their own ``Settings``; ``tiering
serve`` builds one from the environment. Nothing happens at import time. At start-up the lifespan
opens the store (creating or upgrading its schema — SQLite needs no set-up), loads the latest
published run into the in-memory index, loads the rule packs and the ``champion`` models for the
what-if, and starts the audit writer; at shutdown it flushes the audit queue and closes the pool.
A part that fails to load is named in ``/readyz`` instead of crashing the process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.deps import SECURITY_SCHEMES
from api.errors import install_error_handlers
from api.logging import RequestLogMiddleware
from api.ratelimit import RateLimiter
from api.repository import Repository
from api.routes import health, v1_router
from api.state import ApiState, AuditSink, PrincipalCache
from tiering.settings import Settings, get_settings
from tiering.store import Store

__all__ = ["API_VERSION", "create_app", "load_state"]

API_VERSION = "1.0.0"
log = logging.getLogger("tiering.api")

_DESCRIPTION = """
武汉市经信局**中小企业梯度培育**服务接口：企业梯度位置查询、指标差距、晋级概率、试算与候选名单。

**认证**：在请求头 `X-API-Key: <密钥>` 或 `Authorization: Bearer <密钥>` 中提供密钥
（`tiering keys create` 生成，仅显示一次）。

**角色**：`bureau`（市局，全市，含涉税数据）；`district`（区，本辖区，含涉税数据）；
`station`（服务站，本辖区，仅状态、得分与相对差距，不含金额等涉税数据）。
辖区外企业一律按不存在处理（404）。含涉税数据的每次响应均记入审计日志。

**错误**：统一为 `{"error": {...}}`，422 指明字段与规则编号（如 `USCC-CHECK`），429 为超过频率限制。
"""

_TAGS = [
    {"name": "企业", "description": "企业画像与检索（最新已发布批次）"},
    {"name": "试算", "description": "提交一行评估数据，即时计算梯度位置（不保存）"},
    {"name": "候选名单", "description": "培育、进规、退规、复核候选名单（json / csv / xlsx）"},
    {"name": "批次", "description": "已发布的批量评估及其运行清单"},
    {"name": "规则", "description": "规则包"},
    {"name": "运维", "description": "存活与就绪检查"},
]


def load_state(settings: Settings) -> ApiState:
    """Open the store, load the latest run, rule packs and models (each failure is recorded)."""
    from api.whatif import load_assessor

    store = Store(settings=settings)
    problems: dict[str, str] = {}
    try:
        store.upgrade()
    except Exception as exc:  # the store may be read-only or unreachable; /readyz says so
        problems["store"] = f"存储无法初始化：{type(exc).__name__}"
    repo = Repository(store, cache_dir=settings.home / "api-cache")
    state = ApiState(
        settings=settings,
        repo=repo,
        limiter=RateLimiter(settings.api_rate_limit_per_minute),
        principals=PrincipalCache(repo.principal_by_hash),
        audit=AuditSink(repo.add_audit),
        problems=problems,
    )
    if "store" not in problems:
        try:
            state.reload_run()
        except Exception as exc:
            problems["run"] = f"批次加载失败：{type(exc).__name__}"
    state.assessor, why = load_assessor(settings)
    if why:
        problems["rules"] = why
    return state


def _document_security(app: FastAPI) -> None:
    """Put the key schemes in the OpenAPI schema: every ``/v1`` operation needs one of them.

    Why by hand: :func:`api.deps.get_principal` reads the two headers itself (cheaper than
    FastAPI's ``Security`` sub-dependencies on the hot path), so the schema is told here.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, ops in doc.get("paths", {}).items():
                if path.startswith("/v1/"):
                    for op in ops.values():
                        op["security"] = [{name: []} for name in SECURITY_SCHEMES]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    settings: Settings | None = None,
    *,
    loader: Callable[[Settings], ApiState] = load_state,
    run_poll_seconds: float = 60.0,
) -> FastAPI:
    """Build the API; ``loader`` builds the state at start-up (tests may pass their own).

    Every ``run_poll_seconds`` (0 = never) the store is asked for its latest published run; a new
    one is loaded in a worker thread and swapped in (the look-up cache is cleared with it).
    """
    settings = settings or get_settings()

    async def poll_runs(state: ApiState) -> None:
        while True:
            await asyncio.sleep(run_poll_seconds)
            try:
                await asyncio.to_thread(state.reload_run)
            except Exception as exc:  # keep serving the run we have
                log.warning("run_reload_failed", extra={"fields": {"exc_type": type(exc).__name__}})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = loader(settings)
        state.audit.start()
        app.state.api = state
        # what start-up loaded (packs, index, code tables) lives as long as the process: move it
        # out of the collector's generations so a full collection no longer walks it — those
        # walks were the look-up's and the what-if's tail latency
        gc.collect()
        gc.freeze()
        poller = asyncio.create_task(poll_runs(state)) if run_poll_seconds > 0 else None
        log.info(
            "api_started",
            extra={
                "fields": {
                    "run_id": state.run.run_id if state.run else None,
                    "firms": len(state.index) if state.index else 0,
                    "rules": state.assessor is not None,
                    "problems": sorted(state.problems),
                }
            },
        )
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            state.audit.close()
            if getattr(state.assessor, "close", None):
                state.assessor.close()
            state.repo.store.dispose()

    app = FastAPI(
        title="梯度培育服务接口",
        version=API_VERSION,
        description=_DESCRIPTION,
        openapi_tags=_TAGS,
        lifespan=lifespan,
    )
    _document_security(app)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(v1_router())
    app.add_middleware(RequestLogMiddleware)
    return app
