"""Bad input: a missing or mistyped column names the column and the pack; a bad value in one
row never stops (or changes) the other rows."""

from __future__ import annotations

import polars as pl
import pytest

from tiering.engine import assess
from tiering.errors import FrameSchemaError

from .conftest import AS_OF, frame, statuses


def test_missing_required_column_names_column_and_pack() -> None:
    f = frame().drop("rd_expense_y1")
    with pytest.raises(FrameSchemaError) as exc:
        assess(f, AS_OF, packs=["specialized-2022"])
    assert "rd_expense_y1" in str(exc.value) and "specialized-2022" in str(exc.value)
    assert exc.value.field == "rd_expense_y1"


def test_missing_uscc() -> None:
    with pytest.raises(FrameSchemaError, match="uscc"):
        assess(frame().drop("uscc"), AS_OF)


def test_wrong_dtype_names_column_and_pack() -> None:
    f = frame().with_columns(pl.col("revenue_y1").cast(pl.String))
    with pytest.raises(FrameSchemaError) as exc:
        assess(f, AS_OF, packs=["innovative-2022"])
    msg = str(exc.value)
    assert "revenue_y1" in msg and "innovative-2022" in msg and "String" in msg


def test_optional_columns_may_be_absent() -> None:
    f = frame().drop(
        "platform_score_y0", "platform_score_y1", "market_position_ok", "local_feature_points"
    )
    a = assess(f, AS_OF, packs=["specialized-2026", "specialized-2022"])
    assert statuses(a, "specialized-2026")["SP6-P8"] == "unknown"
    assert statuses(a, "specialized-2026")["SP6-P7"] == "manual_review"
    assert statuses(a, "specialized-2022")["SP-9"] == "unknown"


def test_integer_money_and_lazy_input_accepted() -> None:
    f = frame().with_columns(pl.col("revenue_y1").cast(pl.Int32))
    a = assess(f.lazy(), AS_OF, packs=["innovative-2022"])
    assert a.tiers["verdict"].to_list() == ["met"]


BAD_VALUES = [
    {"revenue_y1": 0.0},
    {"revenue_y1": float("nan")},
    {"revenue_y1": -5.0},
    {"total_assets_y1": 0.0},
    {"main_revenue_y2": 0.0, "main_revenue_y3": -1.0},
    {"rd_institution_level": "galactic"},
    {"industry": "0000"},
    {"industry": None},
    {"employees_y1": 0},
    {"niche_domain": "??"},
]


def test_bad_values_leave_other_rows_untouched() -> None:
    packs = [
        "tech_sme-2017",
        "innovative-2022",
        "specialized-2022",
        "little_giant-2022",
        "champion-2023",
    ]
    good = assess(frame({}), AS_OF, packs=packs)
    mixed = assess(frame({}, *BAD_VALUES), AS_OF, packs=packs)
    first = "91420100MA4K000000"
    for name in ("criteria", "tiers", "firms"):
        g = getattr(good, name).filter(pl.col("uscc") == first)
        m = getattr(mixed, name).filter(pl.col("uscc") == first)
        assert g.equals(m), name
    assert mixed.firms.height == 1 + len(BAD_VALUES)


def test_bad_values_become_unknown_not_unmet() -> None:
    a = assess(
        frame({"revenue_y1": 0.0}, {"rd_institution_level": "galactic"}, {"industry": "0000"}),
        AS_OF,
        packs=["innovative-2022", "specialized-2022"],
    )
    assert statuses(a, "innovative-2022", 0)["IN-2"] == "unknown"  # R&D / 0 revenue
    assert statuses(a, "specialized-2022", 1)["SP-13"] == "unknown"  # unknown code
    assert statuses(a, "innovative-2022", 2)["IN-5"] == "manual_review"  # unknown industry
    assert a.firms["size_class"].cast(pl.String).to_list()[2] == "unknown"
