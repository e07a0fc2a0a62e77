"""``GET /v1/rules/packs``: the rule packs the service knows and which are in force on a date.

Why: a 422 or a verdict names a pack (``specialized-2022``); staff look up what it is, its source
document and whether it applies to new applications or reviews on the date they care about.
Pack metadata is public (the rules are published policy).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Caller, State
from api.errors import ERROR_RESPONSES
from api.routes.assess import get_assessor
from api.schemas import PackInfo

__all__ = ["router"]

router = APIRouter(prefix="/rules", tags=["规则"])


@router.get(
    "/packs",
    response_model=list[PackInfo],
    summary="规则包列表",
    description="列出已加载的规则包及其在基准日对新申报、复核是否适用。",
    responses={
        **{k: v for k, v in ERROR_RESPONSES.items() if k in (401, 422, 429)},
        503: {"model": ERROR_RESPONSES[401]["model"], "description": "规则引擎未加载"},
    },
)
async def list_packs(
    _caller: Caller,
    state: State,
    assessor: Annotated[object, Depends(get_assessor)],
    as_of: Annotated[
        dt.date | None, Query(description="基准日（默认：当前服务批次的基准日）")
    ] = None,
) -> list[PackInfo]:
    date = as_of or (state.run.as_of if state.run else dt.date.today())
    return [PackInfo(**p) for p in assessor.packs(date)]  # type: ignore[attr-defined]
