"""Hand-worked firms, at least three per pack. Expected points per criterion are worked out from
the spec tables (criteria.md) in the comments next to each value; the baseline firm is in
conftest (revenue 8000, main 7200/6300/5400, R&D 400/350, costs 7000, staff 30 of 200,
debt 5000 of 10000, 1 Ⅰ类 + 3 Ⅱ类 IP, city R&D lab, digital 2, ISO + own brand, niche 6 years)."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import points, run, statuses, tier_row

#: hand-worked expectations hold for both backends of the engine (numpy and polars)
pytestmark = pytest.mark.usefixtures("both_backends")

NON_SEI = "1311"  # 稻谷加工: manufacturing, not in 战略性新兴产业分类(2018)


# --------------------------------------------------------------------------- tech_sme-2017
TECH = [
    # A: TS-1 30/200=15 % → 8; TS-2 400/8000=5 % → 40 (costs basis 5.7 % → 0); TS-3 Ⅰ类 → 30
    ({}, {"TS-1": 8, "TS-2": 40, "TS-3": 30}, 78, "met"),
    # B: staff 19/200=9.5 % → 0 (fails the tier); R&D 160/8000=2 % → 10; 2 Ⅱ类 → 12
    (
        {"rd_staff_y1": 19, "rd_expense_y1": 160.0, "class1_ip": 0, "class2_ip": 2},
        {"TS-1": 0, "TS-2": 10, "TS-3": 12},
        22,
        "unmet",
    ),
    # C: 高企 route but 600 employees breaks TS-G2; staff 30/600=5 % → 0
    ({"high_tech": True, "employees_y1": 600}, {"TS-1": 0, "TS-2": 40, "TS-3": 30}, 70, "unmet"),
    # D: R&D/costs basis is the better one: 2100/7000=30 % → 50 (revenue basis 2100/80000=2.6 % → 10)
    (
        {"revenue_y1": 80000.0, "rd_expense_y1": 2100.0, "total_assets_y1": 15000.0},
        {"TS-1": 8, "TS-2": 50, "TS-3": 30},
        88,
        "unmet",
    ),  # revenue 80000 > 20000 → TS-G2 unmet
]


@pytest.mark.parametrize(("row", "pts", "total", "verdict"), TECH)
def test_tech_sme(row, pts, total, verdict) -> None:
    a = run(row, "tech_sme-2017")
    assert points(a, "tech_sme-2017") == pts
    t = tier_row(a, "tech_sme-2017")
    assert (t["score"], t["verdict"]) == (total, verdict)


def test_tech_sme_unknown_staff_is_undetermined() -> None:
    a = run({"rd_staff_y1": None}, "tech_sme-2017")
    t = tier_row(a, "tech_sme-2017")
    # TS-1 unknown: worst 0 + 40 + 30 = 70, best 20 + 40 + 30 = 90; TS-1 > 0 unknown
    assert (t["score"], t["score_min"], t["score_max"], t["verdict"]) == (
        None,
        70,
        90,
        "undetermined",
    )


# --------------------------------------------------------------------------- innovative-2022
INNOV = [
    # A: IN-1 Ⅰ类 → 10; IN-2 5 % → 20; IN-3 7200/6300−1=14.3 % → 15; IN-4 50 % → 10; IN-5 SEI → 10; IN-6 90 % → 20
    ({}, {"IN-1": 10, "IN-2": 20, "IN-3": 15, "IN-4": 10, "IN-5": 10, "IN-6": 20}, 85, "met"),
    # B: no IP → 0; 50/8000=0.6 % → 0; 6000/6300−1=−4.8 % → 0; debt 80 % → 0; non-SEI → 5; 6000/8000=75 % → 20
    (
        {
            "class1_ip": 0,
            "class2_ip": 0,
            "rd_expense_y1": 50.0,
            "main_revenue_y1": 6000.0,
            "total_liabilities_y1": 8000.0,
            "industry": NON_SEI,
        },
        {"IN-1": 0, "IN-2": 0, "IN-3": 0, "IN-4": 0, "IN-5": 5, "IN-6": 20},
        25,
        "unmet",
    ),
    # C: 75 points but 成长性 = 5 + 0 < 15 → unmet (no direct route)
    (
        {"class1_high_value": 1, "main_revenue_y1": 6300.0, "total_liabilities_y1": 8000.0},
        {"IN-1": 20, "IN-2": 20, "IN-3": 5, "IN-4": 0, "IN-5": 10, "IN-6": 20},
        75,
        "unmet",
    ),
    # D: as C plus a valid 高企 certificate → direct route IN-D2
    (
        {
            "class1_high_value": 1,
            "main_revenue_y1": 6300.0,
            "total_liabilities_y1": 8000.0,
            "high_tech": True,
        },
        {"IN-1": 20, "IN-2": 20, "IN-3": 5, "IN-4": 0, "IN-5": 10, "IN-6": 20},
        75,
        "met",
    ),
]


@pytest.mark.parametrize(("row", "pts", "total", "verdict"), INNOV)
def test_innovative(row, pts, total, verdict) -> None:
    a = run(row, "innovative-2022")
    assert points(a, "innovative-2022") == pts
    t = tier_row(a, "innovative-2022")
    assert (t["score"], t["verdict"]) == (total, verdict)


def test_innovative_partial_sei_is_manual_review() -> None:
    a = run([{"industry": "3311"}, {"industry": "3311", "sei_product": True}], "innovative-2022")
    assert statuses(a, "innovative-2022", 0)["IN-5"] == "manual_review"
    assert points(a, "innovative-2022", 1)["IN-5"] == 10
    t = tier_row(a, "innovative-2022", 0)
    assert (t["score_min"], t["score_max"]) == (80, 85)


def test_innovative_not_assessed_for_specialized_holders() -> None:
    a = run({"held_specialized": True}, "innovative-2022")
    assert tier_row(a, "innovative-2022")["assessed"] is False


# --------------------------------------------------------------------------- specialized-2022
SP_A = {
    "SP-1": 5,
    "SP-2": 10,
    "SP-3": 3,
    "SP-4": 3,
    "SP-5": 3,
    "SP-6": 5,
    "SP-7": 4,
    "SP-8": 5,
    "SP-9": 6,
    "SP-10": 6,
    "SP-11": 8,
    "SP-12": 3,
    "SP-13": 4,
}
# A: SP-1 90 % → 5; SP-2 mean(16.7 %, 14.3 %)=15.5 % → 10; SP-3 6 years → 3; SP-4 foundation → 3;
# SP-5 level 2 → 3; SP-6 ISO + brand = 6 → capped 5; SP-7 400/8000=5 % → 4; SP-8 50 % → 5;
# SP-9 6; SP-10 Ⅰ类 → 6; SP-11 400 万元 → 8 (ratio 5 % → 4); SP-12 15 % → 3; SP-13 city → 4 = 65
SP_B = {
    "SP-1": 5,
    "SP-2": 10,
    "SP-3": 3,
    "SP-4": 0,
    "SP-5": 0,
    "SP-6": 0,
    "SP-7": 0,
    "SP-8": 0,
    "SP-9": 0,
    "SP-10": 0,
    "SP-11": 6,
    "SP-12": 3,
    "SP-13": 0,
}
# B: weak on points (27) but 3000 + 3000 equity → SP-Z3; SP-11 300 万元 → 6 (ratio 3.75 % → 2)
SPEC = [
    ({}, SP_A, 65, "met"),
    (
        {
            "niche_domain": "none",
            "digital_level": 1,
            "iso9001": False,
            "own_brand": False,
            "net_profit_y1": 0.0,
            "total_liabilities_y1": 7500.0,
            "local_feature_points": 0.0,
            "class1_ip": 0,
            "class2_ip": 0,
            "rd_expense_y1": 300.0,
            "rd_institution_level": "none",
            "equity_financing_y1": 3000.0,
            "equity_financing_y2": 3000.0,
        },
        SP_B,
        27,
        "met",
    ),
    # C: R&D 90 万元 fails SP-M2; SP-11 90 and 1.1 % → 0 → 57
    ({"rd_expense_y1": 90.0}, SP_A | {"SP-7": 4, "SP-11": 0}, 57, "unmet"),
]


@pytest.mark.parametrize(("row", "pts", "total", "verdict"), SPEC)
def test_specialized_2022(row, pts, total, verdict) -> None:
    a = run(row, "specialized-2022")
    assert points(a, "specialized-2022") == pts
    t = tier_row(a, "specialized-2022")
    assert (t["score"], t["verdict"]) == (total, verdict)


def test_specialized_2022_unknown_local_points_bounds() -> None:
    a = run({"local_feature_points": None}, "specialized-2022")
    t = tier_row(a, "specialized-2022")
    assert (t["score_min"], t["score_max"], t["verdict"]) == (59, 74, "undetermined")


def test_specialized_2022_cagr_parameter_is_data() -> None:
    from tiering.pack_loader import load_pack

    assert "cagr" in load_pack("specialized-2022").derived["main_growth_2y"]


# --------------------------------------------------------------------------- pass/fail packs
STATUS_CASES = [
    # specialized-2026 — A baseline passes P1..P8 (P3 7200/8000 = 90 %, P5 5 % and 350/7000 = 5 %)
    (
        "specialized-2026",
        {},
        {"SP6-P3": "met", "SP6-P5": "met", "SP6-P8": "met", "SP6-P0": "unmet"},
        "met",
    ),
    ("specialized-2026", {"main_revenue_y1": 6320.0}, {"SP6-P3": "unmet"}, "unmet"),  # 79 %
    ("specialized-2026", {"platform_score_y0": None}, {"SP6-P8": "unknown"}, "undetermined"),
    # little_giant-2022 — A: share 5 % < 10 % (LG-7)
    ("little_giant-2022", {}, {"LG-7": "unmet", "LG-3": "met"}, "unmet"),
    # B: share 12 %, 2 Ⅰ类, revenue 8000 (5000–10000 band) with R&D 480/8000 = 6 % and 420/7000 = 6 %
    (
        "little_giant-2022",
        {
            "market_share_domestic": 0.12,
            "class1_ip": 2,
            "rd_expense_y1": 480.0,
            "rd_expense_y2": 420.0,
        },
        {"LG-7": "met", "LG-9": "met", "LG-11": "met"},
        "met",
    ),
    # C: as B but the chain-link fact is missing → manual review
    (
        "little_giant-2022",
        {
            "market_share_domestic": 0.12,
            "class1_ip": 2,
            "rd_expense_y1": 480.0,
            "rd_expense_y2": 420.0,
            "key_chain_link": None,
        },
        {"LG-12": "manual_review"},
        "undetermined",
    ),
    # D: LG-9 fails (5 %) but national award rank 2 in 2024 → LG-D1 route
    (
        "little_giant-2022",
        {
            "market_share_domestic": 0.12,
            "class1_ip": 2,
            "sci_award_level": "national",
            "sci_award_rank": 2,
            "sci_award_year": 2024,
        },
        {"LG-9": "unmet", "LG-D1": "met"},
        "met",
    ),
    # little_giant-2026 — A: R&D 400 + 350 < 1200 (X3)
    ("little_giant-2026", {}, {"LG6-X2b": "met", "LG6-X2c": "met", "LG6-X3": "unmet"}, "unmet"),
    (
        "little_giant-2026",
        {
            "rd_expense_y1": 700.0,
            "rd_expense_y2": 600.0,
            "class1_ip": 4,
            "domestic_rank": 2,
            "platform_score_y0": 61.0,
        },
        {"LG6-X3": "met", "LG6-X5": "met", "LG6-X7": "met"},
        "met",
    ),
    (
        "little_giant-2026",
        {"rd_expense_y1": 700.0, "rd_expense_y2": 600.0, "class1_ip": 4, "domestic_rank": 2},
        {"LG6-X7": "unmet"},
        "unmet",
    ),  # platform 55 < 60
    # champion-2023 — A: 6 years, mean main revenue 6300, rank 20
    (
        "champion-2023",
        {},
        {"CH-0": "met", "CH-1": "unmet", "CH-2": "unmet", "CH-3": "unmet", "CH-4": "manual_review"},
        "unmet",
    ),
    # B: 12 years, mean(45000, 40000, 35000) = 40000 on the edge, rank 2 → only CH-4 left to staff
    (
        "champion-2023",
        {
            "years_in_field": 12.0,
            "main_revenue_y1": 45000.0,
            "main_revenue_y2": 40000.0,
            "main_revenue_y3": 35000.0,
            "global_rank": 2,
        },
        {"CH-1": "met", "CH-2": "met", "CH-3": "met", "CH-4": "manual_review", "CH-5": "met"},
        "undetermined",
    ),
    (
        "champion-2023",
        {
            "industry": "6513",
            "years_in_field": 12.0,
            "main_revenue_y1": 45000.0,
            "main_revenue_y2": 40000.0,
            "main_revenue_y3": 35000.0,
            "global_rank": 2,
        },
        {"CH-0": "unmet"},
        "unmet",
    ),
    # EL (read through innovative-2022's verdict)
    ("innovative-2022", {}, {}, "met"),
    ("innovative-2022", {"status": "cancelled", "abnormal_operation": True}, {}, "unmet"),
    ("innovative-2022", {"incident_3y": None}, {}, "undetermined"),
]


@pytest.mark.parametrize(("pack", "row", "expected", "verdict"), STATUS_CASES)
def test_pass_fail_packs(pack, row, expected, verdict) -> None:
    a = run(row, pack)
    got = statuses(a, pack)
    assert {k: got[k] for k in expected} == expected
    assert tier_row(a, pack)["verdict"] == verdict


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({}, {"EL-1": "met", "EL-2": "met", "EL-3": "met", "EL-4": "met", "EL-5": "manual_review"}),
        (
            {"status": "cancelled", "abnormal_operation": True},
            {"EL-1": "unmet", "EL-3": "unmet", "EL-4": "met"},
        ),
        (
            {"incident_3y": None, "employees_y1": 1000, "revenue_y1": 40000.0},
            {"EL-4": "unknown", "EL-2": "unmet"},
        ),
    ],
)
def test_common_eligibility(row, expected) -> None:
    a = run(row, "innovative-2022")
    got = statuses(a, "EL")
    assert {k: got[k] for k in expected} == expected


def test_review_relaxations() -> None:
    row = {
        "rd_expense_y1": 700.0,
        "rd_expense_y2": 600.0,
        "class1_ip": 4,
        "domestic_rank": 2,
        "revenue_y3": 8000.0,
        "platform_score_y0": 55.0,
        "platform_score_y1": 62.0,
    }
    new = run(row, "little_giant-2026")
    assert statuses(new, "little_giant-2026")["LG6-X2c"] == "unmet"  # CAGR 0 %
    rev = run(row, "little_giant-2026", application="review")
    s = statuses(rev, "little_giant-2026")
    assert "LG6-X2c" not in s and s["LG6-X7"] == "met"
    assert tier_row(rev, "little_giant-2026")["verdict"] == "met"
    sp = run(
        {"platform_score_y0": 45.0, "platform_score_y1": 52.0},
        "specialized-2026",
        application="review",
        as_of=dt.date(2026, 6, 30),
    )
    assert statuses(sp, "specialized-2026")["SP6-P8"] == "met"
