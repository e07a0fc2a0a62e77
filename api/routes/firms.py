"""``GET /v1/firms/{uscc}`` (one firm, latest run) and ``GET /v1/firms`` (search, paged).

Why this order of checks in the look-up: the USCC is validated first (a malformed code is a 422
naming the character and the rule — no such firm can exist anywhere), then the in-memory index
answers existence and district scope; a firm outside the caller's districts is a 404 with exactly
the body of a firm that does not exist. Only then is the store read, and a confidential view is
audited.

The finished body is cached per (run, firm, view) (:mod:`api.response_cache`): a published run is
immutable. The caller-specific steps — key, rate limit, scope, audit — run on every request.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import Caller, Index, audit, in_scope, is_confidential, scope_districts, state_of
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas import FirmDetail, FirmPage, FirmSummary, RunRef
from api.views import build_firm
from tiering.codes import district_name
from tiering.store import FirmRecord
from tiering.uscc import validate

__all__ = ["router"]

_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(FirmRecord))

router = APIRouter(prefix="/firms", tags=["企业"])

TierFilter = Literal["tech_sme", "innovative", "specialized", "little_giant", "champion", "none"]


@router.get(
    "/{uscc}",
    response_model=FirmDetail,
    summary="企业画像（最新批次）",
    description=(
        "按统一社会信用代码查询企业在最新已发布批次中的梯度位置、各项指标、概率、提示标志和主要原因。"
        "服务站角色仅见状态、得分与相对差距；局、区角色另见涉税数据，且每次访问记入审计日志。"
        "辖区外企业按不存在处理（404）。"
    ),
    responses={k: v for k, v in ERROR_RESPONSES.items() if k in (401, 404, 422, 429)},
)
async def get_firm(
    uscc: Annotated[str, Path(description="统一社会信用代码（18位，含校验码）")],
    caller: Caller,
    request: Request,
) -> Response:
    # the state straight from the app: each extra dependency costs ~50 µs here
    state = state_of(request)
    code = validate(uscc)
    run, index = state.run, state.index
    if index is None or run is None:
        raise ApiError(404, "尚无已发布的评估批次")
    if run.run_id != index.run_id:  # caught mid-swap by the run poller: take the pair again
        run, index = state.run, state.index
        assert run is not None and index is not None
    if code not in index or not in_scope(caller, index.district_of(code)):
        raise ApiError(404, "未找到该企业")
    confidential = is_confidential(caller)
    key = (run.run_id, code, "confidential" if confidential else "public")
    body = state.responses.get(key)
    if body is None:
        record = state.repo.firm(run.run_id, code)
        if record is None:  # published run changed under us; same answer as unknown
            raise ApiError(404, "未找到该企业")
        firm = build_firm(
            {f: getattr(record, f) for f in _RECORD_FIELDS},  # shallow: as_dict() deep-copies
            state.repo.criteria(run, record),
            confidential=confidential,
            run=RunRef(run_id=run.run_id, as_of=run.as_of),
        )
        # the role's own model serialises it: only its whitelisted fields can be in the bytes
        body = firm.__pydantic_serializer__.to_json(firm)
        state.responses.put(key, body)
    if confidential:
        audit(state, caller, "GET /v1/firms/{uscc}", (code,))
    return Response(body, media_type="application/json")


@router.get(
    "",
    response_model=FirmPage,
    summary="企业检索（分页）",
    description="按名称、所属区、层级检索最新批次中的企业；仅返回调用方辖区内的企业，不含涉税数据。",
    responses={k: v for k, v in ERROR_RESPONSES.items() if k in (401, 404, 422, 429)},
)
async def search_firms(
    caller: Caller,
    index: Index,
    name: Annotated[str | None, Query(max_length=100, description="企业名称包含的文字")] = None,
    district: Annotated[str | None, Query(description="所属区代码（GB/T 2260，如 420111）")] = None,
    tier: Annotated[TierFilter | None, Query(description="已持有的最高称号；none 表示无")] = None,
    eligible_tier: Annotated[
        TierFilter | None, Query(description="按规则可达的最高层级；none 表示无")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="页码，从1开始")] = 1,
    size: Annotated[int, Query(ge=1, le=200, description="每页条数（1–200）")] = 50,
) -> FirmPage:
    if district is not None:
        district_name(district)  # 422 CODE-DISTRICT for a code that is not a Wuhan district
    total, rows = index.search(
        name=name,
        district=district,
        tier=tier,
        eligible_tier=eligible_tier,
        districts=scope_districts(caller),
        page=page,
        size=size,
    )
    return FirmPage(
        total=total,
        page=page,
        size=size,
        items=[FirmSummary(**r) for r in rows],
        run=RunRef(run_id=index.run_id, as_of=index.as_of),
    )
