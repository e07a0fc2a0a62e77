"""``GET /v1/candidates``: the staff lists of ``tiering candidates``, as json, csv or xlsx.

Why the same selection as the CLI: a list pulled over HTTP and one printed at the bureau must
agree, so the rows come from the served run's ``scores.parquet`` through the batch's candidate
selection when it is available (``tiering.batch.candidates``), else through the equivalent filter
here. The caller's districts always apply; a ``station`` gets no key figures and no gap texts
(they quote 万元 amounts); a confidential list is audited with every firm it contains.
"""

from __future__ import annotations

import io
from typing import Annotated, Literal

import polars as pl
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import Caller, Index, State, audit, is_confidential, scope_districts
from api.errors import ERROR_RESPONSES, ApiError
from tiering.codes import district_name

__all__ = ["CandidateRow", "router", "select_candidates"]

router = APIRouter(tags=["候选名单"])

Target = Literal["innovative", "specialized", "little_giant", "upsize", "delist", "review"]
_FLAG_TARGET = {"upsize": "upsize_candidate", "delist": "delist_risk", "review": "review_risk"}

PUBLIC_COLUMNS: dict[str, str] = {
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "district_name": "所属区",
    "industry_name": "行业",
    "held_tier": "已持有称号",
    "eligible_tier": "规则可达层级",
    "next_tier": "下一目标层级",
    "probability": "概率",
    "flags": "提示标志",
}
CONFIDENTIAL_COLUMNS: dict[str, str] = {
    **PUBLIC_COLUMNS,
    "gaps_text": "差距说明",
    "revenue_y1": "上年营业收入（万元）",
    "rd_expense_y1": "上年研发费用（万元）",
}


class CandidateRow(BaseModel):
    """候选名单中的一家企业（服务站视图不含金额与差距说明）。"""

    uscc: str = Field(description="统一社会信用代码")
    name: str | None = Field(None, description="企业名称")
    district_name: str | None = Field(None, description="所属区")
    industry_name: str | None = Field(None, description="行业")
    held_tier: str | None = Field(None, description="已持有称号")
    eligible_tier: str | None = Field(None, description="规则可达层级")
    next_tier: str | None = Field(None, description="下一目标层级")
    probability: float | None = Field(None, description="概率（模型；无模型时为空）")
    flags: str | None = Field(None, description="提示标志")
    gaps_text: str | None = Field(None, description="差距说明（仅局、区角色）")
    revenue_y1: float | None = Field(None, description="上年营业收入（万元，仅局、区角色）")
    rd_expense_y1: float | None = Field(None, description="上年研发费用（万元，仅局、区角色）")


def select_candidates(
    scores: pl.DataFrame,
    target: str,
    *,
    districts: tuple[str, ...] | None,
    district: str | None = None,
    section: str | None = None,
    min_prob: float | None = None,
    top: int | None = None,
) -> pl.DataFrame:
    """The candidate rows for ``target`` within scope, best first (probability, then uscc)."""
    cols = set(scores.columns)
    if target in _FLAG_TARGET:
        flag = _FLAG_TARGET[target]
        learned = f"{target}_learned"
        cond = pl.col(flag).fill_null(False) if flag in cols else pl.lit(False)
        if learned in cols:
            cond = cond | pl.col(learned).fill_null(False)
        prob = pl.col(f"p_{target}") if f"p_{target}" in cols else pl.lit(None, pl.Float64)
    else:
        cond = pl.col("next_tier") == target
        prob = pl.col(f"p_{target}") if f"p_{target}" in cols else pl.col("p_next_tier")
    out = scores.filter(cond).with_columns(prob.cast(pl.Float64).alias("probability"))
    if districts is not None:
        out = out.filter(pl.col("district").is_in(list(districts)))
    if district is not None:
        out = out.filter(pl.col("district") == district)
    if section is not None and "section" in cols:
        out = out.filter(pl.col("section") == section)
    if min_prob is not None:
        out = out.filter(pl.col("probability") >= min_prob)
    flag_cols = [c for c in _FLAG_TARGET.values() if c in cols] + (
        ["hidden_four_above"] if "hidden_four_above" in cols else []
    )
    flags = (
        pl.concat_str(
            [pl.when(pl.col(c).fill_null(False)).then(pl.lit(c)) for c in flag_cols],
            separator=",",
            ignore_nulls=True,
        )
        if flag_cols
        else pl.lit(None, pl.String)
    )
    out = out.with_columns(flags.alias("flags")).sort(
        ["probability", "uscc"], descending=[True, False], nulls_last=True
    )
    if top is not None:
        out = out.head(top)
    keep = [c for c in CONFIDENTIAL_COLUMNS if c in out.columns]
    return out.select(keep)


def _scores(state, run_id: str) -> pl.DataFrame:
    cache = getattr(state, "_candidate_scores", None)
    if cache is None or cache[0] != run_id:
        assert state.run is not None
        from pathlib import Path

        path = Path(state.run.run_dir) / "scores.parquet"
        if not path.is_file():
            raise ApiError(404, "当前批次的评分文件不存在")
        cache = (run_id, pl.read_parquet(path))
        state._candidate_scores = cache
    return cache[1]


@router.get(
    "/candidates",
    response_model=list[CandidateRow],
    response_model_exclude_none=False,
    summary="候选名单",
    description=(
        "按目标（innovative 创新型 / specialized 专精特新 / little_giant 小巨人 / upsize 小进规 / "
        "delist 退规风险 / review 复核风险）列出当前批次中的候选企业，按概率降序；"
        "format=json（默认）、csv（UTF-8，中文表头）或 xlsx。仅含调用方辖区内企业；"
        "服务站角色不含金额与差距说明；局、区角色的名单记入审计日志。"
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
    if district is not None:
        district_name(district)
    rows = select_candidates(
        _scores(state, index.run_id),
        target,
        districts=scope_districts(caller),
        district=district,
        section=section,
        min_prob=min_prob,
        top=top,
    )
    confidential = is_confidential(caller)
    headers = CONFIDENTIAL_COLUMNS if confidential else PUBLIC_COLUMNS
    rows = rows.select([c for c in headers if c in rows.columns])
    if confidential and rows.height:
        audit(state, caller, "GET /v1/candidates", tuple(rows["uscc"].to_list()))
    if format == "json":
        return [CandidateRow(**r) for r in rows.iter_rows(named=True)]
    labelled = rows.rename({c: headers[c] for c in rows.columns})
    fname = f"candidates-{target}-{index.run_id}"
    if format == "csv":
        body = "\ufeff" + labelled.write_csv()
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{fname}.csv"'},
        )
    buf = io.BytesIO()
    labelled.write_excel(
        buf, worksheet="候选名单", autofit=True, freeze_panes=(1, 0), autofilter=True
    )
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{fname}.xlsx"'},
    )
