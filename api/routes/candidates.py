"""``GET /v1/candidates``: the staff lists of ``tiering candidates``, as json, csv or xlsx.

Why the same selection as the CLI: a list pulled over HTTP and one printed at the bureau must
agree, so the rows come from the served run's ``scores.parquet`` through the batch's candidate
selection (``tiering.batch.candidates.select_candidates``) and its export (``tiering.batch.export``).
The caller's districts always apply (the scores are cut to them first); a ``station`` gets no key figures and no gap texts
(they quote 万元 amounts); a confidential list is audited with every firm it contains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import Caller, Index, State, audit, is_confidential, scope_districts
from api.errors import ERROR_RESPONSES, ApiError
from tiering.codes import district_name

__all__ = ["CandidateList", "CandidateRow", "router"]

router = APIRouter(tags=["候选名单"])

Target = Literal["innovative", "specialized", "little_giant", "upsize", "delist", "review"]
# Gap texts quote 万元 amounts: withheld from the station view together with the key figures.
_STATION_HIDDEN = ("gap_text_target",)


class CandidateRow(BaseModel):
    """候选名单中的一家企业（服务站视图不含金额与差距说明）。"""

    rank: int = Field(description="序号")
    uscc: str = Field(description="统一社会信用代码")
    name: str | None = Field(None, description="企业名称")
    district_name: str | None = Field(None, description="所属区")
    industry_name: str | None = Field(None, description="所属行业")
    section: str | None = Field(None, description="行业门类")
    held_tier_label: str | None = Field(None, description="现持有梯度")
    eligible_tier_label: str | None = Field(None, description="符合条件梯度")
    probability: float | None = Field(None, description="入选概率（模型；无模型时为空）")
    flags: str | None = Field(None, description="提示标记")
    gap_text_target: str | None = Field(None, description="差距（对照认定条件；仅局、区角色）")
    revenue_y1: float | None = Field(None, description="上年营业收入（万元；仅局、区角色）")
    rd_expense_y1: float | None = Field(None, description="上年研发费用（万元；仅局、区角色）")
    rd_ratio_y1: float | None = Field(None, description="研发费用占营业收入比重（仅局、区角色）")
    employees_y1: int | None = Field(None, description="上年从业人员（人；仅局、区角色）")


class CandidateList(BaseModel):
    """候选名单。"""

    run_id: str = Field(description="批次编号")
    as_of: str = Field(description="评估基准日")
    target: str = Field(description="名单目标")
    total: int = Field(description="名单条数")
    items: list[CandidateRow] = Field(description="候选企业，按优先程度排序")


_CONFIDENTIAL = ("revenue_y1", "rd_expense_y1", "rd_ratio_y1", "employees_y1", *_STATION_HIDDEN)


@router.get(
    "/candidates",
    response_model=CandidateList,
    summary="候选名单",
    description=(
        "与 tiering candidates 相同的名单：目标为 innovative 创新型 / specialized 专精特新 / "
        "little_giant 小巨人 / upsize 小进规 / delist 退规风险 / review 复核风险；"
        "format=json（默认）、csv（UTF-8，中文表头）或 xlsx（冻结表头、筛选、万元与百分比格式、运行信息页）。"
        "仅含调用方辖区内企业；服务站角色不含金额与差距说明；局、区角色的名单记入审计日志。"
    ),
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
            "description": "候选名单",
        },
        **{k: v for k, v in ERROR_RESPONSES.items() if k in (401, 404, 422, 429)},
    },
)
async def candidates(
    caller: Caller,
    state: State,
    index: Index,
    target: Annotated[Target, Query(description="名单目标")],
    district: Annotated[str | None, Query(description="所属区代码（GB/T 2260）")] = None,
    section: Annotated[
        str | None, Query(pattern="^[A-T]$", description="行业门类字母（如 C 制造业）")
    ] = None,
    min_prob: Annotated[float | None, Query(ge=0, le=1, description="最低概率")] = None,
    top: Annotated[int | None, Query(ge=1, le=100_000, description="最多返回条数")] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="输出格式")] = "json",
):
    from tiering.batch.candidates import CandidateError, select_candidates
    from tiering.batch.export import export_candidates

    if district is not None:
        district_name(district)  # 422 CODE-DISTRICT
    run = state.run
    assert run is not None
    scores, criteria = _run_frames(state, run.run_dir)
    scope = scope_districts(caller)
    if scope is not None:
        scores = scores.filter(pl.col("district").is_in(list(scope)))
    try:
        rows = select_candidates(
            scores, criteria, target, district=district, section=section, min_prob=min_prob, top=top
        )
    except CandidateError as e:
        raise ApiError(
            422, str(e), field="min_prob" if "min" in str(e) else "target", rule="CANDIDATES"
        ) from None
    confidential = is_confidential(caller)
    if not confidential:
        rows = rows.drop([c for c in _CONFIDENTIAL if c in rows.columns])
    if confidential and rows.height:
        audit(state, caller, "GET /v1/candidates", tuple(rows["uscc"].to_list()))
    if format == "json":
        keep = [c for c in CandidateRow.model_fields if c in rows.columns]
        return CandidateList(
            run_id=run.run_id,
            as_of=run.as_of.isoformat(),
            target=target,
            total=rows.height,
            items=[CandidateRow(**r) for r in rows.select(keep).iter_rows(named=True)],
        )
    request = {
        "target": target,
        "district": district,
        "section": section,
        "min_prob": min_prob,
        "top": top,
    }
    data = export_candidates(
        rows, format, manifest=run.manifest, request=request, include_confidential=confidential
    )
    media = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[format]
    fname = f"candidates-{target}-{run.run_id}.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{fname}"'}
    )


def _run_frames(state, run_dir: str) -> tuple[pl.DataFrame, pl.LazyFrame | None]:
    """The served run's scores (read once per run) and a lazy scan of its criteria."""
    cache = getattr(state, "_candidate_frames", None)
    if cache is None or cache[0] != run_dir:
        path = Path(run_dir) / "scores.parquet"
        if not path.is_file():
            raise ApiError(404, "当前批次的评分文件不存在")
        crit = Path(run_dir) / "criteria.parquet"
        cache = (run_dir, pl.read_parquet(path), crit if crit.is_file() else None)
        state._candidate_frames = cache
    return cache[1], (pl.scan_parquet(cache[2]) if cache[2] is not None else None)
