"""Assembling a run's per-firm ``scores`` and its look-up-ready ``criteria`` (pure: frames in,
frames out).

Why here and not in the rules: the rules answer one question per firm × pack; staff and the API
need one row per firm that puts together identity (with district and industry names), the key
figures, rule placement and flags, the per-tier verdicts, the learned probabilities and reasons,
and the gaps to the next rung in plain Chinese. Criteria are sorted by uscc so the store can point
each firm at its own contiguous rows (``criteria_offset``, ``criteria_count``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from tiering.codes import districts, industries
from tiering.frame import TIERS

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_LABELS",
    "GAP_STATUSES",
    "TIER_LABELS",
    "build_scores",
    "criteria_offsets",
    "gap_text_expr",
    "sort_criteria",
]

TIER_LABELS: dict[str, str] = {
    "none": "无",
    "tech_sme": "科技型中小企业",
    "tech_innovative": "科技和创新型中小企业",
    "innovative": "创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”",
    "champion": "制造业单项冠军",
}
FLAG_COLUMNS = ("upsize_candidate", "hidden_four_above", "delist_risk", "review_risk", "revocation")
FLAG_LABELS: dict[str, str] = {
    "upsize_candidate": "小进规培育",
    "hidden_four_above": "隐形规上",
    "delist_risk": "退规风险",
    "review_risk": "复核风险",
    "revocation": "撤销风险",
}
GAP_STATUSES = ("unmet", "unknown", "manual_review")
_KEY_FIGURES = ("revenue_y1", "main_revenue_y1", "rd_expense_y1", "total_assets_y1", "employees_y1")
_FIRM_FIELDS = (
    "size_class",
    "four_above_group",
    "meets_four_above",
    "held_tier",
    "eligible_tier",
    "next_tier",
)
_TIER_STATS = ("verdict", "score", "score_min", "score_max", "pass_mark")


def sort_criteria(criteria: pl.DataFrame) -> pl.DataFrame:
    """Criteria grouped by firm (stable: each firm keeps the engine's pack and criterion order)."""
    return criteria.sort("uscc", maintain_order=True)


def criteria_offsets(sorted_criteria: pl.DataFrame) -> pl.DataFrame:
    """``uscc, criteria_offset, criteria_count`` of each firm's contiguous block of criteria.

    >>> c = pl.DataFrame({"uscc": ["A", "A", "B"]})
    >>> criteria_offsets(c).rows()
    [('A', 0, 2), ('B', 2, 1)]
    """
    counts = sorted_criteria.group_by("uscc", maintain_order=True).len("criteria_count")
    return counts.select(
        "uscc",
        (pl.col("criteria_count").cum_sum() - pl.col("criteria_count"))
        .cast(pl.Int64)
        .alias("criteria_offset"),
        pl.col("criteria_count").cast(pl.Int64),
    )


def _fmt(expr: pl.Expr) -> pl.Expr:
    """A number as staff write it: up to two decimals, no trailing zeros."""
    return expr.round(2).cast(pl.String).str.replace(r"\.0+$", "").str.replace(r"(\.\d*?)0+$", "$1")


def gap_text_expr(columns: Sequence[str]) -> pl.Expr:
    """Plain-Chinese text of a criterion that is not met.

    Uses the rules' own gap text (``gap_text``) when present — that is where “研发费用占比差 0.4 个
    百分点” comes from — and otherwise words it from the label, gap and unit.
    """
    label = pl.col("label") if "label" in columns else pl.col("criterion_id")
    unit = pl.col("unit").fill_null("") if "unit" in columns else pl.lit("")
    fallback = (
        pl.when(pl.col("status") == "unknown")
        .then(pl.concat_str(label, pl.lit("：数据缺失")))
        .when(pl.col("status") == "manual_review")
        .then(pl.concat_str(label, pl.lit("：需人工核实")))
        .when(pl.col("gap").is_not_null() if "gap" in columns else pl.lit(False))
        .then(pl.concat_str(label, pl.lit("差 "), _fmt(pl.col("gap")), pl.lit(" "), unit))
        .otherwise(pl.concat_str(label, pl.lit("：未达标")))
        .str.strip_chars()
    )
    if "gap_text" in columns:
        return pl.coalesce(pl.col("gap_text"), fallback)
    return fallback


def _tier_columns(tiers: pl.DataFrame) -> pl.DataFrame:
    """Per-tier verdict columns (``<tier>_verdict`` …) and the ``verdicts`` JSON of every pack."""
    stats = [c for c in _TIER_STATS if c in tiers.columns]
    verdicts = tiers.group_by("uscc", maintain_order=True).agg(
        pl.struct("pack", "tier", *stats).alias("verdicts")
    )
    ranked = tiers.filter(pl.col("tier").is_not_null()).unique(["uscc", "tier"], keep="first")
    wide = verdicts.select("uscc")
    for tier in TIERS:
        sub = ranked.filter(pl.col("tier") == tier).select(
            "uscc",
            pl.col("pack").alias(f"{tier}_pack"),
            *[pl.col(s).alias(f"{tier}_{s}") for s in stats],
        )
        if sub.height:
            wide = wide.join(sub, on="uscc", how="left")
    return wide.join(verdicts, on="uscc", how="left")


def _gaps(criteria: pl.DataFrame, tiers: pl.DataFrame, firms: pl.DataFrame) -> pl.DataFrame:
    """The next tier's unmet / unknown / manual-review criteria per firm, as JSON and as text."""
    next_pack = (
        firms.select("uscc", "next_tier")
        .join(
            tiers.select("uscc", "tier", "pack").unique(["uscc", "tier"], keep="first"),
            left_on=["uscc", "next_tier"],
            right_on=["uscc", "tier"],
        )
        .select("uscc", pl.col("pack").alias("_next_pack"))
    )
    text = gap_text_expr(criteria.columns)
    open_rows = (
        criteria.join(next_pack, on="uscc")
        .filter(pl.col("pack") == pl.col("_next_pack"), pl.col("status").is_in(GAP_STATUSES))
        .select("uscc", "pack", "criterion_id", "status", text.alias("text"))
    )
    return open_rows.group_by("uscc", maintain_order=True).agg(
        pl.struct("pack", "criterion_id", "status", "text").alias("gaps"),
        pl.col("text").filter(pl.col("status") == "unmet").str.join("；").alias("gaps_text"),
    )


def build_scores(
    frame: pl.DataFrame,
    criteria: pl.DataFrame,
    tiers: pl.DataFrame,
    firms: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(scores, sorted_criteria)``: one row per firm of ``frame``, in the frame's (uscc) order."""
    sorted_criteria = sort_criteria(criteria)
    ident = [c for c in ("uscc", "name", "district", "industry") if c in frame.columns]
    figures = [c for c in (*_KEY_FIGURES, "in_four_above") if c in frame.columns]
    base = frame.select(*ident, *figures)
    if {"rd_expense_y1", "revenue_y1"} <= set(figures):
        base = base.with_columns(
            pl.when(pl.col("revenue_y1") > 0)
            .then(pl.col("rd_expense_y1") / pl.col("revenue_y1"))
            .alias("rd_ratio_y1")
        )
    names = districts().rename({"code": "district", "name": "district_name"})
    inds = industries().select(
        pl.col("code").alias("industry"), pl.col("name").alias("industry_name"), "section"
    )
    out = base.join(names, on="district", how="left").join(inds, on="industry", how="left")
    firm_cols = [c for c in (*_FIRM_FIELDS, *FLAG_COLUMNS) if c in firms.columns]
    firm_cols += [
        c
        for c in firms.columns
        if c not in firm_cols and c != "uscc" and c not in out.columns and c not in ident
    ]
    out = out.join(firms.select("uscc", *firm_cols), on="uscc", how="left")
    out = out.join(_tier_columns(tiers), on="uscc", how="left")
    out = out.join(_gaps(criteria, tiers, firms), on="uscc", how="left")
    if predictions is not None:
        extra = [c for c in predictions.columns if c != "uscc" and c not in out.columns]
        out = out.join(predictions.select("uscc", *extra), on="uscc", how="left")
        p_next = [
            pl.when(pl.col("next_tier") == t).then(pl.col(f"p_{t}"))
            for t in TIERS
            if f"p_{t}" in out.columns
        ]
        if p_next and "next_tier" in out.columns:
            out = out.with_columns(pl.coalesce(p_next).alias("p_next_tier"))
    out = out.join(criteria_offsets(sorted_criteria), on="uscc", how="left").with_columns(
        pl.col("criteria_count").fill_null(0)
    )
    return out.sort("uscc", maintain_order=True), sorted_criteria
