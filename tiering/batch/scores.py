"""Assembling a run's per-firm ``scores`` and its look-up-ready ``criteria`` (pure: frames in,
frames out).

Why here and not in the rules: the rules answer one question per firm × pack; staff and the API
need one row per firm that puts together identity (with district and industry names), the key
figures, rule placement and flags, the per-tier verdicts, the learned probabilities and reasons,
and the gaps to the next rung in plain Chinese. Criteria are sorted by uscc so the store can point
each firm at its own contiguous rows (``criteria_offset``, ``criteria_count``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, is_dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from tiering.codes import districts, industries
from tiering.frame import TIERS

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_LABELS",
    "GAP_STATUSES",
    "TIER_LABELS",
    "CriteriaWritten",
    "assemble_scores",
    "build_scores",
    "criteria_chunks",
    "criteria_offsets",
    "criterion_labels",
    "firm_gaps",
    "gap_text_expr",
    "next_packs",
    "sort_criteria",
    "with_labels",
    "write_criteria",
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
    tiers = tiers.with_columns(pl.col("pack", "tier").cast(pl.String))
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


def next_packs(tiers: pl.DataFrame, firms: pl.DataFrame) -> pl.DataFrame:
    """``uscc, _next_pack``: the pack that decides each firm's next tier."""
    return (
        firms.select("uscc", pl.col("next_tier").cast(pl.String))
        .join(
            tiers.select("uscc", pl.col("tier").cast(pl.String), pl.col("pack").cast(pl.String))
            .filter(pl.col("tier").is_not_null())
            .unique(["uscc", "tier"], keep="first", maintain_order=True),
            left_on=["uscc", "next_tier"],
            right_on=["uscc", "tier"],
        )
        .select("uscc", pl.col("pack").alias("_next_pack"))
    )


@functools.cache
def criterion_labels() -> pl.DataFrame:
    """``pack, criterion_id, label`` of every shipped rule pack (for gap text without one)."""
    from tiering.pack_loader import list_packs, load_pack

    rows = []
    for pid in list_packs():
        pack = load_pack(pid)
        for c in getattr(pack, "criteria", ()) or ():
            rows.append((pid, c.id, c.label))
    return pl.DataFrame(rows, schema=["pack", "criterion_id", "label"], orient="row")


def with_labels(criteria: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Criteria rows with the pack's Chinese ``label`` (left as is when already labelled)."""
    cols = criteria.collect_schema().names()
    if "label" in cols:
        return criteria
    keyed = criteria.with_columns(pl.col("pack", "criterion_id").cast(pl.String))
    labels = criterion_labels()
    if isinstance(keyed, pl.LazyFrame):
        return keyed.join(labels.lazy(), on=["pack", "criterion_id"], how="left")
    return keyed.join(labels, on=["pack", "criterion_id"], how="left", maintain_order="left")


def firm_gaps(criteria: pl.DataFrame, packs: pl.DataFrame) -> pl.DataFrame:
    """What each firm lacks for its next tier: open criteria of that tier's pack and of the
    common eligibility (``EL``), as JSON-ready structs and as ``；``-joined plain Chinese."""
    pack = pl.col("pack").cast(pl.String)
    open_rows = with_labels(
        criteria.join(packs, on="uscc").filter(
            (pack == pl.col("_next_pack")) | (pack == "EL"),
            pl.col("status").cast(pl.String).is_in(GAP_STATUSES),
        )
    )
    text = gap_text_expr(open_rows.columns)
    open_rows = open_rows.with_columns(pl.col("pack").cast(pl.String)).select(
        "uscc",
        pack.alias("pack"),
        pl.col("criterion_id").cast(pl.String),
        pl.col("status").cast(pl.String),
        text.alias("text"),
    )
    return open_rows.group_by("uscc", maintain_order=True).agg(
        pl.struct("pack", "criterion_id", "status", "text").alias("gaps"),
        pl.col("text").filter(pl.col("status") == "unmet").str.join("；").alias("gaps_text"),
    )


def criteria_chunks(assessment: Any, chunk_firms: int = 65_536) -> Iterator[pl.DataFrame]:
    """The long criteria frame in firm-major chunks, never all of it in memory at once.

    The engine builds criteria pack by pack (firm order repeated per criterion); a chunk of
    ``chunk_firms`` firms is regrouped by firm with a stable integer sort (row ``p`` of a chunk of
    ``n`` firms belongs to firm ``p mod n``). Assessments without ``criteria_lazy`` (small or
    hand-built ones) are sorted whole.
    """
    wide = getattr(assessment, "wide", None)
    if wide is None or not hasattr(assessment, "criteria_lazy") or not is_dataclass(assessment):
        yield sort_criteria(_collect(assessment.criteria))
        return
    for start in range(0, max(wide.height, 1), chunk_firms):
        part = replace(assessment, wide=wide.slice(start, chunk_firms))
        n = part.wide.height
        lf = part.criteria_lazy().with_row_index("_p")
        yield lf.sort(pl.col("_p") % max(n, 1), maintain_order=True).drop("_p").collect()


def _collect(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


@dataclass(frozen=True)
class CriteriaWritten:
    """What streaming the criteria to disk produced: per-firm offsets and gaps, total rows."""

    offsets: pl.DataFrame
    gaps: pl.DataFrame
    rows: int


def write_criteria(
    chunks: Iterable[pl.DataFrame], path: Path, packs: pl.DataFrame, row_group_rows: int
) -> CriteriaWritten:
    """Stream firm-major criteria chunks to ``path`` (zstd parquet, ``row_group_rows`` per group)."""
    import pyarrow.parquet as pq

    writer = None
    offsets, gaps = [], []
    base = 0
    try:
        for chunk in chunks:
            table = chunk.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema, compression="zstd")
            writer.write_table(table, row_group_size=row_group_rows)
            offsets.append(criteria_offsets(chunk).with_columns(pl.col("criteria_offset") + base))
            gaps.append(firm_gaps(chunk, packs))
            base += chunk.height
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no criteria chunks")
    return CriteriaWritten(pl.concat(offsets), pl.concat(gaps), base)


def build_scores(
    frame: pl.DataFrame,
    criteria: pl.DataFrame,
    tiers: pl.DataFrame,
    firms: pl.DataFrame,
    predictions: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(scores, sorted_criteria)`` in memory — for small frames (what-if, tests)."""
    sorted_criteria = sort_criteria(criteria)
    scores = assemble_scores(
        frame,
        tiers,
        firms,
        predictions,
        criteria_offsets(sorted_criteria),
        firm_gaps(sorted_criteria, next_packs(tiers, firms)),
    )
    return scores, sorted_criteria


def _strings(df: pl.DataFrame) -> pl.DataFrame:
    """Enum / categorical columns as plain strings (the store and Excel want text)."""
    cats = [c for c, t in df.schema.items() if isinstance(t, (pl.Enum, pl.Categorical))]
    return df.with_columns(pl.col(cats).cast(pl.String)) if cats else df


def assemble_scores(
    frame: pl.DataFrame,
    tiers: pl.DataFrame,
    firms: pl.DataFrame,
    predictions: pl.DataFrame | None,
    offsets: pl.DataFrame,
    gaps: pl.DataFrame,
) -> pl.DataFrame:
    """One row per firm of ``frame`` (uscc order): identity, figures, placement, verdicts, gaps,
    probabilities, reasons and the firm's criteria offsets."""
    tiers, firms = _strings(tiers), _strings(firms)
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
    out = out.join(gaps, on="uscc", how="left")
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
    out = out.join(offsets, on="uscc", how="left").with_columns(
        pl.col("criteria_count").fill_null(0)
    )
    return out.sort("uscc", maintain_order=True)
