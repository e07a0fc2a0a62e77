"""``GET /v1/runs`` and ``GET /v1/runs/latest``: which published runs exist and what went in.

Why: a clerk asking "as of which date, with which rules and models, how many firms were set aside"
reads it here. A run's manifest holds counts, hashes, versions and timings — no firm data — so
every role may see it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Caller, Repo
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import RunInfo
from tiering.store.records import RunInfo as RunRecord

__all__ = ["router", "run_info"]

router = APIRouter(prefix="/runs", tags=["批次"])

_RESPONSES = {k: v for k, v in ERROR_RESPONSES.items() if k in (401, 422, 429)}


def run_info(run: RunRecord, *, manifest: bool) -> RunInfo:
    """The response model of a published run (with its manifest only when asked)."""
    return RunInfo(
        run_id=run.run_id,
        seq=run.seq,
        as_of=run.as_of,
        created_at=run.created_at,
        published_at=run.published_at,
        n_firms_in=run.n_firms_in,
        n_quarantined=run.n_quarantined,
        n_scored=run.n_scored,
        models_used=run.models_used,
        packs=list(run.packs),
        manifest=run.manifest if manifest else None,
    )


@router.get(
    "",
    response_model=list[RunInfo],
    summary="已发布批次列表",
    description="按发布先后倒序列出已发布的批量评估（不含运行清单）。",
    responses=_RESPONSES,
)
async def list_runs(
    _caller: Caller,
    repo: Repo,
    limit: Annotated[int, Query(ge=1, le=1000, description="最多返回条数")] = 100,
) -> list[RunInfo]:
    return [run_info(r, manifest=False) for r in repo.runs(limit)]


@router.get(
    "/latest",
    response_model=RunInfo,
    summary="当前服务的批次",
    description="最新已发布批次及其运行清单（输入文件哈希、规则包与模型版本、各阶段行数与耗时）。",
    responses={**_RESPONSES, 404: ERROR_RESPONSES[404]},
)
async def latest_run(_caller: Caller, repo: Repo) -> RunInfo:
    run = repo.latest_run()
    if run is None:
        raise ApiError(404, "尚无已发布的评估批次")
    return run_info(run, manifest=True)
