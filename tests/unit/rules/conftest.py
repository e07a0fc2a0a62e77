"""Fixtures of the rule tests: a complete baseline firm and helpers to run one pack.

The baseline is a mid-sized manufacturer (集成电路制造 3973, a full SEI code) that meets the
common eligibility; each test overrides only the columns it is about, so a failing test names
the rule it exercises.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from tiering.engine import Assessment, assess
from tiering.frame import FRAME_COLUMNS, frame_schema

AS_OF = dt.date(2026, 6, 30)

BASE: dict[str, Any] = {
    "uscc": "91420100MA4K000000",
    "name": "示例科技有限公司",
    "district": "420111",
    "industry": "3973",
    "status": "active",
    "resident": True,
    "employees_y1": 200,
    "total_assets_y1": 10000.0,
    "revenue_y1": 8000.0,
    "revenue_y2": 7000.0,
    "revenue_y3": 6000.0,
    "main_revenue_y1": 7200.0,
    "main_revenue_y2": 6300.0,
    "main_revenue_y3": 5400.0,
    "total_costs_y1": 7000.0,
    "net_profit_y1": 400.0,
    "total_liabilities_y1": 5000.0,
    "rd_expense_y1": 400.0,
    "rd_expense_y2": 350.0,
    "rd_staff_y1": 30,
    "equity_financing_y1": 0.0,
    "equity_financing_y2": 0.0,
    "equity_financing_y3": 0.0,
    "class1_ip": 1,
    "class1_self_developed": 0,
    "class1_high_value": 0,
    "class2_ip": 3,
    "high_tech": False,
    "honor_ip_demo": False,
    "rd_institution_level": "city",
    "digital_level": 2,
    "quality_award_level": "none",
    "iso9001": True,
    "own_brand": True,
    "standards_participation": False,
    "standard_led_year": 0,  # 0 = never (null would mean unknown)
    "sci_award_level": "none",
    "sci_award_rank": None,
    "sci_award_year": None,
    "maker_china_rank": None,
    "maker_china_year": 0,  # 0 = never
    "niche_years": 6.0,
    "niche_domain": "foundation",
    "sei_product": None,
    "market_share_domestic": 0.05,
    "market_share_global": 0.01,
    "domestic_rank": 8,
    "global_rank": 20,
    "market_position_ok": True,
    "key_chain_link": True,
    "lg_domain_2022": True,
    "lg_domain_2026": True,
    "years_in_field": 6.0,
    "new_product": False,
    "platform_score_y0": 55.0,
    "platform_score_y1": 45.0,
    "local_feature_points": 6.0,
    "in_four_above": True,
    "construction_qualified": None,
    "real_estate_active": None,
    "abnormal_operation": False,
    "serious_dishonesty": False,
    "incident_3y": False,
    "fraud_3y": False,
}
for _t in ("tech_sme", "innovative", "specialized", "little_giant", "champion"):
    BASE[f"held_{_t}"] = False
    BASE[f"{_t}_expires"] = None
assert set(BASE) == {c.name for c in FRAME_COLUMNS}
#: Extra (non-§11) columns the features frame carries: TS-G3 and EL-6 read them.
EXTRA: dict[str, Any] = {"sci_dishonesty_3y": False, "title_revoked_3y": False}
BASE.update(EXTRA)
SCHEMA = {**frame_schema(), **dict.fromkeys(EXTRA, pl.Boolean())}


def frame(*rows: dict[str, Any]) -> pl.DataFrame:
    """Frame of firms, each the baseline with ``rows[i]`` applied (unique uscc per row)."""
    recs = []
    for i, r in enumerate(rows or ({},)):
        rec = {**BASE, "uscc": f"91420100MA4K{i:06d}", **r}
        recs.append(rec)
    return pl.DataFrame(recs, schema=SCHEMA)


def run(
    rows: list[dict[str, Any]] | dict[str, Any],
    pack: str,
    *,
    as_of: dt.date = AS_OF,
    application: str = "new",
) -> Assessment:
    rows = [rows] if isinstance(rows, dict) else rows
    return assess(frame(*rows), as_of, packs=[pack], application=application)  # type: ignore[arg-type]


def statuses(a: Assessment, pack: str, row: int = 0) -> dict[str, str]:
    """criterion id → status of firm ``row`` under ``pack``."""
    uscc = f"91420100MA4K{row:06d}"
    c = a.criteria.filter((pl.col("pack") == pack) & (pl.col("uscc") == uscc))
    return dict(zip(c["criterion_id"].cast(pl.String), c["status"].cast(pl.String), strict=True))


def points(a: Assessment, pack: str, row: int = 0) -> dict[str, float | None]:
    uscc = f"91420100MA4K{row:06d}"
    c = a.criteria.filter(
        (pl.col("pack") == pack) & (pl.col("uscc") == uscc) & pl.col("max_points").is_not_null()
    )
    return dict(zip(c["criterion_id"].cast(pl.String), c["points"].to_list(), strict=True))


def tier_row(a: Assessment, pack: str, row: int = 0) -> dict[str, Any]:
    uscc = f"91420100MA4K{row:06d}"
    return a.tiers.filter((pl.col("pack") == pack) & (pl.col("uscc") == uscc)).to_dicts()[0]


@pytest.fixture
def base() -> dict[str, Any]:
    return dict(BASE)


@pytest.fixture(params=["numpy", "polars"])
def both_backends(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test under both backends of ``assess``: the numpy one (frames of at most
    ``SMALL_ROWS`` rows, the default for these small test frames) and the polars one."""
    if request.param == "polars":
        import tiering.engine

        monkeypatch.setattr(tiering.engine, "SMALL_ROWS", 0)
    return str(request.param)
