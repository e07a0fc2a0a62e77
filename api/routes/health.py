"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: store, run, rules, models).

Why two: an orchestrator restarts a process whose ``/healthz`` fails, but only routes traffic to
one whose ``/readyz`` says ready. Ready = the store answers and a published run is loaded;
missing models are reported but do not make the service unready (the rules still answer), and
neither does a missing rule engine for the what-if (look-ups still work) — each is named in
``detail``. Neither endpoint needs a key or says anything about firms.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import State
from api.schemas import Health, Readiness, RunRef

__all__ = ["router"]

router = APIRouter(tags=["运维"])


@router.get(
    "/healthz", response_model=Health, summary="存活检查", description="进程可响应即返回 ok。"
)
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="就绪检查",
    description="存储可连接且已加载已发布批次时返回 200，否则 503；同时说明规则包与模型是否加载。",
    responses={503: {"model": Readiness, "description": "未就绪"}},
)
async def readyz(state: State):
    store_ok = state.repo.ping()
    detail = dict(state.problems)
    if not store_ok:
        detail["store"] = "存储无法连接"
    run = state.run
    ready = store_ok and run is not None
    body = Readiness(
        ready=ready,
        store=store_ok,
        run=None if run is None else RunRef(run_id=run.run_id, as_of=run.as_of),
        rules=state.assessor is not None,
        models=bool(getattr(state.assessor, "models_loaded", False)),
        detail=detail,
    )
    if not ready:
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return body
