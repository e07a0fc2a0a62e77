"""The training panel: features as of 1 January of year Y → what happened during Y.

Why a panel of yearly snapshots: a model that learns "firms like this one, on this date, went on
to get the title" must see each firm exactly as staff saw it on that date. The point-in-time
assessment frame (``features.asof``) guarantees that; this module stacks one frame per year, adds
the model features and the targets of ``models.targets``, and records which columns the models
read (with their Chinese labels and known monotone directions).

Feature source: ``features.model_features`` / ``features.catalog`` (issue 5) when available;
otherwise a built-in encoding of the §11 frame (numbers and flags as they are, ordered levels as
ranks, a few ratios). Either way the list of features and their directions travels with the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from models.targets import TARGETS, TIER_TARGETS, make_targets
from tiering.frame import FRAME_COLUMNS

__all__ = [
    "FeatureSpec",
    "Panel",
    "baseline_scores",
    "build_panel",
    "encode_frame",
    "feature_specs",
    "model_frame",
    "snapshot",
]

ID_COLUMNS = ("uscc", "name", "district", "industry", "section")
_LEVELS: dict[str, tuple[str, ...]] = {
    "rd_institution_level": ("none", "below_city", "city", "provincial", "national"),
    "quality_award_level": ("none", "city", "provincial", "national"),
    "sci_award_level": ("none", "provincial", "national"),
    "niche_domain": ("none", "foundation", "breakthrough"),
}
_YEARS = ("standard_led_year", "sci_award_year", "maker_china_year")
_DERIVED: dict[str, tuple[str, pl.Expr]] = {
    "rd_ratio_y1": ("上年研发费用占营业收入比重", pl.col("rd_expense_y1") / pl.col("revenue_y1")),
    "rd_staff_share_y1": ("上年研发人员占比", pl.col("rd_staff_y1") / pl.col("employees_y1")),
    "main_share_y1": ("上年主营业务收入占比", pl.col("main_revenue_y1") / pl.col("revenue_y1")),
    "debt_ratio_y1": (
        "上年末资产负债率",
        pl.col("total_liabilities_y1") / pl.col("total_assets_y1"),
    ),
    "margin_y1": ("上年净利润率", pl.col("net_profit_y1") / pl.col("revenue_y1")),
    "main_growth_y1": (
        "上年主营业务收入增长率",
        pl.col("main_revenue_y1") / pl.col("main_revenue_y2") - 1,
    ),
    "revenue_growth_y1": ("上年营业收入增长率", pl.col("revenue_y1") / pl.col("revenue_y2") - 1),
    "equity_3y": (
        "近三年股权融资合计",
        pl.sum_horizontal("equity_financing_y1", "equity_financing_y2", "equity_financing_y3"),
    ),
}
# More R&D, more IP, better credentials never lower the chance of a title (tier targets only).
_UP_FOR_TIERS = (
    "rd_expense_y1",
    "rd_expense_y2",
    "rd_staff_y1",
    "rd_ratio_y1",
    "rd_staff_share_y1",
    "class1_ip",
    "class1_self_developed",
    "class1_high_value",
    "class2_ip",
    "high_tech",
    "honor_ip_demo",
    "rd_institution_level_rank",
    "digital_level",
    "iso9001",
    "own_brand",
)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A model input: name, Chinese label, unit and known direction per target (+1/-1/0)."""

    name: str
    label: str
    unit: str = ""
    directions: tuple[tuple[str, int], ...] = ()
    kind: str = "numeric"  # numeric | bool | categorical

    def direction(self, target: str) -> int:
        return dict(self.directions).get(target, 0)


def _catalog_specs() -> list[FeatureSpec] | None:
    """Feature specs from ``features.catalog`` (issue 5), or None while it is not there."""
    try:
        from features import catalog  # type: ignore[attr-defined]
    except ImportError:
        return None
    entries = getattr(catalog, "CATALOG", None) or getattr(catalog, "FEATURES", None)
    if not entries:
        return None
    specs = []
    for e in entries.values() if isinstance(entries, Mapping) else entries:
        name = getattr(e, "name", None)
        if name is None:
            continue
        d = getattr(e, "direction", 0) or 0
        d = {"up": 1, "down": -1, "increasing": 1, "decreasing": -1}.get(d, d)
        dirs = tuple((t, int(d)) for t in TIER_TARGETS) if isinstance(d, int) else ()
        if isinstance(getattr(e, "directions", None), Mapping):
            dirs = tuple((t, int(v)) for t, v in e.directions.items())
        specs.append(
            FeatureSpec(
                name,
                getattr(e, "label", name),
                getattr(e, "unit", ""),
                dirs,
                getattr(e, "kind", "numeric"),
            )
        )
    return specs


def _builtin_specs() -> list[FeatureSpec]:
    by_name = {c.name: c for c in FRAME_COLUMNS}
    skip = {"uscc", "name", "district", "industry", "status", "resident"}
    out: list[FeatureSpec] = []
    for c in FRAME_COLUMNS:
        if c.name in skip or c.name.endswith("_expires") or c.name in ("new_product",):
            continue
        if c.name in _YEARS:
            age = c.name.removesuffix("_year") + "_age"
            out.append(FeatureSpec(age, c.label.removesuffix("年份") + "距今年数", "年"))
            continue
        if c.dtype == pl.String():
            if c.name in _LEVELS:
                out.append(FeatureSpec(f"{c.name}_rank", f"{c.label}（等级）"))
            continue
        out.append(FeatureSpec(c.name, c.label, c.unit))
    out += [FeatureSpec(n, lab) for n, (lab, _) in _DERIVED.items()]
    out = [
        FeatureSpec(
            s.name,
            s.label,
            by_name[s.name].unit if s.name in by_name else s.unit,
            tuple((t, 1) for t in TIER_TARGETS) if s.name in _UP_FOR_TIERS else (),
        )
        for s in out
    ]
    return out


def feature_specs() -> list[FeatureSpec]:
    """The model inputs, from the features catalog when present, else the built-in encoding."""
    return _catalog_specs() or _builtin_specs()


def encode_frame(frame: pl.DataFrame | pl.LazyFrame, year: int) -> pl.LazyFrame:
    """Built-in model features from a §11 frame as of a date in ``year``.

    Numbers and flags as they are, ordered levels as ranks (``<col>_rank``), calendar years as
    ages (``<col>_age`` = year − value, so the meaning does not drift across snapshots) and a few
    ratios. Ratios with a zero or null denominator are null (unknown), never infinite.
    """
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    names = set(lf.collect_schema().names())
    exprs = [
        (pl.lit(year) - pl.col(c)).cast(pl.Float64).alias(c.removesuffix("_year") + "_age")
        for c in _YEARS
        if c in names
    ]
    for col, levels in _LEVELS.items():
        if col in names:
            exprs.append(
                pl.col(col)
                .replace_strict(
                    levels, list(range(len(levels))), default=None, return_dtype=pl.Int8
                )
                .alias(col)
            )
    for n, (_, e) in _DERIVED.items():
        exprs.append(pl.when(e.is_finite()).then(e).otherwise(None).alias(n))
    return lf.with_columns(exprs)


def model_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    as_of: date | int,
    tables: Mapping[str, pl.LazyFrame | pl.DataFrame] | None = None,
) -> pl.LazyFrame:
    """§11 frame as of ``as_of`` (a date, or a year = its 1 January) → model features + section.

    Uses ``features.model_features`` (issue 5) when installed, else :func:`encode_frame`. The
    history features (``needs_history``) need the history columns in the frame or ``tables``;
    without either they are null (unknown) — serve with ``tables`` to avoid train/serve skew.
    """
    day = as_of if isinstance(as_of, date) else date(as_of, 1, 1)
    try:
        from features.model_features import model_features
    except ImportError:
        model_features = None
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    if model_features is not None:
        out = model_features(lf, as_of=day, tables=tables)
    else:
        out = encode_frame(lf, day.year)
    out = out.lazy() if isinstance(out, pl.DataFrame) else out
    if "section" not in out.collect_schema().names():
        from tiering.codes import industries

        sec = industries().lazy().select(pl.col("code").alias("industry"), "section")
        out = out.join(sec, on="industry", how="left", maintain_order="left")
    return out


@dataclass(frozen=True)
class Panel:
    """Stacked yearly snapshots with targets; ``features`` names the model inputs in order."""

    frame: pl.DataFrame
    features: tuple[str, ...]
    specs: tuple[FeatureSpec, ...]

    @property
    def years(self) -> list[int]:
        return sorted(self.frame["year"].unique().to_list())

    def rows(self, target: str, years: Iterable[int]) -> pl.DataFrame:
        """The at-risk rows of ``target`` in ``years`` whose outcome is known."""
        ys = list(years)
        return self.frame.filter(
            pl.col("year").is_in(ys)
            & pl.col(f"at_risk_{target}")
            & pl.col(f"y_{target}").is_not_null()
        )

    def monotonic(self, target: str) -> dict[str, int]:
        return {s.name: s.direction(target) for s in self.specs if s.direction(target)}


def baseline_scores(frame: pl.DataFrame, year: int) -> pl.DataFrame:
    """``rule_<target>`` ranking scores of the baselines (null where the rule engine is absent)."""
    from models.baselines import naive_roster_score, rule_scores

    cols = {}
    try:
        scores = rule_scores(frame, date(year, 1, 1), TIER_TARGETS)
    except ImportError:
        scores = {t: np.full(frame.height, np.nan) for t in TIER_TARGETS}
    for t in TIER_TARGETS:
        cols[f"rule_{t}"] = scores[t]
    for t in ("upsize", "delist"):
        cols[f"rule_{t}"] = naive_roster_score(frame, t)
    return pl.DataFrame(cols).fill_nan(None)


def snapshot(tables: Mapping[str, pl.LazyFrame | pl.DataFrame], year: int) -> pl.DataFrame:
    """The point-in-time §11 frame as of 1 January ``year`` (with history columns if supported)."""
    import inspect

    from features.asof import assessment_frame

    kw = {"history": True} if "history" in inspect.signature(assessment_frame).parameters else {}
    return assessment_frame(tables, date(year, 1, 1), **kw).collect()


def build_panel(
    tables: Mapping[str, pl.LazyFrame | pl.DataFrame],
    years: Iterable[int],
    *,
    baselines: bool = True,
) -> Panel:
    """One snapshot per target year Y (features as of 1 January Y) with the targets of Y.

    ``baselines`` adds the ``rule_<target>`` scores the backtest compares against (running the
    rule engine per year); training alone does not need them.
    """
    specs = feature_specs()
    parts = []
    for y in sorted(set(years)):
        frame = snapshot(tables, y)
        feats = model_frame(frame, y)
        tgt = make_targets(frame, tables, y)
        part = (
            feats.join(tgt, on="uscc", how="left", maintain_order="left")
            .with_columns(pl.lit(y, dtype=pl.Int32).alias("year"))
            .collect()
        )
        if baselines:
            part = pl.concat([part, baseline_scores(frame, y)], how="horizontal")
        parts.append(part)
    frame = pl.concat(parts, how="diagonal_relaxed")
    names = [s.name for s in specs if s.name in frame.columns]
    keep = [c for c in ID_COLUMNS if c in frame.columns]
    tcols = [c for t in TARGETS for c in (f"at_risk_{t}", f"y_{t}")]
    rcols = [f"rule_{t}" for t in TARGETS if f"rule_{t}" in frame.columns]
    frame = frame.select(*keep, "year", *names, *tcols, *rcols)
    specs_in = tuple(s for s in specs if s.name in names)
    return Panel(frame=frame, features=tuple(names), specs=specs_in)
