"""Firm-level derivations: size class (§7), 四上 group and flags (§8), ladder and §9 flags."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tiering.engine import assess
from tiering.ladder import one_year_after

from .conftest import AS_OF, frame


def firms(*rows, packs=None, as_of=AS_OF) -> list[dict]:
    return (
        assess(frame(*rows), as_of, packs=packs)
        .firms.with_columns(pl.col(pl.Enum).cast(pl.String))
        .to_dicts()
    )


SIZE = [
    (
        {"industry": "3973", "employees_y1": 1000, "revenue_y1": 40000.0},
        "large",
    ),  # both on the 大型 line
    ({"industry": "3973", "employees_y1": 1000, "revenue_y1": 39999.99}, "medium"),
    ({"industry": "3973", "employees_y1": 299, "revenue_y1": 50000.0}, "small"),  # drops two bands
    (
        {"industry": "3973", "employees_y1": 19, "revenue_y1": 50000.0},
        "micro",
    ),  # one metric below 小型
    ({"industry": "3973", "employees_y1": 20, "revenue_y1": 300.0}, "small"),
    ({"industry": "5211", "employees_y1": 50, "revenue_y1": 500.0}, "medium"),  # 零售 50 / 500
    ({"industry": "5211", "employees_y1": 49, "revenue_y1": 500.0}, "small"),
    (
        {"industry": "7010", "revenue_y1": 200000.0, "total_assets_y1": 10000.0},
        "large",
    ),  # 房地产开发 Y / Z
    ({"industry": "7010", "revenue_y1": 200000.0, "total_assets_y1": 1999.99}, "micro"),
    ({"industry": "6513", "employees_y1": 5, "revenue_y1": 5000.0}, "micro"),  # 软件 10 people line
    ({"industry": "7040", "employees_y1": 300}, "large"),  # 其他 K → X only
    ({"industry": "6621", "employees_y1": 5000}, "not_applicable"),  # 金融业
    ({"industry": "5311", "employees_y1": 5000}, "not_applicable"),  # 铁路运输 excluded
    ({"industry": "3973", "employees_y1": None}, "unknown"),
    ({"industry": None}, "unknown"),
]


def test_size_classes() -> None:
    got = [f["size_class"] for f in firms(*(r for r, _ in SIZE))]
    assert got == [e for _, e in SIZE]


FOUR = [
    # (row, group, meets, hidden, upsize, delist)
    (
        {"main_revenue_y1": 2000.0, "main_revenue_y2": 2000.0, "in_four_above": True},
        "industry",
        True,
        False,
        False,
        False,
    ),
    ({"main_revenue_y1": 2500.0, "in_four_above": False}, "industry", True, True, False, False),
    # 1500 = 75 % of 2000; needs +33 %; grew 1200→1500 = +25 % → not within reach
    (
        {"main_revenue_y1": 1500.0, "main_revenue_y2": 1200.0, "in_four_above": False},
        "industry",
        False,
        False,
        False,
        False,
    ),
    # grew 1000→1500 = +50 % ≥ +33 % → upsize candidate
    (
        {"main_revenue_y1": 1500.0, "main_revenue_y2": 1000.0, "in_four_above": False},
        "industry",
        False,
        False,
        True,
        False,
    ),
    ({"main_revenue_y1": 1999.99, "in_four_above": True}, "industry", False, False, False, True),
    # on the roster, within 10 % above the line and falling → delist risk
    (
        {"main_revenue_y1": 2100.0, "main_revenue_y2": 2300.0, "in_four_above": True},
        "industry",
        True,
        False,
        False,
        True,
    ),
    (
        {"main_revenue_y1": 2100.0, "main_revenue_y2": 2000.0, "in_four_above": True},
        "industry",
        True,
        False,
        False,
        False,
    ),
    (
        {"industry": "5211", "main_revenue_y1": 500.0, "in_four_above": False},
        "retail",
        True,
        True,
        False,
        False,
    ),
    (
        {"industry": "7211", "revenue_y1": 999.99, "in_four_above": False},
        "services_b",
        False,
        False,
        False,
        False,
    ),
    (
        {"industry": "4710", "construction_qualified": True, "in_four_above": False},
        "construction",
        True,
        True,
        False,
        False,
    ),
    ({"industry": "6621", "in_four_above": False}, None, False, False, False, False),
]


def test_four_above() -> None:
    got = firms(*(r for r, *_ in FOUR))
    for f, (_, group, meets, hidden, up, delist) in zip(got, FOUR, strict=True):
        assert (
            f["four_above_group"],
            f["meets_four_above"],
            f["hidden_four_above"],
            f["upsize_candidate"],
            f["delist_risk"],
        ) == (group, meets, hidden, up, delist)


def test_ladder_placement() -> None:
    got = firms({}, {"held_innovative": True}, {"held_champion": True})
    # baseline meets innovative, tech_sme and specialized-2026 by criteria
    assert (
        got[0]["eligible_by_criteria"] == "specialized" and got[0]["eligible_tier"] == "innovative"
    )
    assert got[0]["held_tier"] is None and got[0]["next_tier"] == "innovative"
    assert got[1]["eligible_tier"] == "specialized" and got[1]["next_tier"] == "specialized"
    assert got[1]["held_tech_innovative"] is True
    assert got[2]["held_tier"] == "champion" and got[2]["next_tier"] is None


LG_2022_ONLY = {  # meets little_giant-2022 but not 2026 (R&D 480 + 420 < 1200)
    "market_share_domestic": 0.12,
    "class1_ip": 2,
    "rd_expense_y1": 480.0,
    "rd_expense_y2": 420.0,
    "held_little_giant": True,
    "held_specialized": True,
    "specialized_expires": dt.date(2028, 1, 1),
}


def test_review_risk_uses_the_review_pack_of_the_expiry_date() -> None:
    got = firms(
        LG_2022_ONLY
        | {"little_giant_expires": dt.date(2026, 12, 1)},  # 2026 review → 2022 standard
        LG_2022_ONLY | {"little_giant_expires": dt.date(2027, 5, 1)},  # 2027 review → 2026 standard
        LG_2022_ONLY | {"little_giant_expires": dt.date(2027, 7, 1)},  # beyond 12 months
        {
            "held_specialized": True,
            "specialized_expires": dt.date(2027, 3, 1),
            "platform_score_y0": 40.0,
            "platform_score_y1": 45.0,
        },  # fails SP6-P8 at review
        {"held_specialized": True, "specialized_expires": dt.date(2027, 3, 1)},
        {"held_innovative": True, "incident_3y": True},
    )
    assert [f["review_risk"] for f in got] == [False, True, False, True, False, True]
    assert [f["revocation"] for f in got] == [False, False, False, False, False, True]


def test_one_year_after_leap_day() -> None:
    assert one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


def test_unknown_inputs_never_raise_flags_alone() -> None:
    got = firms(
        {
            "held_innovative": True,
            "incident_3y": None,
            "fraud_3y": False,
            "serious_dishonesty": False,
            "innovative_expires": dt.date(2029, 1, 1),
        },
        {"held_specialized": True, "specialized_expires": None},  # unknown expiry → unknown risk
    )
    assert got[0]["revocation"] is None and got[0]["review_risk"] is None
    assert got[1]["review_risk"] is None and got[1]["revocation"] is False


def test_output_rows_keep_input_order() -> None:
    inds = ["6513", "3973", "5211", "0111", "7010", "3973"]
    a = assess(frame(*({"industry": i} for i in inds)), AS_OF)
    assert a.firms["uscc"].to_list() == [f"91420100MA4K{i:06d}" for i in range(len(inds))]


@pytest.mark.parametrize("as_of", [dt.date(2025, 6, 30), dt.date(2026, 6, 30)])
def test_firm_frame_shape(as_of: dt.date) -> None:
    a = assess(frame({}, {}), as_of)
    assert a.firms.columns[0] == "uscc" and a.firms.height == 2
    assert {
        "size_class",
        "four_above_group",
        "meets_four_above",
        "held_tier",
        "eligible_tier",
        "eligible_by_criteria",
        "next_tier",
        "upsize_candidate",
        "hidden_four_above",
        "delist_risk",
        "review_risk",
        "revocation",
    } <= set(a.firms.columns)
