"""Model features on top of the assessment frame: one lazy function for batch, training and what-if.

Why one function: the learned scorer must see exactly the same numbers in training (many dates),
in the nightly batch and in the API's what-if (a single hand-edited frame row). So every feature
is an expression over the §11 frame; columns the frame lacks (history, extras, optional inputs)
read as null, and a feature built on them is null — never 0 and never an error. The catalogue of
names, Chinese labels, units and directions is ``features.catalog.CATALOG``.

Conventions: ratios with a zero, negative or null denominator are null (no ±inf); sums and means
over years are null if any year is null (missing is not zero); ages and years-to-expiry are
counted from the frame's ``as_of`` date in years of 365.25 days.

>>> from datetime import date
>>> row = pl.DataFrame({"uscc": ["A"], "revenue_y1": [2500.0], "rd_expense_y1": [100.0],
...                     "main_revenue_y1": [1500.0], "industry": ["3911"]})
>>> f = model_features(row, as_of=date(2025, 6, 30)).collect()
>>> f["rd_ratio_y1"].item(), round(f["gap_rd_ratio_3pct"].item(), 6), f["four_above_ratio"].item()
(0.04, 0.01, 0.75)
>>> f["revenue_growth_y1"].item() is None  # no Y−2 figure: unknown, not 0
True
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl

from features.asof import HISTORY_COLUMNS, Tables, assessment_frame
from features.catalog import CATALOG, FOUR_ABOVE_LINES, THRESHOLDS
from tiering.codes import WUHAN_DISTRICTS, ZONES, industries
from tiering.errors import TieringError
from tiering.frame import FRAME_COLUMNS, TIERS

__all__ = ["model_features"]

_F = pl.Float64()
_LEVELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rd_institution_rank": (
        "rd_institution_level",
        ("none", "below_city", "city", "provincial", "national"),
    ),
    "quality_award_rank": ("quality_award_level", ("none", "city", "provincial", "national")),
    "sci_award_level_rank": ("sci_award_level", ("none", "provincial", "national")),
    "niche_domain_rank": ("niche_domain", ("none", "foundation", "breakthrough")),
}
_DAYS_PER_YEAR = 365.25
_SECTIONS = "ABCDEFGHIJKLMNOPQRST"


def _ratio(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(b > 0).then(a / b)


def _growth(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return pl.when(b > 0).then(a / b - 1)


def _years(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days() / _DAYS_PER_YEAR


def _lookups() -> dict[str, dict[str, object]]:
    """Industry code → section / SEI flag, and the 四上 metric and line (class, then division)."""
    ind = industries()
    div = dict(zip(ind["code"], ind["division"], strict=True))
    line = {}
    for code, d in div.items():
        hit = FOUR_ABOVE_LINES.get(code) or FOUR_ABOVE_LINES.get(d)
        if hit:
            line[code] = hit
    return {
        "section": dict(zip(ind["code"], ind["section"], strict=True)),
        "sei": dict(zip(ind["code"], ind["sei"], strict=True)),
        "metric": {c: m for c, (m, _) in line.items()},
        "line": {c: v for c, (_, v) in line.items()},
    }


Column = Callable[..., pl.Expr]


def _base(c: Column, as_of: pl.Expr, cols: set[str]) -> dict[str, pl.Expr]:
    """Every non-gap feature as an expression (``c(name)`` reads a column or a typed null)."""
    lk = _lookups()
    rev = [c(f"revenue_y{k}") for k in (1, 2, 3, 4)]
    main = [c(f"main_revenue_y{k}") for k in (1, 2, 3)]
    year = as_of.dt.year()
    mean3 = (rev[0] + rev[1] + rev[2]) / 3
    mean4 = (rev[0] + rev[1] + rev[2] + rev[3]) / 4
    g1, g2 = _growth(main[0], main[1]), _growth(main[1], main[2])
    held = [c(f"held_{t}", pl.Boolean()) for t in TIERS]
    industry = c("industry", pl.String())
    metric_kind = industry.replace_strict(lk["metric"], default=None, return_dtype=pl.String())
    metric = pl.when(metric_kind == "main_revenue").then(main[0]).otherwise(rev[0])
    line = industry.replace_strict(lk["line"], default=None, return_dtype=_F)
    section = industry.replace_strict(lk["section"], default=None, return_dtype=pl.String())
    out: dict[str, pl.Expr] = {
        "revenue_mean_2y": (rev[0] + rev[1]) / 2,
        "revenue_mean_3y": mean3,
        "main_revenue_mean_3y": (main[0] + main[1] + main[2]) / 3,
        "revenue_growth_y1": _growth(rev[0], rev[1]),
        "revenue_growth_y2": _growth(rev[1], rev[2]),
        "main_growth_y1": g1,
        "main_growth_y2": g2,
        "main_growth_2y": (g1 + g2) / 2,
        "revenue_cagr_2y": pl.when((rev[2] > 0) & (rev[0] >= 0)).then((rev[0] / rev[2]).sqrt() - 1),
        "revenue_trend_3y": _ratio((rev[0] - rev[2]) / 2, mean3),
        "rd_growth_y1": _growth(c("rd_expense_y1"), c("rd_expense_y2")),
        "revenue_growth_y3": _growth(rev[2], rev[3]),
        "revenue_trend_4y": _ratio(
            (1.5 * rev[0] + 0.5 * rev[1] - 0.5 * rev[2] - 1.5 * rev[3]) / 5, mean4
        ),
        "employees_growth_y1": _growth(c("employees_y1"), c("employees_y2")),
        "assets_growth_y1": _growth(c("total_assets_y1"), c("total_assets_y2")),
        "rd_ratio_y1": _ratio(c("rd_expense_y1"), rev[0]),
        "rd_ratio_y2": _ratio(c("rd_expense_y2"), rev[1]),
        "rd_ratio_y3": _ratio(c("rd_expense_y3"), rev[2]),
        "rd_cost_ratio_y1": _ratio(c("rd_expense_y1"), c("total_costs_y1")),
        "rd_staff_share_y1": _ratio(c("rd_staff_y1"), c("employees_y1")),
        "rd_mean_2y": (c("rd_expense_y1") + c("rd_expense_y2")) / 2,
        "rd_total_2y": c("rd_expense_y1") + c("rd_expense_y2"),
        "main_share_y1": _ratio(main[0], rev[0]),
        "net_margin_y1": _ratio(c("net_profit_y1"), rev[0]),
        "net_margin_y2": _ratio(c("net_profit_y2"), rev[1]),
        "debt_ratio_y1": _ratio(c("total_liabilities_y1"), c("total_assets_y1")),
        "export_share_y1": _ratio(c("export_revenue_y1"), rev[0]),
        "equity_2y": c("equity_financing_y1") + c("equity_financing_y2"),
        "equity_3y": c("equity_financing_y1") + c("equity_financing_y2") + c("equity_financing_y3"),
        "class1_ip_change_1y": c("class1_ip") - c("class1_ip_y2"),
        "sci_award_age": year - c("sci_award_year"),
        "maker_china_age": year - c("maker_china_year"),
        "standard_led_age": year - c("standard_led_year"),
        "platform_score_best": pl.max_horizontal(c("platform_score_y0"), c("platform_score_y1")),
        "four_above_ratio": metric / line,
        "gap_four_above": metric - line,
        "titles_held": pl.sum_horizontal([h.cast(pl.Int64) for h in held]).cast(pl.Int64),
        "highest_title": pl.when(pl.any_horizontal([h.is_null() for h in held]))
        .then(None)
        .otherwise(
            pl.coalesce(
                *[pl.when(h).then(pl.lit(i + 1)) for i, h in reversed(list(enumerate(held)))],
                pl.lit(0),
            ).cast(pl.Int64())
        ),
        "ladder_years": _years(
            as_of, pl.min_horizontal([c(f"{t}_first_granted", pl.Date()) for t in TIERS])
        ),
        "age_years": _years(as_of, c("established", pl.Date())),
        "district_code": c("district", pl.String()).replace_strict(
            {d: i for i, d in enumerate(sorted(WUHAN_DISTRICTS))},
            default=None,
            return_dtype=pl.Int64(),
        ),
        "zone_code": (
            c("zone", pl.String())
            .replace_strict({z: i + 1 for i, z in enumerate(ZONES)}, default=None)
            .fill_null(pl.when(c("zone", pl.String()).is_null()).then(0))
            .cast(pl.Int64())
            if "zone" in cols
            else pl.lit(None, dtype=pl.Int64())
        ),
        "industry_section_code": section.replace_strict(
            {s: i for i, s in enumerate(_SECTIONS)}, default=None, return_dtype=pl.Int64()
        ),
        "sei_industry": industry.replace_strict(lk["sei"], default=None, return_dtype=pl.Boolean()),
        "manufacturing": section == "C",
    }
    # titles_held must be null when the titles are unknown (no recognitions table)
    out["titles_held"] = (
        pl.when(pl.any_horizontal([h.is_null() for h in held]))
        .then(None)
        .otherwise(out["titles_held"])
    )
    for t in TIERS:
        out[f"years_since_{t}_grant"] = _years(as_of, c(f"{t}_granted", pl.Date()))
        out[f"years_to_{t}_expiry"] = _years(c(f"{t}_expires", pl.Date()), as_of)
    for name, (src, levels) in _LEVELS.items():
        out[name] = c(src, pl.String()).replace_strict(
            {lv: i for i, lv in enumerate(levels)}, default=None, return_dtype=pl.Int64()
        )
    return out


def model_features(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: date | None = None,
    tables: Tables | None = None,
) -> pl.LazyFrame:
    """The frame with every ``CATALOG`` feature appended (or overwritten) as a column.

    ``as_of`` is read from the frame's ``as_of`` column (``assessment_frame`` adds it) or given
    here for a bare what-if row. If ``tables`` is given and the frame lacks the history columns,
    they are joined from ``assessment_frame(tables, as_of, history=True)`` (building the frame
    with ``history=True`` in the first place is cheaper).
    """
    lf = frame.lazy()
    names = set(lf.collect_schema().names())
    if "as_of" in names:
        as_of_expr = pl.col("as_of")
    elif as_of is not None:
        as_of_expr = pl.lit(as_of)
    else:
        raise TieringError(
            "model_features 需要评估日期：帧中无 as_of 列且未给出 as_of 参数", field="as_of"
        )
    if tables is not None and not set(HISTORY_COLUMNS) <= names:
        if as_of is None:
            raise TieringError("从原始表补充历史列需要 as_of 参数", field="as_of")
        hist = assessment_frame(tables, as_of, history=True).select("uscc", *HISTORY_COLUMNS)
        lf = lf.drop([h for h in HISTORY_COLUMNS if h in names]).join(
            hist, on="uscc", how="left", maintain_order="left"
        )
        names |= set(HISTORY_COLUMNS)
    known = {c.name: c.dtype for c in FRAME_COLUMNS}

    def c(name: str, dtype: pl.DataType = _F) -> pl.Expr:
        if name in names:
            return pl.col(name)
        return pl.lit(None, dtype=known.get(name, dtype))

    base = _base(c, as_of_expr, names)
    kinds = {"bool": pl.Boolean(), "categorical": pl.Int64(), "numeric": _F}
    passthrough = [
        c(n, kinds[f.kind]).alias(n)
        for n, f in CATALOG.items()
        if n not in base and not n.startswith("gap_")
    ]
    lf = lf.with_columns(passthrough, **base)
    gaps = {}
    for t in THRESHOLDS:
        v = pl.col(t.value).cast(_F)
        gaps[t.feature] = v - t.line if t.op == ">=" else t.line - v
    return lf.with_columns(**gaps)
