"""Gaps in the criterion's own unit and the plain-Chinese gap text staff read."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tiering.diff import rules_diff
from tiering.explain import format_number, gap_text
from tiering.pack_model import SIZE_LABELS, STATUS_LABELS, TIER_LABELS, VERDICT_LABELS

from .conftest import AS_OF, frame, run


def _row(a, pack: str, cid: str, row: int = 0) -> dict:
    return a.criteria.filter(
        (pl.col("pack") == pack)
        & (pl.col("criterion_id") == cid)
        & (pl.col("uscc") == f"91420100MA4K{row:06d}")
    ).to_dicts()[0]


def test_money_gap_in_wan_yuan() -> None:
    # SP-M2: R&D 61.5 万元 on revenue 1000 → 38.5 万元 short of 100 (ratio 6.15 % passes)
    r = _row(
        run({"rd_expense_y1": 61.5, "revenue_y1": 1000.0}, "specialized-2022"),
        "specialized-2022",
        "SP-M2",
    )
    assert r["status"] == "unmet" and r["unit"] == "万元"
    assert r["gap"] == pytest.approx(38.5) and r["threshold"] == 100 and r["value"] == 61.5
    assert r["gap_text"] == "研发费用差 38.5 万元"


def test_ratio_gap_in_percentage_points() -> None:
    # R&D 208 on revenue 8000 = 2.6 % → 0.4 个百分点 short of 3 %
    r = _row(run({"rd_expense_y1": 208.0}, "specialized-2022"), "specialized-2022", "SP-M2")
    assert r["unit"] == "ratio" and r["gap"] == pytest.approx(0.004)
    assert r["gap_text"] == "研发费用占比差 0.4 个百分点"


def test_both_shortfalls_are_worded() -> None:
    r = _row(
        run({"rd_expense_y1": 90.0, "revenue_y1": 5000.0}, "specialized-2022"),
        "specialized-2022",
        "SP-M2",
    )
    assert r["gap_text"] == "研发费用差 10 万元；研发费用占比差 1.2 个百分点"


def test_ip_gap_counts_items() -> None:
    a = run({"class1_ip": 0, "class2_ip": 0}, "specialized-2026")
    assert _row(a, "specialized-2026", "SP6-P6")["gap_text"].startswith("还需 1 项Ⅰ类知识产权")
    lg = run({"class1_ip": 1}, "little_giant-2026")
    r = _row(lg, "little_giant-2026", "LG6-X4")
    assert r["gap"] == 3 and r["unit"] == "项" and r["gap_text"].startswith("还需 3 项Ⅰ类知识产权")


def test_indicator_gap_to_next_band() -> None:
    # IN-2: 2.6 % scores 10 (2–3 % band); the next band starts at 3 % → 0.4 个百分点
    r = _row(run({"rd_expense_y1": 208.0}, "innovative-2022"), "innovative-2022", "IN-2")
    assert (r["points"], r["max_points"], r["threshold"]) == (10, 20, 0.03)
    assert r["gap_text"] == "研发费用占比差 0.4 个百分点"
    # IN-1: only Ⅱ类 IP (5 points) → the next step needs one Ⅰ类
    r = _row(run({"class1_ip": 0}, "innovative-2022"), "innovative-2022", "IN-1")
    assert r["points"] == 5 and r["gap_text"] == "还需 1 项Ⅰ类知识产权"
    # top band: no gap
    r = _row(run({}, "innovative-2022"), "innovative-2022", "IN-6")
    assert r["points"] == 20 and r["gap"] is None and r["gap_text"] is None


def test_debt_ratio_over_the_line() -> None:
    r = _row(
        run({"total_liabilities_y1": 8310.0}, "specialized-2026"), "specialized-2026", "SP6-P4"
    )
    assert r["gap"] == pytest.approx(0.031) and r["gap_text"] == "资产负债率超出 3.1 个百分点"


def test_met_criteria_have_no_gap_text() -> None:
    c = run({}, "specialized-2026").criteria.filter(pl.col("status") == "met")
    assert c["gap_text"].null_count() == c.height


@pytest.mark.parametrize(
    ("gap", "unit", "op", "text"),
    [
        (38.5, "万元", ">=", "研发费用差 38.5 万元"),
        (100.0, "万元", ">=", "研发费用差 100 万元"),
        (0.004, "ratio", ">=", "研发费用差 0.4 个百分点"),
        (1.2, "项", ">=", "还需 2 项研发费用"),
        (2, "名", "<=", "研发费用需提升 2 名"),
        (0.5, "年", ">=", "研发费用差 0.5 年"),
    ],
)
def test_gap_text_python_form(gap, unit, op, text) -> None:
    assert gap_text(gap, "研发费用", unit, op) == text


def test_format_number() -> None:
    assert format_number(0.0415, "ratio") == "4.15"
    assert format_number(3.0, "项") == "3"


def test_labels_cover_every_code() -> None:
    assert set(STATUS_LABELS) == {"met", "unmet", "unknown", "manual_review"}
    assert set(VERDICT_LABELS) == {"met", "unmet", "undetermined"}
    assert {"tech_sme", "innovative", "specialized", "little_giant", "champion"} <= set(TIER_LABELS)
    assert set(SIZE_LABELS) == {"large", "medium", "small", "micro", "not_applicable", "unknown"}


def test_rules_diff_names_causes_and_counts() -> None:
    f = frame(
        {},  # meets both
        {"main_revenue_y1": 6320.0},  # 79 %: 61 points under 2022, fails SP6-P3 (80 %) in 2026
        {"niche_years": 2.5},  # 2022 needs 2 years, 2026 needs 3 → loses
        {"rd_expense_y1": 50.0},  # fails both
    )
    d = rules_diff(f, "specialized-2022", "specialized-2026", AS_OF)
    causes = {r["uscc"][-1]: set(r["causes"]) for r in d.firms.to_dicts()}
    assert causes == {"1": {"SP6-P3"}, "2": {"SP6-P1"}}
    assert d.by_district["loss"].sum() == 2 and d.by_district["district"].to_list() == ["420111"]
    assert d.by_industry["division"].to_list() == ["39"]
    assert d.summary()["changed"] == 2


def test_packs_in_force_switch_inside_assess() -> None:
    before = run({}, "specialized-2022", as_of=dt.date(2026, 3, 31))
    assert set(before.tiers["pack"].cast(pl.String)) == {"specialized-2022"}
    from tiering.engine import assess

    a = assess(frame({}), dt.date(2026, 4, 1))
    assert "specialized-2026" in a.packs and "specialized-2022" not in a.packs
