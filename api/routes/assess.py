"""``POST /v1/assess``: what-if — one assessment-frame row in, the look-up's shape out.

Why the same shape as ``GET /v1/firms/{uscc}``: a 服务专员 changes a figure ("what if R&D were
120 万元?") and compares the two answers field by field; the same role view applies (a station
gets relative gaps only). Nothing is stored and the body never reaches a log (the request log
records method, route and status only). Rule packs and models were loaded at start-up; rows from
concurrent requests are assessed together in small batches (see :mod:`api.whatif`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import Caller, State, audit, is_confidential
from api.errors import ERROR_RESPONSES, ApiError
from api.frame_model import FrameRow
from api.schemas import FirmDetail
from api.views import build_firm

__all__ = ["get_assessor", "router"]

router = APIRouter(tags=["试算"])


async def get_assessor(state: State):
    """The loaded what-if assessor; 503 when the rule engine could not be loaded."""
    if state.assessor is None:
        raise ApiError(503, state.problems.get("rules", "规则引擎未加载"))
    return state.assessor


@router.post(
    "/assess",
    response_model=FirmDetail,
    summary="试算（不保存）",
    description=(
        "提交一行评估数据（§11 评估框架字段；未提供或 null 表示未知；金额单位万元，比例以小数表示），"
        "按基准日适用的规则包与模型即时计算，返回与企业画像相同结构的结果。不保存、不记录请求内容。"
        "字段不合规时返回 422 并指明字段与规则编号。"
    ),
    responses={
        **{k: v for k, v in ERROR_RESPONSES.items() if k in (401, 422, 429)},
        503: {"model": ERROR_RESPONSES[401]["model"], "description": "规则引擎未加载"},
    },
)
async def assess(
    row: FrameRow,  # type: ignore[valid-type]
    caller: Caller,
    state: State,
    assessor: Annotated[object, Depends(get_assessor)],
    as_of: Annotated[
        dt.date | None, Query(description="评估基准日（默认：当前服务批次的基准日）")
    ] = None,
    application: Annotated[
        Literal["new", "review"], Query(description="new 新申报 / review 复核")
    ] = "new",
):
    date = as_of or (state.run.as_of if state.run else dt.date.today())
    if not dt.date(2000, 1, 1) <= date <= dt.date(2100, 12, 31):
        raise ApiError(422, "评估基准日超出范围（2000–2100年）", field="as_of", rule="AS-OF-RANGE")
    result_row, criteria = await assessor.assess_one(row.model_dump(), date, application)  # type: ignore[attr-defined]
    confidential = is_confidential(caller)
    if confidential:
        audit(state, caller, "POST /v1/assess", (result_row["uscc"],))
    firm = build_firm(result_row, criteria, confidential=confidential, run=None)
    # serialised by the role's own model (its whitelist), once: no second validation pass
    return Response(firm.__pydantic_serializer__.to_json(firm), media_type="application/json")
