"""Model features: values, nulls (missing is not zero), dtypes, what-if parity, history."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.asof import assessment_frame
from features.catalog import CATALOG, THRESHOLDS
from features.model_features import model_features
from tiering.errors import TieringError

D = date(2025, 6, 30)
KIND_DTYPES = {
    "bool": {pl.Boolean()},
    "categorical": {pl.Int64()},
    "numeric": {pl.Float64(), pl.Int64()},
}


def feats(**cols) -> dict:
    """Model features of one bare what-if row (no as_of column)."""
    row = pl.DataFrame({"uscc": ["F1"], **{k: [v] for k, v in cols.items()}})
    return model_features(row, as_of=D).collect().row(0, named=True)


def test_every_catalog_feature_is_a_column_of_its_kind(city):
    out = model_features(assessment_frame(city, D)).collect()
    for name, f in CATALOG.items():
        assert out.schema[name] in KIND_DTYPES[f.kind], name
    numeric = [n for n, f in CATALOG.items() if out.schema[n] == pl.Float64()]
    assert out.select(pl.any_horizontal(pl.col(numeric).is_infinite()).sum()).item() == 0
    assert out.select(pl.any_horizontal(pl.col(numeric).is_nan()).sum()).item() == 0


def test_a_bare_row_gets_every_feature_and_unknowns_are_null():
    row = feats(revenue_y1=1000.0)
    assert set(CATALOG) <= set(row)
    assert row["revenue_growth_y1"] is None and row["titles_held"] is None
    assert row["held_innovative"] is None and row["gap_rd_expense_100"] is None


def test_as_of_is_required():
    with pytest.raises(TieringError, match="as_of"):
        model_features(pl.DataFrame({"uscc": ["A"]}))


@pytest.mark.parametrize(
    ("cols", "name", "expected"),
    [
        ({"rd_expense_y1": 30.0, "revenue_y1": 1000.0}, "rd_ratio_y1", 0.03),
        ({"rd_expense_y1": 30.0, "revenue_y1": 0.0}, "rd_ratio_y1", None),  # no ±inf
        ({"rd_expense_y1": 30.0}, "rd_ratio_y1", None),
        ({"total_liabilities_y1": 55.0, "total_assets_y1": 100.0}, "debt_ratio_y1", 0.55),
        ({"main_revenue_y1": 115.0, "main_revenue_y2": 100.0}, "main_growth_y1", 0.15),
        ({"main_revenue_y1": 115.0, "main_revenue_y2": 0.0}, "main_growth_y1", None),
        (  # SP-2 default formula: mean of the two yearly growth rates
            {"main_revenue_y1": 121.0, "main_revenue_y2": 110.0, "main_revenue_y3": 100.0},
            "main_growth_2y",
            0.10,
        ),
        ({"revenue_y1": 121.0, "revenue_y3": 100.0}, "revenue_cagr_2y", 0.10),
        ({"revenue_y1": 120.0, "revenue_y2": 100.0, "revenue_y3": 80.0}, "revenue_trend_3y", 0.2),
        ({"equity_financing_y1": 300.0, "equity_financing_y2": None}, "equity_2y", None),
        ({"equity_financing_y1": 300.0, "equity_financing_y2": 0.0}, "equity_2y", 300.0),
        ({"platform_score_y0": None, "platform_score_y1": 55.0}, "platform_score_best", 55.0),
        ({"platform_score_y0": 62.0, "platform_score_y1": 55.0}, "platform_score_best", 62.0),
        ({"sci_award_year": 2023}, "sci_award_age", 2),
        ({"rd_institution_level": "provincial"}, "rd_institution_rank", 3),
        ({"rd_institution_level": "bogus"}, "rd_institution_rank", None),
        ({"district": "420106"}, "district_code", 4),
        ({"district": "999999"}, "district_code", None),
        ({"industry": "3911"}, "industry_section_code", 2),
        ({"industry": "3911"}, "manufacturing", True),
        ({"industry": "5211"}, "manufacturing", False),
    ],
)
def test_values(cols, name, expected):
    got = feats(**cols)[name]
    if isinstance(expected, float):
        assert got == pytest.approx(expected)
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("industry", "main", "rev", "ratio"),
    [
        ("3911", 1500.0, 9e9, 0.75),  # 规上工业: main revenue / 2000
        ("5211", 250.0, 9e9, 0.5),  # 限上零售: main revenue / 500
        ("6110", 100.0, 9e9, 0.5),  # 住宿: / 200
        ("6513", 9e9, 1000.0, 0.5),  # 服务业 (a): revenue / 2000
        ("7020", 9e9, 500.0, 0.5),  # 物业管理 → 服务业 (b): revenue / 1000
        ("7010", 9e9, 9e9, None),  # 房地产开发: a flag group, no line
        ("4710", 9e9, 9e9, None),  # 建筑业: a flag group
    ],
)
def test_four_above_ratio_uses_the_firms_line(industry, main, rev, ratio):
    row = feats(industry=industry, main_revenue_y1=main, revenue_y1=rev)
    assert row["four_above_ratio"] == ratio


@pytest.mark.parametrize("t", THRESHOLDS, ids=lambda t: t.feature)
def test_gap_is_zero_on_the_line_and_positive_when_met(t):
    sources = {
        "rd_ratio_y1": {"rd_expense_y1": 3.0, "revenue_y1": 100.0},
        "rd_ratio_y2": {"rd_expense_y2": 3.0, "revenue_y2": 100.0},
        "equity_2y": {"equity_financing_y1": 0.0, "equity_financing_y2": 0.0},
        "equity_3y": {
            "equity_financing_y1": 0.0,
            "equity_financing_y2": 0.0,
            "equity_financing_y3": 0.0,
        },
        "rd_mean_2y": {"rd_expense_y1": 0.0, "rd_expense_y2": 0.0},
        "rd_total_2y": {"rd_expense_y1": 0.0, "rd_expense_y2": 0.0},
        "main_share_y1": {"main_revenue_y1": 0.0, "revenue_y1": 100.0},
        "debt_ratio_y1": {"total_liabilities_y1": 0.0, "total_assets_y1": 100.0},
        "main_growth_2y": {
            "main_revenue_y1": 100.0,
            "main_revenue_y2": 100.0,
            "main_revenue_y3": 100.0,
        },
        "revenue_cagr_2y": {"revenue_y1": 100.0, "revenue_y3": 100.0},
        "platform_score_best": {"platform_score_y1": 0.0},
        "main_revenue_mean_3y": {
            "main_revenue_y1": 0.0,
            "main_revenue_y2": 0.0,
            "main_revenue_y3": 0.0,
        },
        "rd_staff_share_y1": {"rd_staff_y1": 0, "employees_y1": 100},
    }
    base = sources.get(t.value, {t.value: 0.0})
    value = feats(**base)[t.value]
    gap = feats(**base)[t.feature]
    expected = value - t.line if t.op == ">=" else t.line - value
    assert gap == pytest.approx(expected)
    assert math.copysign(1, gap) == (1 if (value >= t.line) == (t.op == ">=") else -1) or gap == 0


def test_titles_and_time(build):
    rec = [
        {
            "uscc": "F1",
            "tier": "innovative",
            "granted": date(2023, 6, 30),
            "expires": date(2026, 6, 30),
        },
        {
            "uscc": "F1",
            "tier": "specialized",
            "granted": date(2024, 12, 30),
            "expires": date(2027, 12, 29),
        },
        {
            "uscc": "F1",
            "tier": "tech_sme",
            "granted": date(2019, 1, 1),
            "expires": date(2019, 12, 31),
        },
    ]
    tables = build.tables_of(firms=[build.firm(established=date(2015, 6, 30))], recognitions=rec)
    row = model_features(assessment_frame(tables, D)).collect().row(0, named=True)
    assert row["years_since_innovative_grant"] == pytest.approx(731 / 365.25)
    assert row["years_to_innovative_expiry"] == pytest.approx(365 / 365.25)
    assert row["years_since_tech_sme_grant"] is None and row["years_to_champion_expiry"] is None
    assert (row["titles_held"], row["highest_title"]) == (2, 3)
    assert row["ladder_years"] == pytest.approx((D - date(2019, 1, 1)).days / 365.25)
    assert row["age_years"] == pytest.approx((D - date(2015, 6, 30)).days / 365.25)


def test_what_if_row_equals_the_batch_row(city):
    frame = assessment_frame(city, D).collect()
    batch = model_features(frame).collect()
    uscc = batch.filter(pl.col("revenue_y1").is_not_null())["uscc"][7]
    row = frame.filter(pl.col("uscc") == uscc).drop("as_of")
    what_if = model_features(row, as_of=D).collect()
    assert_frame_equal(
        what_if.select(list(CATALOG)), batch.filter(pl.col("uscc") == uscc).select(list(CATALOG))
    )


def test_history_from_tables_equals_history_frame(city):
    with_hist = model_features(assessment_frame(city, D, history=True)).collect()
    joined = model_features(assessment_frame(city, D), as_of=D, tables=city).collect()
    assert_frame_equal(with_hist.select(list(CATALOG)), joined.select(list(CATALOG)))
    assert with_hist["revenue_growth_y3"].drop_nulls().len() > 0
    without = model_features(assessment_frame(city, D)).collect()
    assert without["revenue_growth_y3"].null_count() == without.height


def test_model_features_are_point_in_time(city, build):
    d = date(2024, 2, 29)
    before = model_features(assessment_frame(city, d, history=True)).collect()
    after = model_features(
        assessment_frame(build.perturb_after(city, d), d, history=True)
    ).collect()
    assert_frame_equal(before, after)
